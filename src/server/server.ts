/**
 * The server facade: listens (or takes any Duplex), runs the transport in the server role,
 * authenticates users with a policy callback, and hands authenticated session channels to
 * 'session' listeners. Limits: login grace time, auth attempts, unauthenticated connections
 * (like OpenSSH's MaxStartups), sessions and channels per connection.
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { createServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { debuglog } from 'node:util';
import { MessageQueue } from '../auth/queue.js';
import type { AuthContext, AuthDecision, AuthHandler, AuthMethod } from '../auth/server.js';
import { authenticateServer, DEFAULT_PUBLICKEY_ALGORITHMS, securityKeyRefusal } from '../auth/server.js';
import type { ChannelOpenRequest } from '../connection/index.js';
import { Connection } from '../connection/index.js';
import type { AlgorithmOptions } from '../crypto/algorithms.js';
import {
  CERTIFICATE_HOST_KEY_ALGORITHMS,
  DEFAULT_ALGORITHMS,
  resolveAlgorithmList,
  resolveAlgorithms,
} from '../crypto/algorithms.js';
import {
  ChannelOpenFailure,
  ConnectionLostError,
  DisconnectError,
  DisconnectReason,
  InvalidArgumentError,
  ListenError,
  ProtocolError,
  TimeoutError,
} from '../errors.js';
import type { ForwardingSettings, ServerForwardingOptions } from '../forward/policy.js';
import { resolveForwarding } from '../forward/policy.js';
import { ServerForwarding } from '../forward/server-forwarding.js';
import type { PublicKey } from '../keys/index.js';
import { type Certificate, PrivateKey, parsePrivateKey } from '../keys/index.js';
import type { RekeyLimit } from '../transport/transport.js';
import { Transport } from '../transport/transport.js';
import { SOFTWARE_VERSION } from '../transport/version.js';
import { type AuthAttempt, ServerConnection } from './connection.js';
import { announceHostKeys, HOSTKEYS_PROVE_REQUEST, proveHostKeys } from './hostkeys.js';
import type { SessionOptions } from './session.js';
import { Session } from './session.js';
import {
  channelPermitted,
  checkHostCertificates,
  describe,
  formatAddress,
  ipOf,
  sshConnectionOf,
  startKeepalive,
} from './support.js';

const debug = debuglog('secsh');

export { type AuthAttempt, ServerConnection } from './connection.js';

/** Options of {@link Server}. */
export interface ServerOptions {
  /** Host keys: parsed keys or OpenSSH private key file contents. Several types may be given. */
  hostKeys: ReadonlyArray<PrivateKey | string | Buffer>;
  /**
   * Host certificates (sshd's HostCertificate): parsed, or `-cert.pub` file contents. Each must be a host
   * certificate for one of `hostKeys`. The server then offers the matching `*-cert-v01@openssh.com` host key
   * algorithms first (unless `algorithms.hostKey` is a full list), sends the certificate in the key
   * exchange and signs with the certified key.
   */
  hostCertificates?: ReadonlyArray<Certificate | string | Buffer>;
  /** The authentication policy. See {@link AuthContext} and {@link AuthDecision}. */
  authenticate: AuthHandler;
  /**
   * Methods to advertise (default publickey, keyboard-interactive, password). `hostbased` only when listed:
   * the policy then sees `method: 'hostbased'` with the verified host key, `clientHostname` and
   * `clientUsername` (see `knownClientHost` for the known_hosts check).
   */
  authMethods?: readonly AuthMethod[];
  /** Text sent as the pre-auth banner. */
  banner?: string;
  /** Algorithm lists, as for the client (full lists or `+`/`-`/`^` edits of the defaults). */
  algorithms?: AlgorithmOptions;
  /** Signature algorithms accepted for user keys, also announced in server-sig-algs. */
  publicKeyAlgorithms?: readonly string[];
  /** Host key algorithms accepted for hostbased (sshd's HostbasedAcceptedAlgorithms; default: the secure ones). */
  hostbasedAlgorithms?: readonly string[];
  /**
   * CA keys trusted to sign user certificates (sshd's TrustedUserCAKeys): a certificate verified for the
   * user name (type user, principal listed, valid now) reaches the policy with `ctx.key` = the certified
   * key and `ctx.certificate`. Without it certificates are refused.
   */
  trustedUserCAKeys?: readonly PublicKey[];
  /**
   * Security-key (sk) logins, as sshd's PubkeyAuthOptions: `touchRequired` demands user presence even where the
   * policy accepts with `restrict.noTouchRequired`; `verifyRequired` demands user verification (PIN) for all.
   */
  securityKeys?: {
    /** User presence (touch) is required even where `no-touch-required` would waive it. */
    touchRequired?: boolean;
    /** User verification (PIN or biometric) is required for every sk signature. */
    verifyRequired?: boolean;
  };
  /** Failed attempts allowed per connection; the next failure disconnects (default 6). */
  maxAuthAttempts?: number;
  /** Milliseconds from connect to successful authentication (default 120000; 0 = no limit). */
  loginGraceTime?: number;
  /** Longest password in bytes (default 1024). */
  maxPasswordLength?: number;
  /** Minimum duration of a failed attempt in ms (default 150). */
  authFailureDelay?: number;
  /** Most connections not yet authenticated at once; more are dropped at once (default 100). */
  maxUnauthenticated?: number;
  /** Session channels per connection (default 10). */
  maxSessions?: number;
  /** Channels of any type per connection (default 64). */
  maxChannels?: number;
  /** Which env names clients may set (see `defaultAcceptEnv`). */
  acceptEnv?: SessionOptions['acceptEnv'];
  /** When to re-exchange keys (defaults in {@link RekeyLimit}). */
  rekeyLimit?: RekeyLimit;
  /**
   * Milliseconds of client silence after which an authenticated connection is probed with a
   * `keepalive@openssh.com` global request (like sshd's ClientAliveInterval; 0 = off, the default).
   */
  keepaliveInterval?: number;
  /**
   * Probes left unanswered before the connection is closed (like sshd's ClientAliveCountMax; default 3).
   * Any packet from the client resets the count.
   */
  keepaliveCountMax?: number;
  /** Replaces `secsh_<version>` in the identification string. */
  softwareVersion?: string;
  /**
   * TCP and Unix-socket forwarding (`ssh -L -R -D -W`), served by the server itself under sshd's
   * rules; see {@link ServerForwardingOptions}. Absent (the default), no forwarding is served:
   * `direct-*` and other non-session opens go to the connection's 'channel-open' listeners (refused
   * when there are none) and `tcpip-forward` requests are refused. Present, the server answers the
   * forwarding opens and requests itself (forwarded-* opens from the client are refused), and only
   * other channel types still reach 'channel-open'.
   */
  forwarding?: ServerForwardingOptions;
}

/**
 * An SSH server.
 *
 * Events: 'connection' (ServerConnection), 'session' (Session, ServerConnection) for every session
 * channel of an authenticated user, 'auth' ({@link AuthAttempt}), 'client-error' (Error,
 * ServerConnection) when a connection ends with an error (not when the client disconnects "by
 * application" or the stream just closes), 'error', 'close'.
 *
 * @example
 * const server = new Server({ hostKeys: [generatePrivateKey('ed25519')], authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'pw' });
 * server.on('session', localProcessHandler());
 * await server.listen({ port: 0, host: '127.0.0.1' });
 */
export class Server extends EventEmitter {
  /** The host keys, parsed from {@link ServerOptions.hostKeys}. */
  readonly hostKeys: readonly PrivateKey[];
  /** Host certificates presented (see {@link ServerOptions.hostCertificates}). */
  readonly hostCertificates: readonly Certificate[];
  private readonly opts: ServerOptions;
  private readonly algorithms: ReturnType<typeof resolveAlgorithms>;
  private readonly forwarding: ForwardingSettings | undefined;
  private net: NetServer | undefined;
  private readonly live = new Set<ServerConnection>();
  private unauthenticated = 0;

  constructor(opts: ServerOptions) {
    super();
    if (!opts || !Array.isArray(opts.hostKeys) || opts.hostKeys.length === 0) {
      throw new InvalidArgumentError('hostKeys: at least one host key is required');
    }
    if (typeof opts.authenticate !== 'function') throw new InvalidArgumentError('authenticate must be a function');
    const ki = opts.keepaliveInterval ?? 0;
    if (!Number.isSafeInteger(ki) || ki < 0 || ki > 0x7fffffff) {
      throw new InvalidArgumentError('keepaliveInterval must be an integer number of milliseconds (0 = off)');
    }
    const kc = opts.keepaliveCountMax ?? 3;
    if (!Number.isSafeInteger(kc) || kc < 1 || kc > 1_000_000) {
      throw new InvalidArgumentError('keepaliveCountMax must be a positive integer');
    }
    this.opts = opts;
    this.forwarding = opts.forwarding === undefined ? undefined : resolveForwarding(opts.forwarding);
    this.hostKeys = opts.hostKeys.map((k) => (k instanceof PrivateKey ? k : parsePrivateKey(k)));
    this.hostCertificates = checkHostCertificates(opts.hostCertificates ?? [], this.hostKeys);
    this.algorithms = resolveAlgorithms(opts.algorithms);
    const hk = opts.algorithms?.hostKey;
    if (this.hostCertificates.length > 0 && (hk === undefined || (typeof hk === 'string' && /^[+\-^]/.test(hk)))) {
      // Like sshd: the defaults start with the certificate algorithms, and edits apply to that list
      // (so `-*-cert-v01@openssh.com` removes them); a full list is taken as given.
      this.algorithms.hostKey = resolveAlgorithmList('hostKey', hk, [
        ...CERTIFICATE_HOST_KEY_ALGORITHMS,
        ...DEFAULT_ALGORITHMS.hostKey,
      ]);
    }
  }

  /**
   * Starts listening; resolves with the bound address (port 0 picks a free port). Rejects with a
   * {@link ListenError} when the address cannot be bound (EADDRINUSE, EACCES, …), and with an
   * {@link InvalidArgumentError} for a port outside 0–65535; the server can then listen again.
   */
  listen(opts: { port?: number; host?: string } = {}): Promise<AddressInfo> {
    if (this.net) return Promise.reject(new InvalidArgumentError('already listening'));
    const port = opts.port ?? 22;
    const host = opts.host ?? '127.0.0.1';
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      return Promise.reject(new InvalidArgumentError(`port must be an integer from 0 to 65535, not ${String(port)}`));
    }
    const srv = createServer({ noDelay: true }, (sock) => this.accept(sock));
    this.net = srv;
    return new Promise((resolve, reject) => {
      const failed = (e: NodeJS.ErrnoException) => {
        if (this.net === srv) this.net = undefined;
        srv.close();
        const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
        const why = e.code === 'EADDRINUSE' ? 'the address is already in use' : e.message;
        reject(new ListenError(`cannot listen on ${where}: ${why}`, host, port, e.code, { cause: e }));
      };
      srv.once('error', failed);
      srv.listen(port, host, () => {
        srv.off('error', failed);
        // Later errors of the listening socket go to 'error' listeners; with none, they must not crash the process.
        srv.on('error', (e) => {
          if (this.listenerCount('error') > 0) this.emit('error', e);
        });
        resolve(srv.address() as AddressInfo);
      });
    });
  }

  /** The bound address, or null when not listening. */
  address(): AddressInfo | null {
    const a = this.net?.address();
    return a && typeof a === 'object' ? a : null;
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.live.size;
  }

  /** Stops listening, disconnects every connection, and resolves when all are closed. */
  async close(): Promise<void> {
    const srv = this.net;
    this.net = undefined;
    const closing = srv ? new Promise<void>((r) => srv.close(() => r())) : Promise.resolve();
    const conns = [...this.live];
    const ends = conns.map((c) =>
      c.closed ? Promise.resolve() : new Promise<void>((r) => c.once('close', () => r())),
    );
    for (const c of conns) c.close();
    await Promise.all([closing, ...ends]);
    this.emit('close');
  }

  private accept(sock: Socket): void {
    const max = this.opts.maxUnauthenticated ?? 100;
    if (this.unauthenticated >= max) {
      sock.destroy();
      return;
    }
    sock.on('error', () => {});
    this.handle(sock, sock.remoteAddress ? formatAddress(sock.remoteAddress, sock.remotePort) : undefined);
  }

  /**
   * Serves SSH over any Duplex (a socket, a pipe, an in-memory pair) and returns the connection.
   * Counts against `maxUnauthenticated` like an accepted socket.
   */
  handle(stream: Duplex, remoteAddress?: string): ServerConnection {
    const o = this.opts;
    const sourceAddress = remoteAddress === undefined ? undefined : ipOf(remoteAddress);
    const transport = new Transport(stream, {
      role: 'server',
      algorithms: this.algorithms,
      hostKeys: this.hostKeys,
      ...(this.hostCertificates.length > 0 ? { hostCertificates: this.hostCertificates } : {}),
      serverSigAlgs: o.publicKeyAlgorithms ?? DEFAULT_PUBLICKEY_ALGORITHMS,
      ...(o.rekeyLimit ? { rekeyLimit: o.rekeyLimit } : {}),
      ...(o.softwareVersion ? { softwareVersion: o.softwareVersion } : {}),
    });
    const connection = new Connection(transport, { role: 'server', maxChannels: o.maxChannels ?? 64 });
    const conn = new ServerConnection(transport, connection, remoteAddress);
    conn.sshConnection = sshConnectionOf(stream);
    this.live.add(conn);
    this.unauthenticated++;
    let counted = true;
    const uncount = () => {
      if (counted) {
        counted = false;
        this.unauthenticated--;
      }
    };

    let authenticated = false;
    const queue = new MessageQueue();
    transport.setMessageHandler((p) => {
      const n = p[0] as number;
      if (n >= 80) {
        // The transport's phase table already refuses these before USERAUTH_SUCCESS; this is the second lock.
        if (!authenticated) {
          transport.destroy(new ProtocolError('connection message before authentication'));
          return;
        }
        try {
          connection.handlePacket(p);
        } catch (e) {
          transport.destroy(e as Error);
        }
        return;
      }
      queue.push(p);
    });

    const grace = o.loginGraceTime ?? 120_000;
    const graceTimer =
      grace > 0
        ? setTimeout(() => {
            if (!authenticated) {
              transport.disconnect(DisconnectReason.BY_APPLICATION, 'login grace time exceeded');
              conn.emit('timeout', new TimeoutError('login grace time exceeded'));
            }
          }, grace)
        : undefined;
    graceTimer?.unref?.();

    transport.once('close', (err?: Error) => {
      if (graceTimer) clearTimeout(graceTimer);
      uncount();
      conn.closed = true;
      this.live.delete(conn);
      queue.fail(err ?? new ConnectionLostError('connection closed'));
      connection.destroy(err);
      // A client's DISCONNECT "by application" is how `ssh` and secsh end a connection: no error.
      const normal =
        err instanceof ConnectionLostError ||
        (err instanceof DisconnectError && err.peerReason === DisconnectReason.BY_APPLICATION);
      if (err && !normal) this.emit('client-error', err, conn);
      conn.emit('close', err);
    });

    // The auth layer's view of the transport: marks the connection authenticated the moment
    // USERAUTH_SUCCESS is sent (before any later packet can be read).
    const authLink = {
      send: (payload: Buffer) => {
        if (payload[0] === 52) authenticated = true;
        return transport.send(payload);
      },
      get sessionId() {
        return transport.sessionId;
      },
      disconnect: (reason: Parameters<Transport['disconnect']>[0], text: string) => transport.disconnect(reason, text),
    };

    this.emit('connection', conn);
    transport.start();
    authenticateServer(authLink, queue, {
      authenticate: (ctx) => this.runPolicy(ctx, remoteAddress),
      ...(o.authMethods ? { methods: o.authMethods } : {}),
      ...(o.banner !== undefined ? { banner: o.banner } : {}),
      ...(o.maxAuthAttempts !== undefined ? { maxAttempts: o.maxAuthAttempts } : {}),
      ...(o.maxPasswordLength !== undefined ? { maxPasswordLength: o.maxPasswordLength } : {}),
      ...(o.authFailureDelay !== undefined ? { failureDelay: o.authFailureDelay } : {}),
      ...(o.publicKeyAlgorithms ? { publicKeyAlgorithms: o.publicKeyAlgorithms } : {}),
      ...(o.hostbasedAlgorithms ? { hostbasedAlgorithms: o.hostbasedAlgorithms } : {}),
      ...(o.trustedUserCAKeys ? { trustedUserCAKeys: o.trustedUserCAKeys } : {}),
      ...(o.securityKeys ? { securityKeys: o.securityKeys } : {}),
      ...(remoteAddress ? { remoteAddress } : {}),
      ...(sourceAddress ? { sourceAddress } : {}),
    }).then(
      (result) => {
        if (graceTimer) clearTimeout(graceTimer);
        uncount();
        if (transport.closed) return;
        conn.auth = result;
        this.setupConnection(conn);
        conn.emit('authenticated', result);
      },
      (err: Error) => {
        if (!transport.closed) transport.destroy(err);
      },
    );
    return conn;
  }

  private async runPolicy(ctx: AuthContext, remoteAddress: string | undefined): Promise<AuthDecision> {
    let d: AuthDecision = false;
    try {
      d = await this.opts.authenticate(ctx);
    } finally {
      const attempt: AuthAttempt = {
        username: ctx.username,
        method: ctx.method,
        // A security key's signature without the touch or PIN the login needs is refused after the policy accepted it.
        result:
          ctx.securityKey && securityKeyRefusal(ctx.securityKey, d, ctx.certificate, this.opts.securityKeys)
            ? 'rejected'
            : describe(d, ctx),
        remoteAddress,
      };
      if (ctx.key) {
        attempt.fingerprint = ctx.key.fingerprint();
        attempt.signed = ctx.signed === true;
      }
      this.emit('auth', attempt);
    }
    return d;
  }

  private setupConnection(conn: ServerConnection): void {
    const maxSessions = this.opts.maxSessions ?? 10;
    const username = conn.auth?.username ?? '';
    const permissions = conn.auth?.permissions;
    const fwd =
      this.forwarding && conn.auth
        ? new ServerForwarding(conn.connection, this.forwarding, {
            username,
            permissions: conn.auth.permissions,
            key: conn.auth.key,
            certificate: conn.auth.certificate,
            remoteAddress: conn.remoteAddress,
          })
        : undefined;
    conn.connection.onChannelOpen = (req: ChannelOpenRequest) => {
      if (req.type !== 'session') {
        // A certificate without permit-port-forwarding (or the agent/X11 permits) closes these
        // channel types before any 'channel-open' listener sees them.
        if (permissions && !channelPermitted(req.type, permissions)) {
          req.reject(ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED, `channel type ${req.type} not permitted`);
          return;
        }
        if (fwd?.handlesOpen(req.type)) {
          fwd.open(req);
          return;
        }
        debug(
          'server: channel open %s for %j (%s)',
          req.type,
          username,
          conn.listenerCount('channel-open') > 0 ? 'to the channel-open listener' : 'refused, no listener',
        );
        if (conn.listenerCount('channel-open') > 0) conn.emit('channel-open', req);
        else req.reject(ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED, `channel type ${req.type} not allowed`);
        return;
      }
      if (req.data.length !== 0) {
        req.reject(ChannelOpenFailure.CONNECT_FAILED, 'malformed session open');
        return;
      }
      if (conn.openSessions >= maxSessions) {
        debug(
          'server: session open for %j refused: %d of maxSessions %d open',
          username,
          conn.openSessions,
          maxSessions,
        );
        req.reject(ChannelOpenFailure.RESOURCE_SHORTAGE, 'too many sessions');
        return;
      }
      const ch = req.accept();
      debug(
        'server: session %d open for %j (%d of maxSessions %d)',
        ch.localId,
        username,
        conn.openSessions + 1,
        maxSessions,
      );
      // The slot is held until the channel is over on the wire ('released': both CLOSEs passed, or the
      // connection died), not until the Duplex 'close', which waits for the application to read the
      // client's input to its end — a client may send CLOSE without EOF (RFC 4254 §5.3), and a
      // command that exited no longer reads its stdin.
      conn.openSessions++;
      ch.once('released', () => {
        conn.openSessions--;
      });
      const forceCommand = conn.auth?.forceCommand;
      const session = new Session(ch, username, {
        ...(conn.sshConnection ? { sshConnection: conn.sshConnection } : {}),
        ...(conn.transport.peerVersion ? { clientVersion: conn.transport.peerVersion } : {}),
        serverVersion: `SSH-2.0-${this.opts.softwareVersion || SOFTWARE_VERSION}`,
        connection: conn.connection,
        ...(this.opts.acceptEnv ? { acceptEnv: this.opts.acceptEnv } : {}),
        ...(forceCommand !== undefined ? { forceCommand } : {}),
        ...(permissions ? { permissions } : {}),
      });
      ch.on('error', () => {});
      try {
        conn.emit('session', session);
        this.emit('session', session, conn);
      } catch (e) {
        // A throwing handler leaves nobody to serve the session: close it (the slot follows the
        // client's CLOSE) and let the connection report the error.
        ch.destroy();
        throw e;
      }
    };
    // Keepalives and host key proofs are answered, and the forwarding requests when `forwarding` is
    // configured (its policy checks `permissions.portForwarding`); without it they are refused for
    // everyone. An application that installs its own onGlobalRequest must consult
    // `conn.permissions.portForwarding`, and should pass the requests it does not handle to the handler
    // it replaces (ssh reports an error when hostkeys-prove-00@openssh.com goes unanswered).
    conn.connection.onGlobalRequest = (name, data) => {
      if (name === 'keepalive@openssh.com') return true;
      if (name === HOSTKEYS_PROVE_REQUEST)
        return proveHostKeys(data, this.hostKeys, conn.transport.sessionId, conn.transport.negotiated?.hostKey, conn);
      if (fwd?.handlesRequest(name)) return fwd.request(name, data);
      return false;
    };
    // Every host key (not the certificates), for clients' UpdateHostKeys, as sshd does after authentication.
    announceHostKeys(conn.connection, this.hostKeys, conn.transport.peerVersion);
    const interval = this.opts.keepaliveInterval ?? 0;
    if (interval > 0) startKeepalive(conn, interval, this.opts.keepaliveCountMax ?? 3);
  }
}
