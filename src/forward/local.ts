/**
 * Local forwarding (`ssh -L`): a local TCP or Unix-socket listener whose connections open
 * `direct-tcpip` (RFC 4254 §7.2) or `direct-streamlocal@openssh.com` (OpenSSH PROTOCOL §2.4)
 * channels to a destination seen from the server.
 */
import { debuglog } from 'node:util';
import type { Channel, Connection } from '../connection/index.js';
import { encodeTcpipOpen } from '../connection/index.js';
import { InvalidArgumentError } from '../errors.js';
import { SshWriter } from '../wire/index.js';
import { type BindOptions, checkBind, type ForwardLink, ListenerForward } from './relay-local.js';
import type { Forward } from './types.js';

const debug = debuglog('secsh');

export type { BindOptions } from './relay-local.js';

/** Options of `client.forwardLocal`: where to listen, and the destination as the server sees it. */
export interface LocalForwardOptions extends BindOptions {
  /** Destination host (a name is resolved by the server). */
  host?: string;
  /** Destination port. */
  port?: number;
  /** A Unix socket on the server instead of host and port (`direct-streamlocal@openssh.com`). */
  path?: string;
}

/** The type-specific tail of `direct-streamlocal@openssh.com`: socket path, reserved string "", reserved uint32 0. */
export function encodeStreamlocalOpen(path: string): Buffer {
  return new SshWriter(16 + Buffer.byteLength(path)).string(path).string('').uint32(0).toBuffer();
}

/**
 * Opens a `direct-tcpip` channel: the server connects to `host:port`; `origin` is the connection's
 * source as reported to the server.
 */
export async function openDirectTcpip(
  connection: Connection,
  host: string,
  port: number,
  origin: { host: string; port: number },
): Promise<Channel> {
  try {
    const ch = await connection.openChannel(
      'direct-tcpip',
      encodeTcpipOpen({ host, port, originHost: origin.host, originPort: origin.port }),
    );
    debug('channel: direct-tcpip %d open to %s:%d', ch.localId, host, port);
    return ch;
  } catch (e) {
    debug('channel: direct-tcpip to %s:%d refused: %s', host, port, (e as Error).message);
    throw e;
  }
}

/** Opens a `direct-streamlocal@openssh.com` channel: the server connects to the Unix socket `path`. */
export async function openDirectStreamlocal(connection: Connection, path: string): Promise<Channel> {
  if (typeof path !== 'string' || path === '') throw new InvalidArgumentError('path must be a non-empty string');
  try {
    const ch = await connection.openChannel('direct-streamlocal@openssh.com', encodeStreamlocalOpen(path));
    debug('channel: direct-streamlocal %d open', ch.localId);
    return ch;
  } catch (e) {
    debug('channel: direct-streamlocal refused: %s', (e as Error).message);
    throw e;
  }
}

function checkDestination(o: LocalForwardOptions): void {
  if (o.path !== undefined) {
    if (o.host !== undefined || o.port !== undefined)
      throw new InvalidArgumentError('give path or host and port, not both');
    if (typeof o.path !== 'string' || o.path === '') throw new InvalidArgumentError('path must be a non-empty string');
    return;
  }
  if (typeof o.host !== 'string' || o.host === '') throw new InvalidArgumentError('host (or path) is required');
  if (!Number.isInteger(o.port) || (o.port as number) < 1 || (o.port as number) > 65535)
    throw new InvalidArgumentError(`port must be an integer 1..65535, got ${o.port}`);
}

/** A running local forward; see {@link startLocalForward}. */
class LocalForward extends ListenerForward {
  private readonly target: LocalForwardOptions;

  constructor(connection: Connection, target: LocalForwardOptions) {
    super('local', connection);
    this.target = target;
  }

  static async start(connection: Connection, o: LocalForwardOptions): Promise<LocalForward> {
    const fwd = new LocalForward(connection, o);
    await fwd.listen(o);
    return fwd;
  }

  protected accept(link: ForwardLink): void {
    const t = this.target;
    const open =
      t.path !== undefined
        ? openDirectStreamlocal(this.connection, t.path)
        : openDirectTcpip(this.connection, t.host as string, t.port as number, link.origin);
    open.then(
      (ch) => this.attach(link, ch),
      (e: Error) => this.fail(link, e),
    );
  }
}

/**
 * Starts a local forward on `connection` (what `client.forwardLocal` does): listens on `bindPort`
 * (or `bindPath`) and carries each connection to `host:port` (or the server's Unix socket `path`).
 * Rejects with ListenError when the address cannot be bound, InvalidArgumentError for bad options.
 */
export function startLocalForward(connection: Connection, o: LocalForwardOptions): Promise<Forward> {
  try {
    if (!o || typeof o !== 'object') throw new InvalidArgumentError('options are required');
    checkBind(o);
    checkDestination(o);
  } catch (e) {
    return Promise.reject(e);
  }
  return LocalForward.start(connection, { ...o });
}
