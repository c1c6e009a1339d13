/**
 * OpenSSH's transport-level ping (PROTOCOL §1.8, OpenSSH 9.5+): SSH2_MSG_PING carries a string that
 * SSH2_MSG_PONG sends back. A server announces support with `ping@openssh.com` = "0" in EXT_INFO;
 * `ssh -o ObscureKeystrokeTiming=yes` then sends PINGs as chaff among keystrokes. Both roles answer.
 */
import { randomBytes } from 'node:crypto';
import { ConnectionLostError, InvalidArgumentError, TimeoutError } from '../errors.js';
import { MSG, SshReader, SshWriter } from '../wire/index.js';
import type { Transport } from './transport.js';

/** The EXT_INFO extension a server announces, and its version. */
export const PING_EXTENSION = 'ping@openssh.com';
export const PING_EXTENSION_VERSION = '0';

/** Bytes of unsent output above which a PING goes unanswered. */
const PONG_OUTPUT_LIMIT = 256 * 1024;

/** What {@link answerPing} answers through: the transport (`send`, and its 'pong' event). */
export interface PingPeer {
  send(payload: Buffer): boolean;
  emit(event: 'pong', data: Buffer): boolean;
}

/**
 * Reads a PING or PONG (malformed → WireError). A PING is answered with a PONG carrying the same data
 * when `mayReply`: the transport says no before authentication and during a key exchange (as
 * OpenSSH: such pings are read and dropped); a PING is also dropped while `stream` holds more than
 * 256 KiB of unsent output, so a peer that pings without reading its pongs cannot fill our memory.
 * A PONG's data is emitted as the transport's 'pong' event (see {@link ping}).
 */
export function answerPing(
  payload: Buffer,
  mayReply: boolean,
  stream: { readonly writableLength: number },
  peer: PingPeer,
): void {
  const r = new SshReader(payload, 1);
  const data = r.string(payload.length);
  r.ensureEnd(payload[0] === MSG.PING ? 'PING' : 'PONG');
  if (payload[0] === MSG.PONG) {
    peer.emit('pong', Buffer.from(data));
    return;
  }
  if (!mayReply || stream.writableLength > PONG_OUTPUT_LIMIT) return;
  peer.send(new SshWriter(data.length + 8).byte(MSG.PONG).string(data).toBuffer());
}

/**
 * Sends SSH2_MSG_PING over an authenticated connection and resolves with the round trip in
 * milliseconds when its PONG comes back. Rejects with an InvalidArgumentError when the server did not
 * announce ping@openssh.com (an older sshd answers UNIMPLEMENTED, never a PONG), a TimeoutError after
 * `timeoutMs` (default 10 s), or the connection's error when it closes first.
 *
 * @example
 * const ms = await ping(client.transport);
 */
export function ping(transport: Transport, timeoutMs = 10_000): Promise<number> {
  if (transport.closed) return Promise.reject(new ConnectionLostError('connection closed'));
  if (!transport.peerExtensions.has(PING_EXTENSION)) {
    return Promise.reject(new InvalidArgumentError('the server does not announce ping@openssh.com'));
  }
  const tag = randomBytes(8);
  const start = performance.now();
  return new Promise<number>((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      transport.off('pong', onPong);
      transport.off('close', onClose);
      if (err) reject(err);
      else resolve(performance.now() - start);
    };
    const onPong = (data: Buffer) => {
      if (data.equals(tag)) done();
    };
    const onClose = (err?: Error) => done(err ?? new ConnectionLostError('connection closed'));
    const timer = setTimeout(() => done(new TimeoutError(`no PONG within ${timeoutMs} ms`)), timeoutMs);
    transport.on('pong', onPong);
    transport.once('close', onClose);
    transport.send(new SshWriter(32).byte(MSG.PING).string(tag).toBuffer());
  });
}
