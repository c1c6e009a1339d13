/**
 * `secsh agent`: an ssh-agent (the {@link AgentServer} on a Unix socket), with ssh-agent's flags and output.
 */
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { AgentServer, type Certificate, type PublicKey } from '../index.js';
import type { Command } from './command.js';

const USAGE = `usage: secsh agent [-c | -s] [-Dd] [-a bind_address] [-t life] [command [arg ...]]
       secsh agent [-c | -s] -k
`;

/** Hidden flag: the detached child that is the agent (prints `ready <path>` or `error <text>` on stdout). */
const CHILD_FLAG = '--secsh-agent-child';

interface AgentArgs {
  socket: string | undefined;
  csh: boolean | undefined;
  foreground: boolean;
  debug: boolean;
  kill: boolean;
  lifetime: number | undefined;
  child: boolean;
  command: string[];
}

/** ssh's convtime: `90`, `10m`, `1h30m`, `2d`, `1w` → seconds; undefined when malformed. */
export function parseLifetime(text: string): number | undefined {
  if (!/^(\d+[sSmMhHdDwW]?)+$/.test(text)) return undefined;
  const mult: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  for (const m of text.matchAll(/(\d+)([sSmMhHdDwW]?)/g)) {
    total += Number(m[1]) * (mult[(m[2] || 's').toLowerCase()] ?? 1);
  }
  return Number.isSafeInteger(total) && total <= 0xffff_ffff ? total : undefined;
}

function parseAgentArgs(argv: string[]): AgentArgs | string {
  const out: AgentArgs = {
    socket: undefined,
    csh: undefined,
    foreground: false,
    debug: false,
    kill: false,
    lifetime: undefined,
    child: false,
    command: [],
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === CHILD_FLAG) {
      out.child = true;
      continue;
    }
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    for (let j = 1; j < arg.length; j++) {
      const f = arg[j] as string;
      switch (f) {
        case 'c':
          if (out.csh === false) return 'options -c and -s are mutually exclusive';
          out.csh = true;
          break;
        case 's':
          if (out.csh === true) return 'options -c and -s are mutually exclusive';
          out.csh = false;
          break;
        case 'D':
          out.foreground = true;
          break;
        case 'd':
          out.debug = true;
          break;
        case 'k':
          out.kill = true;
          break;
        case 'a':
        case 't': {
          const value = j + 1 < arg.length ? arg.slice(j + 1) : argv[++i];
          if (value === undefined) return `option requires an argument -- ${f}`;
          if (f === 'a') out.socket = value;
          else {
            const life = parseLifetime(value);
            if (life === undefined) return 'Invalid lifetime';
            out.lifetime = life;
          }
          j = arg.length;
          break;
        }
        case 'h':
          return '';
        default:
          return `unknown option -- ${f}`;
      }
    }
  }
  out.command = argv.slice(i);
  if (out.foreground && out.debug) return 'options -d and -D are mutually exclusive';
  if (out.command.length > 0 && (out.foreground || out.debug || out.kill))
    return 'a command cannot be given with -D, -d or -k';
  return out;
}

function useCsh(a: AgentArgs): boolean {
  return a.csh ?? /csh$/.test(process.env.SHELL ?? '');
}

/** The lines ssh-agent prints for `eval`. */
export function envLines(csh: boolean, socket: string, pid: number | undefined, echoPid: number): string {
  const set = (k: string, v: string) => (csh ? `setenv ${k} ${v};\n` : `${k}=${v}; export ${k};\n`);
  let s = set('SSH_AUTH_SOCK', socket);
  if (pid !== undefined) s += set('SSH_AGENT_PID', String(pid));
  return `${s}echo Agent pid ${echoPid};\n`;
}

/** Asks `$SSH_ASKPASS` (with SSH_ASKPASS_PROMPT=confirm, as ssh-agent does) whether a key may sign. */
function askpassConfirm(key: PublicKey | Certificate, comment: string): Promise<boolean> {
  const askpass = process.env.SSH_ASKPASS;
  if (!askpass) return Promise.resolve(false);
  const fp = 'certType' in key ? key.publicKey : key;
  const prompt = `Allow use of key ${comment}?\nKey fingerprint ${fp.fingerprint()}.`;
  return new Promise((resolve) => {
    execFile(askpass, [prompt], { env: { ...process.env, SSH_ASKPASS_PROMPT: 'confirm' }, timeout: 120_000 }, (err) =>
      resolve(!err),
    );
  });
}

function makeServer(a: AgentArgs, log: ((l: string) => void) | undefined): AgentServer {
  return new AgentServer({
    onConfirm: askpassConfirm,
    ...(a.lifetime !== undefined ? { defaultLifetime: a.lifetime } : {}),
    ...(log ? { log } : {}),
  });
}

/** Stops the agent on SIGTERM and SIGHUP (and SIGINT in the foreground), removing its socket. */
function stopOnSignals(server: AgentServer, interrupt: boolean): Promise<number> {
  return new Promise((resolve) => {
    const stop = () => {
      void server.close().then(() => resolve(0));
    };
    process.once('SIGTERM', stop);
    process.once('SIGHUP', stop);
    if (interrupt) process.once('SIGINT', stop);
    else process.on('SIGINT', () => undefined);
  });
}

function killAgent(a: AgentArgs): number {
  const pidText = process.env.SSH_AGENT_PID;
  if (pidText === undefined) {
    process.stderr.write('SSH_AGENT_PID not set, cannot kill agent\n');
    return 1;
  }
  const pid = /^\d+$/.test(pidText) ? Number(pidText) : Number.NaN;
  if (!(pid >= 2 && pid <= 0x7fff_ffff)) {
    const why = Number.isNaN(pid) ? 'invalid' : pid < 2 ? 'too small' : 'too large';
    process.stderr.write(`SSH_AGENT_PID="${pidText}", which is not a good PID: ${why}\n`);
    return 1;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch (e) {
    process.stderr.write(`kill: ${(e as NodeJS.ErrnoException).code === 'ESRCH' ? 'No such process' : String(e)}\n`);
    return 1;
  }
  const unset = (k: string) => (useCsh(a) ? `unsetenv ${k};\n` : `unset ${k};\n`);
  process.stdout.write(`${unset('SSH_AUTH_SOCK')}${unset('SSH_AGENT_PID')}echo Agent pid ${pid} killed;\n`);
  return 0;
}

/** Starts the detached agent process; resolves with its pid and socket path. */
function startDaemon(argv: string[]): Promise<{ pid: number; socket: string } | { error: string }> {
  const script = process.argv[1] ?? '';
  const child = spawn(process.execPath, [...process.execArgv, script, 'agent', CHILD_FLAG, ...argv], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return new Promise((resolve) => {
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    let done = false;
    const finish = (v: { pid: number; socket: string } | { error: string }) => {
      if (done) return;
      done = true;
      rl.close();
      child.stdout?.destroy();
      child.unref();
      resolve(v);
    };
    rl.once('line', (line) => {
      if (line.startsWith('ready ') && child.pid !== undefined) finish({ pid: child.pid, socket: line.slice(6) });
      else finish({ error: line.replace(/^error /, '') });
    });
    child.once('error', (e) => finish({ error: e.message }));
    child.once('exit', () => finish({ error: 'agent exited before it was ready' }));
  });
}

async function runAgent(argv: string[]): Promise<number> {
  const a = parseAgentArgs(argv);
  if (typeof a === 'string') {
    if (a) process.stderr.write(`${a}\n`);
    process.stderr.write(USAGE);
    return 1;
  }
  if (a.kill) return killAgent(a);

  if (a.child) {
    // The daemon: report the socket (or the failure) to the parent, then serve until signalled.
    const server = makeServer(a, undefined);
    try {
      const path = await server.listen(a.socket);
      process.stdout.write(`ready ${path}\n`);
      process.chdir('/'); // as ssh-agent: do not keep the starting directory busy
    } catch (e) {
      process.stdout.write(`error ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
    return stopOnSignals(server, false);
  }

  if (a.foreground || a.debug) {
    const log = a.debug ? (l: string) => process.stderr.write(`debug1: ${l}\n`) : undefined;
    const server = makeServer(a, log);
    let path: string;
    try {
      path = await server.listen(a.socket);
    } catch (e) {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
    process.stdout.write(envLines(useCsh(a), path, undefined, process.pid));
    return stopOnSignals(server, true);
  }

  if (a.command.length > 0) {
    // `secsh agent CMD ARGS`: the agent lives in this process for as long as the command runs.
    const server = makeServer(a, undefined);
    let path: string;
    try {
      path = await server.listen(a.socket);
    } catch (e) {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
    const [cmd, ...args] = a.command as [string, ...string[]];
    const code = await new Promise<number>((resolve) => {
      const child = spawn(cmd, args, {
        stdio: 'inherit',
        env: { ...process.env, SSH_AUTH_SOCK: path, SSH_AGENT_PID: String(process.pid) },
      });
      child.once('error', (e) => {
        process.stderr.write(
          `${cmd}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : e.message}\n`,
        );
        resolve(1);
      });
      child.once('exit', (c, sig) => resolve(c ?? (sig ? 128 + 15 : 1)));
    });
    await server.close();
    return code;
  }

  const childArgs = [...(a.socket !== undefined ? ['-a', a.socket] : [])];
  if (a.lifetime !== undefined) childArgs.push('-t', String(a.lifetime));
  const started = await startDaemon(childArgs);
  if ('error' in started) {
    process.stderr.write(`${started.error}\n`);
    return 1;
  }
  process.stdout.write(envLines(useCsh(a), started.socket, started.pid, started.pid));
  return 0;
}

export const agentCommand: Command = {
  summary: 'an ssh-agent: holds keys and signs for ssh (-a, -D, -d, -t, -k, -s, -c)',
  run: runAgent,
};
