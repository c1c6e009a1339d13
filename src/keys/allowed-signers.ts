/**
 * allowed_signers files (ssh-keygen(1) ALLOWED SIGNERS): who may make SSH signatures, for which
 * namespaces and when. Each line is `principals [options] key`: principals are a comma-separated list of
 * patterns (`*`, `?`, `!` negation), options are `cert-authority`, `namespaces="…"`, `valid-after="…"` and
 * `valid-before="…"` (times `YYYYMMDD[HHMM[SS]]`, local time unless followed by `Z` or `UTC`).
 *
 * The parser reads a line the way OpenSSH 9.2's sshsig.c does (a principal field may be quoted; options end
 * at the first blank outside quotes; an unknown option spoils the line), and a line that does not parse is
 * skipped, as ssh-keygen skips it.
 */
import { KeyError } from '../errors.js';
import { Certificate, isCertificateType } from './certificate.js';
import { isKeyType } from './kinds/index.js';
import { matchPattern } from './pattern.js';
import { MAX_PUBLIC_BLOB, PublicKey } from './public-key.js';
import { certificateSignatureValid } from './sshsig.js';

/** One parsed allowed_signers line. */
export interface AllowedSigner {
  /** The principals field as written (quotes removed): comma-separated patterns. */
  readonly principals: string;
  /** `cert-authority`: the key is a CA, and signatures by user certificates it signed are accepted. */
  readonly certAuthority: boolean;
  /** `namespaces="…"`: a pattern list of namespaces the key may sign for; undefined allows any. */
  readonly namespaces: string | undefined;
  /** `valid-after`, seconds since the epoch; undefined when absent. */
  readonly validAfter: number | undefined;
  /** `valid-before`, seconds since the epoch; undefined when absent. */
  readonly validBefore: number | undefined;
  /** The key (for a line that holds a certificate, the certified key). */
  readonly key: PublicKey;
  /** The certificate, when the line holds one instead of a plain key. */
  readonly certificate: Certificate | undefined;
  /** 1-based line number in the text. */
  readonly line: number;
}

/** Options of {@link parseAllowedSigners}. */
export interface ParseAllowedSignersOptions {
  /** Throw a {@link KeyError} naming the line on the first bad line, instead of skipping it as ssh-keygen does. */
  strict?: boolean;
}

/** Largest allowed_signers text accepted. */
export const MAX_ALLOWED_SIGNERS = 16 * 1024 * 1024;
const MAX_LINE = 64 * 1024;
/** match.c gives up on a sub-pattern this long. */
const MAX_SUBPATTERN = 1023;
const MAX_PATTERN = 8192;

/**
 * OpenSSH's match_pattern_list, case-sensitive: 1 when a pattern of the comma-separated `list` matches and
 * no negated (`!`) one does, -1 when a negated one matches, 0 otherwise (also when a sub-pattern is too long).
 */
export function matchSshPatternList(s: string, list: string): 1 | 0 | -1 {
  if (list.length > MAX_PATTERN) return 0;
  let positive = false;
  let i = 0;
  while (i < list.length) {
    const negated = list[i] === '!';
    if (negated) i++;
    let end = list.indexOf(',', i);
    if (end < 0) end = list.length;
    if (end - i >= MAX_SUBPATTERN) return 0;
    const sub = list.slice(i, end);
    i = end < list.length ? end + 1 : end;
    if (matchPattern(s, sub)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

/**
 * Parses an allowed_signers / ssh-keygen time, `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, in local
 * time, or in UTC when followed by `Z` or `UTC`. Returns seconds since the epoch; throws {@link KeyError} for
 * a bad time or one not after the epoch.
 */
export function parseSshsigTime(text: string): number {
  let s = text;
  let utc = false;
  if (s.length > 1 && /z$/i.test(s)) {
    utc = true;
    s = s.slice(0, -1);
  } else if (s.length > 3 && /utc$/i.test(s)) {
    utc = true;
    s = s.slice(0, -3);
  }
  if (!/^\d+$/.test(s) || (s.length !== 8 && s.length !== 12 && s.length !== 14)) {
    throw new KeyError('invalid time (YYYYMMDD[HHMM[SS]][Z])');
  }
  const n = (a: number, b: number) => Number(s.slice(a, b));
  const [y, mo, d] = [n(0, 4), n(4, 6), n(6, 8)];
  const [h, mi, sec] = s.length >= 12 ? [n(8, 10), n(10, 12), s.length === 14 ? n(12, 14) : 0] : [0, 0, 0];
  // the ranges strptime accepts; day overflow (Feb 31) rolls over as mktime/timegm do
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 61) throw new KeyError('invalid time');
  // (Date maps years 0-99 to 1900-1999; every such year is before the epoch anyway)
  if (y < 1900) throw new KeyError('invalid time (not after 1970)');
  const ms = utc ? Date.UTC(y, mo - 1, d, h, mi, sec) : new Date(y, mo - 1, d, h, mi, sec).getTime();
  const t = Math.floor(ms / 1000);
  if (!Number.isFinite(t) || t <= 0) throw new KeyError('invalid time (not after 1970)');
  return t;
}

const WS = ' \t\r\n';

/** strdelimw: the first field (a quote starts a quoted run); returns it and where the rest starts, or undefined. */
function firstField(line: string, start: number): { field: string; next: number } | undefined {
  let j = start;
  while (j < line.length && !WS.includes(line[j] as string) && line[j] !== '"') j++;
  if (j >= line.length) return undefined;
  let field = line.slice(start, j);
  let k = j;
  if (line[j] === '"') {
    k = line.indexOf('"', j + 1);
    if (k < 0) return undefined;
    field += line.slice(j + 1, k);
  }
  let next = k + 1;
  while (next < line.length && WS.includes(line[next] as string)) next++;
  return { field, next };
}

/** sshkey_read: `type base64` at the start of `s`; undefined when that is not a key. */
function readKey(s: string): { key: PublicKey; certificate: Certificate | undefined } | undefined {
  const m = /^([^ \t]*)[ \t]+([^ \t]+)/.exec(s);
  if (!m) return undefined;
  const [, type = '', b64 = ''] = m;
  if (!isKeyType(type) && !isCertificateType(type)) return undefined;
  if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || (b64.length / 4) * 3 > 4 * MAX_PUBLIC_BLOB) {
    return undefined;
  }
  const blob = Buffer.from(b64, 'base64');
  try {
    if (isCertificateType(type)) {
      const certificate = Certificate.fromBlob(blob);
      if (certificate.certType !== type || !certificateSignatureValid(certificate)) return undefined;
      return { key: certificate.publicKey, certificate };
    }
    const key = PublicKey.fromBlob(blob);
    return key.type === type ? { key, certificate: undefined } : undefined;
  } catch (e) {
    if (e instanceof KeyError) return undefined;
    throw e;
  }
}

/** sshkey_advance_past_options: index of the first blank outside quotes; -1 for an unterminated quote. */
function endOfOptions(s: string): number {
  let quoted = false;
  let i = 0;
  for (; i < s.length && (quoted || (s[i] !== ' ' && s[i] !== '\t')); i++) {
    if (s[i] === '\\' && s[i + 1] === '"') i++;
    else if (s[i] === '"') quoted = !quoted;
  }
  return i >= s.length && quoted ? -1 : i;
}

/** opt_dequote: a `"…"` value at `s[i]` with `\"` unescaped; returns it and the index after it. */
function dequote(s: string, i: number): { value: string; next: number } {
  if (s[i] !== '"') throw new KeyError('missing start quote');
  let value = '';
  let p = i + 1;
  while (p < s.length && s[p] !== '"') {
    if (s[p] === '\\' && s[p + 1] === '"') p++;
    value += s[p++];
  }
  if (p >= s.length) throw new KeyError('missing end quote');
  return { value, next: p + 1 };
}

interface SignerOptions {
  certAuthority: boolean;
  namespaces: string | undefined;
  validAfter: number | undefined;
  validBefore: number | undefined;
}

/** sshsigopt_parse. */
function parseOptions(opts: string): SignerOptions {
  const out: SignerOptions = {
    certAuthority: false,
    namespaces: undefined,
    validAfter: undefined,
    validBefore: undefined,
  };
  let i = 0;
  const takes = (name: string) => {
    if (opts.slice(i, i + name.length).toLowerCase() !== name || opts[i + name.length] !== '=') return false;
    i += name.length + 1;
    return true;
  };
  while (i < opts.length) {
    if (opts.slice(i, i + 14).toLowerCase() === 'cert-authority') {
      out.certAuthority = true;
      i += 14;
    } else if (takes('namespaces')) {
      if (out.namespaces !== undefined) throw new KeyError('multiple "namespaces" clauses');
      const v = dequote(opts, i);
      out.namespaces = v.value;
      i = v.next;
    } else {
      for (const which of ['valid-after', 'valid-before'] as const) {
        if (!takes(which)) continue;
        const field = which === 'valid-after' ? 'validAfter' : 'validBefore';
        if (out[field] !== undefined) throw new KeyError(`multiple "${which}" clauses`);
        const v = dequote(opts, i);
        out[field] = parseSshsigTime(v.value);
        i = v.next;
        break;
      }
    }
    if (i >= opts.length) break;
    if (opts[i] !== ',') throw new KeyError('unknown allowed_signers option');
    if (++i >= opts.length) throw new KeyError('unexpected end of options');
  }
  if (out.validAfter !== undefined && out.validBefore !== undefined && out.validBefore <= out.validAfter) {
    throw new KeyError('"valid-before" time is before "valid-after"');
  }
  return out;
}

/**
 * Parses one allowed_signers line. Returns undefined for a blank or comment line; throws {@link KeyError}
 * for a line ssh-keygen would not use (no key, bad key, unknown or repeated option, bad time).
 */
export function parseAllowedSignerLine(text: string, lineNo = 1): AllowedSigner | undefined {
  if (text.length > MAX_LINE) throw new KeyError('allowed_signers line too long');
  let start = 0;
  while (start < text.length && (text[start] === ' ' || text[start] === '\t')) start++;
  if (start >= text.length || text[start] === '#' || text[start] === '\n' || text[start] === '\r') {
    return undefined;
  }
  const first = firstField(text, start);
  if (!first) throw new KeyError('allowed_signers line has no key');
  const rest = text.slice(first.next).replace(/[\r\n]+$/, '');
  let found = readKey(rest);
  let opts = '';
  if (!found) {
    const end = endOfOptions(rest);
    if (end < 0) throw new KeyError('invalid options (unterminated quote)');
    if (end >= rest.length) throw new KeyError('allowed_signers line has no key');
    opts = rest.slice(0, end);
    found = readKey(rest.slice(end + 1).replace(/^[ \t]+/, ''));
    if (!found) throw new KeyError('invalid key on allowed_signers line');
  }
  const o = parseOptions(opts);
  return { principals: first.field, ...o, key: found.key, certificate: found.certificate, line: lineNo };
}

/**
 * Parses an allowed_signers file. Blank lines and `#` comments are ignored; lines that do not parse are
 * skipped as ssh-keygen skips them, or throw with `{ strict: true }`.
 */
export function parseAllowedSigners(text: string, opts: ParseAllowedSignersOptions = {}): AllowedSigner[] {
  if (text.length > MAX_ALLOWED_SIGNERS) throw new KeyError('allowed_signers file too large');
  const out: AllowedSigner[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    try {
      const entry = parseAllowedSignerLine(lines[n] as string, n + 1);
      if (entry) out.push(entry);
    } catch (e) {
      if (!(e instanceof KeyError)) throw e;
      if (opts.strict) throw new KeyError(`allowed_signers line ${n + 1}: ${e.message}`, { cause: e });
    }
  }
  return out;
}
