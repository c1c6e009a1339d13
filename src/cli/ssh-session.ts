/**
 * The session of `secsh ssh`: a remote command or a shell (with a pty when asked), `-N`, or `-W`;
 * stdin and stdout/stderr carried, raw mode and window size on a local TTY, the escape character, and
 * the local terminal restored on every way out (exit, remote close, error, SIGTERM/SIGHUP/SIGINT).
 */
import type { ReadStream, WriteStream } from 'node:tty';
import type { Channel, Client } from '../index.js';
import { EscapeFilter } from './ssh-escape.js';
import type { ForwardSet } from './ssh-forwards.js';

/** What to run once connected. */
export interface SessionPlan {
  /** Host name for "Connection to … closed." */
  host: string;
  /** Remote command ('' for a shell), or the subsystem's name with `subsystem`. */
  command: string;
  subsystem: boolean;
  /** -N: no session at all. */
  noSession: boolean;
  /** -W: stdin/stdout to this address on the server's side. */
  stdioForward?: { host?: string; port?: number; path?: string };
  pty: boolean;
  stdinNull: boolean;
  /** null: no escape character. */
  escapeChar: number | null;
  /** `~C` allowed (EnableEscapeCommandline; on unless set to no). */
  commandLine: boolean;
  env: Record<string, string>;
  forwardAgent?: boolean;
  x11?: boolean | { trusted: boolean };
  quiet: boolean;
}

const SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT'] as const;

/** The local terminal: raw mode in, always restored out. */
class LocalTerminal {
  private raw = false;
  private readonly onExit = () => this.restore();

  constructor(private readonly input: ReadStream | undefined) {}

  enterRaw(): void {
    if (!this.input || this.raw) return;
    this.input.setRawMode(true);
    this.raw = true;
    process.once('exit', this.onExit);
  }

  restore(): void {
    if (!this.raw || !this.input) return;
    this.raw = false;
    process.off('exit', this.onExit);
    try {
      this.input.setRawMode(false);
    } catch {
      // the terminal went away
    }
  }

  get isRaw(): boolean {
    return this.raw;
  }
}

/** The local terminal's size: stdout's, else stderr's, else 80x24. */
function windowSize(): { cols: number; rows: number } {
  for (const s of [process.stdout, process.stderr] as WriteStream[]) {
    if (s.isTTY) {
      const [cols, rows] = s.getWindowSize();
      if (cols > 0 && rows > 0) return { cols, rows };
    }
  }
  return { cols: 80, rows: 24 };
}

/** Resolves once `stream` has written everything given so far. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0 || stream.destroyed) resolve();
    else stream.write('', () => resolve());
  });
}

/** Runs the session; resolves with ssh's exit status. */
export async function runSession(client: Client, plan: SessionPlan, forwards: ForwardSet): Promise<number> {
  const stdin = process.stdin;
  const term = new LocalTerminal(plan.pty && stdin.isTTY ? (stdin as ReadStream) : undefined);
  let killedBy: string | undefined;
  let finish: ((code: number) => void) | undefined;
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const onSignal = (sig: NodeJS.Signals) => {
    killedBy = sig;
    finish?.(255);
    // ssh exits at once on these signals: if closing the connection stalls, do not wait for it
    setTimeout(() => {
      term.restore();
      process.exit(255);
    }, 2000).unref();
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  const onClientClose = () => finish?.(255);
  client.once('close', onClientClose);
  // stdout closed under us (`secsh ssh host yes | head -1`): ssh ends with 255, silently
  const onOutputError = () => finish?.(255);
  process.stdout.on('error', onOutputError);
  process.stderr.on('error', () => {});
  try {
    if (plan.stdioForward) return await stdioForward(client, plan.stdioForward, finished);
    if (plan.noSession) return await finished;
    return await session(client, plan, forwards, term, finished, () => killedBy);
  } finally {
    term.restore();
    for (const s of SIGNALS) process.off(s, onSignal);
    client.off('close', onClientClose);
    process.stdout.off('error', onOutputError);
    if (!stdin.destroyed) {
      stdin.pause();
      stdin.destroy();
    }
  }
}

/** -W: the channel to host:port (or a socket path) is stdin/stdout. */
async function stdioForward(
  client: Client,
  to: { host?: string; port?: number; path?: string },
  finished: Promise<number>,
): Promise<number> {
  const ch =
    to.path !== undefined
      ? await client.forwardOutStreamLocal(to.path)
      : await client.forwardOut(to.host as string, to.port as number);
  process.stdin.pipe(ch);
  ch.pipe(process.stdout, { end: false });
  const done = new Promise<number>((resolve) => {
    ch.once('close', () => resolve(0));
    ch.once('error', () => resolve(255));
  });
  const code = await Promise.race([done, finished]);
  await flushed(process.stdout);
  return code;
}

async function openChannel(client: Client, plan: SessionPlan): Promise<Channel> {
  const common = {
    env: plan.env,
    ...(plan.forwardAgent !== undefined ? { agentForward: plan.forwardAgent } : {}),
    ...(plan.x11 ? { x11: plan.x11 } : {}),
  };
  const pty = plan.pty ? { term: process.env.TERM ?? 'vt100', ...windowSize() } : undefined;
  if (plan.subsystem) return client.subsystem(plan.command);
  if (plan.command === '') return client.shell({ ...common, ...(pty ? { pty } : {}) });
  return (await client.spawn(plan.command, { ...common, ...(pty ? { pty } : {}) })).channel;
}

async function session(
  client: Client,
  plan: SessionPlan,
  forwards: ForwardSet,
  term: LocalTerminal,
  finished: Promise<number>,
  killedBy: () => string | undefined,
): Promise<number> {
  const ch = await openChannel(client, plan);
  const stdin = process.stdin;
  let quit = false;
  let resized: (() => void) | undefined;
  if (plan.pty) {
    term.enterRaw();
    if (process.stdout.isTTY || process.stderr.isTTY) {
      resized = () => {
        const { cols, rows } = windowSize();
        ch.windowChange(cols, rows);
      };
      process.on('SIGWINCH', resized);
    }
  }
  const errOut = (text: string) => process.stderr.write(text);
  let quitEscape: (() => void) | undefined;
  const escaped = new Promise<number>((resolve) => {
    quitEscape = () => resolve(255);
  });
  if (plan.stdinNull) {
    ch.end();
  } else if (plan.pty && plan.escapeChar !== null && stdin.isTTY) {
    const filter = new EscapeFilter(
      plan.escapeChar,
      {
        send: (d) => ch.write(d),
        print: errOut,
        disconnect: () => {
          quit = true;
          quitEscape?.();
        },
        suspend: () => suspend(term),
        rekey: () => {
          client.rekey().catch(() => {});
        },
        sendBreak: () => {
          ch.request('break', Buffer.from([0, 0, 0x03, 0xe8]), false).catch(() => {});
        },
        listConnections: () => forwards.list(),
        command: (line) => forwards.command(line),
      },
      plan.commandLine,
    );
    stdin.on('data', (d: Buffer) => filter.feed(d));
    stdin.once('end', () => ch.end());
    stdin.resume();
  } else {
    stdin.pipe(ch);
  }
  ch.pipe(process.stdout, { end: false });
  ch.stderr.pipe(process.stderr, { end: false });
  const closed = new Promise<number>((resolve) => {
    ch.once('close', () => {
      if (ch.exitStatus !== undefined) resolve(ch.exitStatus);
      else resolve(255);
    });
  });
  let code: number;
  try {
    code = await Promise.race([closed, finished, escaped]);
  } finally {
    if (resized) process.off('SIGWINCH', resized);
    stdin.unpipe(ch);
  }
  term.restore();
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  if (plan.pty && !plan.quiet && !killedBy()) {
    const byRemote = !quit && client.closed && ch.exitStatus === undefined;
    if (byRemote) process.stderr.write(`Connection to ${plan.host} closed by remote host.\r\n`);
    process.stderr.write(`Connection to ${plan.host} closed.\r\n`);
  }
  return code;
}

/** `~^Z`: the terminal back to normal, stop, and raw again once continued. */
function suspend(term: LocalTerminal): void {
  const wasRaw = term.isRaw;
  term.restore();
  process.once('SIGCONT', () => {
    if (wasRaw) term.enterRaw();
  });
  process.kill(process.pid, 'SIGTSTP');
}
