/**
 * The connection shared by `secsh ssh`, `sftp` and `scp`: ssh_config with command-line options,
 * known_hosts with OpenSSH's prompts on the terminal, password, passphrase and keyboard-interactive
 * prompts, `-v` traces, and OpenSSH's one-line errors.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type {
  Client,
  ConnectOptions,
  Logger,
  ResolvedSshConfig,
  SshConfigSource,
  UnknownHostKeyQuestion,
} from '../index.js';
import {
  AuthError,
  ConnectionLostError,
  HostKeyError,
  InvalidArgumentError,
  KeyError,
  resolveSshConfig,
  SshError,
  TimeoutError,
} from '../index.js';
import { shortTypeName } from '../keys/index.js';
import { PromptInterrupted, PromptUnavailable, readPassphrase, readTtyLine } from './prompt.js';

/** ssh prompts on the terminal only: its stdin belongs to the session. */
const TTY_ONLY = { allowStdin: false } as const;

/** A prompt's answer, or `none` when there is no terminal to ask on. */
async function orNone<T>(p: Promise<T>, none: T): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof PromptUnavailable) return none;
    throw e;
  }
}

/** An error that ends a command with `exitCode` after one line on stderr. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 255,
  ) {
    super(message);
  }
}

/** A destination as given: `[user@]host` or `ssh://[user@]host[:port]` (IPv6 in brackets). */
export interface CliDestination {
  user?: string;
  host: string;
  port?: number;
}

/** Parses `[user@]host` or `ssh://[user@]host[:port]`; throws CliError on bad input. */
export function parseDestination(s: string): CliDestination {
  if (!s || /[\s\0]/.test(s) || s.startsWith('-')) throw new CliError(`invalid destination: ${s}`);
  let rest = s;
  let uri = false;
  if (/^ssh:\/\//i.test(rest)) {
    uri = true;
    rest = rest.slice(6).replace(/\/$/, '');
    if (rest.includes('/')) throw new CliError(`invalid URI: ${s}`);
  }
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = uri ? decodeURIComponent(rest.slice(0, at)) : rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!user) throw new CliError(`invalid destination: ${s}`);
  }
  let host = rest;
  let port: number | undefined;
  if (uri) {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(rest);
    if (!m) throw new CliError(`invalid URI: ${s}`);
    host = (m[1] as string).replace(/^\[(.*)\]$/, '$1');
    if (m[2] !== undefined) {
      port = Number(m[2]);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CliError(`invalid port in URI: ${s}`);
    }
  } else if (host.startsWith('[') && host.endsWith(']')) {
    host = host.slice(1, -1);
  }
  if (!host) throw new CliError(`invalid destination: ${s}`);
  return { ...(user !== undefined ? { user } : {}), host, ...(port !== undefined ? { port } : {}) };
}

/** What ssh, sftp and scp share of their options. */
export interface CliConnectSpec {
  /** For messages ("ssh: connect to host …"). */
  program: 'ssh' | 'sftp' | 'scp';
  host: string;
  user?: string;
  port?: number;
  /** `-i` files, tried before the config's IdentityFile. */
  identityFiles?: string[];
  /** `-F`: a path, or `none`. */
  configFile?: string;
  /** Each `-o` value as given (`Key=Value` or `Key Value`). */
  options?: string[];
  /** `-J`. */
  jump?: string;
  /** How many `-v`. */
  verbose?: number;
  /** `-q`. */
  quiet?: boolean;
  /** `-E`: traces go to this file instead of stderr. */
  logFile?: string;
  /** `-4` / `-6`. */
  family?: 4 | 6;
  /** `-c`. */
  ciphers?: string;
  /** `-m`. */
  macs?: string;
  /** `-C`. */
  compression?: boolean;
  /** `-A` (true) / `-a` (false); undefined: the config decides. */
  forwardAgent?: boolean;
  /** Set up the config's LocalForward, RemoteForward and DynamicForward (ssh only). */
  configForwards?: boolean;
  /** Never prompt (also `-o BatchMode=yes`). */
  batchMode?: boolean;
}

/** Where `-v` traces and errors go. */
export interface CliLog {
  /** A `debugN:` line when at least `level` `-v` were given. */
  debug(level: 1 | 2 | 3, msg: string): void;
  /** An error line (also to the -E file when one is given). */
  error(msg: string): void;
  /** A message ssh prints unless -q (warnings such as "Permanently added …"). */
  info(msg: string): void;
  /** Flushes and closes the -E file. */
  close(): Promise<void>;
}

/** Makes the trace sink for `-v`/`-q`/`-E`. */
export function makeCliLog(verbose: number, quiet: boolean, logFile?: string): CliLog {
  let file: WriteStream | undefined;
  if (logFile) {
    file = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
    file.on('error', () => {
      file = undefined;
    });
  }
  const write = (line: string) => {
    if (file) file.write(`${line}\r\n`);
    else process.stderr.write(`${line}\r\n`);
  };
  return {
    debug(level, msg) {
      if (verbose >= level) write(`debug${level}: ${msg}`);
    },
    error(msg) {
      if (file) file.write(`${msg}\r\n`);
      process.stderr.write(`${msg}\n`);
    },
    info(msg) {
      if (!quiet) write(msg);
    },
    close() {
      const f = file;
      file = undefined;
      return f ? new Promise((r) => f.end(() => r())) : Promise.resolve();
    },
  };
}

/** Reads one `-o` value into `Key value` form for the config reader. */
function optionLine(o: string): string {
  const m = /^\s*([A-Za-z0-9]+)\s*(?:=\s*|\s+)(.*)$/.exec(o);
  if (!m || m[2] === undefined || m[2].trim() === '') throw new CliError(`command-line line 0: missing argument.`);
  return `${m[1]} ${m[2].trim()}`;
}

/** The -o keywords a spec's flags stand for, in OpenSSH's precedence (before the given -o). */
function flagOptions(spec: CliConnectSpec): string[] {
  const o: string[] = [];
  for (const f of spec.identityFiles ?? []) o.push(`IdentityFile ${quoteArg(f)}`);
  if (spec.ciphers) o.push(`Ciphers ${spec.ciphers}`);
  if (spec.macs) o.push(`MACs ${spec.macs}`);
  if (spec.compression) o.push('Compression yes');
  if (spec.jump) o.push(`ProxyJump ${spec.jump}`);
  if (spec.forwardAgent !== undefined) o.push(`ForwardAgent ${spec.forwardAgent ? 'yes' : 'no'}`);
  if (spec.batchMode) o.push('BatchMode yes');
  return o;
}

function quoteArg(s: string): string {
  return /[\s"]/.test(s) ? `"${s.replace(/"/g, '')}"` : s;
}

/** The config source a spec describes (user file or none, -o lines, the system file unless -F). */
function configSource(spec: CliConnectSpec, extra: string[]): SshConfigSource {
  const options = [...(spec.options ?? []).map(optionLine), ...extra];
  const f = spec.configFile;
  return {
    ...(f === 'none' ? { path: false } : f !== undefined ? { path: f } : {}),
    options,
    ...(f === undefined ? { systemPath: true } : {}),
  };
}

/** `[host]:port` or `host` as OpenSSH names a host in known_hosts and prompts. */
function hostLabel(q: UnknownHostKeyQuestion): string {
  return q.name;
}

async function askHostKey(q: UnknownHostKeyQuestion, visual: boolean): Promise<boolean> {
  const fp = q.key.fingerprint();
  const type = shortTypeName(q.key.type);
  let text = `The authenticity of host '${hostLabel(q)} (${hostLabel(q)})' can't be established.\n`;
  text += `${type} key fingerprint is ${fp}.\n`;
  if (visual) text += `${q.key.randomart()}\n`;
  if (q.otherTypes.length > 0) text += 'This host key is known by other names/addresses of other types.\n';
  else text += 'This key is not known by any other names.\n';
  let prompt = `${text}Are you sure you want to continue connecting (yes/no/[fingerprint])? `;
  for (;;) {
    const answer = (await orNone(readTtyLine(prompt, TTY_ONLY), 'no')).trim();
    if (answer.toLowerCase() === 'yes' || answer === fp) return true;
    if (answer.toLowerCase() === 'no' || answer === '') return false;
    prompt = "Please type 'yes', 'no' or the fingerprint: ";
  }
}

/** OpenSSH's warning for a changed host key. */
function changedKeyWarning(e: HostKeyError, host: string): string {
  const c = e.changed;
  if (!c) return 'Host key verification failed.';
  const type = shortTypeName(c.keyType);
  return [
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
    '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
    'IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!',
    'Someone could be eavesdropping on you right now (man-in-the-middle attack)!',
    'It is also possible that a host key has just been changed.',
    `The fingerprint for the ${type} key sent by the remote host is`,
    `${e.fingerprint ?? ''}.`,
    'Please contact your system administrator.',
    `Add correct host key in ${c.path} to get rid of this message.`,
    `Offending ${type} key in ${c.path}:${c.line}`,
    `Host key for ${host} has changed and you have requested strict checking.`,
    'Host key verification failed.',
  ].join('\n');
}

/** A Logger that turns the library's messages into -v traces. */
function traceLogger(log: CliLog): Logger {
  return {
    debug: (m) => log.debug(2, m.replace(/^secsh: /, '')),
    info: (m) => {
      const text = m.replace(/^secsh: /, '');
      // A key written to known_hosts (accept-new, or yes at the prompt): ssh's warning, unless -q.
      const added = /^added (\S+) \S+ for (\S+) to /.exec(text);
      if (added) {
        const [, type, name] = added as unknown as [string, string, string];
        log.info(`Warning: Permanently added '${name}' (${shortTypeName(type)}) to the list of known hosts.`);
      } else log.debug(1, text);
    },
    // The failure itself is reported once, in OpenSSH's words, by the caller.
    warn: (m) => {
      const text = m.replace(/^secsh: /, '');
      if (text.startsWith('connect failed:')) log.debug(1, text);
      else log.info(`Warning: ${text}`);
    },
  };
}

/**
 * Connects as `ssh` would: the config (with the spec's flags and -o), known_hosts with prompts on
 * /dev/tty, password/passphrase/keyboard-interactive prompts (none under BatchMode). Throws CliError
 * (exit 255) with OpenSSH's one-line message on failure.
 */
export async function connectCli(
  spec: CliConnectSpec,
): Promise<{ client: Client; log: CliLog; config: ResolvedSshConfig }> {
  const log = makeCliLog(spec.verbose ?? 0, spec.quiet ?? false, spec.logFile);
  const extra = flagOptions(spec);
  const source = configSource(spec, extra);
  let resolved: ResolvedSshConfig;
  try {
    resolved = resolveSshConfig(spec.host, {
      ...(typeof source.path === 'string' ? { path: source.path } : source.path === false ? { text: '' } : {}),
      options: source.options ?? [],
      ...(source.systemPath ? { systemPath: true } : {}),
      ...(spec.user !== undefined ? { user: spec.user } : {}),
      ...(spec.port !== undefined ? { port: spec.port } : {}),
    });
  } catch (e) {
    await log.close();
    throw new CliError(e instanceof Error ? e.message : String(e));
  }
  if (spec.configFile !== 'none') log.debug(1, `Reading configuration data ${spec.configFile ?? '~/.ssh/config'}`);
  const batch = resolved.batchMode;
  const visual = /^(yes|true)$/i.test(resolved.other.visualhostkey ?? '');
  const label = `${resolved.user}@${resolved.hostname}`;
  const opts: ConnectOptions = {
    host: spec.host,
    config: source,
    ...(spec.user !== undefined ? { username: spec.user } : {}),
    ...(spec.port !== undefined ? { port: spec.port } : {}),
    ...(spec.family ? { family: spec.family } : {}),
    configForwards: spec.configForwards === true,
    logger: traceLogger(log),
    onBanner: (m) => {
      if (!spec.quiet) process.stderr.write(m);
    },
  };
  if (!batch) {
    opts.onUnknownHostKey = (q) => askHostKey(q, visual);
    opts.onPassphrase = async (path) => {
      const p = await orNone(readPassphrase(`Enter passphrase for key '${path}': `, TTY_ONLY), '');
      return p === '' ? undefined : p;
    };
    opts.onKeyboardInteractive = async (req) => {
      if (req.name) process.stderr.write(`${req.name}\n`);
      if (req.instructions) process.stderr.write(`${req.instructions}\n`);
      const answers: string[] = [];
      for (const p of req.prompts)
        answers.push(await orNone(p.echo ? readTtyLine(p.prompt, TTY_ONLY) : readPassphrase(p.prompt, TTY_ONLY), ''));
      return answers;
    };
    opts.onPassword = async (attempt) => {
      if (attempt > 0) process.stderr.write('Permission denied, please try again.\n');
      const pw = await orNone<string | undefined>(readPassphrase(`${label}'s password: `, TTY_ONLY), undefined);
      return pw;
    };
  }
  const { Client: ClientClass } = await import('../index.js');
  try {
    const client = await ClientClass.connect(opts);
    log.debug(1, `Authenticated to ${resolved.hostname} ([${resolved.hostname}]:${resolved.port}).`);
    return { client, log, config: resolved };
  } catch (e) {
    const err = toCliError(spec.program, e, resolved.hostname, resolved.port, label);
    await log.close();
    throw err;
  }
}

/** The one line OpenSSH prints for a failed connection. */
function toCliError(program: string, e: unknown, host: string, port: number, label: string): CliError {
  if (e instanceof CliError) return e;
  if (e instanceof PromptInterrupted) return new CliError('');
  if (e instanceof HostKeyError) {
    return new CliError(
      e.changed ? changedKeyWarning(e, port === 22 ? host : `[${host}]:${port}`) : 'Host key verification failed.',
    );
  }
  if (e instanceof AuthError) {
    return new CliError(`${label}: Permission denied (${e.methodsLeft.join(',')}).`);
  }
  if (e instanceof ConnectionLostError) {
    const cause = (e.cause as NodeJS.ErrnoException | undefined) ?? undefined;
    if (cause?.syscall === 'getaddrinfo' || cause?.code === 'ENOTFOUND' || cause?.code === 'EAI_AGAIN') {
      return new CliError(`${program}: Could not resolve hostname ${host}: Name or service not known`);
    }
    if (cause?.syscall === 'connect' && cause.code) {
      return new CliError(`${program}: connect to host ${host} port ${port}: ${errnoText(cause.code)}`);
    }
    return new CliError(`Connection closed by ${host} port ${port}`);
  }
  if (e instanceof TimeoutError)
    return new CliError(`${program}: connect to host ${host} port ${port}: Connection timed out`);
  if (e instanceof KeyError || e instanceof InvalidArgumentError) return new CliError(`${program}: ${e.message}`);
  if (e instanceof SshError) return new CliError(`${program}: ${e.message}`);
  return new CliError(`${program}: ${e instanceof Error ? e.message : String(e)}`);
}

function errnoText(code: string): string {
  const t: Record<string, string> = {
    ECONNREFUSED: 'Connection refused',
    ETIMEDOUT: 'Connection timed out',
    EHOSTUNREACH: 'No route to host',
    ENETUNREACH: 'Network is unreachable',
    ECONNRESET: 'Connection reset by peer',
    EADDRNOTAVAIL: 'Cannot assign requested address',
  };
  return t[code] ?? code;
}

/** Reports `e` as OpenSSH does (one line on stderr) and returns the exit code. */
export function reportError(program: string, e: unknown): number {
  if (e instanceof CliError) {
    if (e.message) process.stderr.write(`${e.message}\n`);
    return e.exitCode;
  }
  if (e instanceof PromptInterrupted) return 255;
  process.stderr.write(`${program}: ${e instanceof Error ? e.message : String(e)}\n`);
  return 255;
}
