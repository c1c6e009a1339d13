/**
 * `secsh ssh` argument parsing as OpenSSH's ssh does it: getopt-style clustered flags (`-tt`, `-vvv`),
 * values attached or separate (`-p22`, `-p 22`, `-oKey=Value`), options before and after the
 * destination (ssh re-runs getopt after it), and the rest joined with spaces as the remote command.
 */

import { getopt } from './getopt.js';

/** A user error: the message is printed as is (with ssh's usage for unknown flags), exit status 255. */
export class SshUsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 255,
  ) {
    super(message);
  }
}

export const SSH_USAGE = `usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface]
           [-b bind_address] [-c cipher_spec] [-D [bind_address:]port]
           [-E log_file] [-e escape_char] [-F configfile] [-I pkcs11]
           [-i identity_file] [-J [user@]host[:port]] [-L address]
           [-l login_name] [-m mac_spec] [-O ctl_cmd] [-o option] [-p port]
           [-Q query_option] [-R address] [-S ctl_path] [-W host:port]
           [-w local_tun[:remote_tun]] destination [command [argument ...]]
`;

/** Parsed `secsh ssh` arguments. */
export interface SshOptions {
  destination: string | undefined;
  /** The remote command's words (joined with spaces when sent). */
  command: string[];
  port: number | undefined;
  user: string | undefined;
  identityFiles: string[];
  configFile: string | undefined;
  /** Each -o value as given, in order. */
  options: string[];
  jump: string | undefined;
  localForwards: string[];
  remoteForwards: string[];
  dynamicForwards: string[];
  /** -W host:port */
  stdioForward: string | undefined;
  forwardAgent: boolean | undefined;
  /** -X (true), -x (false); -Y sets trustedX11 too. */
  forwardX11: boolean | undefined;
  trustedX11: boolean;
  noCommand: boolean;
  stdinNull: boolean;
  /** Count of -t. */
  tty: number;
  noTty: boolean;
  quiet: boolean;
  verbose: number;
  logFile: string | undefined;
  printConfig: boolean;
  ciphers: string | undefined;
  macs: string | undefined;
  compression: boolean;
  family: 4 | 6 | undefined;
  version: boolean;
  /** -e as given (`none`, one character, or `^X`). */
  escapeChar: string | undefined;
  fork: boolean;
  gatewayPorts: boolean;
  subsystem: boolean;
  /** -Q: what to list. */
  query: string | undefined;
}

/** Flags without a value. */
const FLAGS = new Set('1246AaCfGgKkMNnqsTtVvXxYy'.split(''));
/** Flags that take a value. */
const WITH_VALUE = new Set('BbcDEeFIiJLlmOopQRSWw'.split(''));

function emptyOptions(): SshOptions {
  return {
    destination: undefined,
    command: [],
    port: undefined,
    user: undefined,
    identityFiles: [],
    configFile: undefined,
    options: [],
    jump: undefined,
    localForwards: [],
    remoteForwards: [],
    dynamicForwards: [],
    stdioForward: undefined,
    forwardAgent: undefined,
    forwardX11: undefined,
    trustedX11: false,
    noCommand: false,
    stdinNull: false,
    tty: 0,
    noTty: false,
    quiet: false,
    verbose: 0,
    logFile: undefined,
    printConfig: false,
    ciphers: undefined,
    macs: undefined,
    compression: false,
    family: undefined,
    version: false,
    escapeChar: undefined,
    fork: false,
    gatewayPorts: false,
    subsystem: false,
    query: undefined,
  };
}

/** OpenSSH's a2port: 1..65535 (0 only where `allowZero`). */
export function parsePort(s: string, allowZero = false): number | undefined {
  if (!/^\d{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  if (n > 65535 || (n === 0 && !allowZero)) return undefined;
  return n;
}

/**
 * Parses ssh's arguments. `-V` stops parsing at once (ssh prints its version as soon as it sees it).
 * Throws {@link SshUsageError} for an unknown flag, a missing value or a bad port.
 */
export function parseSshArgs(args: string[]): SshOptions {
  const o = emptyOptions();
  const spec = {
    withValue: WITH_VALUE,
    flags: FLAGS,
    onOption: (f: string, v: string | undefined) => {
      if (v !== undefined) applyValue(o, f, v);
      else applyFlag(o, f);
      return o.version;
    },
    error: (m: string) => new SshUsageError(`${m}\n${SSH_USAGE}`),
  };
  let i = 0;
  for (;;) {
    const r = getopt(args, spec, i);
    if (r.stopped) return o;
    i = r.next;
    const terminated = r.terminated;
    if (i >= args.length) break;
    if (o.destination === undefined) {
      o.destination = args[i] as string;
      i++;
      // ssh parses options again after the destination, unless `--` ended them.
      if (!terminated && i < args.length) continue;
    }
    break;
  }
  o.command = args.slice(i);
  return o;
}

function applyFlag(o: SshOptions, f: string): void {
  switch (f) {
    case '4':
      o.family = 4;
      break;
    case '6':
      o.family = 6;
      break;
    case 'A':
      o.forwardAgent = true;
      break;
    case 'a':
      o.forwardAgent = false;
      break;
    case 'C':
      o.compression = true;
      break;
    case 'f':
      o.fork = true;
      break;
    case 'G':
      o.printConfig = true;
      break;
    case 'g':
      o.gatewayPorts = true;
      break;
    case 'N':
      o.noCommand = true;
      break;
    case 'n':
      o.stdinNull = true;
      break;
    case 'q':
      o.quiet = true;
      o.verbose = 0;
      break;
    case 's':
      o.subsystem = true;
      break;
    case 'T':
      o.noTty = true;
      o.tty = 0;
      break;
    case 't':
      o.tty++;
      o.noTty = false;
      break;
    case 'V':
      o.version = true;
      break;
    case 'v':
      o.verbose = Math.min(3, o.verbose + 1);
      o.quiet = false;
      break;
    case 'X':
      o.forwardX11 = true;
      break;
    case 'x':
      o.forwardX11 = false;
      break;
    case 'Y':
      o.forwardX11 = true;
      o.trustedX11 = true;
      break;
    case 'M':
    case 'K':
    case 'k':
    case 'y':
    case '1':
    case '2':
      // -M (connection sharing), -K/-k (GSSAPI) and -y (syslog) change nothing here.
      break;
    default:
      break;
  }
}

function applyValue(o: SshOptions, f: string, v: string): void {
  switch (f) {
    case 'p': {
      const p = parsePort(v);
      if (p === undefined) throw new SshUsageError(`Bad port '${v}'`);
      o.port ??= p;
      break;
    }
    case 'l':
      o.user ??= v;
      break;
    case 'i':
      o.identityFiles.push(v);
      break;
    case 'F':
      o.configFile = v;
      break;
    case 'o':
      o.options.push(v);
      break;
    case 'J':
      if (o.jump !== undefined) throw new SshUsageError('Only a single -J option is permitted');
      o.jump = v;
      break;
    case 'L':
      o.localForwards.push(v);
      break;
    case 'R':
      o.remoteForwards.push(v);
      break;
    case 'D':
      o.dynamicForwards.push(v);
      break;
    case 'W':
      if (o.stdioForward !== undefined) throw new SshUsageError('stdio forward already specified');
      o.stdioForward = v;
      break;
    case 'E':
      o.logFile = v;
      break;
    case 'c':
      o.ciphers = v;
      break;
    case 'm':
      o.macs = v;
      break;
    case 'e':
      if (parseEscapeChar(v) === undefined) throw new SshUsageError(`Bad escape character '${v}'.`);
      o.escapeChar = v;
      break;
    case 'Q':
      o.query = v;
      break;
    case 'B':
    case 'b':
    case 'I':
    case 'O':
    case 'S':
    case 'w':
      throw new SshUsageError(`secsh ssh: -${f} is not supported`);
    default:
      break;
  }
}

/**
 * An escape character as ssh takes it from `-e` or EscapeChar: `none` (null), one character, or `^X`
 * (a control character). Undefined when malformed.
 */
export function parseEscapeChar(s: string): number | null | undefined {
  if (s === 'none') return null;
  if (s.length === 1) return s.charCodeAt(0) & 0xff;
  if (s.length === 2 && s[0] === '^') return s.charCodeAt(1) & 31;
  return undefined;
}

/** One end of a forward: a TCP address (host may be absent) or a Unix socket path. */
export interface ForwardSpecEnd {
  host?: string;
  port?: number;
  path?: string;
}

/** A parsed -L/-R/-D specification. */
export interface ForwardSpec {
  listen: ForwardSpecEnd;
  /** Absent for -D (and for -R's dynamic form, which is not supported). */
  connect?: ForwardSpecEnd;
}

/** Splits a forward specification into fields at ':', honouring `[IPv6]` brackets, as ssh's parse_fwd_field. */
function fwdFields(spec: string): { arg: string; isPath: boolean }[] | undefined {
  const out: { arg: string; isPath: boolean }[] = [];
  let i = 0;
  while (i <= spec.length) {
    if (spec[i] === '[') {
      const end = spec.indexOf(']', i);
      if (end < 0) return undefined;
      const next = spec[end + 1];
      if (next !== undefined && next !== ':') return undefined;
      out.push({ arg: spec.slice(i + 1, end), isPath: false });
      i = end + 2;
      if (next === undefined) break;
      continue;
    }
    const colon = spec.indexOf(':', i);
    const arg = colon < 0 ? spec.slice(i) : spec.slice(i, colon);
    out.push({ arg, isPath: arg.includes('/') });
    if (colon < 0) break;
    i = colon + 1;
  }
  return out;
}

/**
 * Parses ssh's -L / -R / -D syntax: `[bind_address:]port:host:hostport`, `[bind_address:]port:socket`,
 * `socket:host:hostport`, `socket:socket`, and for -D `[bind_address:]port`. Undefined when malformed.
 */
export function parseForwardSpec(spec: string, kind: 'L' | 'R' | 'D'): ForwardSpec | undefined {
  const f = fwdFields(spec);
  if (!f) return undefined;
  const port = (s: string | undefined, zero = true) => (s === undefined ? undefined : parsePort(s, zero));
  const at = (n: number) => f[n] as { arg: string; isPath: boolean };
  let r: ForwardSpec | undefined;
  if (kind === 'D') {
    if (f.length === 1) r = { listen: { port: port(at(0).arg) as number } };
    else if (f.length === 2) r = { listen: { host: at(0).arg, port: port(at(1).arg) as number } };
    if (!r || r.listen.port === undefined) return undefined;
    return r;
  }
  switch (f.length) {
    case 2:
      if (at(0).isPath && at(1).isPath) r = { listen: { path: at(0).arg }, connect: { path: at(1).arg } };
      else if (at(1).isPath) r = { listen: { port: port(at(0).arg) as number }, connect: { path: at(1).arg } };
      break;
    case 3:
      if (at(0).isPath)
        r = { listen: { path: at(0).arg }, connect: { host: at(1).arg, port: port(at(2).arg, false) as number } };
      else if (at(2).isPath)
        r = { listen: { host: at(0).arg, port: port(at(1).arg) as number }, connect: { path: at(2).arg } };
      else
        r = {
          listen: { port: port(at(0).arg) as number },
          connect: { host: at(1).arg, port: port(at(2).arg) as number },
        };
      break;
    case 4:
      r = {
        listen: { host: at(0).arg, port: port(at(1).arg) as number },
        connect: { host: at(2).arg, port: port(at(3).arg) as number },
      };
      break;
    default:
      return undefined;
  }
  if (!r) return undefined;
  for (const end of [r.listen, r.connect]) {
    if (!end) continue;
    if (end.path === undefined && end.port === undefined) return undefined;
    if (end.path === '' || end.host?.includes('\0')) return undefined;
  }
  if (r.connect?.host !== undefined && (r.connect.host === '' || r.connect.port === 0)) return undefined;
  return r;
}
