/**
 * Joins a socket and a channel end to end: bytes both ways with backpressure (pipe), EOF carried
 * both ways (half-close), and either side's death ends the other.
 */
import type { Socket } from 'node:net';
import type { Channel } from '../connection/index.js';

/** Counters a relay adds to. */
export interface RelayCounters {
  /** Bytes from the socket into the channel. */
  toChannel: number;
  /** Bytes from the channel into the socket. */
  toSocket: number;
}

/**
 * Relays `sock` ⇄ `ch` until both are over; `done` runs once, when both have closed. The socket
 * must allow half-open connections (`allowHalfOpen: true`) for EOF to pass one way at a time.
 */
export function relay(sock: Socket, ch: Channel, counters?: RelayCounters, done?: () => void): void {
  sock.setNoDelay(true);
  sock.on('error', () => {});
  ch.on('error', () => {});
  if (counters) {
    sock.on('data', (b: Buffer) => {
      counters.toChannel += b.length;
    });
    ch.on('data', (b: Buffer) => {
      counters.toSocket += b.length;
    });
  }
  let pending = 2;
  const closed = (): void => {
    if (--pending === 0) done?.();
  };
  sock.once('close', (hadError: boolean) => {
    // A reset or failed write: nothing more can reach the socket's peer, so the channel goes too. A
    // clean close means both directions ended: the channel finishes sending what it holds by itself.
    if (hadError || !sock.readableEnded) ch.destroy();
    closed();
  });
  ch.once('close', () => {
    // The channel is over: what the socket still has to write goes out, then the socket closes.
    if (!sock.destroyed) sock.destroySoon();
    closed();
  });
  sock.pipe(ch);
  ch.pipe(sock);
  if (sock.isPaused()) sock.resume();
}
