/**
 * A client of an OpenSSH ControlMaster (`ssh -M -S path`): it reuses the master's authenticated
 * connection. Sessions (exec, shell with a pty, subsystems, sftp) and direct-tcpip channels run over
 * the control socket in the master's proxy mode (MUX_C_PROXY, OpenSSH 7.4+): the socket then carries
 * plain connection-protocol messages and this side runs an ordinary {@link Connection}, so channels
 * are the same {@link Channel} Duplexes as a {@link Client}'s, with stderr, exit status and signals.
 * No file descriptor is passed: the passenger mode `ssh -S` itself uses (MUX_C_NEW_SESSION, then its
 * stdio descriptors by SCM_RIGHTS) works from Node only through process.binding('pipe_wrap') — an IPC
 * Pipe's write with a send handle, tried against OpenSSH 9.2 — which is deprecated (DEP0111) and not
 * portable to Bun or Deno, and its sessions report an exit value only (no signal) and need a local tty
 * for a pty's settings.
 * Sessions are not queued: an open beyond the server's MaxSessions (counting the master's own) fails
 * with ChannelOpenError. `check()` (`ssh -O check`), `exit()` (`-O exit`), `stopListening()`
 * (`-O stop`), `openForward()` (`-O forward`) and `cancelForward()` (`-O cancel`) each use a fresh
 * control connection, as `ssh -O` does.
 */
import { EventEmitter } from 'node:events';
import type { ExecOptions, ExecResult, RemoteProcess } from '../client/options.js';
import { collectExec, prepareSession, remoteProcess, sftpOn, startOn } from '../client/session-calls.js';
import type { Channel, ConnectionStats, PtyOptions } from '../connection/index.js';
import { Connection, isConnectionMessage } from '../connection/index.js';
import { ConnectionLostError, InvalidArgumentError, MuxError } from '../errors.js';
import { openDirectStreamlocal, openDirectTcpip } from '../forward/local.js';
import type { SftpClient, SftpClientOptions } from '../sftp/client.js';
import {
  encodeForward,
  encodeSimpleRequest,
  guard,
  MUX,
  MUX_PORT_STREAMLOCAL,
  type MuxForwardSpec,
  readLastUint32,
  refusalError,
} from './codec.js';
import { ControlSocket, DEFAULT_MUX_TIMEOUT } from './control.js';
import { ProxyFramer, ProxyLink } from './proxy-link.js';

/** Options of {@link MuxClient.connect}. */
export interface MuxConnectOptions {
  /** The master's control socket (ControlPath), e.g. `~/.ssh/cm-%C` after token expansion. */
  controlPath: string;
  /** Deadline for connecting and for each control reply, in ms (default 10000). */
  timeout?: number;
}

/** Options of {@link MuxClient.exec}: those of `Client.exec` but agent and X11 forwarding, which a master does not relay per session. */
export type MuxExecOptions = Omit<ExecOptions, 'x11' | 'agentForward'>;

/**
 * A connection shared through an OpenSSH ControlMaster. Events: 'close' (err?) when the control
 * socket closes.
 *
 * @example
 * const mux = await MuxClient.connect({ controlPath: '/home/me/.ssh/cm-web' });
 * const { stdout, code } = await mux.exec('uname -a');
 * await mux.close();
 */
export class MuxClient extends EventEmitter {
  /** The control socket this client uses. */
  readonly controlPath: string;
  private readonly timeoutMs: number;
  private readonly connection: Connection;
  private readonly closedPromise: Promise<void>;
  private readonly destroyLink: () => void;

  private constructor(path: string, timeoutMs: number, cs: ControlSocket) {
    super();
    this.controlPath = path;
    this.timeoutMs = timeoutMs;
    const { socket, leftover } = cs.detach();
    const link = new ProxyLink(socket);
    const connection = new Connection(link, { role: 'client', maxChannels: 1024 });
    this.connection = connection;
    const framer = new ProxyFramer();
    let failure: Error | undefined;
    const onData = (chunk: Buffer): void => {
      try {
        for (const p of framer.push(chunk)) {
          const type = p[0];
          if (type === undefined || !isConnectionMessage(type)) {
            throw new MuxError(`the control master proxied a non-connection message (${String(type)})`);
          }
          connection.handlePacket(p);
        }
      } catch (e) {
        failure = e as Error;
        socket.destroy();
      }
    };
    socket.on('data', onData);
    socket.on('error', (e) => {
      failure ??= new ConnectionLostError(`control socket: ${e.message}`, { cause: e });
    });
    this.closedPromise = new Promise<void>((resolve) => {
      const closed = (): void => {
        connection.destroy(failure);
        this.emit('close', failure);
        resolve();
      };
      // The master may have gone in the moment between its PROXY reply and this constructor.
      if (socket.destroyed) queueMicrotask(closed);
      else socket.once('close', closed);
    });
    this.destroyLink = () => socket.destroy();
    if (leftover.length > 0) onData(leftover);
  }

  /**
   * Connects to a running master's control socket and switches it to proxy mode. Rejects with
   * MuxError (bad reply, refused), ConnectionLostError (no master there) or TimeoutError.
   */
  static async connect(opts: MuxConnectOptions): Promise<MuxClient> {
    if (!opts || typeof opts.controlPath !== 'string' || opts.controlPath === '') {
      throw new InvalidArgumentError('controlPath is required');
    }
    const timeout = opts.timeout ?? DEFAULT_MUX_TIMEOUT;
    const cs = await ControlSocket.open(opts.controlPath, timeout);
    try {
      const id = cs.id();
      const m = await cs.request(encodeSimpleRequest(MUX.C_PROXY, id), id, 'PROXY');
      if (m.type !== MUX.S_PROXY) throw failure(m.type, m.body, 'PROXY');
      guard(() => m.body.ensureEnd('PROXY reply'), 'PROXY reply');
    } catch (e) {
      cs.fail(e as Error);
      throw e;
    }
    return new MuxClient(opts.controlPath, timeout, cs);
  }

  /** What the proxied connection holds now (channels, pending opens and requests); all zero once closed. */
  get stats(): ConnectionStats {
    return this.connection.stats;
  }

  /** `ssh -O check`: resolves with the master's process id. */
  check(): Promise<number> {
    return checkControl(this.controlPath, this.timeoutMs);
  }

  /** `ssh -O exit`: asks the master to exit (which ends this client's channels too); see {@link exitControl}. */
  exit(): Promise<void> {
    return exitControl(this.controlPath, this.timeoutMs);
  }

  /** `ssh -O stop`: the master stops accepting control connections; running ones go on. */
  async stopListening(): Promise<void> {
    await simpleOk(this.controlPath, this.timeoutMs, MUX.C_STOP_LISTENING, 'STOP_LISTENING');
  }

  /**
   * `ssh -O forward`: asks the master to set up a forward (it lives as long as the master). Resolves
   * with the port the server allocated for a remote forward asked with port 0, else undefined.
   */
  openForward(spec: MuxForwardSpec): Promise<number | undefined> {
    return openControlForward(this.controlPath, spec, this.timeoutMs);
  }

  /** `ssh -O cancel`: asks the master to close a forward set up with {@link openForward} (or `ssh -O forward`). */
  async cancelForward(spec: MuxForwardSpec): Promise<void> {
    await withControl(this.controlPath, this.timeoutMs, async (cs) => {
      const id = cs.id();
      const m = await cs.request(encodeForward(MUX.C_CLOSE_FWD, id, spec), id, 'CLOSE_FWD');
      if (m.type !== MUX.S_OK) throw failure(m.type, m.body, 'CLOSE_FWD');
    });
  }

  private async session(opts: { env?: Record<string, string>; pty?: boolean | PtyOptions }): Promise<Channel> {
    return prepareSession(await this.connection.openSession(), opts);
  }

  /** Runs a command and collects its output (as {@link Client.exec}); resolves when the channel closes. */
  exec(command: string, opts?: MuxExecOptions & { encoding?: 'utf8' }): Promise<ExecResult<string>>;
  exec(command: string, opts: MuxExecOptions & { encoding: 'buffer' }): Promise<ExecResult<Buffer>>;
  async exec(command: string, opts: MuxExecOptions = {}): Promise<ExecResult<string> | ExecResult<Buffer>> {
    return collectExec(await this.spawn(command, opts), opts);
  }

  /** Starts a command with streams and its `exit` (as {@link Client.spawn}). */
  async spawn(command: string, opts: Pick<ExecOptions, 'env' | 'pty'> = {}): Promise<RemoteProcess> {
    return remoteProcess(await startOn(await this.session(opts), (ch) => ch.exec(command)));
  }

  /** Opens an interactive shell, with a pty when asked. */
  async shell(opts: { pty?: boolean | PtyOptions; env?: Record<string, string> } = {}): Promise<Channel> {
    return startOn(await this.session(opts), (ch) => ch.shell());
  }

  /** Starts a subsystem (e.g. 'sftp') and returns its channel. */
  async subsystem(name: string): Promise<Channel> {
    return startOn(await this.session({}), (ch) => ch.subsystem(name));
  }

  /** Starts the 'sftp' subsystem and returns an {@link SftpClient} on it. */
  async sftp(opts: SftpClientOptions = {}): Promise<SftpClient> {
    return sftpOn(await this.subsystem('sftp'), opts);
  }

  /** Opens a TCP connection from the server to `host:port` (a direct-tcpip channel) through the master. */
  forwardOut(host: string, port: number, originHost = '127.0.0.1', originPort = 0): Promise<Channel> {
    return openDirectTcpip(this.connection, host, port, { host: originHost, port: originPort });
  }

  /** Opens a connection from the server to its Unix socket `path` through the master. */
  forwardOutStreamLocal(path: string): Promise<Channel> {
    return openDirectStreamlocal(this.connection, path);
  }

  /** Closes the control connection (the master and its other clients go on); resolves once closed. */
  async close(): Promise<void> {
    this.destroyLink();
    await this.closedPromise;
  }
}

function failure(type: number, body: Parameters<typeof refusalError>[1], what: string): MuxError {
  if (type === MUX.S_FAILURE || type === MUX.S_PERMISSION_DENIED) return refusalError(type, body, what);
  return new MuxError(`unexpected reply 0x${type.toString(16)} to ${what}`);
}

async function withControl<T>(path: string, timeoutMs: number, f: (cs: ControlSocket) => Promise<T>): Promise<T> {
  const cs = await ControlSocket.open(path, timeoutMs);
  try {
    return await f(cs);
  } finally {
    cs.close();
  }
}

/** Sends a request that carries only its id and expects MUX_S_OK. */
async function requestOk(cs: ControlSocket, type: number, what: string): Promise<void> {
  const id = cs.id();
  const m = await cs.request(encodeSimpleRequest(type, id), id, what);
  if (m.type !== MUX.S_OK) throw failure(m.type, m.body, what);
  guard(() => m.body.ensureEnd(what), what);
}

async function simpleOk(path: string, timeoutMs: number, type: number, what: string): Promise<void> {
  await withControl(path, timeoutMs, (cs) => requestOk(cs, type, what));
}

/** `ssh -O check` on `path`: resolves with the master's pid. */
export function checkControl(path: string, timeoutMs = DEFAULT_MUX_TIMEOUT): Promise<number> {
  return withControl(path, timeoutMs, async (cs) => {
    const id = cs.id();
    const m = await cs.request(encodeSimpleRequest(MUX.C_ALIVE_CHECK, id), id, 'ALIVE_CHECK');
    if (m.type !== MUX.S_ALIVE) throw failure(m.type, m.body, 'ALIVE_CHECK');
    return readLastUint32(m.body, 'ALIVE reply');
  });
}

/**
 * `ssh -O exit` on `path`. OpenSSH's master may exit before its OK reaches us; a close after the
 * HELLO exchange instead of the reply counts as done, as it does for `ssh -O exit`. No master
 * reached (no socket, refused, closed or silent before its HELLO) rejects as {@link checkControl}
 * does: ConnectionLostError, TimeoutError or MuxError.
 */
export async function exitControl(path: string, timeoutMs = DEFAULT_MUX_TIMEOUT): Promise<void> {
  // Opening is outside the catch: a master never reached is an error, one gone after HELLO is done.
  await withControl(path, timeoutMs, async (cs) => {
    try {
      await requestOk(cs, MUX.C_TERMINATE, 'TERMINATE');
    } catch (e) {
      if (!(e instanceof ConnectionLostError)) throw e;
    }
  });
}

/** `ssh -O forward` on `path` (see {@link MuxClient.openForward}). */
export function openControlForward(
  path: string,
  spec: MuxForwardSpec,
  timeoutMs = DEFAULT_MUX_TIMEOUT,
): Promise<number | undefined> {
  for (const p of [spec.listenPort, spec.connectPort]) {
    if (p !== undefined && (!Number.isInteger(p) || p < 0 || p > 65535)) {
      throw new InvalidArgumentError(`invalid port ${String(p)}`);
    }
  }
  return withControl(path, timeoutMs, async (cs) => {
    const id = cs.id();
    const m = await cs.request(encodeForward(MUX.C_OPEN_FWD, id, spec), id, 'OPEN_FWD');
    if (m.type === MUX.S_OK) {
      guard(() => m.body.ensureEnd('OPEN_FWD reply'), 'OPEN_FWD reply');
      return undefined;
    }
    if (m.type === MUX.S_REMOTE_PORT) {
      const port = readLastUint32(m.body, 'REMOTE_PORT reply');
      if (port > 65535 && port !== MUX_PORT_STREAMLOCAL) throw new MuxError(`master allocated port ${port}`);
      return port;
    }
    throw failure(m.type, m.body, 'OPEN_FWD');
  });
}
