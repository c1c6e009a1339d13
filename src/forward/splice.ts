/**
 * Joins a forwarded channel to a local socket: data both ways through `pipe()` (a socket that cannot
 * write pauses the channel, whose window then stops the peer; a channel that cannot send pauses the
 * socket), half-close passed on (the socket's FIN becomes CHANNEL_EOF and EOF becomes a FIN), and
 * either side's failure ends the other. Used by remote forwards, agent and X11 relays.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { Channel, ChannelOpenRequest } from '../connection/index.js';
import { ChannelOpenError, ChannelOpenFailure } from '../errors.js';

/** Byte counters a splice adds to. */
export interface SpliceCounters {
  /** Bytes from the channel to the socket. */
  bytesOut: number;
  /** Bytes from the socket to the channel. */
  bytesIn: number;
}

/** A running splice. */
export interface Splice {
  /** Resolves once both the channel and the socket are closed (never rejects). */
  readonly done: Promise<void>;
  /** Ends both sides at once. */
  destroy(): void;
}

/** Where a relay connects: a TCP address or a Unix socket path. */
export type SocketTarget = { host: string; port: number } | { path: string };

/** `host:port` or the path, for local error messages (never sent to the peer). */
export function describeTarget(t: SocketTarget): string {
  return 'path' in t ? t.path : `${t.host}:${t.port}`;
}

/**
 * Splices `channel` and `socket` (which must allow half-open). `head` is written to the socket
 * first (bytes already read from the channel, e.g. a rewritten X11 setup).
 */
export function splice(channel: Channel, socket: Socket, counters: SpliceCounters, head?: Buffer): Splice {
  let closed = 0;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  const oneClosed = () => {
    if (++closed === 2) resolveDone();
  };
  if (channel.destroyed) oneClosed();
  else channel.once('close', oneClosed);
  if (socket.destroyed) oneClosed();
  else socket.once('close', oneClosed);

  channel.on('error', () => socket.destroy());
  socket.on('error', () => channel.destroy());
  // The socket closed without its FIN having ended the channel's writing side (a reset, an error).
  socket.once('close', () => {
    if (!channel.writableEnded) channel.destroy();
  });
  // The channel is over (the peer closed it, or the connection died): nothing more can go either way.
  // What the socket still has to write goes out first; its reading side is not waited for (a target
  // that never sends its FIN would otherwise hold the socket open for ever).
  channel.once('close', () => {
    if (socket.destroyed) return;
    if (!socket.writableEnded || socket.writableFinished) socket.destroy();
    else socket.once('finish', () => socket.destroy());
  });

  if (head && head.length > 0) {
    counters.bytesOut += head.length;
    socket.write(head);
  }
  channel.pipe(socket);
  socket.pipe(channel);
  channel.on('data', (c: Buffer) => {
    counters.bytesOut += c.length;
  });
  socket.on('data', (c: Buffer) => {
    counters.bytesIn += c.length;
  });
  if (channel.destroyed) socket.destroy();
  return {
    done,
    destroy: () => {
      channel.destroy();
      socket.destroy();
    },
  };
}

/** How long a connect to a local target may take (a remote forward's target, the agent, the display). */
export const CONNECT_TIMEOUT_MS = 30_000;

/**
 * Connects to `target`; resolves with the socket once connected, rejects with a ChannelOpenError
 * (CONNECT_FAILED, the Node error code in its message) otherwise.
 */
export function connectTarget(target: SocketTarget, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = netConnect({ ...target, allowHalfOpen: true });
    // An unreachable host would otherwise hold the peer's channel open until the kernel gives up.
    const timer = setTimeout(
      () => onError({ code: 'ETIMEDOUT', message: 'connect timed out' } as NodeJS.ErrnoException),
      timeoutMs,
    );
    const onError = (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      sock.destroy();
      reject(
        new ChannelOpenError(
          ChannelOpenFailure.CONNECT_FAILED,
          'connect failed',
          `${describeTarget(target)}: ${e.code ?? e.message}`,
        ),
      );
    };
    sock.once('error', onError);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.off('error', onError);
      if ('port' in target) sock.setNoDelay(true);
      resolve(sock);
    });
  });
}

/**
 * Answers an incoming open by connecting to `target` first: on success the open is confirmed and
 * spliced to the socket; on failure it is refused with CONNECT_FAILED (a generic text: the local
 * target is not told to the peer) and the error is returned.
 */
export async function acceptToTarget(
  req: ChannelOpenRequest,
  target: SocketTarget,
  counters: SpliceCounters,
): Promise<{ channel: Channel; splice: Splice }> {
  let sock: Socket;
  try {
    sock = await connectTarget(target);
  } catch (e) {
    req.reject(ChannelOpenFailure.CONNECT_FAILED, 'connect failed');
    throw e;
  }
  let channel: Channel;
  try {
    channel = req.accept();
  } catch (e) {
    sock.destroy();
    throw e;
  }
  return { channel, splice: splice(channel, sock, counters) };
}
