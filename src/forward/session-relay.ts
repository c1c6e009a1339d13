/**
 * The socket side of the server's agent and X11 forwarding: a local program connects to a listener
 * the server made for one session, and its connection is carried to the client over a channel the
 * server opens (`auth-agent@openssh.com`, `x11`). Both directions go through `pipe`, so a socket that
 * is not read stops the channel's window and a channel without window stops reading the socket.
 */
import type { Socket } from 'node:net';
import type { Channel, Connection } from '../connection/index.js';
import type { ForwardStats } from './types.js';

/** Fresh counters, all zero. */
export function emptyStats(): ForwardStats {
  return { accepted: 0, open: 0, failed: 0, bytesOut: 0, bytesIn: 0 };
}

/**
 * Opens a channel of `type` (with the type-specific `extra`) for `sock`, a local connection, and relays
 * both ways until both are done. A refused open, or a connection that died, closes `sock` only.
 * `onError` hears why a connection failed. Counts in `stats` balance once the returned promise resolves.
 */
export function relayToChannel(
  sock: Socket,
  connection: Connection,
  type: string,
  extra: Buffer | undefined,
  stats: ForwardStats,
  onError?: (err: Error) => void,
): Promise<void> {
  stats.accepted++;
  stats.open++;
  let sockClosed = false;
  let channel: Channel | undefined;
  let channelDone = false;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const settle = () => {
    if (!sockClosed || !channelDone) return;
    stats.open--;
    finish();
  };
  sock.on('error', () => {
    // 'close' follows; the channel is destroyed there.
  });
  sock.once('close', (hadError: boolean) => {
    sockClosed = true;
    // An abrupt end of the local side (reset, error) ends the channel at once; an orderly one has
    // already sent EOF through the pipe, and the channel closes when the client's EOF comes back.
    if (channel && !channelDone && (hadError || !sock.readableEnded)) channel.destroy();
    settle();
  });
  let opened: Promise<Channel>;
  try {
    opened = connection.openChannel(type, extra);
  } catch (e) {
    opened = Promise.reject(e);
  }
  opened.then(
    (ch) => {
      channel = ch;
      ch.on('error', () => {});
      ch.once('close', () => {
        channelDone = true;
        // What the client sent is written out, then the socket goes (a local program that ignores
        // the EOF does not keep it open).
        if (!sock.destroyed) sock.end(() => sock.destroy());
        settle();
      });
      if (sockClosed) {
        ch.destroy();
        return;
      }
      sock.on('data', (b: Buffer) => {
        stats.bytesOut += b.length;
      });
      ch.on('data', (b: Buffer) => {
        stats.bytesIn += b.length;
      });
      sock.pipe(ch);
      ch.pipe(sock);
    },
    (e: unknown) => {
      stats.failed++;
      channelDone = true;
      onError?.(e instanceof Error ? e : new Error(String(e)));
      sock.destroy();
      settle();
    },
  );
  return done;
}
