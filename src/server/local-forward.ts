/**
 * Agent and X11 forwarding for sessions run by {@link localProcessHandler}: what sshd does for
 * `ssh -A` (a private agent socket in SSH_AUTH_SOCK) and `ssh -X` (DISPLAY=localhost:N, the client's
 * cookie added with `xauth`). Everything here runs on a client's request, so it only uses
 * asynchronous file system calls and child processes.
 */
import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import { debuglog } from 'node:util';
import type { AgentListener } from '../forward/agent-listen.js';
import { listenAgentForward } from '../forward/agent-listen.js';
import type { X11Listener } from '../forward/x11-server.js';
import { listenX11Forward } from '../forward/x11-server.js';
import type { AgentForwardRequest, Session, X11Info, X11Request } from './session.js';

const debug = debuglog('secsh');

/** X11 forwarding settings of {@link localProcessHandler} (sshd's X11 keywords). */
export interface X11ForwardingOptions {
  /** The first display number (sshd's X11DisplayOffset; default 10). */
  displayOffset?: number;
  /** How many displays are tried (default 1000). */
  maxDisplays?: number;
  /**
   * The `xauth` program that adds the client's cookie for the display (sshd's XAuthLocation; default
   * `/usr/bin/xauth`). As sshd, x11-req is refused when it is missing; null never runs it (the
   * application then sees to the cookie itself).
   */
  xauthPath?: string | null;
}

/** The forwarding part of {@link LocalProcessOptions}. */
export interface LocalForwardingOptions {
  /**
   * Serve `ssh -A` (auth-agent-req@openssh.com): a per-session socket in a private 0700 directory under
   * the temp directory, set as SSH_AUTH_SOCK, each connection relayed to the client's agent; removed
   * when the session ends. Default false (sshd's AllowAgentForwarding, off in the library).
   */
  agentForwarding?: boolean;
  /**
   * Serve `ssh -X` (x11-req): a display on 127.0.0.1 and ::1 port 6000+N (N from 10), DISPLAY=localhost:N.screen,
   * the client's cookie added with `xauth` before the command starts, each X connection relayed to the
   * client. Default false (sshd's X11Forwarding, off in the library).
   */
  x11Forwarding?: boolean | X11ForwardingOptions;
}

const DEFAULT_XAUTH = '/usr/bin/xauth';
const XAUTH_TIMEOUT_MS = 10_000;
/** sshd's xauth_valid_string: what may reach xauth's command input. */
const XAUTH_VALID = /^[A-Za-z0-9.:/_-]{1,512}$/;

/** The forwarding state of one session. */
class SessionForwarding {
  private agent: Promise<AgentListener | undefined> | undefined;
  private x11: { listener: X11Listener; info: X11Info } | undefined;
  private x11Pending: Promise<unknown> | undefined;
  private closed = false;

  constructor(
    private readonly session: Session,
    private readonly opts: LocalForwardingOptions,
  ) {
    session.once('close', () => this.close());
  }

  /** True once agent or X11 forwarding was asked for and is being (or was) set up. */
  get active(): boolean {
    return this.agent !== undefined || this.x11Pending !== undefined;
  }

  onAgent(req: AgentForwardRequest): void {
    if (!this.opts.agentForwarding) {
      debug('server: auth-agent-req@openssh.com declined by localProcessHandler: agent forwarding is not enabled');
      req.reject();
      return;
    }
    const connection = this.session.connection;
    if (!connection) {
      debug('server: auth-agent-req@openssh.com refused: the session has no connection to open channels on');
      req.reject();
      return;
    }
    // A second request while the first is being served shares its socket.
    this.agent ??= listenAgentForward(connection, {
      onError: (e) => debug('server: forwarded agent connection failed: %s', e.message),
    }).then(
      async (l) => {
        if (this.closed) {
          await l.close();
          return undefined;
        }
        debug('server: agent forwarding socket ready for session %d', this.session.channel.localId);
        return l;
      },
      (e: NodeJS.ErrnoException) => {
        // The code only: the message would name a local path.
        debug('server: agent forwarding refused: the socket could not be made (%s)', e.code ?? e.name);
        return undefined;
      },
    );
    void this.agent.then((l) => {
      if (l) req.accept();
      else req.reject();
    });
  }

  onX11(req: X11Request): void {
    const conf = this.opts.x11Forwarding;
    if (!conf) {
      debug('server: x11-req declined by localProcessHandler: X11 forwarding is not enabled');
      req.reject();
      return;
    }
    const connection = this.session.connection;
    if (!connection) {
      debug('server: x11-req refused: the session has no connection to open channels on');
      req.reject();
      return;
    }
    const info = req.x11;
    if (!XAUTH_VALID.test(info.authProtocol) || !XAUTH_VALID.test(info.authCookie) || info.screen > 0xffff) {
      debug('server: x11-req refused: invalid X11 forwarding data');
      req.reject();
      return;
    }
    if (this.x11 || this.x11Pending) {
      req.reject();
      return;
    }
    const c = conf === true ? {} : conf;
    const xauth = c.xauthPath === undefined ? DEFAULT_XAUTH : c.xauthPath;
    this.x11Pending = this.startX11(req, connection, c, xauth);
  }

  private async startX11(
    req: X11Request,
    connection: NonNullable<Session['connection']>,
    c: X11ForwardingOptions,
    xauth: string | null,
  ): Promise<void> {
    // As sshd: without xauth the X client would have no cookie for the display, so X11 is refused.
    if (xauth !== null && !(await executable(xauth))) {
      debug('server: x11-req refused: no xauth program, cannot forward X11');
      req.reject();
      return;
    }
    let listener: X11Listener;
    try {
      listener = await listenX11Forward(connection, {
        singleConnection: req.x11.singleConnection,
        ...(c.displayOffset !== undefined ? { displayOffset: c.displayOffset } : {}),
        ...(c.maxDisplays !== undefined ? { maxDisplays: c.maxDisplays } : {}),
        onError: (e) => debug('server: forwarded X11 connection failed: %s', e.message),
      });
    } catch (e) {
      debug('server: x11-req refused: %s', (e as Error).message);
      req.reject();
      return;
    }
    if (this.closed) {
      listener.close();
      req.reject();
      return;
    }
    if (!req.accept()) {
      listener.close();
      return;
    }
    this.x11 = { listener, info: req.x11 };
    debug('server: X11 display localhost:%d for session %d', listener.display, this.session.channel.localId);
  }

  /**
   * Adds SSH_AUTH_SOCK and DISPLAY to the command's `env` once the sockets are ready, and adds the X11
   * cookie with xauth run with `xauthEnv`: an environment the server built (its base environment and
   * the user's HOME/USER), never the client's env requests — a client-sent XAUTHORITY would otherwise
   * make xauth write a file wherever the client names, even under a forced command.
   */
  async prepare(env: NodeJS.ProcessEnv, xauthEnv: NodeJS.ProcessEnv): Promise<void> {
    const agent = await this.agent;
    if (agent) env.SSH_AUTH_SOCK = agent.path;
    await this.x11Pending;
    const x11 = this.x11;
    if (!x11 || this.closed) return;
    const { display } = x11.listener;
    const { screen, authProtocol, authCookie } = x11.info;
    env.DISPLAY = `localhost:${display}.${screen}`;
    const conf = this.opts.x11Forwarding;
    const xauth = typeof conf === 'object' && conf.xauthPath !== undefined ? conf.xauthPath : DEFAULT_XAUTH;
    // The x11 listener was made only after xauth was found (or with xauthPath null).
    if (xauth === null) return;
    const authDisplay = `unix:${display}.${screen}`;
    await runXauth(xauth, `remove ${authDisplay}\nadd ${authDisplay} ${authProtocol} ${authCookie}\n`, xauthEnv);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.x11?.listener.close();
    void this.agent?.then((l) => l?.close());
  }
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs `xauth -q -` with `input` on stdin, as sshd does; a failing xauth is logged, not fatal. */
async function runXauth(path: string, input: string, env: NodeJS.ProcessEnv): Promise<void> {
  await new Promise<void>((resolve) => {
    const child = execFile(path, ['-q', '-'], { env, timeout: XAUTH_TIMEOUT_MS }, (err) => {
      if (err) debug('server: xauth failed (%s): X11 cookie not added', err.code ?? err.signal ?? 'error');
      resolve();
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}

const states = new WeakMap<Session, SessionForwarding>();

/** Serves agent and X11 forwarding requests of `session` as `opts` allow (refusing them otherwise). */
export function attachForwarding(session: Session, opts: LocalForwardingOptions): void {
  if (states.has(session)) return;
  const state = new SessionForwarding(session, opts);
  states.set(session, state);
  session.on('agent-forward', (req: AgentForwardRequest) => state.onAgent(req));
  session.on('x11', (req: X11Request) => state.onX11(req));
}

/** What {@link runLocalProcess} waits for before it starts a command; undefined when nothing is forwarded. */
export function forwardingFor(
  session: Session,
): { prepare(env: NodeJS.ProcessEnv, xauthEnv: NodeJS.ProcessEnv): Promise<void> } | undefined {
  const state = states.get(session);
  return state?.active ? state : undefined;
}
