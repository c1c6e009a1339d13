/**
 * The client facade: `Client.connect()` opens a TCP connection (or uses any Duplex), runs the
 * transport, verifies the host key, authenticates and offers exec/spawn/shell/subsystem.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { AgentClient } from '../agent/index.js';
import { authenticateClient } from '../auth/client.js';
import { MessageQueue } from '../auth/queue.js';
import {
  expandHome,
  KnownHosts,
  knownHostsVerifier,
  loadIdentityFiles,
  loadKnownHostsFiles,
  preferKnownHostKeyAlgorithms,
  type SshConfigConnectSettings,
  sshConfigConnectSettings,
} from '../config/index.js';
import type { Channel, ConnectionStats } from '../connection/index.js';
import { Connection, isConnectionMessage } from '../connection/index.js';
import type { AlgorithmLists } from '../crypto/algorithms.js';
import { resolveAlgorithms } from '../crypto/algorithms.js';
import {
  AbortError,
  ConnectionLostError,
  HostKeyError,
  InvalidArgumentError,
  SshError,
  TimeoutError,
} from '../errors.js';
import {
  type LocalForwardOptions,
  openDirectStreamlocal,
  openDirectTcpip,
  startLocalForward,
} from '../forward/local.js';
import { forwardRemote, type RemoteForwardOptions } from '../forward/remote.js';
import { SessionForwarding, type SessionForwardOptions } from '../forward/session-forward.js';
import { type DynamicForwardOptions, startDynamicForward } from '../forward/socks-forward.js';
import type { Forward } from '../forward/types.js';
import type { Certificate, PublicKey, Signer } from '../keys/index.js';
import { type ControlListener, type ControlListenOptions, listenControl } from '../mux/master.js';
import type { SftpClient, SftpClientOptions } from '../sftp/client.js';
import { symlinkOrderFor } from '../sftp/constants.js';
import { reusedReadBufferSupported, SlabInput } from '../transport/slab-input.js';
import { Transport } from '../transport/transport.js';
import { bindForwardedAgents, boundAgentSigners } from './agent-bind.js';
import { type ConfigForwards, setUpConfigForwards } from './config-forwards.js';
import { hostbasedCredentials } from './hostbased.js';
import { watchHostKeyUpdates } from './hostkey-update.js';
import { hasJump, jumpHops, lastHopOptions } from './jump.js';
import { startKeepalive } from './keepalive.js';
import type { Algorithms, ConnectOptions, ExecOptions, ExecResult, PtyOptions, RemoteProcess } from './options.js';
import { expandProxyCommand, ProxyCommandStream } from './proxy-command.js';
import { quickAckWhileWaiting } from './quick-ack.js';
import { collectExec, prepareSession, remoteProcess, resolveConnectConfig, sftpOn, startOn } from './session-calls.js';
import { checkMaxSessions, SessionSlots } from './sessions.js';
import {
  applyConfigSettings,
  checkConnectOptions,
  genericDisconnectText,
  makeHostVerifier,
  preferTransportError,
  readPrivateKeyPath,
  toSigner,
} from './support.js';

export type {
  Algorithms,
  ConnectOptions,
  ExecOptions,
  ExecResult,
  HostKeyTarget,
  JumpHost,
  Logger,
  PtyOptions,
  RemoteProcess,
  SshConfigSource,
} from './options.js';

function noop(): void {}

/**
 * An SSH client connection.
 *
 * @example
 * const client = await Client.connect({ host: 'example.com', username: 'me', privateKey, hostKeyFingerprint: 'SHA256:…' });
 * const { stdout } = await client.exec('uname -a');
 * await client.close();
 */
export class Client extends EventEmitter {
  /** The transport underneath (usable on its own). */
  readonly transport: Transport;
  /** The connection protocol multiplexer. */
  readonly connection: Connection;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private closedPromise: Promise<void>;
  private readonly slots: SessionSlots;
  private readonly active = new Set<Forward>();
  /** Agent and X11 requests per session (set once connected). */
  private forwarding: SessionForwarding | undefined;

  private constructor(transport: Transport, connection: Connection, maxSessions?: number) {
    super();
    this.transport = transport;
    this.connection = connection;
    this.slots = new SessionSlots(maxSessions);
    transport.once('close', (err?: Error) => this.slots.fail(err ?? new ConnectionLostError('connection closed')));
    this.closedPromise = new Promise((resolve) => {
      if (transport.closed) resolve();
      else transport.once('close', () => resolve());
    });
  }

  /**
   * Connects, verifies the host key and authenticates. Host keys are checked against
   * `~/.ssh/known_hosts` unless hostVerifier, hostKeyFingerprint or insecureAcceptAnyHostKey is given.
   */
  static async connect(opts: ConnectOptions): Promise<Client> {
    let cfg: ConfigForwards | undefined;
    const client = await Client.connectTo(opts, false, (r) => {
      cfg = r;
    });
    if (cfg && opts.configForwards !== false) {
      const warn = (m: string) =>
        opts.logger?.warn ? opts.logger.warn(`secsh: ${m}`) : process.emitWarning(m, { code: 'SECSH_FORWARD' });
      try {
        await setUpConfigForwards(client, cfg, warn);
      } catch (e) {
        await client.close();
        throw e;
      }
    }
    return client;
  }

  /** {@link connect}, for the destination (`jumpHost` false) or for a hop of another connection's proxyJump. */
  private static async connectTo(
    opts: ConnectOptions,
    jumpHost: boolean,
    onConfig?: (resolved: ConfigForwards) => void,
  ): Promise<Client> {
    if (!opts || typeof opts !== 'object') throw new InvalidArgumentError('options are required');
    checkConnectOptions(opts);
    if (opts.maxSessions !== undefined) checkMaxSessions(opts.maxSessions);
    if (opts.signal?.aborted) throw new AbortError();
    let settings: SshConfigConnectSettings | undefined;
    if (opts.config) {
      const resolved = resolveConnectConfig(opts);
      for (const w of resolved.warnings) opts.logger?.warn?.(`secsh: ${w}`);
      settings = sshConfigConnectSettings(resolved);
      onConfig?.(resolved);
    }
    const eff = applyConfigSettings(opts, settings);
    if (typeof eff.username !== 'string') throw new InvalidArgumentError('username is required');
    if (!eff.sock && !eff.host) throw new InvalidArgumentError('host (or sock) is required');
    const proxyCommand = Client.proxyCommandLine(opts, eff);
    const signers: Signer[] = [];
    if (opts.privateKey !== undefined) signers.push(toSigner(opts.privateKey, opts.passphrase, opts.certificate));
    if (opts.privateKeyPath !== undefined) {
      const key = await readPrivateKeyPath(opts.privateKeyPath, opts.passphrase, opts.onPassphrase);
      signers.push(opts.privateKey === undefined ? toSigner(key, undefined, opts.certificate) : key);
    }
    if (settings)
      signers.push(
        ...(await loadIdentityFiles(
          settings.identityFiles,
          opts.passphrase,
          (m) => opts.logger?.debug?.(m),
          settings.certificateFiles,
          settings.batchMode ? undefined : opts.onPassphrase,
        )),
      );
    let algorithms = resolveAlgorithms(eff.algorithms);
    let knownHostsCheck: ((key: PublicKey, certificate?: Certificate) => Promise<void>) | undefined;
    if (!opts.hostVerifier && opts.hostKeyFingerprint === undefined && !opts.insecureAcceptAnyHostKey) {
      const paths =
        opts.knownHosts === false
          ? []
          : opts.knownHosts !== undefined
            ? [expandHome(opts.knownHosts)]
            : (settings?.knownHostsFiles ?? [KnownHosts.defaultPath()]);
      const mode = opts.strictHostKeyChecking ?? settings?.strictHostKeyChecking ?? 'strict';
      const ask = settings?.batchMode ? undefined : opts.onUnknownHostKey;
      if (paths.length > 0 || mode === 'off') {
        const files = await loadKnownHostsFiles(paths);
        const port = eff.port ?? 22;
        if (eff.host && eff.algorithms?.hostKey === undefined) {
          algorithms = {
            ...algorithms,
            hostKey: preferKnownHostKeyAlgorithms(algorithms.hostKey, files, eff.host, port),
          };
        }
        knownHostsCheck = eff.host
          ? knownHostsVerifier({
              files,
              mode,
              host: eff.host,
              port,
              ...((opts.hashKnownHosts ?? settings?.hashKnownHosts) ? { hash: true } : {}),
              ...(jumpHost ? { jumpHost: true } : {}),
              ...(ask ? { ask } : {}),
              log: (m) => opts.logger?.info?.(m),
            })
          : async (key) => {
              if (mode === 'off') return;
              throw new HostKeyError(
                `no host name to check ${key.type} ${key.fingerprint()} in known_hosts; pass host, hostKeyFingerprint or hostVerifier`,
                key.fingerprint(),
              );
            };
      }
    }
    const target = { host: eff.host, port: eff.port ?? 22, jumpHost };
    const hops = jumpHops(eff.proxyJump);
    if (!eff.sock && hops.length > 0) {
      const jump = await Client.connectTo(lastHopOptions(opts, eff, hops), true);
      let sock: Duplex;
      try {
        sock = await jump.forwardOut(eff.host as string, eff.port ?? 22);
      } catch (e) {
        await jump.close();
        throw e;
      }
      try {
        const client = await Client.open(
          { ...eff, sock, username: eff.username },
          signers,
          algorithms,
          makeHostVerifier(opts, target, knownHostsCheck),
        );
        client.transport.once('close', () => void jump.close());
        jump.transport.once('close', () => client.transport.destroy());
        return client;
      } catch (e) {
        await jump.close();
        throw e;
      }
    }
    // A ProxyCommand's stdin/stdout is the connection's stream, as a caller's `sock` is.
    let sock = eff.sock;
    if (proxyCommand !== undefined) {
      const proxy = new ProxyCommandStream(proxyCommand);
      opts.logger?.debug?.(`secsh: proxy command started (pid ${proxy.pid ?? 'none'})`);
      sock = proxy;
    }
    return Client.open(
      { ...eff, username: eff.username, ...(sock ? { sock } : {}) },
      signers,
      algorithms,
      makeHostVerifier(opts, target, knownHostsCheck),
    );
  }

  /** The shell command line for the effective ProxyCommand (tokens expanded), or undefined for none. */
  private static proxyCommandLine(opts: ConnectOptions, eff: ConnectOptions): string | undefined {
    const cmd = eff.proxyCommand;
    if (cmd === undefined || cmd === 'none') return undefined;
    if (typeof cmd !== 'string' || cmd === '') throw new InvalidArgumentError('proxyCommand must be a command line');
    if (eff.sock) {
      if (opts.proxyCommand !== undefined) throw new InvalidArgumentError('proxyCommand cannot be used with sock');
      return undefined; // a config's ProxyCommand yields to a caller's stream, as its ProxyJump does
    }
    if (hasJump(eff.proxyJump)) throw new InvalidArgumentError('proxyJump and proxyCommand cannot be used together');
    return expandProxyCommand(cmd, {
      host: eff.host as string,
      port: eff.port ?? 22,
      user: eff.username as string,
      originalHost: opts.host ?? (eff.host as string),
    });
  }

  private static async open(
    opts: ConnectOptions & { username: string },
    signers: Signer[],
    algorithms: AlgorithmLists,
    verifyHostKey: (key: PublicKey, certificate?: Certificate) => Promise<void>,
  ): Promise<Client> {
    const log = opts.logger;

    // Our own socket reads into one reused buffer (no allocation per read, packets never joined).
    const input = opts.sock || !reusedReadBufferSupported() ? undefined : new SlabInput();
    const stream: Duplex =
      opts.sock ??
      netConnect({
        host: opts.host as string,
        port: opts.port ?? 22,
        ...(opts.family ? { family: opts.family } : {}),
        noDelay: true,
        ...(input ? { onread: input.onread } : {}),
      });
    const transport = new Transport(stream, {
      role: 'client',
      ...(input ? { input } : {}),
      algorithms,
      verifyHostKey,
      disconnectText: genericDisconnectText,
      ...(opts.rekeyLimit ? { rekeyLimit: opts.rekeyLimit } : {}),
    });
    // Room for many forwarded connections at once (a SOCKS listener behind a browser, a busy -L).
    const connection = new Connection(transport, { role: 'client', maxChannels: 1024 });
    quickAckWhileWaiting(transport, connection);
    const authQueue = new MessageQueue();
    transport.setMessageHandler((p) => {
      const n = p[0] as number;
      if (n >= 80) {
        if (!isConnectionMessage(n)) {
          transport.sendUnimplemented();
          return;
        }
        try {
          connection.handlePacket(p);
        } catch (e) {
          transport.destroy(e as Error);
        }
      } else {
        authQueue.push(p);
      }
    });
    transport.once('close', (err?: Error) => {
      const e = err ?? new ConnectionLostError('connection closed');
      authQueue.fail(e);
      connection.destroy(err);
    });

    const client = new Client(transport, connection, opts.maxSessions);
    client.forwarding = new SessionForwarding(connection, opts.agentForward, (m) => log?.warn?.(m));
    bindForwardedAgents(connection, transport);
    watchHostKeyUpdates(client, opts, algorithms.hostKey, verifyHostKey);
    const timeoutMs = opts.readyTimeout ?? 20000;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const guard = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new TimeoutError(`connection not ready after ${timeoutMs} ms`);
        transport.destroy(e);
        reject(e);
      }, timeoutMs);
      if (opts.signal) {
        onAbort = () => {
          const e = new AbortError('connect aborted');
          transport.destroy(e);
          reject(e);
        };
        opts.signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    guard.catch(() => {});
    try {
      if (!opts.sock) {
        const sock = stream as Socket;
        await Promise.race([
          new Promise<void>((resolve, reject) => {
            sock.once('connect', () => resolve());
            sock.once('error', (e) =>
              reject(
                new ConnectionLostError(`cannot connect to ${opts.host}:${opts.port ?? 22}: ${e.message}`, {
                  cause: e,
                }),
              ),
            );
          }),
          guard,
        ]);
      }
      transport.start();
      await Promise.race([transport.ready(), guard]);
      log?.debug?.(`secsh: connected to ${transport.peerVersion}; algorithms ${JSON.stringify(transport.negotiated)}`);
      log?.info?.(`secsh: server host key ${transport.hostKey?.type} ${transport.hostKey?.fingerprint()}`);
      let agent: AgentClient | undefined;
      if (opts.agent) {
        agent =
          opts.agent instanceof AgentClient
            ? opts.agent.fork() // a socket of its own: session-bind binds a socket to one session
            : new AgentClient(typeof opts.agent === 'string' ? expandHome(opts.agent) : undefined);
      }
      const auth = authenticateClient(transport, authQueue, {
        username: opts.username,
        signers,
        ...(agent
          ? { loadSigners: () => boundAgentSigners(agent as AgentClient, transport, (m) => log?.debug?.(m)) }
          : {}),
        ...(opts.password !== undefined ? { password: opts.password } : {}),
        ...(opts.onPassword ? { onPassword: opts.onPassword } : {}),
        ...(opts.onKeyboardInteractive ? { onKeyboardInteractive: opts.onKeyboardInteractive } : {}),
        ...(opts.onPasswordChange ? { onPasswordChange: opts.onPasswordChange } : {}),
        ...(opts.authMethods ? { methods: opts.authMethods } : {}),
        ...(opts.hostbased ? { hostbased: await Promise.race([hostbasedCredentials(opts, stream), guard]) } : {}),
        onBanner: (m) => {
          client.emit('banner', m);
          opts.onBanner?.(m);
        },
      });
      try {
        await Promise.race([auth, guard]);
      } finally {
        agent?.close();
      }
      // USERAUTH_SUCCESS and a fatal packet in the same read: the transport closed before this ran.
      if (transport.closed) throw transport.closeError ?? new ConnectionLostError('connection closed');
    } catch (e) {
      const err =
        transport.closeError && !(e instanceof TimeoutError) && !(e instanceof AbortError) && !(e instanceof SshError)
          ? transport.closeError
          : e;
      transport.destroy(err as Error);
      if (timer) clearTimeout(timer);
      if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
      const final = preferTransportError(err as Error, transport);
      log?.warn?.(`secsh: connect failed: ${final.message}`);
      throw final;
    }
    if (timer) clearTimeout(timer);
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
    log?.info?.(`secsh: authenticated as ${opts.username}`);
    if (opts.signal) {
      const s = opts.signal;
      const closeOnAbort = () => void client.close();
      s.addEventListener('abort', closeOnAbort, { once: true });
      transport.once('close', () => s.removeEventListener('abort', closeOnAbort));
    }
    transport.on('close', (err?: Error) => {
      if (client.keepaliveTimer) clearInterval(client.keepaliveTimer);
      if (err && !(err instanceof AbortError) && client.listenerCount('error') > 0) client.emit('error', err);
      client.emit('close', err);
    });
    if (opts.keepaliveInterval && opts.keepaliveInterval > 0)
      client.keepaliveTimer = startKeepalive(
        transport,
        connection,
        opts.keepaliveInterval,
        opts.keepaliveCountMax ?? 3,
      );
    return client;
  }

  /** Negotiated algorithm names. */
  get algorithms(): Algorithms {
    const n = this.transport.negotiated;
    if (!n) throw new SshError('not connected', 'ERR_SSH_NOT_CONNECTED');
    return { kex: n.kex, hostKey: n.hostKey, cipher: n.cipher, mac: n.mac, compression: n.compression };
  }

  /** The server's host key. */
  get hostKey(): PublicKey {
    return this.transport.hostKey as PublicKey;
  }

  /** True once the connection has closed. */
  get closed(): boolean {
    return this.transport.closed;
  }

  /**
   * Read-only counts of what the connection holds: channels (open, or closing until both CLOSE
   * messages have passed), opens and requests awaiting the server's reply. Each falls back as its
   * exchange ends, and all are zero once the connection has closed. For monitoring and leak checks.
   */
  get stats(): ConnectionStats {
    return this.connection.stats;
  }

  /** Sessions open on this connection and opens waiting for one of the `maxSessions` slots. */
  get sessions(): {
    /** Session channels open now (exec, spawn, shell, subsystem, sftp). */
    open: number;
    /** Session opens waiting for a slot. */
    queued: number;
    /** The limit: {@link ConnectOptions.maxSessions}. */
    max: number;
  } {
    return { open: this.slots.open, queued: this.slots.queued, max: this.slots.max };
  }

  private async session(
    opts: { env?: Record<string, string>; pty?: boolean | PtyOptions } & SessionForwardOptions,
  ): Promise<Channel> {
    const ch = await this.slots.openSession(this.connection);
    return prepareSession(ch, opts, () => this.forwarding?.setup(ch, opts));
  }

  /**
   * Runs a command and collects its output. stdout and stderr are read concurrently, so large
   * outputs on both never deadlock. Resolves when the channel closes.
   *
   * @example
   * const { stdout, code } = await client.exec('uname -a');
   */
  exec(command: string, opts?: ExecOptions & { encoding?: 'utf8' }): Promise<ExecResult<string>>;
  exec(command: string, opts: ExecOptions & { encoding: 'buffer' }): Promise<ExecResult<Buffer>>;
  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult<string> | ExecResult<Buffer>> {
    return collectExec(await this.spawn(command, opts), opts);
  }

  /**
   * Starts a command with streams: `stdin`, `stdout`, `stderr`, and `exit`. Like a child
   * process's 'exit' event, `exit` resolves when the exit status arrives, which may be before the
   * last output has been read: wait for `stdout`'s 'end' too when you need all of it. `exit`
   * rejects with the connection's error when the connection dies before the process's end is known.
   *
   * @example
   * const p = await client.spawn('cat'); p.stdin.end('hi'); p.stdout.pipe(process.stdout); await p.exit;
   */
  async spawn(command: string, opts: Omit<ExecOptions, 'stdin' | 'encoding'> = {}): Promise<RemoteProcess> {
    return remoteProcess(await startOn(await this.session(opts), (ch) => ch.exec(command)));
  }

  /** Opens an interactive shell, with a pty when asked. */
  async shell(
    opts: { pty?: boolean | PtyOptions; env?: Record<string, string> } & SessionForwardOptions = {},
  ): Promise<Channel> {
    return startOn(await this.session(opts), (ch) => ch.shell());
  }

  /** Starts a subsystem (e.g. 'sftp') and returns its channel. */
  async subsystem(name: string): Promise<Channel> {
    const ch = await this.slots.openSession(this.connection);
    ch.on('error', noop);
    return startOn(ch, (c) => c.subsystem(name));
  }

  /** Starts the 'sftp' subsystem and returns an {@link SftpClient} on it. */
  async sftp(opts: SftpClientOptions = {}): Promise<SftpClient> {
    const ch = await this.subsystem('sftp');
    return sftpOn(ch, { symlinkOrder: symlinkOrderFor(this.transport.peerVersion), ...opts });
  }

  /**
   * Opens a TCP connection from the server to `host:port` (a direct-tcpip channel, like `ssh -W`).
   * The channel is a Duplex; pass it as `sock` to reach a host behind this one (a jump host).
   *
   * @example
   * const inner = await Client.connect({ sock: await jump.forwardOut('10.0.0.5', 22), username, agent: true, hostVerifier });
   */
  forwardOut(host: string, port: number, originHost = '127.0.0.1', originPort = 0): Promise<Channel> {
    return openDirectTcpip(this.connection, host, port, { host: originHost, port: originPort });
  }

  /**
   * Opens a connection from the server to its Unix socket `path` (a direct-streamlocal@openssh.com
   * channel, what `ssh -W /path` does); the channel is a Duplex.
   *
   * @example
   * const docker = await client.forwardOutStreamLocal('/var/run/docker.sock');
   */
  forwardOutStreamLocal(path: string): Promise<Channel> {
    return openDirectStreamlocal(this.connection, path);
  }

  /**
   * A local forward (`ssh -L`): listens on `bindHost:bindPort` (default host 127.0.0.1; port 0 picks
   * one) or the Unix socket `bindPath`, and carries each connection to `host:port` (or the Unix
   * socket `path`) as seen from the server. Closed with the client. A refused connection is an
   * 'error' event (ChannelOpenError) on the forward, which goes on listening.
   *
   * @example
   * const fwd = await client.forwardLocal({ bindPort: 0, host: 'db.internal', port: 5432 });
   * console.log(fwd.address); // { host: '127.0.0.1', port: 40123 }
   * await fwd.close();
   */
  forwardLocal(opts: LocalForwardOptions): Promise<Forward> {
    return this.track(startLocalForward(this.connection, opts));
  }

  /**
   * A dynamic forward (`ssh -D`): a SOCKS 4, 4a and 5 (CONNECT, no authentication) listener on
   * `bindHost:bindPort`; each request is carried to its destination from the server, names resolved there.
   *
   * @example
   * const socks = await client.forwardDynamic({ bindPort: 1080 }); // curl --socks5-hostname 127.0.0.1:1080 …
   */
  forwardDynamic(opts: DynamicForwardOptions): Promise<Forward> {
    return this.track(startDynamicForward(this.connection, opts));
  }

  /**
   * A remote forward (`ssh -R`): the server listens on `bindHost:bindPort` (default host `localhost`;
   * port 0 lets it choose, see `address.port`) or its Unix socket `bindPath`, and each connection
   * there is carried to the local `host:port` or socket `path`, or handed to `onConnection`. A
   * refusal rejects with a ListenError; `close()` cancels the listener.
   *
   * @example
   * const fwd = await client.forwardRemote({ bindPort: 0, host: '127.0.0.1', port: 3000 });
   * console.log(fwd.address); // { host: 'localhost', port: 41234 } on the server
   */
  forwardRemote(opts: RemoteForwardOptions): Promise<Forward> {
    return this.track(forwardRemote(this.connection, opts));
  }

  /** The forwards running on this client (from forwardLocal, forwardRemote, forwardDynamic or ssh_config). */
  get forwards(): Forward[] {
    return [...this.active];
  }

  private async track(started: Promise<Forward>): Promise<Forward> {
    const fwd = await started;
    this.active.add(fwd);
    fwd.once('close', () => this.active.delete(fwd));
    return fwd;
  }

  /** Forces a key re-exchange; resolves when the new keys are in use. */
  rekey(): Promise<void> {
    return this.transport.rekey();
  }

  /** Serves this connection to OpenSSH's `ssh -S path` (`-O check`, `-O exit`, `-O stop`, `-O proxy`): see listenControl. */
  listenControl(path: string, opts?: ControlListenOptions): Promise<ControlListener> {
    return listenControl(this, path, opts);
  }

  /** Disconnects and resolves when the stream is closed. */
  async close(): Promise<void> {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    this.transport.disconnect();
    await this.closedPromise;
  }
}
