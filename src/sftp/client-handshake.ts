/**
 * The start of an SFTP client session (INIT, then the server's VERSION) and what the client needs
 * to know about the state of its stream.
 */
import type { Duplex } from 'node:stream';
import { ProtocolError } from '../errors.js';
import type { PacketFramer, ScatteredData, SftpVersion } from './codec.js';
import { decodeVersion, encodeVersion } from './codec.js';
import { FX, FXP, SFTP_VERSION } from './constants.js';
import { SftpError } from './errors.js';

/**
 * Sends SSH_FXP_INIT on `stream` and resolves with the server's VERSION and any packets that came
 * in the same chunk after it; the stream is left paused. Rejects with an {@link SftpError} when the
 * stream fails, ends or is already over, or after `timeoutMs`.
 */
export function sftpHandshake(
  stream: Duplex,
  framer: PacketFramer,
  timeoutMs: number,
): Promise<{ v: SftpVersion; rest: (Buffer | ScatteredData)[] }> {
  return new Promise((resolve, reject) => {
    // A channel that ended before this call (in the same read as the subsystem's reply) emits
    // nothing more: look at its state rather than wait for events that already passed.
    const gone = streamGone(stream);
    if (gone) {
      reject(
        new SftpError(FX.NO_CONNECTION, `SFTP channel failed: ${gone.message}`, undefined, undefined, {
          cause: gone,
        }),
      );
      return;
    }
    const cleanup = () => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('error', onFail);
      stream.off('close', onClose);
      stream.off('end', onClose);
    };
    const onFail = (e: Error) => {
      cleanup();
      reject(new SftpError(FX.NO_CONNECTION, `SFTP channel failed: ${e.message}`, undefined, undefined, { cause: e }));
    };
    const onClose = () => onFail(connectionErrorOf(stream) ?? new Error('channel closed before SSH_FXP_VERSION'));
    const onData = (chunk: Buffer) => {
      try {
        const packets = framer.pushScattered(chunk);
        const p = packets.shift();
        if (!p) return;
        if (!Buffer.isBuffer(p)) throw new ProtocolError('SSH_FXP_DATA before SSH_FXP_VERSION');
        cleanup();
        stream.pause();
        resolve({ v: decodeVersion(p), rest: packets });
      } catch (e) {
        cleanup();
        reject(e);
      }
    };
    const timer = setTimeout(() => onFail(new Error('timed out waiting for SSH_FXP_VERSION')), timeoutMs);
    stream.on('data', onData);
    stream.on('error', onFail);
    stream.on('close', onClose);
    stream.on('end', onClose);
    stream.write(encodeVersion(SFTP_VERSION, new Map(), FXP.INIT));
  });
}

/** The error that ended `s` when it is already over (destroyed or ended), else undefined. */
export function streamGone(s: Duplex): Error | undefined {
  if (!s.destroyed && !s.readableEnded) return undefined;
  return connectionErrorOf(s) ?? s.errored ?? new Error(s.destroyed ? 'channel closed' : 'channel ended');
}

/** A secsh Channel's `connectionError` (the connection died under it), when `s` is one. */
export function connectionErrorOf(s: Duplex): Error | undefined {
  const e = (s as { connectionError?: unknown }).connectionError;
  return e instanceof Error ? e : undefined;
}
