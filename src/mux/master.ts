/**
 * A secsh {@link Client} as an OpenSSH ControlMaster: `listenControl` listens on a Unix socket (mode
 * 0600, created under a temporary name and linked into place as OpenSSH does, so an existing socket
 * is never replaced) and answers OpenSSH's `ssh -S path`:
 *
 * - `-O check` (ALIVE_CHECK, answered with this process's pid), `-O exit` (TERMINATE: closes the
 *   client), `-O stop` (STOP_LISTENING), `-O forward` and `-O cancel` (OPEN_FWD, CLOSE_FWD: the
 *   client's forwardLocal/forwardRemote/forwardDynamic, see master-forward.ts);
 * - `-O proxy` (PROXY): the mux client then speaks the connection protocol and its channels (sessions,
 *   direct-tcpip, direct-streamlocal) are relayed onto the client's connection (see relay.ts).
 *
 * Passenger sessions (`ssh -S path host cmd` without `-O proxy`: NEW_SESSION and NEW_STDIO_FWD) hand
 * over the mux client's stdin, stdout and stderr with SCM_RIGHTS. Node cannot take them safely: its
 * only way to receive descriptors is an IPC pipe, and one that receives a tty, a file or /dev/null
 * aborts the whole process (an assertion in LibuvStreamWrap::OnUvRead). Those requests are refused
 * with MUX_S_FAILURE naming `-O proxy`, and the connection is closed, which drops the descriptors
 * unread (they were never received: this side reads the socket without ancillary data).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { chmod, link, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { debuglog } from 'node:util';
import { Connection, isConnectionMessage } from '../connection/index.js';
import { ConnectionLostError, InvalidArgumentError, ListenError, MuxError } from '../errors.js';
import {
  decodeForward,
  decodeHello,
  encodeHello,
  encodeRefusal,
  encodeReply,
  guard,
  MUX,
  MuxFramer,
  type MuxMessage,
} from './codec.js';
import { hex } from './control.js';
import { type ControlForwarding, MuxForwards } from './master-forward.js';
import { ProxyFramer, ProxyLink } from './proxy-link.js';
import { relayChannels } from './relay.js';

const debug = debuglog('secsh');

/** What a master needs of a client: its connection, a way to close it, and its 'close' event. */
export interface ControlHost extends ControlForwarding {
  /** The connection whose channels proxied mux clients open. */
  readonly connection: Connection;
  /** Ends the connection (asked by TERMINATE, `ssh -O exit`). */
  close(): Promise<void>;
  /** The listener closes with the connection. */
  once(event: 'close', listener: () => void): unknown;
  /** Drops that listener when the control socket could not be set up. */
  off?(event: 'close', listener: () => void): unknown;
}

/** Options of {@link listenControl}. */
export interface ControlListenOptions {
  /** Most control connections at once (default 64); more are closed at once. */
  maxConnections?: number;
  /**
   * Asked before TERMINATE and STOP_LISTENING are obeyed (OpenSSH's ControlMaster=ask); resolve
   * false to answer PERMISSION_DENIED. Default: allowed.
   */
  confirm?: (what: 'terminate' | 'stop-listening') => boolean | Promise<boolean>;
}

/** A listening control socket. Events: 'error' (err) for a control connection's protocol error (in proxy mode too). */
export class ControlListener extends EventEmitter {
  private readonly conns = new Set<Socket>();
  private closed = false;

  /** @internal */
  constructor(
    /** The control socket's path. */
    readonly path: string,
    private readonly server: Server,
  ) {
    super();
  }

  /** Control connections open now (including proxied ones). */
  get connections(): number {
    return this.conns.size;
  }

  /** @internal */
  track(s: Socket): void {
    this.conns.add(s);
    s.once('close', () => this.conns.delete(s));
  }

  /** Stops listening and removes the socket file; with `all`, closes the open control connections too. */
  async close(all = true): Promise<void> {
    if (this.closed) {
      if (all) for (const s of this.conns) s.destroy();
      return;
    }
    this.closed = true;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await unlink(this.path).catch(() => {});
    if (all) for (const s of this.conns) s.destroy();
    // server.close() calls back once every connection it accepted has ended.
    if (all) await stopped;
  }
}

/**
 * Serves the OpenSSH control protocol for `host` on the Unix socket `path`. The listener closes
 * with the client.
 *
 * @example
 * const ctl = await client.listenControl('/tmp/cm.sock'); // then: ssh -S /tmp/cm.sock -O proxy host cmd
 */
export async function listenControl(
  host: ControlHost,
  path: string,
  opts: ControlListenOptions = {},
): Promise<ControlListener> {
  if (typeof path !== 'string' || path === '') throw new InvalidArgumentError('control path is required');
  const max = opts.maxConnections ?? 64;
  if (!Number.isSafeInteger(max) || max < 1)
    throw new InvalidArgumentError('maxConnections must be a positive integer');
  if (host.connection.closeReason) throw host.connection.closeReason;
  const server = createServer();
  const listener = new ControlListener(path, server);
  const forwards = new MuxForwards(host);
  let ready = false;
  // Registered before the first await: a client that closes while the socket is being set up must
  // not leave it listening (and its file in place) for a connection that is gone.
  let hostClosed = false;
  const onHostClose = (): void => {
    hostClosed = true;
    if (ready) void listener.close();
  };
  host.once('close', onHostClose);
  const gone = (): Error =>
    host.connection.closeReason ??
    new ConnectionLostError('the client closed while its control socket was being set up');
  server.on('connection', (s: Socket) => {
    // Nobody is served before the socket is owner-only and in place (a connection in between came
    // through the temporary name, perhaps before the chmod).
    if (!ready || listener.connections >= max) {
      s.destroy();
      return;
    }
    listener.track(s);
    serveControl(s, { host, listener, opts, forwards });
  });
  const tmp = `${path}.${randomBytes(8).toString('hex')}`;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: tmp, readableAll: false, writableAll: false }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    host.off?.('close', onHostClose);
    const err = e as NodeJS.ErrnoException;
    throw new ListenError(`cannot listen on the control socket: ${err.message}`, path, 0, err.code, { cause: err });
  }
  let linked = false;
  try {
    // Owner-only before it is reachable under its real name; link() refuses to replace an existing file.
    if (!hostClosed) await chmod(tmp, 0o600);
    if (!hostClosed) {
      await link(tmp, path);
      linked = true;
    }
  } catch (e) {
    host.off?.('close', onHostClose);
    const err = e as NodeJS.ErrnoException;
    server.close();
    await unlink(tmp).catch(() => {});
    throw new ListenError(`cannot create the control socket: ${err.message}`, path, 0, err.code, { cause: err });
  }
  await unlink(tmp).catch(() => {});
  if (hostClosed) {
    // The path was linked by this call (link() does not replace a file), so it is ours to remove.
    if (linked) await listener.close();
    else server.close();
    throw gone();
  }
  ready = true;
  return listener;
}

/** One control connection: HELLO both ways, then requests until PROXY switches it over. */
function serveControl(
  s: Socket,
  ctx: { host: ControlHost; listener: ControlListener; opts: ControlListenOptions; forwards: MuxForwards },
): void {
  const { host, listener, opts, forwards } = ctx;
  // Nothing after PROXY is split as control messages: it is the proxy link's, even in the same read.
  const framer = new MuxFramer(undefined, MUX.C_PROXY);
  let helloSeen = false;
  let failed = false;
  // Requests are answered one at a time, in order; reading pauses while too many wait or the
  // replies are not being read, and a PROXY switches the framing for everything after it.
  const queue: MuxMessage[] = [];
  let pumping = false;
  let switched = false;
  const fail = (e: Error): void => {
    if (failed) return;
    failed = true;
    debug('mux master: %s', e.message);
    if (listener.listenerCount('error') > 0) listener.emit('error', e);
    s.destroy();
  };
  s.on('error', (e) => debug('mux master: control connection: %s', e.message));
  const handle = async (m: MuxMessage): Promise<void> => {
    if (m.type === MUX.HELLO) {
      if (helloSeen) throw new MuxError('HELLO received twice');
      decodeHello(m.body);
      helloSeen = true;
      return;
    }
    if (!helloSeen) throw new MuxError(`expected HELLO, received 0x${hex(m.type)}`);
    const rid = guard(() => m.body.uint32(), 'request');
    await handleRequest(m, rid);
  };
  const pump = async (): Promise<void> => {
    if (pumping) return;
    pumping = true;
    try {
      for (let m = queue.shift(); m && !s.destroyed && !switched; m = queue.shift()) {
        await handle(m);
        if (s.writableNeedDrain) await drained(s);
      }
      if (!s.destroyed && !switched) s.resume();
    } catch (e) {
      fail(e as Error);
    } finally {
      pumping = false;
    }
  };
  const onData = (chunk: Buffer): void => {
    try {
      queue.push(...framer.push(chunk));
    } catch (e) {
      fail(e as Error);
      return;
    }
    // Held: reading waits for the PROXY switch, which takes what was buffered.
    if (queue.length > 16 || framer.held) s.pause();
    void pump();
  };
  const handleRequest = async (m: MuxMessage, rid: number): Promise<void> => {
    switch (m.type) {
      case MUX.C_ALIVE_CHECK:
        guard(() => m.body.ensureEnd('ALIVE_CHECK'), 'ALIVE_CHECK');
        s.write(encodeReply(MUX.S_ALIVE, rid, (w) => w.uint32(process.pid)));
        return;
      case MUX.C_TERMINATE:
      case MUX.C_STOP_LISTENING: {
        const what = m.type === MUX.C_TERMINATE ? 'terminate' : 'stop-listening';
        if (opts.confirm && !(await opts.confirm(what))) {
          s.write(encodeRefusal(MUX.S_PERMISSION_DENIED, rid, 'Permission denied'));
          return;
        }
        s.write(encodeReply(MUX.S_OK, rid));
        if (what === 'stop-listening') await listener.close(false);
        else s.end(() => void host.close().catch(() => {}));
        return;
      }
      case MUX.C_PROXY:
        guard(() => m.body.ensureEnd('PROXY'), 'PROXY');
        s.write(encodeReply(MUX.S_PROXY, rid));
        switched = true;
        startProxy(s, host, framer.drain(), onData, fail);
        return;
      case MUX.C_OPEN_FWD:
        s.write(await forwards.open(rid, decodeForward(m.body)));
        return;
      case MUX.C_CLOSE_FWD:
        s.write(await forwards.close(rid, decodeForward(m.body)));
        return;
      case MUX.C_NEW_SESSION:
      case MUX.C_NEW_STDIO_FWD:
        // The descriptors that follow are never received (see the file comment); end the connection.
        s.off('data', onData);
        s.end(
          encodeRefusal(
            MUX.S_FAILURE,
            rid,
            'this master (secsh) cannot receive file descriptors: use ssh -O proxy to run sessions through it',
          ),
        );
        s.once('finish', () => s.destroy());
        return;
      default:
        s.write(encodeRefusal(MUX.S_FAILURE, rid, 'unsupported request'));
    }
  };
  s.on('data', onData);
  s.write(encodeHello());
}

/** Switches a control connection to proxy mode: a server-role Connection whose channels are relayed. */
function startProxy(
  s: Socket,
  host: ControlHost,
  leftover: Buffer,
  onData: (b: Buffer) => void,
  fail: (e: Error) => void,
): void {
  s.off('data', onData);
  const link = new ProxyLink(s);
  const down = new Connection(link, { role: 'server', maxChannels: 64 });
  relayChannels(down, host.connection);
  const framer = new ProxyFramer();
  const feed = (chunk: Buffer): void => {
    try {
      for (const p of framer.push(chunk)) {
        const type = p[0];
        if (type === undefined || !isConnectionMessage(type)) {
          throw new MuxError(`a proxy client sent a non-connection message (${String(type)})`);
        }
        down.handlePacket(p);
      }
    } catch (e) {
      fail(e as Error);
    }
  };
  s.on('data', feed);
  s.resume();
  const upClosed = (): void => {
    s.destroy();
  };
  host.connection.once('close', upClosed);
  s.once('close', () => {
    host.connection.off('close', upClosed);
    down.destroy();
  });
  if (leftover.length > 0) feed(leftover);
}

/** Resolves when `s` drains or closes, with neither listener left behind. */
function drained(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}
