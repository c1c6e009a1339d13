/**
 * Remote forwarding, the client side of `ssh -R` (RFC 4254 §7.1, OpenSSH PROTOCOL §2.4): asks the
 * server to listen (`tcpip-forward` / `streamlocal-forward@openssh.com`), accepts the
 * `forwarded-tcpip` / `forwarded-streamlocal@openssh.com` channels it opens for that listener and
 * joins each to a local target (or hands it to a callback). Forwarded channels that match no forward
 * of ours are refused.
 */
import { EventEmitter } from 'node:events';
import type { Channel, ChannelOpenRequest, Connection } from '../connection/index.js';
import { decodeTcpipOpen } from '../connection/index.js';
import { ChannelOpenFailure, InvalidArgumentError, ListenError } from '../errors.js';
import { SshReader, SshWriter } from '../wire/index.js';
import { ChannelDispatcher } from './dispatch.js';
import { acceptToTarget, type SocketTarget, type Splice } from './splice.js';
import type { Forward, ForwardAddress, ForwardCloseOptions, ForwardStats } from './types.js';

/** Where a forwarded connection came from (`{}` for a Unix-socket forward: the server does not say). */
export type RemoteOrigin =
  | {
      /** The address that connected to the server's listener. */
      originHost: string;
      /** Its port. */
      originPort: number;
    }
  | Record<string, never>;

/**
 * Options of `client.forwardRemote`: where the server listens (`bindPort`, with `bindHost`, or
 * `bindPath`) and where its connections go (`host` + `port`, `path`, or `onConnection`).
 */
export interface RemoteForwardOptions {
  /**
   * Address the server binds (default `localhost`, as `ssh -R` sends). `''` or `*` asks for every
   * address; the server's GatewayPorts decides what it grants.
   */
  bindHost?: string;
  /** Port the server listens on; 0 lets it choose (see `Forward.address.port`). */
  bindPort?: number;
  /** A Unix socket path on the server instead of a TCP port (`streamlocal-forward@openssh.com`). */
  bindPath?: string;
  /** Local host to connect each forwarded connection to (with `port`). */
  host?: string;
  /** Local port to connect each forwarded connection to. */
  port?: number;
  /** Local Unix socket to connect each forwarded connection to. */
  path?: string;
  /** Called with each forwarded connection's channel (a Duplex) instead of connecting to a target. */
  onConnection?: (channel: Channel, origin: RemoteOrigin) => void;
}

const MAX_NAME = 1024;

/** Decodes a `forwarded-streamlocal@openssh.com` open: socket path, reserved string. */
export function decodeStreamlocalOpen(data: Buffer): { path: string } {
  const r = new SshReader(data);
  const path = r.string(MAX_NAME).toString('utf8');
  r.string(MAX_NAME);
  r.ensureEnd('streamlocal open');
  return { path };
}

/** Parses the reply to `tcpip-forward`: the allocated port when 0 was asked, else no data. */
export function allocatedPort(reply: Buffer | boolean, asked: number): number {
  if (!Buffer.isBuffer(reply) || reply.length === 0) return asked;
  const r = new SshReader(reply);
  const port = r.uint32();
  r.ensureEnd('tcpip-forward reply');
  if (asked !== 0 && port !== asked) return asked;
  if (port < 1 || port > 65535) throw new ListenError(`server allocated an invalid port ${port}`, '', asked);
  return port;
}

function checkOptions(o: RemoteForwardOptions): { target: SocketTarget | undefined } {
  if (!o || typeof o !== 'object') throw new InvalidArgumentError('forwardRemote needs options');
  const tcp = o.bindPort !== undefined;
  if (tcp === (o.bindPath !== undefined))
    throw new InvalidArgumentError('forwardRemote needs bindPort or bindPath (one)');
  if (tcp && (!Number.isInteger(o.bindPort) || (o.bindPort as number) < 0 || (o.bindPort as number) > 65535))
    throw new InvalidArgumentError('bindPort must be an integer 0-65535');
  if (!tcp && (typeof o.bindPath !== 'string' || o.bindPath === ''))
    throw new InvalidArgumentError('bindPath must be a path');
  if (tcp && o.bindHost !== undefined && typeof o.bindHost !== 'string')
    throw new InvalidArgumentError('bindHost must be a string');
  const targets = [o.port !== undefined || o.host !== undefined, o.path !== undefined, o.onConnection !== undefined];
  if (targets.filter(Boolean).length !== 1)
    throw new InvalidArgumentError('forwardRemote needs one of host + port, path or onConnection');
  if (o.onConnection !== undefined) {
    if (typeof o.onConnection !== 'function') throw new InvalidArgumentError('onConnection must be a function');
    return { target: undefined };
  }
  if (o.path !== undefined) {
    if (typeof o.path !== 'string' || o.path === '') throw new InvalidArgumentError('path must be a path');
    return { target: { path: o.path } };
  }
  if (typeof o.host !== 'string' || o.host === '') throw new InvalidArgumentError('host must be a host name');
  if (!Number.isInteger(o.port) || (o.port as number) < 1 || (o.port as number) > 65535)
    throw new InvalidArgumentError('port must be an integer 1-65535');
  return { target: { host: o.host, port: o.port as number } };
}

/** Every remote forward of one connection, for matching incoming opens. */
const registries = new WeakMap<Connection, Set<RemoteForward>>();

function registry(connection: Connection): Set<RemoteForward> {
  let set = registries.get(connection);
  if (!set) {
    const forwards = new Set<RemoteForward>();
    set = forwards;
    registries.set(connection, forwards);
    // One listener per connection (not per forward): a dead connection closes every forward.
    connection.once('close', () => {
      for (const f of [...forwards]) void f.close({ endConnections: true });
    });
    const d = ChannelDispatcher.for(connection);
    d.on('forwarded-tcpip', (req) => {
      let t: ReturnType<typeof decodeTcpipOpen>;
      try {
        t = decodeTcpipOpen(req.data);
      } catch {
        return false;
      }
      // A forward is matched by port (the allocated one, or the one asked for), then by address.
      const byPort = [...forwards].filter((f) => f.matchesPort(t.port));
      const match = byPort.find((f) => f.bindHost === t.host) ?? (byPort.length === 1 ? byPort[0] : undefined);
      if (!match) return false;
      match.incoming(req, { originHost: t.originHost, originPort: t.originPort });
      return true;
    });
    d.on('forwarded-streamlocal@openssh.com', (req) => {
      let path: string;
      try {
        path = decodeStreamlocalOpen(req.data).path;
      } catch {
        return false;
      }
      const match = [...forwards].find((f) => f.bindPath === path);
      if (!match) return false;
      match.incoming(req, {});
      return true;
    });
  }
  return set;
}

/** A remote forward's handle (kind 'remote'); see {@link Forward}. */
class RemoteForward extends EventEmitter implements Forward {
  readonly kind = 'remote' as const;
  address: ForwardAddress;
  readonly stats: ForwardStats = { accepted: 0, open: 0, failed: 0, bytesOut: 0, bytesIn: 0 };
  readonly bindHost: string;
  readonly bindPath: string | undefined;
  private readonly askedPort: number;
  private readonly splices = new Set<Splice>();
  private readonly channels = new Set<Channel>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly connection: Connection,
    private readonly opts: RemoteForwardOptions,
    private readonly target: SocketTarget | undefined,
  ) {
    super();
    this.bindHost = opts.bindHost ?? 'localhost';
    this.bindPath = opts.bindPath;
    this.askedPort = opts.bindPort ?? 0;
    this.address =
      this.bindPath !== undefined ? { path: this.bindPath } : { host: this.bindHost, port: this.askedPort };
  }

  /** True when an open for `port` belongs to this TCP forward. */
  matchesPort(port: number): boolean {
    if (this.bindPath !== undefined) return false;
    return port === (this.address as { port: number }).port || (this.askedPort !== 0 && port === this.askedPort);
  }

  /** Sends the request; resolves once the server listens. */
  async start(): Promise<void> {
    const forwards = registry(this.connection);
    // Registered before the reply: the server may open a channel right behind it.
    forwards.add(this);
    try {
      if (this.bindPath !== undefined) {
        const ok = await this.connection.globalRequest(
          'streamlocal-forward@openssh.com',
          new SshWriter().string(this.bindPath).toBuffer(),
        );
        if (ok === false) throw new ListenError(`server refused to listen on ${this.bindPath}`, this.bindPath, 0);
      } else {
        const reply = await this.connection.globalRequest(
          'tcpip-forward',
          new SshWriter().string(this.bindHost).uint32(this.askedPort).toBuffer(),
        );
        if (reply === false)
          throw new ListenError(
            `server refused to listen on ${this.bindHost || '*'}:${this.askedPort}`,
            this.bindHost,
            this.askedPort,
          );
        this.address = { host: this.bindHost, port: allocatedPort(reply, this.askedPort) };
      }
    } catch (e) {
      forwards.delete(this);
      throw e;
    }
  }

  /** An open the dispatcher matched to this forward. */
  incoming(req: ChannelOpenRequest, origin: RemoteOrigin): void {
    if (this.closing) {
      req.reject(ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED, 'forward cancelled');
      return;
    }
    this.stats.accepted++;
    this.stats.open++;
    try {
      this.emit('connection', { origin });
    } catch (e) {
      // the dispatcher refuses the open: nothing will be released
      this.stats.open--;
      throw e;
    }
    if (this.target === undefined) {
      let ch: Channel;
      try {
        ch = req.accept();
      } catch (e) {
        this.failed(e as Error);
        return;
      }
      this.channels.add(ch);
      // Bytes from the server, counted as they arrive (a 'data' listener would start the flow).
      const push = ch.push.bind(ch);
      ch.push = (chunk: unknown, enc?: BufferEncoding) => {
        if (Buffer.isBuffer(chunk)) this.stats.bytesOut += chunk.length;
        return push(chunk, enc);
      };
      // Bytes the callback sends back, counted as the channel takes them (whatever write path).
      const write = ch._write.bind(ch);
      ch._write = (chunk: Buffer, enc: BufferEncoding, cb: (err?: Error | null) => void) => {
        this.stats.bytesIn += chunk.length;
        write(chunk, enc, cb);
      };
      // Over on the wire (both CLOSEs, or the connection died), whether or not the callback read it all.
      ch.once('released', () => {
        this.channels.delete(ch);
        this.stats.open--;
      });
      try {
        this.opts.onConnection?.(ch, origin);
      } catch (e) {
        ch.destroy();
        if (this.listenerCount('error') > 0) this.emit('error', e);
      }
      return;
    }
    acceptToTarget(req, this.target, this.stats).then(
      ({ splice }) => {
        this.splices.add(splice);
        void splice.done.then(() => {
          this.splices.delete(splice);
          this.stats.open--;
        });
        if (this.closing && this.endAll) splice.destroy();
      },
      (e: Error) => this.failed(e),
    );
  }

  private failed(e: Error): void {
    this.stats.open--;
    this.stats.failed++;
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  private endAll = false;

  /** Cancels the server's listener; with `endConnections`, also ends the connections still open. */
  close(opts: ForwardCloseOptions = {}): Promise<void> {
    if (opts.endConnections) {
      this.endAll = true;
      for (const s of this.splices) s.destroy();
      for (const c of this.channels) c.destroy();
    }
    this.closing ??= this.cancel();
    return this.closing;
  }

  private async cancel(): Promise<void> {
    registries.get(this.connection)?.delete(this);
    if (this.connection.closeReason === undefined) {
      const data =
        this.bindPath !== undefined
          ? new SshWriter().string(this.bindPath).toBuffer()
          : new SshWriter()
              .string(this.bindHost)
              .uint32((this.address as { port: number }).port)
              .toBuffer();
      const name = this.bindPath !== undefined ? 'cancel-streamlocal-forward@openssh.com' : 'cancel-tcpip-forward';
      // A refusal or a connection that dies meanwhile leaves nothing to undo on our side.
      await this.connection.globalRequest(name, data).catch(() => false);
    }
    this.emit('close');
  }
}

/** Starts a remote forward on `connection` (see `Client.forwardRemote`). */
export async function forwardRemote(connection: Connection, opts: RemoteForwardOptions): Promise<Forward> {
  const { target } = checkOptions(opts);
  const f = new RemoteForward(connection, opts, target);
  await f.start();
  return f;
}
