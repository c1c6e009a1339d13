/**
 * What every forward returns (`forwardLocal`, `forwardRemote`, `forwardDynamic` on the client): the
 * address it listens on, counters, and `close()`.
 */
import type { EventEmitter } from 'node:events';

/** A TCP address (`port` is the one actually bound when 0 was asked) or a Unix socket path. */
export type ForwardAddress =
  | {
      /** The address listened on. */
      host: string;
      /** The port (the one bound when 0 was asked). */
      port: number;
    }
  | {
      /** The Unix socket's path. */
      path: string;
    };

/** Counters of one forward; they balance (`open` returns to 0) once every connection has ended. */
export interface ForwardStats {
  /** Connections accepted (locally, or forwarded to us by the server). */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Connections that failed (the channel open was refused, the target was unreachable, bad SOCKS input). */
  failed: number;
  /** Bytes carried from the connecting side to the far side. */
  bytesOut: number;
  /** Bytes carried back. */
  bytesIn: number;
}

/** Options of {@link Forward.close}. */
export interface ForwardCloseOptions {
  /** Also end the connections still open (default false: they run to their end, as with OpenSSH). */
  endConnections?: boolean;
}

/**
 * A running forward. Events: 'error' (an Error for one connection that failed — a
 * `ChannelOpenError` with the server's reason code when it refused; the forward goes on; emitted only
 * when an 'error' listener exists), 'connection' (`{ origin }` per accepted connection), 'close'.
 *
 * @example
 * const fwd = await client.forwardLocal({ bindPort: 0, host: 'db.internal', port: 5432 });
 * console.log(fwd.address); // { host: '127.0.0.1', port: 40123 }
 * await fwd.close();
 */
export interface Forward extends EventEmitter {
  /** `local`, `remote` or `dynamic`. */
  readonly kind: 'local' | 'remote' | 'dynamic';
  /** Where it listens (locally for local and dynamic, on the server for remote). */
  readonly address: ForwardAddress;
  /** Counters; see {@link ForwardStats}. */
  readonly stats: Readonly<ForwardStats>;
  /** Stops listening (and cancels the remote listener); resolves when done. Safe to call twice. */
  close(opts?: ForwardCloseOptions): Promise<void>;
}
