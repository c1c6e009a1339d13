/**
 * sshd's keywords for `secsh server`: `-o Keyword=value` and `-f sshd_config` read as sshd reads them
 * (keywords case-insensitive, `Keyword value` or `Keyword=value`, `#` comments, double quotes, the
 * first value of a keyword wins, `-o` before the file). Unknown keywords and `Match` / `Include`
 * are errors (sshd exits 255); a few keywords that mean nothing here are accepted with a warning.
 */
import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { AlgorithmKind, AlgorithmOptions, ServerForwardingOptions } from '../index.js';

/** A configuration error: the message is the one line printed before exiting 255. */
export class SshdConfigError extends Error {}

/** One `Keyword value…` line. */
export interface SshdConfigLine {
  /** The keyword as written. */
  keyword: string;
  /** Its arguments, unquoted. */
  args: string[];
  /** `file: line N` or `command-line`, for messages. */
  where: string;
}

/** What the keywords set, sshd's defaults filled in. */
export interface SshdSettings {
  ports: number[];
  listenAddresses: string[];
  hostKeys: string[];
  hostCertificates: string[];
  authorizedKeysFile: string | undefined;
  trustedUserCAKeys: string | undefined;
  /** A file whose contents are the pre-authentication banner (`none`: no banner). */
  banner: string | undefined;
  maxAuthTries: number | undefined;
  maxSessions: number | undefined;
  maxStartups: number | undefined;
  /** Milliseconds. */
  loginGraceTime: number | undefined;
  /** Milliseconds. */
  clientAliveInterval: number | undefined;
  clientAliveCountMax: number | undefined;
  algorithms: AlgorithmOptions;
  pubkeyAuthentication: boolean;
  /** PubkeyAuthOptions (security keys): touch-required and verify-required, for the Server's `securityKeys`. */
  pubkeyAuthOptions: { touchRequired: boolean; verifyRequired: boolean };
  passwordAuthentication: boolean;
  kbdInteractiveAuthentication: boolean;
  /** For the Server's `forwarding` option: TCP/Unix forwarding as sshd's keywords set it. */
  forwarding: ServerForwardingOptions;
  /** AllowAgentForwarding (default yes), for localProcessHandler's `agentForwarding`. */
  agentForwarding: boolean;
  /** X11Forwarding (default no), for localProcessHandler's `x11Forwarding`. */
  x11Forwarding: boolean;
  x11DisplayOffset: number | undefined;
  xauthLocation: string | undefined;
  /** Lines to print on stderr (keywords accepted but without effect here). */
  warnings: string[];
}

/** Splits a line into words: blanks separate, double quotes group (sshd's argv_split). */
function words(text: string, where: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
    if (i >= text.length) break;
    let w = '';
    if (text[i] === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new SshdConfigError(`${where}: unterminated quote`);
      w = text.slice(i + 1, end);
      i = end + 1;
    } else {
      while (i < text.length && !/\s/.test(text[i] as string)) w += text[i++];
    }
    out.push(w);
  }
  return out;
}

/** Parses one line (`Keyword value…` or `Keyword=value…`); undefined for blank and comment lines. */
export function parseSshdLine(raw: string, where: string): SshdConfigLine | undefined {
  const line = raw.trim();
  if (line.length === 0 || line.startsWith('#')) return undefined;
  const m = /^([A-Za-z0-9]+)\s*(?:=\s*|\s+|$)(.*)$/.exec(line);
  if (!m) throw new SshdConfigError(`${where}: Bad configuration option: ${line.split(/[\s=]/)[0]}`);
  const keyword = m[1] as string;
  const rest = (m[2] as string).replace(/\s+#.*$/, '');
  return { keyword, args: words(rest, where), where };
}

/** Parses an sshd_config text (`source` names it in messages). */
export function parseSshdConfig(text: string, source: string): SshdConfigLine[] {
  const out: SshdConfigLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const l = parseSshdLine(lines[n] as string, `${source}: line ${n + 1}`);
    if (l) out.push(l);
  }
  return out;
}

/** sshd's convtime: `90`, `2m`, `1h30m` (s m h d w) → milliseconds. */
export function parseTime(v: string, where: string, keyword: string): number {
  const unit: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  if (!/^(\d+[smhdwSMHDW]?)+$/.test(v)) throw new SshdConfigError(`${where}: invalid time value for ${keyword}: ${v}`);
  let total = 0;
  for (const part of v.matchAll(/(\d+)([smhdwSMHDW]?)/g)) {
    total += Number(part[1]) * (unit[(part[2] as string).toLowerCase()] as number);
  }
  if (total > 0x7fffffff / 1000) throw new SshdConfigError(`${where}: time value too large for ${keyword}`);
  return total * 1000;
}

type Handler = (s: SshdSettings, args: string[], l: SshdConfigLine) => void;

function one(l: SshdConfigLine, args: string[]): string {
  const v = args[0];
  if (v === undefined || v.length === 0) throw new SshdConfigError(`${l.where}: ${l.keyword}: missing argument`);
  return v;
}

function yesNo(l: SshdConfigLine, args: string[]): boolean {
  const v = one(l, args).toLowerCase();
  if (v === 'yes') return true;
  if (v === 'no') return false;
  throw new SshdConfigError(`${l.where}: unsupported option "${args[0]}" for ${l.keyword}`);
}

function integer(l: SshdConfigLine, args: string[], min: number, max: number): number {
  const v = one(l, args);
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new SshdConfigError(`${l.where}: invalid integer for ${l.keyword}: ${v}`);
  }
  return Number(v);
}

/** yes/all → true, no → false, local, remote (AllowTcpForwarding, AllowStreamLocalForwarding). */
function forwardDirection(l: SshdConfigLine, args: string[]): boolean | 'local' | 'remote' {
  const v = one(l, args).toLowerCase();
  if (v === 'yes' || v === 'all') return true;
  if (v === 'no') return false;
  if (v === 'local' || v === 'remote') return v;
  throw new SshdConfigError(`${l.where}: unsupported option "${args[0]}" for ${l.keyword}`);
}

function algorithms(kind: AlgorithmKind): Handler {
  return (s, args, l) => {
    s.algorithms[kind] ??= one(l, args);
  };
}

/** Keywords set once (the first value wins); the handler sees only the first occurrence. */
const ONCE: Record<string, Handler> = {
  authorizedkeysfile: (s, a, l) => {
    s.authorizedKeysFile = one(l, a);
  },
  trustedusercakeys: (s, a, l) => {
    const v = one(l, a);
    s.trustedUserCAKeys = v.toLowerCase() === 'none' ? undefined : v;
  },
  banner: (s, a, l) => {
    const v = one(l, a);
    s.banner = v.toLowerCase() === 'none' ? undefined : v;
  },
  maxauthtries: (s, a, l) => {
    s.maxAuthTries = integer(l, a, 1, 1_000_000);
  },
  maxsessions: (s, a, l) => {
    s.maxSessions = integer(l, a, 0, 1_000_000);
  },
  maxstartups: (s, a, l) => {
    // start:rate:full — the first number is where refusing starts; secsh refuses at once past it.
    const v = one(l, a);
    const m = /^(\d+)(?::\d+:\d+)?$/.exec(v);
    if (!m) throw new SshdConfigError(`${l.where}: invalid MaxStartups: ${v}`);
    s.maxStartups = Number(m[1]);
  },
  logingracetime: (s, a, l) => {
    s.loginGraceTime = parseTime(one(l, a), l.where, l.keyword);
  },
  clientaliveinterval: (s, a, l) => {
    s.clientAliveInterval = parseTime(one(l, a), l.where, l.keyword);
  },
  clientalivecountmax: (s, a, l) => {
    s.clientAliveCountMax = integer(l, a, 1, 1_000_000);
  },
  kexalgorithms: algorithms('kex'),
  ciphers: algorithms('cipher'),
  macs: algorithms('mac'),
  hostkeyalgorithms: algorithms('hostKey'),
  pubkeyauthentication: (s, a, l) => {
    s.pubkeyAuthentication = yesNo(l, a);
  },
  pubkeyauthoptions: (s, a, l) => {
    // As sshd: `none`, or touch-required and/or verify-required as separate words.
    one(l, a);
    const opts = { touchRequired: false, verifyRequired: false };
    for (const w of a) {
      const v = w.toLowerCase();
      if (v === 'none') continue;
      if (v === 'touch-required') opts.touchRequired = true;
      else if (v === 'verify-required') opts.verifyRequired = true;
      else throw new SshdConfigError(`${l.where}: unsupported PubkeyAuthOptions option ${w}`);
    }
    s.pubkeyAuthOptions = opts;
  },
  passwordauthentication: (s, a, l) => {
    s.passwordAuthentication = yesNo(l, a);
  },
  kbdinteractiveauthentication: (s, a, l) => {
    s.kbdInteractiveAuthentication = yesNo(l, a);
  },
  challengeresponseauthentication: (s, a, l) => {
    s.kbdInteractiveAuthentication = yesNo(l, a);
  },
  allowtcpforwarding: (s, a, l) => {
    s.forwarding.allowTcp = forwardDirection(l, a);
  },
  allowstreamlocalforwarding: (s, a, l) => {
    s.forwarding.allowStreamLocal = forwardDirection(l, a);
  },
  allowagentforwarding: (s, a, l) => {
    s.agentForwarding = yesNo(l, a);
  },
  x11forwarding: (s, a, l) => {
    s.x11Forwarding = yesNo(l, a);
  },
  x11displayoffset: (s, a, l) => {
    s.x11DisplayOffset = integer(l, a, 0, 1000);
  },
  xauthlocation: (s, a, l) => {
    s.xauthLocation = one(l, a);
  },
  gatewayports: (s, a, l) => {
    const v = one(l, a).toLowerCase();
    if (v === 'clientspecified') s.forwarding.gatewayPorts = 'clientspecified';
    else s.forwarding.gatewayPorts = yesNo(l, a);
  },
  permitopen: (s, a, l) => {
    one(l, a);
    s.forwarding.permitOpen = a;
  },
  permitlisten: (s, a, l) => {
    one(l, a);
    s.forwarding.permitListen = a;
  },
  streamlocalbindmask: (s, a, l) => {
    const v = one(l, a);
    if (!/^[0-7]{1,4}$/.test(v) || Number.parseInt(v, 8) > 0o777) {
      throw new SshdConfigError(`${l.where}: invalid StreamLocalBindMask: ${v}`);
    }
    s.forwarding.streamLocalBindMask = Number.parseInt(v, 8);
  },
  streamlocalbindunlink: (s, a, l) => {
    s.forwarding.streamLocalBindUnlink = yesNo(l, a);
  },
  disableforwarding: (s, a, l) => {
    if (!yesNo(l, a)) return;
    // Overrides every forwarding keyword, wherever it appears.
    s.forwarding.allowTcp = false;
    s.forwarding.allowStreamLocal = false;
    s.agentForwarding = false;
    s.x11Forwarding = false;
    disabled.add(s);
  },
};

const disabled = new WeakSet<SshdSettings>();

/** Keywords that accumulate (every occurrence counts). */
const MANY: Record<string, Handler> = {
  port: (s, a, l) => {
    s.ports.push(integer(l, a, 0, 65535));
  },
  listenaddress: (s, a, l) => {
    s.listenAddresses.push(one(l, a));
  },
  hostkey: (s, a, l) => {
    s.hostKeys.push(one(l, a));
  },
  hostcertificate: (s, a, l) => {
    s.hostCertificates.push(one(l, a));
  },
};

/** sshd keywords accepted and ignored here (each gets a warning line). */
const IGNORED = new Set([
  'usepam',
  'printmotd',
  'printlastlog',
  'usedns',
  'loglevel',
  'syslogfacility',
  'strictmodes',
  'pidfile',
  'acceptenv',
  'subsystem',
  'permitrootlogin',
  'compression',
  'tcpkeepalive',
  'permittty',
  'x11uselocalhost',
]);

const UNSUPPORTED_BLOCKS = new Set(['match', 'include']);

/** Applies lines in order (`-o` lines first, then the file's); throws {@link SshdConfigError}. */
export function sshdSettings(lines: readonly SshdConfigLine[]): SshdSettings {
  const s: SshdSettings = {
    ports: [],
    listenAddresses: [],
    hostKeys: [],
    hostCertificates: [],
    authorizedKeysFile: undefined,
    trustedUserCAKeys: undefined,
    banner: undefined,
    maxAuthTries: undefined,
    maxSessions: undefined,
    maxStartups: undefined,
    loginGraceTime: undefined,
    clientAliveInterval: undefined,
    clientAliveCountMax: undefined,
    algorithms: {},
    pubkeyAuthentication: true,
    pubkeyAuthOptions: { touchRequired: false, verifyRequired: false },
    passwordAuthentication: true,
    kbdInteractiveAuthentication: true,
    // sshd's defaults: TCP and Unix forwarding on, GatewayPorts no, PermitOpen/PermitListen any.
    forwarding: { allowTcp: true, allowStreamLocal: true, gatewayPorts: false },
    agentForwarding: true,
    x11Forwarding: false,
    x11DisplayOffset: undefined,
    xauthLocation: undefined,
    warnings: [],
  };
  const seen = new Set<string>();
  for (const l of lines) {
    const k = l.keyword.toLowerCase();
    if (UNSUPPORTED_BLOCKS.has(k)) {
      throw new SshdConfigError(`${l.where}: ${l.keyword} is not supported by secsh server`);
    }
    const many = MANY[k];
    if (many) {
      many(s, l.args, l);
      continue;
    }
    const once = ONCE[k];
    if (once) {
      if (seen.has(k)) continue;
      seen.add(k);
      if (disabled.has(s) && /forwarding$/.test(k)) continue;
      once(s, l.args, l);
      continue;
    }
    if (IGNORED.has(k)) {
      s.warnings.push(`${l.where}: ${l.keyword} has no effect in secsh server; ignored`);
      continue;
    }
    throw new SshdConfigError(`${l.where}: Bad configuration option: ${l.keyword}`);
  }
  return s;
}

/** Reads `-o` values and then the `-f` file (at start-up, before any client); throws {@link SshdConfigError}. */
export async function loadSshdSettings(options: readonly string[], file: string | undefined): Promise<SshdSettings> {
  const lines: SshdConfigLine[] = [];
  for (const o of options) {
    const l = parseSshdLine(o, 'command-line');
    if (l) lines.push(l);
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new SshdConfigError(`${file}: ${code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`);
    }
    lines.push(...parseSshdConfig(text, file));
  }
  return sshdSettings(lines);
}

/** sshd's path tokens for the user running the server (%h home, %u user, %% percent); relative → under home. */
export function expandUserPath(path: string): string {
  const out = path.replace(/%([%hu])/g, (_m, c: string) =>
    c === '%' ? '%' : c === 'h' ? homedir() : userInfo().username,
  );
  return isAbsolute(out) ? out : join(homedir(), out);
}

/** ListenAddress `addr`, `addr:port` or `[v6addr]:port`. */
export function parseListenAddress(v: string): { host: string; port: number | undefined } {
  const b = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (b) return { host: b[1] as string, port: b[2] === undefined ? undefined : Number(b[2]) };
  const m = /^([^:]+):(\d+)$/.exec(v);
  if (m) return { host: m[1] as string, port: Number(m[2]) };
  return { host: v, port: undefined };
}
