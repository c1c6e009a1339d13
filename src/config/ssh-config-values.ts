/** Value parsing for ssh_config: argument splitting, times, sizes, forwards, tokens and `~`. */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';

/** Splits a config line's arguments like OpenSSH: whitespace, `"…"`/`'…'` quoting, `#` starts a comment. */
export function splitArgs(s: string, where: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
    if (i >= s.length || s[i] === '#') break;
    let arg = '';
    let quote: string | undefined;
    while (i < s.length) {
      const c = s[i] as string;
      if (quote) {
        if (c === quote) {
          quote = undefined;
          i++;
          continue;
        }
      } else if (c === ' ' || c === '\t') {
        break;
      } else if (c === '"' || c === "'") {
        quote = c;
        i++;
        continue;
      }
      if (c === '\\' && i + 1 < s.length && /["'\\ \t]/.test(s[i + 1] as string)) {
        arg += s[i + 1];
        i += 2;
        continue;
      }
      arg += c;
      i++;
    }
    if (quote) throw new InvalidArgumentError(`${where}: unterminated quote`);
    out.push(arg);
  }
  return out;
}

/** OpenSSH time format: `90`, `1m30s`, `2h` (units s, m, h, d, w). Returns seconds. */
export function parseTime(s: string, where: string): number {
  // Each unit-terminated group ends in a letter, so the pattern cannot backtrack badly.
  const m = s !== '' && s.length <= 64 && /^(?:\d+[sSmMhHdDwW])*\d*$/.test(s);
  if (!m) throw new InvalidArgumentError(`${where}: invalid time value`);
  let total = 0;
  for (const part of s.matchAll(/(\d+)([sSmMhHdDwW]?)/g)) {
    const n = Number(part[1]);
    const mult = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[(part[2] ?? '').toLowerCase()] ?? 1;
    total += n * mult;
  }
  if (!Number.isSafeInteger(total) || total > 2 ** 31 - 1)
    throw new InvalidArgumentError(`${where}: time value too large`);
  return total;
}

/** A size with an optional K/M/G/T suffix (powers of 1024). */
export function parseSize(s: string, where: string): number {
  const m = /^(\d+)([kKmMgGtT]?)$/.exec(s);
  if (!m) throw new InvalidArgumentError(`${where}: invalid size`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] ?? '').toLowerCase()] ?? 1;
  const v = Number(m[1]) * mult;
  if (!Number.isSafeInteger(v)) throw new InvalidArgumentError(`${where}: size too large`);
  return v;
}

/** yes/no (and `true`/`false`) flags. */
export function parseFlag(s: string, where: string): boolean {
  const v = s.toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  throw new InvalidArgumentError(`${where}: expected yes or no`);
}

/** One end of a forward: a TCP address or a UNIX socket path. */
export interface ForwardEnd {
  /** Bind or target address (absent: the default bind address). */
  host?: string;
  /** TCP port (absent for a socket path). */
  port?: number;
  /** UNIX socket path (instead of host and port). */
  path?: string;
}

/** A LocalForward/RemoteForward/DynamicForward. `connect` is absent for dynamic (SOCKS) forwards. */
export interface SshForward {
  /** Where the forward listens (locally for LocalForward/DynamicForward, on the server for RemoteForward). */
  listen: ForwardEnd;
  /** Where connections are forwarded to; absent for DynamicForward. */
  connect?: ForwardEnd;
}

function parsePort(s: string, where: string): number {
  if (!/^\d{1,5}$/.test(s) || Number(s) > 65535) throw new InvalidArgumentError(`${where}: invalid port`);
  return Number(s);
}

/** Parses `[bind:]port`, `[bind]:port`, `bind/port` or a path (with `/`), as the listen or connect end. */
export function parseForwardEnd(s: string, where: string, needHost: boolean): ForwardEnd {
  if (s.startsWith('/') || s.startsWith('~') || s.startsWith('%')) return { path: s };
  let m = /^\[([^\]]*)\]:(\d+)$/.exec(s);
  if (m) return { host: m[1] ?? '', port: parsePort(m[2] ?? '', where) };
  m = /^(.*)[:/](\d+)$/.exec(s);
  if (m && !(m[1] ?? '').includes(':')) return { host: m[1] ?? '', port: parsePort(m[2] ?? '', where) };
  if (!needHost && /^\d+$/.test(s)) return { port: parsePort(s, where) };
  throw new InvalidArgumentError(`${where}: invalid forward specification`);
}

/** Values for the `%` tokens. */
export interface TokenValues {
  /** %h remote host name (after HostName). */
  h: string;
  /** %p port. */
  p: number;
  /** %r remote user. */
  r: string;
  /** %u local user. */
  u: string;
  /** %d local home directory. */
  d: string;
  /** %n host name as given. */
  n: string;
  /** %l local host name (with domain). */
  l: string;
  /** %i local uid. */
  i: number;
  /** %j ProxyJump value or ''. */
  j: string;
  /** %k HostKeyAlias, or the host as given (only where a caller allows it). */
  k?: string;
}

/** %C: SHA-1 hex of %l%h%p%r (OpenSSH 9.2's ControlPath hash). */
export function connectionHash(t: TokenValues): string {
  return createHash('sha1').update(`${t.l}${t.h}${t.p}${t.r}`).digest('hex');
}

/**
 * Expands `%` tokens (%% %C %d %h %i %j %L %l %n %p %r %u, or only those in `allowed`) and a leading `~`.
 * An unknown token is an error, as in OpenSSH.
 */
export function expandTokens(s: string, t: TokenValues, where: string, allowed = 'CdhijLlnpru'): string {
  let out = s.startsWith('~/') || s === '~' ? t.d + s.slice(1) : s;
  out = out.replace(/%(.?)/g, (_m, c: string) => {
    if (c === '%') return '%';
    if (c === '') throw new InvalidArgumentError(`${where}: incomplete % token at the end`);
    if (!allowed.includes(c)) throw new InvalidArgumentError(`${where}: unknown token %${c}`);
    switch (c) {
      case 'C':
        return connectionHash(t);
      case 'L':
        return t.l.split('.')[0] ?? t.l;
      case 'd':
        return t.d;
      case 'h':
        return t.h;
      case 'i':
        return String(t.i);
      case 'j':
        return t.j;
      case 'k':
        return t.k ?? t.n;
      case 'l':
        return t.l;
      case 'n':
        return t.n;
      case 'p':
        return String(t.p);
      case 'r':
        return t.r;
      default:
        return t.u;
    }
  });
  return out;
}

/**
 * Applies an OpenSSH algorithm list edit to `defaults`: a plain list replaces them; `+list` appends,
 * `-list` removes (wildcards allowed), `^list` puts first. Used to compare with `ssh -G`.
 */
export function applyAlgorithmEdit(defaults: readonly string[], edit: string): string[] {
  const c = edit[0];
  const names = (c === '+' || c === '-' || c === '^' ? edit.slice(1) : edit).split(',').filter((n) => n !== '');
  const globRe = (p: string) =>
    new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
  if (c === '-') return defaults.filter((d) => !names.some((n) => globRe(n).test(d)));
  if (c === '+') return [...defaults, ...names.filter((n) => !defaults.includes(n))];
  if (c === '^') return [...names, ...defaults.filter((d) => !names.includes(d))];
  return names;
}
