/**
 * The server's side of `tcpip-forward` and `streamlocal-forward@openssh.com` (`ssh -R`): listeners
 * bound as the forwarding policy allows (GatewayPorts, PermitListen, StreamLocalBindMask/Unlink),
 * the allocated port answered for port 0, `cancel-*`, a cap per connection, and every listener and
 * socket file gone when the connection ends. Each accepted connection opens `forwarded-tcpip` /
 * `forwarded-streamlocal@openssh.com` to the client; a refusal closes that socket, the listener lives.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, lstat, unlink } from 'node:fs/promises';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { debuglog } from 'node:util';
import { encodeTcpipOpen } from '../connection/index.js';
import { SshReader, SshWriter } from '../wire/index.js';
import { type BindTarget, bindTarget, decide, type ForwardRequest } from './policy.js';
import { fitsSunPath, type ServerForwardContext } from './server-direct.js';
import { relay } from './server-relay.js';

const debug = debuglog('secsh');

const MAX_HOST = 1024;
const MAX_PATH = 4096;

/** The global request names this module answers. */
export const REMOTE_FORWARD_REQUESTS: ReadonlySet<string> = new Set([
  'tcpip-forward',
  'cancel-tcpip-forward',
  'streamlocal-forward@openssh.com',
  'cancel-streamlocal-forward@openssh.com',
]);

interface Listening {
  readonly key: string;
  readonly servers: NetServer[];
  /** tcp: the host as the client sent it, the port bound, the port asked for. */
  readonly host?: string;
  readonly port?: number;
  readonly askedPort?: number;
  /** unix: the socket path and the inode we bound (removed only while it is still ours). */
  readonly path?: string;
  ino?: number;
  /** Accepted sockets whose channel is not open yet. */
  readonly waiting: Set<Socket>;
}

/**
 * A listener being set up: connections that arrive after the bind but before the forward is
 * registered wait here (paused) instead of being dropped, and go on once it is, or are closed when
 * the request fails.
 */
interface Holder {
  l?: Listening;
  registered?: boolean;
  failed?: boolean;
  early: Socket[];
}

/** Connections held per listener while it is being set up. */
const MAX_EARLY = 64;

/** `::ffff:192.0.2.1` → `192.0.2.1`. */
function bareAddress(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

function listenOn(
  srv: NetServer,
  opts: { host: string; port: number } | { path: string; exclusive: boolean },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (e: Error): void => reject(e);
    srv.once('error', failed);
    srv.listen(opts, () => {
      srv.off('error', failed);
      srv.on('error', () => {});
      resolve();
    });
  });
}

/**
 * Binds a Unix socket listener at `path` with mode 0666 & ~mask (sshd's StreamLocalBindMask), without
 * touching the process umask (which throws in worker threads). The socket is bound at a private
 * temporary name in the same directory, chmod-ed there, then hard-linked onto `path` (which fails, as
 * bind would, when something is already there) and the temporary name removed: the path never exists
 * with a looser mode, and when the listener closes libuv unlinks only its own (temporary) name — never
 * a socket another forward has since bound at `path`. Resolves with the inode now at `path`.
 */
async function listenUnix(srv: NetServer, path: string, mask: number): Promise<number> {
  const temp = join(dirname(path), `.secsh-${randomBytes(6).toString('hex')}`);
  if (!fitsSunPath(temp)) {
    // No room for the temporary name: bind in place (libuv will unlink `path` on close).
    await listenOn(srv, { path, exclusive: true });
    await chmod(path, 0o666 & ~mask);
    return (await lstat(path)).ino;
  }
  await listenOn(srv, { path: temp, exclusive: true });
  try {
    await chmod(temp, 0o666 & ~mask);
    await link(temp, path);
  } catch (e) {
    srv.close(); // libuv removes the temporary name
    throw e;
  }
  await unlink(temp).catch(() => {});
  return (await lstat(path)).ino;
}

/** One connection's remote forwards. */
export class RemoteForwards {
  private readonly ctx: ServerForwardContext;
  private readonly forwards = new Map<string, Listening>();
  /**
   * Keys of requests being set up: taken before their first await, so a second request for the same
   * address, arriving meanwhile, is refused instead of binding (or unlinking) over the first.
   */
  private readonly pendingKeys = new Set<string>();
  /** Requests between their arrival and their answer: they count against the cap too. */
  private inProgress = 0;
  private closed = false;

  constructor(ctx: ServerForwardContext) {
    this.ctx = ctx;
  }

  /** Answers one of {@link REMOTE_FORWARD_REQUESTS}: REQUEST_SUCCESS (with the port for port 0) or failure. */
  async request(name: string, data: Buffer): Promise<boolean | Buffer> {
    if (this.closed) return false;
    try {
      switch (name) {
        case 'tcpip-forward':
          return await this.tcpipForward(data);
        case 'cancel-tcpip-forward': {
          const r = new SshReader(data);
          const host = r.string(MAX_HOST).toString('utf8');
          const port = r.uint32();
          r.ensureEnd('cancel-tcpip-forward');
          const l = [...this.forwards.values()].find(
            (f) => f.host === host && (f.port === port || f.askedPort === port),
          );
          return this.cancel(l, name);
        }
        case 'streamlocal-forward@openssh.com':
          return await this.streamlocalForward(data);
        case 'cancel-streamlocal-forward@openssh.com': {
          const r = new SshReader(data);
          const path = r.string(MAX_PATH).toString('utf8');
          r.ensureEnd('cancel-streamlocal-forward');
          return this.cancel(this.forwards.get(`unix ${path}`), name);
        }
        default:
          return false;
      }
    } catch (e) {
      this.ctx.stats.refused++;
      debug('server: %s for %j refused: %s', name, this.ctx.user.username, (e as Error).message);
      return false;
    }
  }

  /** Closes every listener, drops connections not yet relayed and removes socket files. Idempotent. */
  closeAll(): void {
    this.closed = true;
    for (const l of [...this.forwards.values()]) this.stop(l);
  }

  private cancel(l: Listening | undefined, name: string): boolean {
    if (!l) {
      this.ctx.stats.refused++;
      debug('server: %s for %j: no such forward', name, this.ctx.user.username);
      return false;
    }
    this.stop(l);
    return true;
  }

  private stop(l: Listening): void {
    if (this.forwards.get(l.key) !== l) return;
    this.forwards.delete(l.key);
    this.ctx.stats.listeners--;
    for (const s of l.servers) s.close();
    for (const s of l.waiting) s.destroy();
    l.waiting.clear();
    if (l.path !== undefined) void removeIfOurs(l.path, l.ino);
  }

  private admit(fr: ForwardRequest): Promise<string | undefined> {
    if (this.forwards.size + this.inProgress >= this.ctx.settings.maxListeners) {
      return Promise.resolve(`too many forwards (maxListeners ${this.ctx.settings.maxListeners})`);
    }
    return decide(this.ctx.settings, fr);
  }

  private refuse(name: string, why: string): false {
    this.ctx.stats.refused++;
    debug('server: %s for %j refused: %s', name, this.ctx.user.username, why);
    return false;
  }

  private async tcpipForward(data: Buffer): Promise<boolean | Buffer> {
    const r = new SshReader(data);
    const host = r.string(MAX_HOST).toString('utf8');
    const port = r.uint32();
    r.ensureEnd('tcpip-forward');
    const fr: ForwardRequest = { ...this.ctx.user, kind: 'tcpip-forward', bindHost: host, bindPort: port };
    // Port 0 binds a fresh port each time; a fixed one is reserved until this request is answered.
    const reserved = port === 0 ? undefined : `tcp ${host} ${port}`;
    if (reserved !== undefined) {
      if (this.forwards.has(reserved) || this.pendingKeys.has(reserved)) {
        return this.refuse('tcpip-forward', 'already forwarded');
      }
      this.pendingKeys.add(reserved);
    }
    const admitted = this.admit(fr);
    this.inProgress++;
    let l: Listening;
    const holder: Holder = { early: [] };
    try {
      const no = await admitted;
      if (no !== undefined) return this.refuse('tcpip-forward', no);
      if (this.closed) return false;
      const servers: NetServer[] = [];
      const bound = await this.bindTcp(bindTarget(host, this.ctx.settings.gatewayPorts), port, servers, (sock) =>
        this.accepted(holder, sock),
      );
      l = { key: `tcp ${host} ${bound}`, servers, host, port: bound, askedPort: port, waiting: new Set() };
      holder.l = l;
      if (this.closed || this.forwards.has(l.key)) {
        for (const srv of servers) srv.close();
        abandon(holder);
        return this.refuse('tcpip-forward', 'already forwarded');
      }
    } catch (e) {
      abandon(holder);
      return this.refuse('tcpip-forward', `cannot listen: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    } finally {
      this.inProgress--;
      if (reserved !== undefined) this.pendingKeys.delete(reserved);
    }
    this.register(l, holder);
    debug('server: tcpip-forward for %j listening on port %d', this.ctx.user.username, l.port);
    return port === 0 ? new SshWriter(4).uint32(l.port as number).toBuffer() : true;
  }

  private async streamlocalForward(data: Buffer): Promise<boolean> {
    const r = new SshReader(data);
    const path = r.string(MAX_PATH).toString('utf8');
    r.ensureEnd('streamlocal-forward');
    if (path.length === 0 || path.includes('\0')) return this.refuse('streamlocal-forward', 'bad path');
    // Node would truncate a longer path silently and bind somewhere else.
    if (!fitsSunPath(path)) return this.refuse('streamlocal-forward', 'path too long for a Unix socket');
    const key = `unix ${path}`;
    if (this.forwards.has(key) || this.pendingKeys.has(key))
      return this.refuse('streamlocal-forward', 'already forwarded');
    this.pendingKeys.add(key);
    const fr: ForwardRequest = { ...this.ctx.user, kind: 'streamlocal-forward', path };
    const admitted = this.admit(fr);
    this.inProgress++;
    let l: Listening;
    const holder: Holder = { early: [] };
    try {
      const no = await admitted;
      if (no !== undefined) return this.refuse('streamlocal-forward', no);
      if (this.closed) return false;
      const s = this.ctx.settings;
      if (s.bindUnlink) await unlinkStaleSocket(path);
      const srv = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) => this.accepted(holder, sock));
      l = { key, servers: [srv], path, waiting: new Set() };
      holder.l = l;
      l.ino = await listenUnix(srv, path, s.bindMask);
      if (this.closed) {
        srv.close();
        abandon(holder);
        void removeIfOurs(path, l.ino);
        return false;
      }
    } catch (e) {
      abandon(holder);
      return this.refuse('streamlocal-forward', `cannot listen: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    } finally {
      this.inProgress--;
      this.pendingKeys.delete(key);
    }
    this.register(l, holder);
    debug('server: streamlocal-forward for %j listening', this.ctx.user.username);
    return true;
  }

  private register(l: Listening, holder: Holder): void {
    this.forwards.set(l.key, l);
    this.ctx.stats.listeners++;
    holder.registered = true;
    for (const sock of holder.early.splice(0)) if (!sock.destroyed) this.accepted(holder, sock);
  }

  /** Binds every address of `target` on one port (the first bind picks it when 0); resolves with the port. */
  private async bindTcp(
    target: BindTarget,
    port: number,
    servers: NetServer[],
    onConnection: (sock: Socket) => void,
  ): Promise<number> {
    const hosts =
      target.kind === 'loopback' ? ['127.0.0.1', '::1'] : target.kind === 'wildcard' ? ['::'] : [target.host];
    let bound = port;
    const make = (): NetServer => createServer({ allowHalfOpen: true, pauseOnConnect: true }, onConnection);
    try {
      for (let i = 0; i < hosts.length; i++) {
        const srv = make();
        try {
          await listenOn(srv, { host: hosts[i] as string, port: bound });
        } catch (e) {
          srv.close();
          const code = (e as NodeJS.ErrnoException).code;
          // A host without IPv6: loopback is 127.0.0.1 alone, the wildcard is 0.0.0.0.
          if (i > 0 && target.kind === 'loopback') continue;
          if (target.kind === 'wildcard' && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) {
            hosts.push('0.0.0.0');
            continue;
          }
          throw e;
        }
        servers.push(srv);
        const a = srv.address();
        if (bound === 0 && a && typeof a === 'object') bound = a.port;
      }
    } catch (e) {
      for (const s of servers) s.close();
      servers.length = 0;
      throw e;
    }
    return bound;
  }

  /** A connection to a listener; held until the listener is registered (see {@link Holder}). */
  private accepted(holder: Holder, sock: Socket): void {
    sock.on('error', () => {});
    const l = holder.l;
    if (this.closed || holder.failed) {
      sock.destroy();
      return;
    }
    if (!holder.registered) {
      if (holder.early.length >= MAX_EARLY) sock.destroy();
      else holder.early.push(sock);
      return;
    }
    if (l === undefined || this.forwards.get(l.key) !== l) {
      sock.destroy();
      return;
    }
    l.waiting.add(sock);
    const type = l.path === undefined ? 'forwarded-tcpip' : 'forwarded-streamlocal@openssh.com';
    const extra =
      l.path === undefined
        ? encodeTcpipOpen({
            host: l.host as string,
            port: l.port as number,
            originHost: bareAddress(sock.remoteAddress),
            originPort: sock.remotePort ?? 0,
          })
        : new SshWriter(l.path.length + 16).string(l.path).string('').toBuffer();
    this.ctx.connection.openChannel(type, extra).then(
      (ch) => {
        if (!l.waiting.delete(sock) || sock.destroyed) {
          ch.destroy();
          return;
        }
        this.ctx.stats.open++;
        relay(sock, ch, undefined, () => {
          this.ctx.stats.open--;
        });
      },
      (e: Error) => {
        l.waiting.delete(sock);
        sock.destroy();
        this.ctx.stats.refused++;
        debug('server: %s for %j refused by the client: %s', type, this.ctx.user.username, e.message);
      },
    );
  }
}

/** Removes a stale socket file (StreamLocalBindUnlink): only a socket, never a regular file. */
async function unlinkStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st?.isSocket()) await unlink(path).catch(() => {});
}

/** Removes the socket file we bound, unless something else has taken its place. */
async function removeIfOurs(path: string, ino: number | undefined): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st?.isSocket() && (ino === undefined || st.ino === ino)) await unlink(path).catch(() => {});
}

/** The request failed after binding: connections held meanwhile are closed. */
function abandon(holder: Holder): void {
  holder.failed = true;
  for (const sock of holder.early.splice(0)) sock.destroy();
}
