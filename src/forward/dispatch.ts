/**
 * Routes the peer's CHANNEL_OPENs to whoever asked for that channel type (a remote forward, agent or
 * X11 forwarding). A type nobody registered, or one whose handler declines, is refused with
 * ADMINISTRATIVELY_PROHIBITED, as OpenSSH refuses channels it never asked for.
 */
import type { ChannelOpenRequest, Connection } from '../connection/index.js';
import { ChannelOpenFailure } from '../errors.js';

/** Handles one open; returns false to decline it (it is then refused). */
export type OpenHandler = (req: ChannelOpenRequest) => boolean;

/** One dispatcher per connection; install with {@link ChannelDispatcher.for}. */
export class ChannelDispatcher {
  private readonly handlers = new Map<string, Set<OpenHandler>>();
  private static readonly byConnection = new WeakMap<Connection, ChannelDispatcher>();

  private constructor(connection: Connection) {
    connection.onChannelOpen = (req) => this.dispatch(req);
  }

  /** The connection's dispatcher, created (and installed as its `onChannelOpen`) on first use. */
  static for(connection: Connection): ChannelDispatcher {
    let d = ChannelDispatcher.byConnection.get(connection);
    if (!d) {
      d = new ChannelDispatcher(connection);
      ChannelDispatcher.byConnection.set(connection, d);
    }
    return d;
  }

  /** Adds a handler for a channel type; the returned function removes it. */
  on(type: string, handler: OpenHandler): () => void {
    let set = this.handlers.get(type);
    if (!set) {
      set = new Set();
      this.handlers.set(type, set);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0) this.handlers.delete(type);
    };
  }

  private dispatch(req: ChannelOpenRequest): void {
    for (const h of this.handlers.get(req.type) ?? []) {
      if (h(req)) return;
    }
    req.reject(ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED, `${req.type} channel not requested`);
  }
}
