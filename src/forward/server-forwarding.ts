/**
 * One server connection's forwarding: which channel opens and global requests it answers, and the
 * clean-up when the connection ends. The server facade asks {@link ServerForwarding.handlesOpen} /
 * {@link ServerForwarding.handlesRequest} and hands those over.
 */
import type { ChannelOpenRequest, Connection } from '../connection/index.js';
import { ChannelOpenFailure } from '../errors.js';
import type { ForwardingSettings, ForwardRequestBase } from './policy.js';
import { openDirect, type ServerForwardContext, type ServerForwardStats } from './server-direct.js';
import { REMOTE_FORWARD_REQUESTS, RemoteForwards } from './server-listen.js';

export type { ServerForwardStats } from './server-direct.js';

const DIRECT = new Set(['direct-tcpip', 'direct-streamlocal@openssh.com']);
/** Channel types only a server opens: a client that opens them is refused. */
const SERVER_ONLY = new Set(['forwarded-tcpip', 'forwarded-streamlocal@openssh.com']);

const byConnection = new WeakMap<Connection, ServerForwarding>();

/** The forwarding counters of a server-side connection, when it serves forwarding. */
export function serverForwardStats(connection: Connection): Readonly<ServerForwardStats> | undefined {
  return byConnection.get(connection)?.stats;
}

/** Forwarding for one authenticated server connection. */
export class ServerForwarding {
  readonly stats: ServerForwardStats = { open: 0, listeners: 0, refused: 0 };
  private readonly ctx: ServerForwardContext;
  private readonly remote: RemoteForwards;

  constructor(connection: Connection, settings: ForwardingSettings, user: ForwardRequestBase) {
    this.ctx = { settings, user, connection, stats: this.stats, pending: new Set() };
    this.remote = new RemoteForwards(this.ctx);
    byConnection.set(connection, this);
    connection.once('close', () => {
      this.remote.closeAll();
      for (const abandon of [...this.ctx.pending]) abandon();
    });
  }

  /** True for the channel types this serves (direct-*, and forwarded-* which it refuses). */
  handlesOpen(type: string): boolean {
    return DIRECT.has(type) || SERVER_ONLY.has(type);
  }

  /** Serves a channel open for which {@link handlesOpen} was true. */
  open(req: ChannelOpenRequest): void {
    if (SERVER_ONLY.has(req.type)) {
      this.stats.refused++;
      req.reject(ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED, `${req.type} is opened by servers only`);
      return;
    }
    openDirect(req, this.ctx);
  }

  /** True for the global requests this answers. */
  handlesRequest(name: string): boolean {
    return REMOTE_FORWARD_REQUESTS.has(name);
  }

  /** Answers a global request for which {@link handlesRequest} was true. */
  request(name: string, data: Buffer): Promise<boolean | Buffer> {
    return this.remote.request(name, data);
  }
}
