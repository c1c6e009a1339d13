/**
 * A server-side session channel (RFC 4254 §6): turns the channel's incoming requests into typed
 * events a handler answers. pty-req, env and window-change are recorded by default; exec, shell and
 * subsystem need a handler that accepts them.
 */
import { EventEmitter } from 'node:events';
import type { SessionPermissions } from '../auth/cert-options.js';
import { UNRESTRICTED_PERMISSIONS } from '../auth/cert-options.js';
import type { Channel, Connection } from '../connection/index.js';
import type { ChannelRequestEvent } from '../connection/types.js';

/** A pseudo-terminal the client asked for. */
export interface PtyInfo {
  /** TERM value, e.g. `xterm-256color`. */
  term: string;
  /** Columns (characters); updated by window-change. */
  cols: number;
  /** Rows (characters); updated by window-change. */
  rows: number;
  /** Width in pixels (0 when unknown). */
  width: number;
  /** Height in pixels (0 when unknown). */
  height: number;
  /** Terminal modes by name (`ECHO`, `VINTR`, …; RFC 4254 §8). */
  modes: Record<string, number>;
}

/**
 * Something a handler answers (a reply is sent only if the client asked for one). Every listener of the
 * event gets the request, in the order they were added, whatever the others did: the first `accept()`
 * answers it, and `reject()` means "not mine", leaving it to the other listeners. It is refused once
 * every listener has rejected it, so the order in which handlers were added does not decide what works.
 */
export interface SessionRequestBase {
  /**
   * Takes the request: true when this call answered it; false (and nothing sent) when another listener
   * had already taken it or it was already refused — a handler that gets false must not serve it.
   */
  accept(): boolean;
  /** Declines the request for this listener; it is refused when every listener has declined. */
  reject(): void;
  /**
   * Takes the request unless another listener accepts it while the event is delivered, whatever the
   * order they were added in: a catch-all handler (such as `localProcessHandler`, which runs any
   * command) uses this so that a handler that serves only some requests (such as `scpExecHandler`)
   * wins. `onTaken` runs once every listener has been called and none accepted (listeners that only
   * watch, or decide later, do not hold it up); it never runs when another listener accepted. Among
   * several fallbacks the first added wins.
   */
  fallback(onTaken: () => void): void;
}

/** exec request. */
export interface ExecRequest extends SessionRequestBase {
  /** The command to run: under a forced command, the forced one. */
  command: string;
  /**
   * Set only under a forced command ({@link Session.forceCommand}): what the client asked for — the exec
   * command, the subsystem name, or `''` for a shell (sshd's SSH_ORIGINAL_COMMAND).
   */
  originalCommand?: string;
}
/** subsystem request. */
export interface SubsystemRequest extends SessionRequestBase {
  /** Subsystem name, e.g. `sftp`. */
  name: string;
}
/** env request (default: recorded in `session.env` if `acceptEnv` allows). */
export interface EnvRequest extends SessionRequestBase {
  /** Variable name. */
  name: string;
  /** Variable value. */
  value: string;
}
/** pty-req (default: recorded in `session.pty` and accepted). */
export interface PtyRequest extends SessionRequestBase {
  /** The terminal asked for. */
  pty: PtyInfo;
}

/** What an x11-req asked for (RFC 4254 §6.3.1). */
export interface X11Info {
  /** Forward only one X11 connection. */
  singleConnection: boolean;
  /** X11 authentication protocol, e.g. `MIT-MAGIC-COOKIE-1`. */
  authProtocol: string;
  /** The (fake) authentication cookie the client chose, hex. */
  authCookie: string;
  /** X11 screen number. */
  screen: number;
}
/** x11-req: the 'x11' event. Accept once the display listens (accept may come later, asynchronously). */
export interface X11Request extends SessionRequestBase {
  /** What the client asked for. */
  x11: X11Info;
}
/**
 * auth-agent-req@openssh.com: the 'agent-forward' event. Accept once the agent socket exists (accept
 * may come later, asynchronously).
 */
export type AgentForwardRequest = SessionRequestBase;

/** The request a {@link Session} runs: exec (also every request under a forced command), shell or subsystem. */
export type SessionStart =
  | {
      /** A command. */
      type: 'exec';
      /** The command that runs (the forced one under a forced command). */
      command: string;
    }
  | {
      /** The user's shell. */
      type: 'shell';
    }
  | {
      /** A subsystem. */
      type: 'subsystem';
      /** Subsystem name, e.g. `sftp`. */
      name: string;
    };

/** Settings of a {@link Session}. */
export interface SessionOptions {
  /** Which env names a client may set (default: {@link defaultAcceptEnv}). */
  acceptEnv?: (name: string, value: string) => boolean;
  /** Most env requests per session (default 64). */
  maxEnv?: number;
  /**
   * A command that replaces every exec, shell and subsystem request (a user certificate's
   * `force-command`): each arrives as an 'exec' event with this command and `originalCommand`.
   */
  forceCommand?: string;
  /**
   * What the user may do (a user certificate's extensions; default: everything). Requests it does not
   * allow — pty-req, x11-req, auth-agent-req@openssh.com — are refused before any handler sees them.
   */
  permissions?: SessionPermissions;
  /** sshd's SSH_CONNECTION for this connection (`client_ip client_port server_ip server_port`), when known. */
  sshConnection?: string;
  /** The client's SSH version line (e.g. `SSH-2.0-OpenSSH_9.2p1`), for peer-specific behaviour. */
  clientVersion?: string;
  /** Our own SSH version line (`SSH-2.0-secsh_…`, or as `softwareVersion` set it). */
  serverVersion?: string;
  /**
   * The connection the session belongs to: what agent and X11 forwarding open their
   * `auth-agent@openssh.com` and `x11` channels back to the client on.
   */
  connection?: Connection;
}

const DENIED_ENV =
  /^(LD_|DYLD_)|^(PATH|IFS|ENV|BASH_ENV|SHELLOPTS|BASHOPTS|PS4|NODE_OPTIONS|PYTHONPATH|PERL5OPT|HOME|SHELL|USER|LOGNAME|XAUTHORITY|DISPLAY|SSH_AUTH_SOCK|TMPDIR|GCONV_PATH|LOCPATH|MALLOC_.*)$/;

/**
 * Accepts ordinary variable names; refuses loader, shell-startup and identity variables, and those the
 * server sets for forwarding (DISPLAY, XAUTHORITY, SSH_AUTH_SOCK) or that steer libc (TMPDIR, GCONV_PATH, …).
 */
export function defaultAcceptEnv(name: string, value: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name) && !DENIED_ENV.test(name) && value.length <= 32 * 1024;
}

/**
 * One session channel of an authenticated user.
 *
 * Events (each with a request object to `accept()` or `reject()`): 'exec' ({@link ExecRequest}),
 * 'shell', 'subsystem' ({@link SubsystemRequest}), 'pty' ({@link PtyRequest}), 'env'
 * ({@link EnvRequest}), 'x11' ({@link X11Request}), 'agent-forward' ({@link AgentForwardRequest}; these two
 * go to 'request' when nobody listens to them); notifications: 'window-change' ({cols, rows, width, height}), 'signal'
 * (name without SIG), 'request' (any other {@link ChannelRequestEvent}); 'close'; 'error' (an exception a
 * handler threw: the session was closed, the connection and its other sessions go on).
 * Only one of exec/shell/subsystem is accepted per session. Several handlers may listen to one event:
 * each gets the request, a `reject()` only declines it for that handler, and it is refused when all
 * declined (see {@link SessionRequestBase}), so handlers may be added in any order.
 *
 * @example
 * server.on('session', (session) => {
 *   session.on('exec', (req) => { req.accept(); session.channel.end(`you ran ${req.command}\n`); session.exit(0); });
 * });
 */
export class Session extends EventEmitter {
  /** The channel: write stdout to it, `stderrOut` for stderr; read stdin from it. */
  readonly channel: Channel;
  /** The user this session belongs to. */
  readonly username: string;
  /** The pty requested, if any. */
  pty: PtyInfo | undefined;
  /** Environment variables the client set (and `acceptEnv` allowed). */
  readonly env: Record<string, string> = {};
  /** The forced command of this user (see {@link SessionOptions.forceCommand}), if any. */
  readonly forceCommand: string | undefined;
  /**
   * What this user may do ({@link SessionOptions.permissions}): with `pty` false, pty-req is refused
   * before the 'pty' event (a later shell or exec runs without a pty); with `x11Forwarding` or
   * `agentForwarding` false, x11-req or auth-agent-req@openssh.com is refused before the 'request' event.
   */
  readonly permissions: SessionPermissions;
  /** `client_ip client_port server_ip server_port` (sshd's SSH_CONNECTION) when the client came over TCP. */
  readonly sshConnection: string | undefined;
  /** The client's SSH version line (e.g. `SSH-2.0-OpenSSH_9.2p1`), when known. */
  readonly clientVersion: string | undefined;
  /** Our own SSH version line, when known. */
  readonly serverVersion: string | undefined;
  /**
   * The connection this session belongs to, when the server gave it ({@link SessionOptions.connection}):
   * agent and X11 forwarding open their channels back to the client on it.
   */
  readonly connection: Connection | undefined;
  /** The exec/shell/subsystem request that was accepted. */
  started: SessionStart | undefined;
  /** The x11-req a handler accepted (at most one per session, as sshd). */
  x11: X11Info | undefined;
  /** True once a handler accepted auth-agent-req@openssh.com. */
  agentForwarding = false;
  private readonly opts: SessionOptions;
  private envCount = 0;

  /** @internal Created by the server for each accepted session channel. */
  constructor(channel: Channel, username: string, opts: SessionOptions = {}) {
    super();
    this.channel = channel;
    this.username = username;
    this.opts = opts;
    this.forceCommand = opts.forceCommand;
    this.permissions = opts.permissions ?? UNRESTRICTED_PERMISSIONS;
    this.sshConnection = opts.sshConnection;
    this.clientVersion = opts.clientVersion;
    this.serverVersion = opts.serverVersion;
    this.connection = opts.connection;
    channel.on('request', (ev: ChannelRequestEvent) => {
      try {
        this.onRequest(ev);
      } catch (e) {
        // A throwing handler ends this session only (not the connection and its other sessions):
        // the request is refused if it was not answered, and the channel closed.
        ev.reject();
        if (!channel.destroyed) channel.destroy();
        if (this.listenerCount('error') > 0) this.emit('error', e);
      }
    });
    // 'close' once the channel is over: closed on the wire (even if nobody read the client's last
    // data, as when a client sends CLOSE without EOF) or destroyed here.
    let closed = false;
    const onClose = () => {
      if (closed) return;
      closed = true;
      this.emit('close');
    };
    channel.once('released', onClose);
    channel.once('close', onClose);
  }

  /** Sends exit-status (or exit-signal when `signal` is given) and ends our side of the channel. */
  exit(code: number | null, signal?: string, coreDumped = false): void {
    if (signal) this.channel.sendExitSignal(signal.replace(/^SIG/, ''), coreDumped, '');
    else this.channel.sendExitStatus(code ?? 0);
    if (!this.channel.writableEnded) this.channel.end();
  }

  /** False for a request the user's permissions forbid (checked by name, so a malformed one is caught too). */
  private permitted(type: string): boolean {
    const p = this.permissions;
    if (type === 'pty-req') return p.pty;
    if (type === 'x11-req') return p.x11Forwarding;
    if (type === 'auth-agent-req@openssh.com') return p.agentForwarding;
    return true;
  }

  /**
   * Hands a request to every listener of `event` (see {@link SessionRequestBase}), each with its own
   * accept/reject over `fields`: the first accept calls `take` (which answers on the wire and says
   * whether it took the request); a reject declines for that listener only, and `refuse` is called
   * once all of them declined. Returns false, doing nothing, when `event` has no listener.
   */
  private offer(event: string, fields: object, take: () => boolean, refuse: () => void): boolean {
    const listeners = this.rawListeners(event);
    if (listeners.length === 0) return false;
    let answered = false;
    let declined = 0;
    let offered = false;
    const fallbacks: Array<() => void> = [];
    // Once every listener has been called and none accepted, the first fallback takes it; without a
    // fallback it is refused when every listener has declined.
    const settle = (): void => {
      if (answered || !offered) return;
      const onTaken = fallbacks[0];
      if (onTaken) {
        answered = true;
        if (take()) onTaken();
      } else if (declined === listeners.length) {
        answered = true;
        refuse();
      }
    };
    for (const listener of listeners) {
      let mine = false;
      const req = {
        ...fields,
        accept: (): boolean => {
          if (answered || mine) return false;
          mine = true;
          answered = true;
          return take();
        },
        reject: (): void => {
          if (answered || mine) return;
          mine = true;
          declined++;
          settle();
        },
        fallback: (onTaken: () => void): void => {
          if (answered || mine) return;
          mine = true;
          fallbacks.push(onTaken);
          settle();
        },
      };
      listener.call(this, req);
    }
    offered = true;
    settle();
    return true;
  }

  private onRequest(ev: ChannelRequestEvent): void {
    if (!this.permitted(ev.type)) {
      ev.reject();
      return;
    }
    const d = ev.details;
    if (!d) {
      if (this.listenerCount('request') > 0) this.emit('request', ev);
      else ev.reject();
      return;
    }
    const refuse = () => ev.reject();
    switch (d.type) {
      case 'pty-req': {
        if (this.started) {
          ev.reject();
          return;
        }
        const pty: PtyInfo = {
          term: d.term,
          cols: d.cols,
          rows: d.rows,
          width: d.width,
          height: d.height,
          modes: d.modes,
        };
        const take = () => {
          this.pty = pty;
          ev.accept();
          return true;
        };
        if (!this.offer('pty', { pty }, take, refuse)) take();
        return;
      }
      case 'env': {
        if (this.started || this.envCount >= (this.opts.maxEnv ?? 64)) {
          ev.reject();
          return;
        }
        this.envCount++;
        const allowed = (this.opts.acceptEnv ?? defaultAcceptEnv)(d.name, d.value);
        const take = () => {
          this.env[d.name] = d.value;
          ev.accept();
          return true;
        };
        if (this.offer('env', { name: d.name, value: d.value }, take, refuse)) return;
        if (allowed) take();
        else refuse();
        return;
      }
      case 'exec':
      case 'shell':
      case 'subsystem': {
        // A forced command turns every request into an exec of that command, as sshd does.
        const forced = this.forceCommand;
        const started: SessionStart =
          forced !== undefined
            ? { type: 'exec', command: forced }
            : d.type === 'exec'
              ? { type: 'exec', command: d.command }
              : d.type === 'subsystem'
                ? { type: 'subsystem', name: d.name }
                : { type: 'shell' };
        if (this.started || this.listenerCount(started.type) === 0) {
          ev.reject();
          return;
        }
        const original = d.type === 'exec' ? d.command : d.type === 'subsystem' ? d.name : '';
        const { type: _type, ...fields } = started;
        const take = () => {
          // Another request of this session may have started while this one waited for an answer.
          if (this.started) {
            ev.reject();
            return false;
          }
          this.started = started;
          ev.accept();
          return true;
        };
        this.offer(
          started.type,
          { ...fields, ...(forced !== undefined ? { originalCommand: original } : {}) },
          take,
          refuse,
        );
        return;
      }
      case 'x11-req': {
        // Only before the command starts (its environment carries DISPLAY), and once, as sshd.
        if (this.started || this.x11) {
          ev.reject();
          return;
        }
        const x11: X11Info = {
          singleConnection: d.singleConnection,
          authProtocol: d.authProtocol,
          authCookie: d.authCookie,
          screen: d.screen,
        };
        const take = () => {
          if (this.x11 || this.channel.destroyed) {
            ev.reject();
            return false;
          }
          this.x11 = x11;
          ev.accept();
          return true;
        };
        if (!this.offer('x11', { x11 }, take, refuse)) this.unhandled(ev);
        return;
      }
      case 'auth-agent-req@openssh.com': {
        if (this.agentForwarding) {
          ev.accept(); // asked again: the socket is there already
          return;
        }
        if (this.started) {
          ev.reject();
          return;
        }
        const take = () => {
          if (this.channel.destroyed) {
            ev.reject();
            return false;
          }
          this.agentForwarding = true;
          ev.accept();
          return true;
        };
        if (!this.offer('agent-forward', {}, take, refuse)) this.unhandled(ev);
        return;
      }
      case 'window-change': {
        if (this.pty) {
          this.pty.cols = d.cols;
          this.pty.rows = d.rows;
          this.pty.width = d.width;
          this.pty.height = d.height;
        }
        this.emit('window-change', { cols: d.cols, rows: d.rows, width: d.width, height: d.height });
        ev.accept();
        return;
      }
      case 'signal': {
        this.emit('signal', d.name);
        ev.accept();
        return;
      }
      default:
        this.unhandled(ev);
    }
  }

  /** A request no typed event took: the 'request' listeners get it, or it is refused. */
  private unhandled(ev: ChannelRequestEvent): void {
    if (this.listenerCount('request') > 0) this.emit('request', ev);
    else ev.reject();
  }
}
