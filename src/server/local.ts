/**
 * A ready-made session handler that runs exec and shell requests as local processes of the server's
 * own user, the way sshd does: the user's shell with `-c command` (no shell:true), the session's env,
 * signals, exit-status and exit-signal. A pty, when asked for, comes from util-linux `script`
 * (no native addon); without it the command runs on pipes.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { access, readFile, readlink } from 'node:fs/promises';
import { homedir, constants as osConstants, userInfo } from 'node:os';
import { attachForwarding, forwardingFor, type LocalForwardingOptions } from './local-forward.js';
import type { ExecRequest, Session, SessionRequestBase, SubsystemRequest } from './session.js';

export type { LocalForwardingOptions, X11ForwardingOptions } from './local-forward.js';

/**
 * Settings of {@link localProcessHandler}. Agent and X11 forwarding ({@link LocalForwardingOptions})
 * are off unless asked for.
 */
export interface LocalProcessOptions extends LocalForwardingOptions {
  /** The shell that runs commands (default `$SHELL`, else `/bin/sh`). */
  shell?: string;
  /** Working directory (default the user's home). */
  cwd?: string;
  /** Base environment (default `process.env`); the session's env and TERM are added. */
  env?: NodeJS.ProcessEnv;
  /** Use util-linux `script` for pty requests when available (default true). */
  usePty?: boolean;
  /**
   * Subsystem handlers by name (e.g. `sftp`); others are declined, which leaves them to the session's
   * other handlers (and refuses them when there is none).
   */
  subsystems?: Record<string, (session: Session) => void>;
  /** Set as SSH_ORIGINAL_COMMAND (runLocalProcess; the handler sets it under a forced command). */
  originalCommand?: string;
}

const SCRIPT_PATHS = ['/usr/bin/script', '/bin/script'];
let scriptPath: string | null | undefined;

/**
 * The util-linux `script` binary, or null when absent (synchronous: for setup code; sessions use
 * {@link locateScript}).
 */
export function findScript(): string | null {
  if (scriptPath !== undefined) return scriptPath;
  scriptPath = null;
  for (const p of SCRIPT_PATHS) {
    try {
      accessSync(p, fsConstants.X_OK);
      scriptPath = p;
      break;
    } catch {
      // next
    }
  }
  return scriptPath;
}

/** {@link findScript} without blocking: what a session started by a peer's request uses. */
export async function locateScript(): Promise<string | null> {
  if (scriptPath !== undefined) return scriptPath;
  let found: string | null = null;
  for (const p of SCRIPT_PATHS) {
    try {
      await access(p, fsConstants.X_OK);
      found = p;
      break;
    } catch {
      // next
    }
  }
  scriptPath ??= found;
  return scriptPath;
}

/** The server's own user, looked up once (userInfo reads the user database synchronously). */
let ownUser: { username: string; homedir: string } | null | undefined;
function serverUser(): { username: string; homedir: string } | null {
  if (ownUser === undefined) {
    try {
      const u = userInfo();
      ownUser = { username: u.username, homedir: u.homedir };
    } catch {
      ownUser = null;
    }
  }
  return ownUser;
}

/** Quotes a string for a POSIX shell. */
function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Returns a 'session' listener that runs exec and shell as local processes. Under a forced command
 * ({@link Session.forceCommand}) every request runs that command, with SSH_ORIGINAL_COMMAND set.
 *
 * @example
 * server.on('session', localProcessHandler());
 */
export function localProcessHandler(opts: LocalProcessOptions = {}): (session: Session) => void {
  // Looked up now, while the application sets up, so that no session waits for them.
  serverUser();
  if (opts.usePty !== false) void locateScript();
  return (session) => {
    // auth-agent-req and x11-req: served when the options allow, declined (with a debug line) otherwise.
    attachForwarding(session, opts);
    // exec and shell run any command, so they are taken only when no other handler (scpExecHandler, say)
    // wants them; a subsystem we do not serve is declined (reject), leaving it to the session's other
    // handlers, such as sftpSubsystemHandler.
    session.on('exec', (req: ExecRequest) => {
      req.fallback(() => {
        const env = req.originalCommand === undefined ? opts : { ...opts, originalCommand: req.originalCommand };
        runLocalProcess(session, req.command, env);
      });
    });
    session.on('shell', (req: SessionRequestBase) => {
      req.fallback(() => runLocalProcess(session, undefined, opts));
    });
    session.on('subsystem', (req: SubsystemRequest) => {
      const h = opts.subsystems?.[req.name];
      if (!h) return req.reject();
      if (req.accept()) h(session);
    });
  };
}

/**
 * Runs `command` (or, when undefined, an interactive shell) for an accepted session: the user's shell
 * with `-c`, on a pty from `script` when the session has one, stdin/stdout/stderr wired to the
 * channel, and exit-status or exit-signal when it ends. Call after accepting exec/shell. Nothing it
 * does on the client's behalf blocks the event loop: no synchronous file system call or child process.
 */
export function runLocalProcess(session: Session, command: string | undefined, opts: LocalProcessOptions = {}): void {
  const wantPty = session.pty !== undefined && opts.usePty !== false;
  const { env, serverEnv } = commandEnv(session, opts);
  const forwarding = forwardingFor(session);
  if (!wantPty && !forwarding) {
    startLocalProcess(session, command, opts, null, env);
    return;
  }
  // SSH_AUTH_SOCK and DISPLAY once their sockets are ready, and the X11 cookie added, first.
  const ready = forwarding ? forwarding.prepare(env, serverEnv).catch(() => {}) : Promise.resolve();
  ready
    .then(() => (wantPty ? locateScript() : null))
    .then(
      (script) => startLocalProcess(session, command, opts, script, env),
      () => startLocalProcess(session, command, opts, null, env),
    );
}

/**
 * The command's environment (`env`: the base one, the user's identity, the session's env, sshd's
 * variables) and the server's own part of it (`serverEnv`: without anything the client sent), for the
 * helpers the server runs itself such as xauth.
 */
function commandEnv(
  session: Session,
  opts: LocalProcessOptions,
): { env: NodeJS.ProcessEnv; serverEnv: NodeJS.ProcessEnv } {
  const shell = opts.shell ?? process.env.SHELL ?? '/bin/sh';
  const user = serverUser() ?? { username: session.username, homedir: homedir() };
  const serverEnv: NodeJS.ProcessEnv = {
    ...(opts.env ?? process.env),
    USER: user.username,
    LOGNAME: user.username,
    HOME: user.homedir,
    SHELL: shell,
  };
  const env: NodeJS.ProcessEnv = { ...serverEnv, ...session.env };
  if (opts.originalCommand !== undefined) env.SSH_ORIGINAL_COMMAND = opts.originalCommand;
  // As sshd: SSH_CONNECTION and SSH_CLIENT (client ip, client port, server port).
  if (session.sshConnection) {
    const [cip, cport, , sport] = session.sshConnection.split(' ');
    env.SSH_CONNECTION = session.sshConnection;
    env.SSH_CLIENT = `${cip} ${cport} ${sport}`;
  }
  return { env, serverEnv };
}

function startLocalProcess(
  session: Session,
  command: string | undefined,
  opts: LocalProcessOptions,
  script: string | null,
  env: NodeJS.ProcessEnv,
): void {
  const ch = session.channel;
  // The client may have closed the session while `script` was looked up (its CLOSE in the same read as
  // the exec): a command started now would never be hung up, as the session's 'close' has passed.
  if (ch.destroyed || ch.isReleased) return;
  const shell = opts.shell ?? process.env.SHELL ?? '/bin/sh';
  const user = serverUser() ?? { username: session.username, homedir: homedir() };
  const pty = session.pty;
  let file: string;
  let args: string[];
  if (pty && script) {
    env.TERM = pty.term || 'vt100';
    const size = pty.cols > 0 && pty.rows > 0 ? `stty cols ${pty.cols} rows ${pty.rows} 2>/dev/null; ` : '';
    const inner = command === undefined ? `exec ${shQuote(shell)} -l` : `exec ${shQuote(shell)} -c ${shQuote(command)}`;
    file = script;
    args = ['-q', '-f', '-e', '-c', `${size}${inner}`, '/dev/null'];
  } else {
    if (pty) env.TERM = pty.term || 'vt100';
    file = shell;
    args = command === undefined ? ['-i'] : ['-c', command];
  }
  let child: ChildProcess;
  try {
    child = spawn(file, args, { cwd: opts.cwd ?? user.homedir, env, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    ch.stderrOut.write(`cannot start ${shell}: ${(e as Error).message}\n`);
    session.exit(127);
    return;
  }
  const stdin = child.stdin;
  const stdout = child.stdout;
  const stderr = child.stderr;
  if (!stdin || !stdout || !stderr) {
    session.exit(127);
    return;
  }
  stdin.on('error', () => {}); // EPIPE when the command does not read its input
  ch.pipe(stdin);

  let outDone = false;
  let errDone = false;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let finished = false;
  const finish = () => {
    if (finished || !outDone || !errDone || !exit) return;
    finished = true;
    if (ch.destroyed) return;
    if (exit.signal) session.exit(null, exit.signal);
    else session.exit(exit.code ?? 255);
  };
  stdout.pipe(ch, { end: false });
  stdout.on('end', () => {
    outDone = true;
    finish();
  });
  stderr.pipe(ch.stderrOut, { end: false });
  stderr.on('end', () => {
    errDone = true;
    finish();
  });
  const onPty = pty !== undefined && script !== null;
  const resizer = onPty ? new PtyResizer(child.pid) : undefined;
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  child.on('error', (e) => {
    resizer?.stop();
    if (!exit) {
      if (!ch.destroyed) ch.stderrOut.write(`cannot start ${shell}: ${e.message}\n`);
      exit = { code: 127, signal: null };
      outDone = true;
      errDone = true;
      finish();
    }
  });
  child.on('exit', (code, signal) => {
    resizer?.stop();
    exit = { code, signal };
    finish();
  });

  session.on('signal', (name: string) => {
    const sig = `SIG${name}`;
    if (!(sig in osConstants.signals) || gone()) return;
    // On a pty the signal is for the command, not for `script`: its pid comes from /proc, asynchronously.
    const target = onPty ? ptyChildPid(child.pid).then((pid) => pid ?? child.pid) : Promise.resolve(child.pid);
    void target.then((pid) => {
      if (pid === undefined || gone()) return;
      try {
        process.kill(pid, sig as NodeJS.Signals);
      } catch {
        // gone
      }
    });
  });
  if (resizer) {
    session.on('window-change', (size: { cols: number; rows: number }) => resizer.resize(size.cols, size.rows));
  }
  session.once('close', () => {
    resizer?.stop();
    // The client went away: hang up the command, as sshd does. On a pty, `script` ignores SIGHUP (and
    // the interactive shell behind it SIGTERM), so `script` is killed instead: that closes the pty's
    // master side, and the kernel hangs up the terminal (SIGHUP to the shell and the foreground job),
    // just as sshd closing its pty does.
    if (!gone()) {
      try {
        child.kill(onPty ? 'SIGKILL' : 'SIGHUP');
      } catch {
        // gone
      }
    }
  });
}

/** The first child of `script` (the command on the pty), read from /proc; undefined when unknown. */
async function ptyChildPid(scriptPid: number | undefined): Promise<number | undefined> {
  if (scriptPid === undefined) return undefined;
  try {
    const kids = (await readFile(`/proc/${scriptPid}/task/${scriptPid}/children`, 'utf8')).trim().split(/\s+/);
    const pid = Number.parseInt(kids[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Longest an `stty` may take before it is killed (so that a stuck one cannot hold later sizes back). */
const STTY_TIMEOUT_MS = 5000;

/**
 * Applies window-change sizes to the pty of a `script`-run command with `stty -F` on its terminal.
 * A client may send sizes faster than processes start, so they are coalesced: at most one `stty`
 * runs per session, and when it ends only the latest size asked for meanwhile is applied. The
 * terminal is looked up afresh each time (asynchronously, from /proc), and nothing runs after the
 * command has exited, so a terminal number reused by another session is never touched.
 */
class PtyResizer {
  private wanted: { cols: number; rows: number } | undefined;
  private running = false;
  private stopped = false;

  constructor(private readonly scriptPid: number | undefined) {}

  resize(cols: number, rows: number): void {
    if (this.stopped || !Number.isInteger(cols) || !Number.isInteger(rows)) return;
    if (cols < 1 || rows < 1 || cols > 10000 || rows > 10000) return;
    this.wanted = { cols, rows };
    if (!this.running) void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.wanted = undefined;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (let size = this.take(); size; size = this.take()) {
        const tty = await this.terminal();
        if (tty === undefined || this.stopped) continue;
        await stty(tty, size.cols, size.rows);
      }
    } finally {
      this.running = false;
    }
  }

  private take(): { cols: number; rows: number } | undefined {
    const size = this.stopped ? undefined : this.wanted;
    this.wanted = undefined;
    return size;
  }

  private async terminal(): Promise<string | undefined> {
    const pid = await ptyChildPid(this.scriptPid);
    if (pid === undefined) return undefined;
    try {
      const tty = await readlink(`/proc/${pid}/fd/0`);
      return /^\/dev\/pts\/\d+$/.test(tty) ? tty : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Runs `stty -F tty cols C rows R`; resolves when it has ended (whatever the outcome). */
function stty(tty: string, cols: number, rows: number): Promise<void> {
  return new Promise((resolve) => {
    let p: ChildProcess;
    try {
      p = spawn('stty', ['-F', tty, 'cols', String(cols), 'rows', String(rows)], { stdio: 'ignore' });
    } catch {
      resolve();
      return;
    }
    const timer = setTimeout(() => p.kill('SIGKILL'), STTY_TIMEOUT_MS);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    p.once('error', done);
    p.once('close', done);
  });
}
