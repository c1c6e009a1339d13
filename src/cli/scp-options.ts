/**
 * `secsh scp` command line: OpenSSH 9's flags, and its operands — `[user@]host:path`,
 * `scp://[user@]host[:port][/path]` and local paths — split as scp's colon() decides (a ':' before
 * any '/' makes a remote operand; a leading ':' or a '/' first means local; `[v6addr]:path`).
 */
import { getopt } from './getopt.js';

/**
 * A command-line error: one line (or the usage) on stderr and `exitCode`. Kept here rather than
 * using connect.ts's CliError so that parsing (and `--help`) loads no part of the library.
 */
export class ScpCliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** `usage:` as scp prints it. */
export const SCP_USAGE = `usage: scp [-346ABCOpqRrsTv] [-c cipher] [-D sftp_server_path] [-F ssh_config]
           [-i identity_file] [-J destination] [-l limit] [-o ssh_option]
           [-P port] [-S program] [-X sftp_option] source ... target`;

/** A source or target operand. */
export type ScpOperand =
  | {
      /** A path on this machine. */
      kind: 'local';
      path: string;
    }
  | {
      /** A path on a server. */
      kind: 'remote';
      user?: string;
      host: string;
      /** From an scp:// URI. */
      port?: number;
      /** As given; '' means the login directory. */
      path: string;
    };

/** The parsed command line. */
export interface ScpArgs {
  recursive: boolean;
  preserve: boolean;
  quiet: boolean;
  /** -O: the legacy scp protocol. */
  legacy: boolean;
  /** -3 (always in effect: remote-to-remote copies go through this host). */
  throughLocal: boolean;
  batch: boolean;
  compression: boolean;
  forwardAgent: boolean;
  family?: 4 | 6;
  port?: number;
  verbose: number;
  identityFiles: string[];
  options: string[];
  configFile?: string;
  jump?: string;
  cipher?: string;
  /** -l, Kbit/s. */
  limit?: number;
  sources: ScpOperand[];
  target: ScpOperand;
}

const FLAGS = new Set('346ABCOpqRrsTv');
const WITH_ARG = new Set('cDFiJloPSX');

/** A usage error: scp prints its usage and exits 1. */
function usage(message?: string): ScpCliError {
  return new ScpCliError(`${message ? `${message}\n` : ''}${SCP_USAGE}`, 1);
}

/**
 * scp's colon(): the index of the ':' that makes `s` remote, or -1. A leading ':' is part of a
 * file name; a '/' before any ':' means a local path; `[…]:` brackets an IPv6 address.
 */
export function remoteColon(s: string): number {
  if (s.startsWith(':')) return -1;
  let bracket = s.startsWith('[');
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '@' && s[i + 1] === '[') bracket = true;
    if (c === ']' && s[i + 1] === ':' && bracket) return i + 1;
    if (c === ':' && !bracket) return i;
    if (c === '/') return -1;
  }
  return -1;
}

/** Parses one operand. Throws ScpCliError (exit 1) on a malformed scp:// URI or empty host. */
export function parseOperand(s: string): ScpOperand {
  if (/^scp:\/\//i.test(s)) {
    const m = /^scp:\/\/(?:([^@/]*)@)?(\[[^\]]+\]|[^:/]+)(?::(\d*))?(\/.*)?$/i.exec(s);
    if (!m) throw new ScpCliError(`scp: invalid URI: ${s}`, 1);
    const host = (m[2] as string).replace(/^\[(.*)\]$/, '$1');
    let port: number | undefined;
    if (m[3] !== undefined && m[3] !== '') {
      port = Number(m[3]);
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw new ScpCliError(`scp: invalid port in URI: ${s}`, 1);
    }
    // scp://host/path is path relative to the login directory; scp://host//abs is absolute.
    const raw = m[4] === undefined ? '' : decodeURIComponent((m[4] as string).slice(1));
    const op: ScpOperand = { kind: 'remote', host, path: raw };
    if (m[1] !== undefined && m[1] !== '') op.user = decodeURIComponent(m[1]);
    if (port !== undefined) op.port = port;
    return op;
  }
  const c = remoteColon(s);
  if (c === -1) return { kind: 'local', path: s };
  let hostPart = s.slice(0, c);
  const path = s.slice(c + 1);
  let user: string | undefined;
  const at = hostPart.lastIndexOf('@');
  if (at >= 0) {
    user = hostPart.slice(0, at);
    hostPart = hostPart.slice(at + 1);
    if (user === '') throw new ScpCliError(`scp: invalid user name in ${s}`, 1);
  }
  const host = hostPart.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new ScpCliError(`scp: empty host name in ${s}`, 1);
  return user === undefined ? { kind: 'remote', host, path } : { kind: 'remote', user, host, path };
}

/** Parses `scp`'s arguments (getopt style: grouped flags, `-oX` or `-o X`, `--`). */
export function parseScpArgs(argv: readonly string[]): ScpArgs {
  const a: Omit<ScpArgs, 'sources' | 'target'> = {
    recursive: false,
    preserve: false,
    quiet: false,
    legacy: false,
    throughLocal: false,
    batch: false,
    compression: false,
    forwardAgent: false,
    verbose: 0,
    identityFiles: [],
    options: [],
  };
  const { next } = getopt(argv, {
    withValue: WITH_ARG,
    flags: FLAGS,
    onOption: (f, v) => {
      if (v === undefined) flag(a, f);
      else option(a, f, v);
      return undefined;
    },
    error: (m) => usage(`scp: ${m}`),
  });
  const rest = argv.slice(next);
  if (rest.length < 2) throw usage();
  const ops = rest.map(parseOperand);
  return { ...a, sources: ops.slice(0, -1), target: ops[ops.length - 1] as ScpOperand };
}

function flag(a: Omit<ScpArgs, 'sources' | 'target'>, f: string): void {
  switch (f) {
    case '3':
      a.throughLocal = true;
      break;
    case '4':
      a.family = 4;
      break;
    case '6':
      a.family = 6;
      break;
    case 'A':
      a.forwardAgent = true;
      break;
    case 'B':
      a.batch = true;
      break;
    case 'C':
      a.compression = true;
      break;
    case 'O':
      a.legacy = true;
      break;
    case 's':
      a.legacy = false;
      break;
    case 'p':
      a.preserve = true;
      break;
    case 'q':
      a.quiet = true;
      break;
    case 'r':
      a.recursive = true;
      break;
    case 'v':
      a.verbose++;
      break;
    // -R (copy between remotes through the first one) and -T (no strict name checks) are
    // accepted: remote-to-remote copies always go through this host (-3), and the sink always
    // demands plain names.
  }
}

function option(a: Omit<ScpArgs, 'sources' | 'target'>, f: string, v: string): void {
  switch (f) {
    case 'c':
      a.cipher = v;
      break;
    case 'F':
      a.configFile = v;
      break;
    case 'i':
      a.identityFiles.push(v);
      break;
    case 'J':
      a.jump = v;
      break;
    case 'o':
      a.options.push(v);
      break;
    case 'P': {
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new ScpCliError(`scp: invalid port: ${v}`, 1);
      a.port = n;
      break;
    }
    case 'l': {
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1) throw usage(`scp: bad bandwidth limit "${v}"`);
      a.limit = n;
      break;
    }
    case 'D':
    case 'S':
    case 'X':
      throw new ScpCliError(`scp: -${f} is not supported by secsh scp`, 1);
  }
}
