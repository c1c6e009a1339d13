/**
 * A ready-made session handler that runs exec and shell requests as local processes of the server's
 * own user, the way sshd does: the user's shell with `-c command` (no shell:true), the session's env,
 * signals, exit-status and exit-signal. A pty, when asked for, comes from util-linux `script`
 * (no native addon); without it the command runs on pipes.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, readFileSync, readlinkSync } from 'node:fs';
import { homedir, constants as osConstants, userInfo } from 'node:os';
import type { Session } from './session.js';

/** Settings of {@link localProcessHandler}. */
export interface LocalProcessOptions {
  /** The shell that runs commands (default `$SHELL`, else `/bin/sh`). */
  shell?: string;
  /** Working directory (default the user's home). */
  cwd?: string;
  /** Base environment (default `process.env`); the session's env and TERM are added. */
  env?: NodeJS.ProcessEnv;
  /** Use util-linux `script` for pty requests when available (default true). */
  usePty?: boolean;
  /** Subsystem handlers by name (e.g. `sftp`); others are refused. */
  subsystems?: Record<string, (session: Session) => void>;
  /** Set as SSH_ORIGINAL_COMMAND (runLocalProcess; the handler sets it under a forced command). */
  originalCommand?: string;
}

const SCRIPT_PATHS = ['/usr/bin/script', '/bin/script'];
let scriptPath: string | null | undefined;

/** The util-linux `script` binary, or null when absent. */
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
  return (session) => {
    session.on('exec', (req: { command: string; originalCommand?: string; accept(): void; reject(): void }) => {
      req.accept();
      const env = req.originalCommand === undefined ? opts : { ...opts, originalCommand: req.originalCommand };
      runLocalProcess(session, req.command, env);
    });
    session.on('shell', (req: { accept(): void; reject(): void }) => {
      req.accept();
      runLocalProcess(session, undefined, opts);
    });
    session.on('subsystem', (req: { name: string; accept(): void; reject(): void }) => {
      const h = opts.subsystems?.[req.name];
      if (!h) return req.reject();
      req.accept();
      h(session);
    });
  };
}

/**
 * Runs `command` (or, when undefined, an interactive shell) for an accepted session: the user's shell
 * with `-c`, on a pty from `script` when the session has one, stdin/stdout/stderr wired to the
 * channel, and exit-status or exit-signal when it ends. Call after accepting exec/shell.
 */
export function runLocalProcess(session: Session, command: string | undefined, opts: LocalProcessOptions = {}): void {
  const ch = session.channel;
  const shell = opts.shell ?? process.env.SHELL ?? '/bin/sh';
  let user: { username: string; homedir: string };
  try {
    const u = userInfo();
    user = { username: u.username, homedir: u.homedir };
  } catch {
    user = { username: session.username, homedir: homedir() };
  }
  const env: NodeJS.ProcessEnv = {
    ...(opts.env ?? process.env),
    USER: user.username,
    LOGNAME: user.username,
    HOME: user.homedir,
    SHELL: shell,
    ...session.env,
  };
  if (opts.originalCommand !== undefined) env.SSH_ORIGINAL_COMMAND = opts.originalCommand;
  // As sshd: SSH_CONNECTION and SSH_CLIENT (client ip, client port, server port).
  if (session.sshConnection) {
    const [cip, cport, , sport] = session.sshConnection.split(' ');
    env.SSH_CONNECTION = session.sshConnection;
    env.SSH_CLIENT = `${cip} ${cport} ${sport}`;
  }
  const pty = session.pty;
  const script = pty && opts.usePty !== false ? findScript() : null;
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
  child.on('error', (e) => {
    if (!exit) {
      if (!ch.destroyed) ch.stderrOut.write(`cannot start ${shell}: ${e.message}\n`);
      exit = { code: 127, signal: null };
      outDone = true;
      errDone = true;
      finish();
    }
  });
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    finish();
  });

  session.on('signal', (name: string) => {
    const sig = `SIG${name}`;
    if (!(sig in osConstants.signals) || child.exitCode !== null || child.signalCode !== null) return;
    const target = script && pty ? (ptyChildPid(child.pid) ?? child.pid) : child.pid;
    if (target === undefined) return;
    try {
      process.kill(target, sig as NodeJS.Signals);
    } catch {
      // gone
    }
  });
  if (pty && script) {
    session.on('window-change', (size: { cols: number; rows: number }) => resizePty(child.pid, size.cols, size.rows));
  }
  session.once('close', () => {
    // The client went away: hang up the command, as sshd does.
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGHUP');
      } catch {
        // gone
      }
    }
  });
}

/** The first child of `script` (the command on the pty), read from /proc; undefined when unknown. */
function ptyChildPid(scriptPid: number | undefined): number | undefined {
  if (scriptPid === undefined) return undefined;
  try {
    const kids = readFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`, 'utf8').trim().split(/\s+/);
    const pid = Number.parseInt(kids[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Sets the pty size of a `script`-run command via `stty -F` on its terminal (best effort). */
function resizePty(scriptPid: number | undefined, cols: number, rows: number): void {
  const pid = ptyChildPid(scriptPid);
  if (pid === undefined || !Number.isInteger(cols) || !Number.isInteger(rows) || cols > 10000 || rows > 10000) return;
  let tty: string;
  try {
    tty = readlinkSync(`/proc/${pid}/fd/0`);
  } catch {
    return;
  }
  if (!/^\/dev\/pts\/\d+$/.test(tty)) return;
  const p = spawn('stty', ['-F', tty, 'cols', String(cols), 'rows', String(rows)], { stdio: 'ignore' });
  p.on('error', () => {});
}
