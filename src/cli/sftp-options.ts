/**
 * `secsh sftp` command-line parsing: OpenSSH sftp's getopt flags and its destination forms,
 * `[user@]host[:path]` and `sftp://[user@]host[:port][/path]`.
 */

/** A user error on the command line: printed as is (with the usage when `usage`), exit status 1. */
export class SftpUsageError extends Error {
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
  }
}

export const SFTP_USAGE = `usage: secsh sftp [-46AaCfNpqrv] [-B buffer_size] [-b batchfile] [-c cipher]
          [-F ssh_config] [-i identity_file] [-J destination] [-l limit]
          [-o ssh_option] [-P port] [-R num_requests] [-X sftp_option]
          destination
`;

/** Parsed `secsh sftp` arguments. */
export interface SftpOptions {
  family: 4 | 6 | undefined;
  forwardAgent: boolean | undefined;
  compression: boolean;
  /** -f: fsync each file after a transfer. */
  fsync: boolean;
  /** -p: keep modes and times. */
  preserve: boolean;
  /** -r: recursive get/put. */
  recursive: boolean;
  /** -a: resume transfers (reget/reput for get/put). */
  resume: boolean;
  quiet: boolean;
  verbose: number;
  /** -B: bytes per read/write request. */
  bufferSize: number | undefined;
  /** -R: requests in flight. */
  requests: number | undefined;
  /** -l: rate limit in Kbit/s. */
  limitKbit: number | undefined;
  /** -b: batch file ('-' for stdin). */
  batchFile: string | undefined;
  ciphers: string | undefined;
  configFile: string | undefined;
  identityFiles: string[];
  jump: string | undefined;
  options: string[];
  port: number | undefined;
  /** The destination's parts. */
  user: string | undefined;
  host: string;
  /** A path after `host:` or in the URI: a directory to start in, or a file to fetch. */
  path: string | undefined;
  /** A second operand: where to put the file fetched from `path`. */
  localTarget: string | undefined;
}

const FLAGS = new Set(['4', '6', 'A', 'a', 'C', 'f', 'N', 'p', 'q', 'r', 'v', 'h']);
const WITH_VALUE = new Set(['B', 'b', 'c', 'D', 'F', 'i', 'J', 'l', 'o', 'P', 'R', 'S', 's', 'X']);

function positiveInt(s: string, what: string, max = 2 ** 31 - 1): number {
  if (!/^\d+$/.test(s)) throw new SftpUsageError(`Invalid ${what}: ${s}`);
  const n = Number(s);
  if (n < 1 || n > max) throw new SftpUsageError(`Invalid ${what}: ${s}`);
  return n;
}

/** sftp's -B / -X buffer: a size with an optional K/M suffix, 1..256 KiB. */
function bufferSize(s: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(s);
  const n = m ? Number(m[1]) * (m[2] === '' ? 1 : /k/i.test(m[2] ?? '') ? 1024 : 1024 * 1024) : Number.NaN;
  if (!(n >= 1 && n <= 256 * 1024)) throw new SftpUsageError(`Invalid buffer size "${s}": out of range`);
  return n;
}

/** Splits `[user@]host[:path]` (IPv6 in brackets) as OpenSSH's parse_user_host_path. */
export function parseUserHostPath(s: string): { user?: string; host: string; path?: string } {
  let user: string | undefined;
  let rest = s;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (user === '') throw new SftpUsageError(`Invalid destination: ${s}`);
  }
  let host: string;
  let path: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new SftpUsageError(`Invalid destination: ${s}`);
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after.startsWith(':')) path = after.slice(1);
    else if (after !== '') throw new SftpUsageError(`Invalid destination: ${s}`);
  } else {
    const colon = rest.indexOf(':');
    host = colon >= 0 ? rest.slice(0, colon) : rest;
    if (colon >= 0) path = rest.slice(colon + 1);
  }
  if (host === '') throw new SftpUsageError(`Invalid destination: ${s}`);
  return { ...(user !== undefined ? { user } : {}), host, ...(path !== undefined && path !== '' ? { path } : {}) };
}

/** `sftp://[user@]host[:port][/path]`: the path (percent-decoded) is relative to the login directory. */
export function parseSftpUri(s: string): { user?: string; host: string; port?: number; path?: string } {
  const body = s.slice('sftp://'.length);
  const slash = body.indexOf('/');
  const authority = slash >= 0 ? body.slice(0, slash) : body;
  const rawPath = slash >= 0 ? body.slice(slash + 1) : '';
  let user: string | undefined;
  let hostPort = authority;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    user = decodeURIComponent(authority.slice(0, at).replace(/;.*$/, ''));
    hostPort = authority.slice(at + 1);
  }
  let port: number | undefined;
  const m = /^(\[[^\]]+\]|[^:]*)(?::(\d*))?$/.exec(hostPort);
  if (!m?.[1]) throw new SftpUsageError(`Invalid URI: ${s}`);
  const host = m[1].replace(/^\[(.*)\]$/, '$1');
  if (m[2]) port = positiveInt(m[2], 'port', 65535);
  let path: string | undefined;
  try {
    path = rawPath === '' ? undefined : decodeURIComponent(rawPath);
  } catch {
    throw new SftpUsageError(`Invalid URI: ${s}`);
  }
  if (host === '' || user === '') throw new SftpUsageError(`Invalid URI: ${s}`);
  return {
    ...(user !== undefined ? { user } : {}),
    host,
    ...(port !== undefined ? { port } : {}),
    ...(path !== undefined ? { path } : {}),
  };
}

/** Parses sftp's options (clustered flags, values attached or separate, `--` ends options). */
export function parseSftpArgs(args: string[]): SftpOptions | 'help' {
  const o: SftpOptions = {
    family: undefined,
    forwardAgent: undefined,
    compression: false,
    fsync: false,
    preserve: false,
    recursive: false,
    resume: false,
    quiet: false,
    verbose: 0,
    bufferSize: undefined,
    requests: undefined,
    limitKbit: undefined,
    batchFile: undefined,
    ciphers: undefined,
    configFile: undefined,
    identityFiles: [],
    jump: undefined,
    options: [],
    port: undefined,
    user: undefined,
    host: '',
    path: undefined,
    localTarget: undefined,
  };
  let noQuiet = false;
  const operands: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--help') return 'help';
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      // glibc's getopt, which sftp uses on Linux, takes options after the operands too.
      operands.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const f = a[j] as string;
      if (FLAGS.has(f)) {
        switch (f) {
          case '4':
          case '6':
            o.family = f === '4' ? 4 : 6;
            break;
          case 'A':
            o.forwardAgent = true;
            break;
          case 'a':
            o.resume = true;
            break;
          case 'C':
            o.compression = true;
            break;
          case 'f':
            o.fsync = true;
            break;
          case 'N':
            noQuiet = true;
            break;
          case 'p':
            o.preserve = true;
            break;
          case 'q':
            o.quiet = true;
            break;
          case 'r':
            o.recursive = true;
            break;
          case 'v':
            o.verbose++;
            break;
          case 'h':
            return 'help';
        }
        continue;
      }
      if (!WITH_VALUE.has(f)) throw new SftpUsageError(`unknown option -- ${f}`, true);
      let v = a.slice(j + 1);
      if (v === '') {
        const next = args[++i];
        if (next === undefined) throw new SftpUsageError(`option requires an argument -- ${f}`, true);
        v = next;
      }
      switch (f) {
        case 'B':
          o.bufferSize = bufferSize(v);
          break;
        case 'b':
          if (o.batchFile !== undefined) throw new SftpUsageError('Batch file already specified.');
          o.batchFile = v;
          break;
        case 'c':
          o.ciphers = v;
          break;
        case 'F':
          o.configFile = v;
          break;
        case 'i':
          o.identityFiles.push(v);
          break;
        case 'J':
          o.jump = v;
          break;
        case 'l':
          o.limitKbit = positiveInt(v, 'limit', 100 * 1024 * 1024);
          break;
        case 'o':
          o.options.push(v);
          break;
        case 'P':
          o.port = positiveInt(v, 'port', 65535);
          break;
        case 'R':
          o.requests = positiveInt(v, 'number of requests', 4096);
          break;
        case 'X':
          sftpOption(o, v);
          break;
        case 'D':
        case 'S':
          throw new SftpUsageError(`option -${f} (an external program) is not supported by secsh sftp`);
        case 's':
          if (v !== 'sftp') throw new SftpUsageError('option -s: secsh sftp speaks only to the "sftp" subsystem');
          break;
      }
      break;
    }
  }
  operands.push(...args.slice(i));
  if (operands.length === 0 || operands.length > 2) throw new SftpUsageError('', true);
  const dest = operands[0] as string;
  if (/^sftp:\/\//i.test(dest)) {
    const u = parseSftpUri(dest);
    o.user = u.user;
    o.host = u.host;
    if (u.port !== undefined) o.port = u.port;
    o.path = u.path;
  } else {
    const d = parseUserHostPath(dest);
    o.user = d.user;
    o.host = d.host;
    o.path = d.path;
  }
  o.localTarget = operands[1];
  if (o.localTarget !== undefined && o.path === undefined) throw new SftpUsageError('', true);
  // -b implies quiet (no "Connected to" or progress meter) and BatchMode; -N undoes the quiet part.
  if (o.batchFile !== undefined) {
    o.quiet = !noQuiet;
    o.options.unshift('BatchMode=yes');
  }
  return o;
}

/** -X buffer=N / nrequests=N (OpenSSH 9.x's spellings of -B and -R). */
function sftpOption(o: SftpOptions, v: string): void {
  const eq = v.indexOf('=');
  const key = eq >= 0 ? v.slice(0, eq).toLowerCase() : v.toLowerCase();
  const val = eq >= 0 ? v.slice(eq + 1) : '';
  if (key === 'buffer') o.bufferSize = bufferSize(val);
  else if (key === 'nrequests') o.requests = positiveInt(val, 'number of requests', 4096);
  else throw new SftpUsageError(`Invalid -X option: ${v}`);
}
