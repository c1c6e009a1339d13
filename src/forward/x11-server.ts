/**
 * The server's side of X11 forwarding (RFC 4254 §6.3): TCP listeners on the loopback addresses at
 * 6000 + display (sshd's X11UseLocalhost yes, displays from X11DisplayOffset up); each connection an
 * X client makes to it is carried to the client over an `x11` channel (§6.3.2) that names the X
 * client's address and port.
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Connection } from '../connection/index.js';
import { ListenError } from '../errors.js';
import { SshWriter } from '../wire/index.js';
import { emptyStats, relayToChannel } from './session-relay.js';
import type { ForwardStats } from './types.js';

/** The first X11 TCP port: display N listens on 6000 + N. */
export const X11_BASE_PORT = 6000;

/** Settings of {@link listenX11Forward}. */
export interface X11ListenOptions {
  /** The first display number tried (sshd's X11DisplayOffset; default 10). */
  displayOffset?: number;
  /** How many display numbers are tried from `displayOffset` (default 1000, as sshd). */
  maxDisplays?: number;
  /** Carry only the first connection, then stop listening (the x11-req's single_connection). */
  singleConnection?: boolean;
  /** Where to listen (default: every loopback address, `127.0.0.1` and `::1` when the host has IPv6). */
  host?: string;
  /** Most X11 connections open at once; more are closed at once (default 64). */
  maxConnections?: number;
  /** Hears why one X11 connection failed (the client refused the channel, the connection died). */
  onError?: (err: Error) => void;
}

/** A listening X11 display. */
export interface X11Listener {
  /** The display number (DISPLAY=localhost:N.screen). */
  readonly display: number;
  /** The TCP port: 6000 + display. */
  readonly port: number;
  /** Counters of the connections carried. */
  readonly stats: Readonly<ForwardStats>;
  /** Stops listening (open connections run on until either end closes them). Safe to call twice. */
  close(): void;
}

/** The `x11` channel's open data (§6.3.2): originator address and port. */
export function encodeX11Open(address: string, port: number): Buffer {
  return new SshWriter(32)
    .string(address)
    .uint32(port >>> 0)
    .toBuffer();
}

function listenOn(server: NetServer, host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const onError = (e: NodeJS.ErrnoException) => resolve(e);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve(undefined);
    });
  });
}

/** Errors that mean "this host has no such address" (no IPv6): the address is skipped. */
const NO_ADDRESS = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EPROTONOSUPPORT']);

/**
 * Binds the first free display from `displayOffset` and relays its connections. As sshd, a display is
 * bound on every loopback address (127.0.0.1 and ::1 when the host has IPv6), and a display whose port
 * is taken on any of them is skipped: otherwise another local user holding [::1]:6000+N would receive
 * the X connections of a DISPLAY=localhost:N that resolves to ::1. Rejects when no display in the
 * range is free, or with the bind error when it is not "address in use".
 */
export async function listenX11Forward(connection: Connection, opts: X11ListenOptions = {}): Promise<X11Listener> {
  const offset = opts.displayOffset ?? 10;
  const count = opts.maxDisplays ?? 1000;
  const hosts = opts.host !== undefined ? [opts.host] : ['127.0.0.1', '::1'];
  const host = hosts[0] as string;
  const max = opts.maxConnections ?? 64;
  const stats = emptyStats();
  let servers: NetServer[] = [];
  const closeAll = (): void => {
    for (const s of servers) if (s.listening) s.close();
  };
  const onConnection = (sock: Socket) => {
    if (opts.singleConnection) closeAll();
    if (stats.open >= max || (opts.singleConnection && stats.accepted > 0)) {
      stats.failed++;
      sock.destroy();
      return;
    }
    const extra = encodeX11Open(sock.remoteAddress ?? host, sock.remotePort ?? 0);
    void relayToChannel(sock, connection, 'x11', extra, stats, opts.onError);
  };
  for (let display = offset; display < offset + count && X11_BASE_PORT + display <= 65535; display++) {
    const port = X11_BASE_PORT + display;
    const bound: NetServer[] = [];
    let inUse = false;
    for (const [i, h] of hosts.entries()) {
      const candidate = createServer({ allowHalfOpen: true, pauseOnConnect: true }, onConnection);
      const err = await listenOn(candidate, h, port);
      if (!err) {
        candidate.on('error', () => {});
        bound.push(candidate);
        continue;
      }
      candidate.close();
      // A host without IPv6 has 127.0.0.1 alone.
      if (i > 0 && opts.host === undefined && err.code !== undefined && NO_ADDRESS.has(err.code)) continue;
      for (const s of bound) s.close();
      if (err.code === 'EADDRINUSE') {
        inUse = true;
        break;
      }
      throw new ListenError(`cannot listen for X11 display ${display}: ${err.message}`, h, port, err.code, {
        cause: err,
      });
    }
    if (inUse || bound.length === 0) continue;
    servers = bound;
    return {
      display,
      port,
      stats,
      close: closeAll,
    };
  }
  throw new ListenError(
    `no free X11 display from ${offset} to ${offset + count - 1}`,
    host,
    X11_BASE_PORT + offset,
    'EADDRINUSE',
  );
}
