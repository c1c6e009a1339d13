/**
 * Dynamic forwarding (`ssh -D`): a local SOCKS 4/4a/5 listener whose CONNECT requests open
 * `direct-tcpip` channels; names go to the server unresolved, as OpenSSH does.
 */
import type { Connection } from '../connection/index.js';
import { InvalidArgumentError, TimeoutError } from '../errors.js';
import { openDirectTcpip } from './local.js';
import { checkBind, type ForwardLink, ListenerForward } from './relay-local.js';
import {
  parseSocks,
  SOCKS_MAX_REQUEST,
  Socks4Reply,
  Socks5Reply,
  SocksError,
  type SocksPhase,
  type SocksRequest,
  socks4Reply,
  socks5Reply,
  socksFailureReply,
} from './socks.js';
import type { Forward } from './types.js';

/** Options of `client.forwardDynamic`. */
export interface DynamicForwardOptions {
  /** Address to listen on (default 127.0.0.1). */
  bindHost?: string;
  /** Port; 0 picks a free one (see {@link Forward.address}). */
  bindPort: number;
  /** How long a client may take to send its SOCKS request, ms (default 30000). */
  handshakeTimeout?: number;
}

class DynamicForward extends ListenerForward {
  private readonly handshakeTimeout: number;

  constructor(connection: Connection, handshakeTimeout: number) {
    super('dynamic', connection);
    this.handshakeTimeout = handshakeTimeout;
  }

  static async start(connection: Connection, o: DynamicForwardOptions): Promise<DynamicForward> {
    const fwd = new DynamicForward(connection, o.handshakeTimeout ?? 30_000);
    await fwd.listen({ bindPort: o.bindPort, ...(o.bindHost !== undefined ? { bindHost: o.bindHost } : {}) });
    return fwd;
  }

  protected accept(link: ForwardLink): void {
    const { socket } = link;
    let buf: Buffer = Buffer.alloc(0);
    let phase: SocksPhase = 'start';
    const timer = setTimeout(() => {
      stop();
      this.fail(link, new TimeoutError(`SOCKS request not received within ${this.handshakeTimeout} ms`));
    }, this.handshakeTimeout);
    const stop = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', stop);
    };
    const onEnd = () => {
      stop();
      this.fail(link, undefined); // ended before a complete request: nothing to answer
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      try {
        for (;;) {
          const r = parseSocks(buf, phase);
          if (r.status === 'incomplete') {
            if (buf.length > SOCKS_MAX_REQUEST) throw new SocksError('request too long', undefined);
            return;
          }
          buf = buf.subarray(r.consumed);
          if (r.status === 'greeting') {
            socket.write(r.reply);
            phase = 'socks5-request';
            continue;
          }
          stop();
          socket.pause();
          this.connect(link, r.request, buf);
          return;
        }
      } catch (e) {
        stop();
        const reply = (e as { reply?: unknown }).reply;
        if (Buffer.isBuffer(reply) && !socket.destroyed) socket.end(reply, () => socket.destroy());
        else socket.destroy();
        this.fail(link, e as Error, true);
      }
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', stop);
  }

  private connect(link: ForwardLink, req: SocksRequest, head: Buffer): void {
    const { socket } = link;
    openDirectTcpip(this.connection, req.host, req.port, link.origin).then(
      (ch) => {
        if (!socket.destroyed)
          socket.write(req.version === 5 ? socks5Reply(Socks5Reply.SUCCEEDED) : socks4Reply(Socks4Reply.GRANTED));
        this.attach(link, ch, head.length > 0 ? Buffer.from(head) : undefined);
      },
      (e: Error) => {
        if (!socket.destroyed) socket.end(socksFailureReply(req.version, e), () => socket.destroy());
        this.fail(link, e, true);
      },
    );
  }
}

/**
 * Starts a SOCKS listener on `connection` (what `client.forwardDynamic` does). Rejects with
 * ListenError when the address cannot be bound, InvalidArgumentError for bad options.
 */
export function startDynamicForward(connection: Connection, o: DynamicForwardOptions): Promise<Forward> {
  if (!o || typeof o !== 'object') return Promise.reject(new InvalidArgumentError('options are required'));
  if (
    o.handshakeTimeout !== undefined &&
    (!Number.isFinite(o.handshakeTimeout) || o.handshakeTimeout <= 0 || o.handshakeTimeout > 0x7fffffff)
  )
    return Promise.reject(new InvalidArgumentError('handshakeTimeout must be a positive number of ms'));
  if ((o as { bindPath?: unknown }).bindPath !== undefined)
    return Promise.reject(new InvalidArgumentError('forwardDynamic listens on TCP only (bindPort)'));
  try {
    checkBind({ bindPort: o.bindPort, ...(o.bindHost !== undefined ? { bindHost: o.bindHost } : {}) });
  } catch (e) {
    return Promise.reject(e);
  }
  return DynamicForward.start(connection, o);
}
