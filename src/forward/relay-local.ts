/**
 * The local listener under `forwardLocal` and `forwardDynamic`: a TCP or Unix-socket server whose
 * connections are carried over a channel each, end to end with backpressure and half-close, with the
 * {@link Forward} handle's counters, events and close.
 */
import { EventEmitter } from 'node:events';
import { chmod, lstat, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { Channel, Connection } from '../connection/index.js';
import { InvalidArgumentError, ListenError } from '../errors.js';
import type { Forward, ForwardAddress, ForwardCloseOptions, ForwardStats } from './types.js';

function noop(): void {}

/** Where a local listener binds. */
export interface BindOptions {
  /** Address for a TCP listener (default 127.0.0.1). */
  bindHost?: string;
  /** TCP port; 0 picks a free one (see {@link Forward.address}). */
  bindPort?: number;
  /** A Unix socket path instead of a TCP port; the socket file is created with mode 0600 and removed on close. */
  bindPath?: string;
}

/** One accepted connection: its socket and, once open, its channel. */
export interface ForwardLink {
  readonly socket: Socket;
  /** The connecting side, as `direct-tcpip` names it (a Unix-socket listener has 127.0.0.1 port 0). */
  readonly origin: { host: string; port: number };
  channel: Channel | undefined;
  socketClosed: boolean;
  channelClosed: boolean;
  done: boolean;
}

/** Checks a bind: exactly one of bindPort and bindPath. */
export function checkBind(o: BindOptions): void {
  if ((o.bindPort === undefined) === (o.bindPath === undefined))
    throw new InvalidArgumentError('give exactly one of bindPort and bindPath');
  if (o.bindPort !== undefined && (!Number.isInteger(o.bindPort) || o.bindPort < 0 || o.bindPort > 65535))
    throw new InvalidArgumentError(`bindPort must be an integer 0..65535, got ${o.bindPort}`);
  if (o.bindPath !== undefined && (typeof o.bindPath !== 'string' || o.bindPath === '' || o.bindPath.includes('\0')))
    throw new InvalidArgumentError('bindPath must be a non-empty path');
  if (o.bindHost !== undefined && (typeof o.bindHost !== 'string' || o.bindHost === ''))
    throw new InvalidArgumentError('bindHost must be a non-empty string');
}

/** The forwards of each connection, closed (ending their connections) when it closes. */
const forwardsOf = new WeakMap<Connection, Set<ListenerForward>>();

/** One 'close' listener per connection, however many forwards it has. */
function closeWithConnection(connection: Connection, fwd: ListenerForward): void {
  let set = forwardsOf.get(connection);
  if (!set) {
    const forwards = new Set<ListenerForward>();
    set = forwards;
    forwardsOf.set(connection, forwards);
    connection.once('close', () => {
      for (const f of [...forwards]) void f.close({ endConnections: true });
    });
  }
  set.add(fwd);
}

/**
 * A listening forward. Subclasses handle each accepted socket ({@link accept}) and call
 * {@link attach} with its channel or {@link fail} with the reason it could not be carried.
 */
export abstract class ListenerForward extends EventEmitter implements Forward {
  readonly kind: 'local' | 'dynamic';
  address: ForwardAddress = { path: '' };
  protected readonly connection: Connection;
  private readonly counters: ForwardStats = { accepted: 0, open: 0, failed: 0, bytesOut: 0, bytesIn: 0 };
  private readonly server: Server;
  private readonly links = new Set<ForwardLink>();
  private accepting = false;
  private closing: Promise<void> | undefined;
  /** The socket file we created (its inode), to remove on close. */
  private socketFile: { path: string; ino: number } | undefined;
  private readonly idleWaiters: Array<() => void> = [];

  protected constructor(kind: 'local' | 'dynamic', connection: Connection) {
    super();
    this.kind = kind;
    this.connection = connection;
    // allowHalfOpen: a client that finishes sending still gets the rest of the answer, as with ssh -L.
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.onSocket(s));
    this.server.on('error', noop);
  }

  /** Counters (a snapshot); `open` falls back to 0 once every connection has ended. */
  get stats(): Readonly<ForwardStats> {
    return { ...this.counters };
  }

  /** Binds; rejects with ListenError (nothing left behind) when the address cannot be bound. */
  protected async listen(o: BindOptions): Promise<void> {
    const dead = this.connection.closeReason;
    if (dead) throw dead;
    const server = this.server;
    const host = o.bindHost ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        const where = o.bindPath !== undefined ? 'the Unix socket' : `${host}:${o.bindPort}`;
        reject(
          new ListenError(
            `cannot listen on ${where}: ${e.code ?? e.message}`,
            o.bindPath ?? host,
            o.bindPort ?? 0,
            e.code,
            {
              cause: e,
            },
          ),
        );
      };
      server.once('error', onError);
      const done = () => {
        server.off('error', onError);
        resolve();
      };
      if (o.bindPath !== undefined) server.listen({ path: o.bindPath, exclusive: true }, done);
      else server.listen({ host, port: o.bindPort, exclusive: true }, done);
    });
    try {
      if (o.bindPath !== undefined) {
        // Until the mode is 0600 (what OpenSSH's StreamLocalBindMask 0177 gives), connections are refused.
        const st = await lstat(o.bindPath);
        this.socketFile = { path: o.bindPath, ino: st.ino };
        await chmod(o.bindPath, 0o600);
        this.address = { path: o.bindPath };
      } else {
        const a = server.address();
        this.address = { host, port: typeof a === 'object' && a ? a.port : (o.bindPort ?? 0) };
      }
      const dead2 = this.connection.closeReason;
      if (dead2) throw dead2;
    } catch (e) {
      await this.close({ endConnections: true });
      throw e;
    }
    this.accepting = true;
    closeWithConnection(this.connection, this);
  }

  /** Handles one accepted connection (its link is tracked and counted already). */
  protected abstract accept(link: ForwardLink): void;

  private onSocket(socket: Socket): void {
    socket.on('error', noop); // the link's 'close' handling covers every failure
    if (!this.accepting || this.closing) {
      socket.destroy();
      return;
    }
    const origin =
      socket.remoteAddress !== undefined
        ? { host: socket.remoteAddress, port: socket.remotePort ?? 0 }
        : { host: '127.0.0.1', port: 0 };
    const link: ForwardLink = {
      socket,
      origin,
      channel: undefined,
      socketClosed: false,
      channelClosed: true,
      done: false,
    };
    this.links.add(link);
    this.counters.accepted++;
    this.counters.open++;
    socket.once('close', () => {
      link.socketClosed = true;
      this.settle(link);
    });
    this.emit('connection', { origin });
    this.accept(link);
  }

  /**
   * Carries `link` over `channel`, writing `head` (bytes the client sent before the channel was open)
   * first. Both directions are piped with backpressure; an EOF is passed on as an EOF.
   */
  protected attach(link: ForwardLink, channel: Channel, head?: Buffer): void {
    const { socket } = link;
    channel.on('error', noop);
    if (link.socketClosed || socket.destroyed || link.done) {
      channel.destroy();
      return;
    }
    link.channel = channel;
    link.channelClosed = false;
    channel.once('close', () => {
      link.channelClosed = true;
      if (!socket.destroyed) {
        // Cut short (no EOF came): close the socket now. Otherwise pass on what is queued for the
        // client first, then close it (at once when the client had finished sending too).
        if (!channel.readableEnded) socket.destroy();
        else if (socket.readableEnded) socket.end();
        else socket.end(() => socket.destroy());
      }
      this.settle(link);
    });
    channel.on('error', () => socket.destroy());
    socket.once('close', (hadError) => {
      // An abortive end of the socket (an error, or ours) ends the channel; a clean one lets it finish.
      if (hadError || !socket.readableEnded || !channel.readableEnded) channel.destroy();
    });
    socket.on('data', (c: Buffer) => {
      this.counters.bytesOut += c.length;
    });
    channel.on('data', (c: Buffer) => {
      this.counters.bytesIn += c.length;
    });
    if (head && head.length > 0) {
      this.counters.bytesOut += head.length;
      channel.write(head);
    }
    socket.pipe(channel);
    channel.pipe(socket);
  }

  /**
   * The connection could not be carried: counts it, reports `err` when someone listens, and closes
   * the socket (unless `closing`: the caller is ending it after a failure reply).
   */
  protected fail(link: ForwardLink, err: Error | undefined, closing = false): void {
    this.counters.failed++;
    if (err && this.listenerCount('error') > 0) this.emit('error', err);
    if (!closing) link.socket.destroy();
  }

  private settle(link: ForwardLink): void {
    if (link.done || !link.socketClosed || !link.channelClosed) return;
    link.done = true;
    this.links.delete(link);
    this.counters.open--;
    if (this.links.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Stops listening; with `endConnections`, also ends every open connection and waits for them. */
  close(opts: ForwardCloseOptions = {}): Promise<void> {
    if (!this.closing) {
      this.accepting = false;
      forwardsOf.get(this.connection)?.delete(this);
      this.closing = this.shutdown();
    }
    const closing = this.closing;
    if (!opts.endConnections) return closing;
    return closing.then(() => this.endAll());
  }

  private async shutdown(): Promise<void> {
    if (this.server.listening) this.server.close(noop);
    const file = this.socketFile;
    if (file) {
      // libuv removes the socket file itself on close; remove it only if it is still the one we made.
      const st = await lstat(file.path).catch(() => undefined);
      if (st?.isSocket() && st.ino === file.ino) await unlink(file.path).catch(noop);
    }
    this.emit('close');
  }

  private endAll(): Promise<void> {
    if (this.links.size === 0) return Promise.resolve();
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    for (const link of [...this.links]) {
      link.channel?.destroy();
      link.socket.destroy();
    }
    return idle;
  }
}
