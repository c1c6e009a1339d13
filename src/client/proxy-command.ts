/**
 * ProxyCommand as `ssh` runs it: `$SHELL -c "exec <command>"` (or /bin/sh when SHELL is unset), the
 * child's stdin and stdout carrying the SSH stream and its stderr left on ours.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { expandTokens } from '../config/ssh-config-values.js';
import { ConnectionLostError, InvalidArgumentError } from '../errors.js';

/** How long the stream waits for the other half of "stdout closed" / "process exited". */
const SETTLE_MS = 500;
/** How long a proxy command has to exit after SIGHUP before it gets SIGKILL. */
const KILL_GRACE_MS = 2000;
/** Longest command accepted (OpenSSH's config lines are shorter still). */
const MAX_COMMAND = 64 * 1024;

/** Values for a ProxyCommand's `%` tokens. */
export interface ProxyCommandTokens {
  /** %h: the host to connect to (after HostName). */
  host: string;
  /** %p */
  port: number;
  /** %r: the remote user name. */
  user: string;
  /** %n: the host as given (the alias); %k too, as there is no HostKeyAlias. */
  originalHost: string;
}

/**
 * Builds the shell command line `ssh` runs for a ProxyCommand: `exec ` + the command, with the
 * tokens %h %p %r %n %k %% expanded (any other `%` token is an InvalidArgumentError, as in OpenSSH).
 * `~` and `$VAR` are left to the shell.
 */
export function expandProxyCommand(command: string, t: ProxyCommandTokens): string {
  if (command.length > MAX_COMMAND) throw new InvalidArgumentError('proxy command too long');
  if (command === '-') throw new InvalidArgumentError('ProxyCommand - (the stdio of this process) is not supported');
  return expandTokens(
    `exec ${command}`,
    { h: t.host, p: t.port, r: t.user, n: t.originalHost, k: t.originalHost, u: '', d: '', l: '', i: -1, j: '' },
    'ProxyCommand',
    'hknpr',
  );
}

/** Options of {@link ProxyCommandStream}. */
export interface ProxyCommandStreamOptions {
  /** The shell (default `$SHELL`, or /bin/sh when it is unset or empty, as `ssh` does). */
  shell?: string;
  /** The child's environment (default this process's). */
  env?: NodeJS.ProcessEnv;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `proxy command killed by signal ${signal}` : `proxy command exited with status ${code}`;
}

/**
 * A Duplex over a proxy command's stdin and stdout. `command` is a full shell command line (see
 * {@link expandProxyCommand}); it runs as `<shell> -c <command>` — never through `shell: true`.
 * When the command fails (it cannot start, or exits with a non-zero status or a signal) the stream
 * is destroyed with a {@link ConnectionLostError} naming the status; a clean exit ends it. Destroying
 * the stream hangs up the command (SIGHUP, as `ssh` does; SIGKILL if it lingers).
 */
export class ProxyCommandStream extends Duplex {
  /** The child process. */
  readonly child: ChildProcess;
  private exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private stdoutEnded = false;
  private inputError: Error | undefined;
  private readEnded = false;
  private settleTimer: NodeJS.Timeout | undefined;

  constructor(command: string, opts: ProxyCommandStreamOptions = {}) {
    super({ allowHalfOpen: true });
    const shell = opts.shell ?? (process.env.SHELL || '/bin/sh');
    const child = spawn(shell, ['-c', command], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: opts.env ?? process.env,
    });
    this.child = child;
    const stdin = child.stdin as NonNullable<ChildProcess['stdin']>;
    const stdout = child.stdout as NonNullable<ChildProcess['stdout']>;
    child.once('error', (e: Error) => {
      if (this.exitStatus === undefined)
        this.destroy(new ConnectionLostError(`cannot start proxy command: ${e.message}`, { cause: e }));
    });
    child.once('exit', (code, signal) => {
      this.exitStatus = { code, signal };
      this.check(false);
    });
    stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) stdout.pause();
    });
    stdout.once('end', () => {
      this.stdoutEnded = true;
      this.check(false);
    });
    const onInputError = (e: Error) => {
      this.inputError ??= e;
      this.check(false);
    };
    stdout.on('error', onInputError);
    stdin.on('error', onInputError);
  }

  /** The process id, or undefined when it did not start. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Decides what a closed pipe or an exit means. A failed exit wins over a bare EOF or EPIPE (it is
   * the better message), so each waits up to SETTLE_MS for the other half.
   */
  private check(timerFired: boolean): void {
    if (this.destroyed || this.readEnded) return;
    const st = this.exitStatus;
    const failed = st !== undefined && (st.code !== 0 || st.signal !== null);
    if (failed && (this.stdoutEnded || this.inputError !== undefined || timerFired)) {
      this.destroy(new ConnectionLostError(describeExit(st.code, st.signal)));
      return;
    }
    if (st !== undefined && this.stdoutEnded) {
      this.endReadable();
      return;
    }
    if (timerFired) {
      if (this.inputError) {
        this.destroy(
          new ConnectionLostError(`proxy command stream failed: ${this.inputError.message}`, {
            cause: this.inputError,
          }),
        );
      } else if (this.stdoutEnded) {
        this.endReadable();
      }
      // A clean exit with stdout still open: something else holds the pipe; keep using it.
      return;
    }
    if ((failed || this.stdoutEnded || this.inputError) && !this.settleTimer) {
      this.settleTimer = setTimeout(() => {
        this.settleTimer = undefined;
        this.check(true);
      }, SETTLE_MS);
    }
  }

  private endReadable(): void {
    this.readEnded = true;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    this.push(null);
  }

  override _read(): void {
    this.child.stdout?.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const stdin = this.child.stdin;
    if (!stdin || this.inputError) return; // the exit status (or the settle timer) decides
    stdin.write(chunk, (err) => {
      // An EPIPE is reported through check(), with the exit status when there is one.
      if (!err) cb();
    });
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    const stdin = this.child.stdin;
    if (!stdin || this.inputError) return;
    stdin.cork();
    for (let i = 0; i < chunks.length - 1; i++) stdin.write((chunks[i] as { chunk: Buffer }).chunk);
    stdin.write((chunks[chunks.length - 1] as { chunk: Buffer }).chunk, (err) => {
      if (!err) cb();
    });
    stdin.uncork();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.child.stdin?.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    const child = this.child;
    child.stdin?.destroy();
    child.stdout?.destroy();
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.kill('SIGHUP');
      const t = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, KILL_GRACE_MS);
      t.unref();
      child.once('exit', () => clearTimeout(t));
    }
    cb(err);
  }
}
