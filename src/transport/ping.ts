/**
 * OpenSSH's transport-level ping (PROTOCOL §1.8, OpenSSH 9.5+): SSH2_MSG_PING carries a string that
 * SSH2_MSG_PONG sends back. A server announces support with `ping@openssh.com` = "0" in EXT_INFO;
 * `ssh -o ObscureKeystrokeTiming=yes` then sends PINGs as chaff among keystrokes. Both roles answer.
 */
import { MSG, SshReader, SshWriter } from '../wire/index.js';

/** The EXT_INFO extension a server announces, and its version. */
export const PING_EXTENSION = 'ping@openssh.com';
export const PING_EXTENSION_VERSION = '0';

/** Bytes of unsent output above which a PING goes unanswered. */
const PONG_OUTPUT_LIMIT = 256 * 1024;

/**
 * Reads a PING or PONG (malformed → WireError) and answers a PING with a PONG carrying the same data
 * when `mayReply`. The transport says no before authentication and during a key exchange (as
 * OpenSSH: such pings are read and dropped); a PING is also dropped while `stream` holds more than
 * 256 KiB of unsent output, so a peer that pings without reading its pongs cannot fill our memory.
 * A PONG is read and ignored.
 */
export function answerPing(
  payload: Buffer,
  mayReply: boolean,
  stream: { readonly writableLength: number },
  send: (pong: Buffer) => void,
): void {
  const r = new SshReader(payload, 1);
  const data = r.string(payload.length);
  r.ensureEnd(payload[0] === MSG.PING ? 'PING' : 'PONG');
  if (payload[0] !== MSG.PING || !mayReply || stream.writableLength > PONG_OUTPUT_LIMIT) return;
  send(new SshWriter(data.length + 8).byte(MSG.PONG).string(data).toBuffer());
}
