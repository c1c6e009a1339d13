/** `authorized_keys` lines (sshd(8) AUTHORIZED_KEYS FILE FORMAT): options, key and comment. */
import { KeyError } from '../errors.js';
import { isKeyType } from './kinds/index.js';
import { MAX_PUBLIC_BLOB, PublicKey } from './public-key.js';

/** One option of an authorized_keys line: a flag (`no-pty`) or a quoted value (`from="10.0.0.0/8"`), unescaped. */
export interface AuthorizedKeyOption {
  /** The option's name, lower-cased (`no-pty`, `from`, `command`, …). */
  readonly name: string;
  /** The value without its quotes, `\"` unescaped; absent for a flag. */
  readonly value?: string;
}

/** One parsed authorized_keys entry. */
export interface AuthorizedKey {
  /** Options in file order (repeated options such as `permitopen` appear once per occurrence). */
  readonly options: AuthorizedKeyOption[];
  /** The key (a certificate authority's key when the options hold `cert-authority`). */
  readonly key: PublicKey;
  /** The rest of the line after the key (`''` when none). */
  readonly comment: string;
  /** 1-based line number in the text. */
  readonly line: number;
}

/** Options for {@link parseAuthorizedKeys}. */
export interface ParseAuthorizedKeysOptions {
  /** Throw a {@link KeyError} naming the line on the first bad line, instead of skipping it as sshd does. */
  strict?: boolean;
}

/** Largest authorized_keys text accepted. */
export const MAX_AUTHORIZED_KEYS = 16 * 1024 * 1024;
const MAX_LINE = 64 * 1024;
const MAX_OPTIONS = 256;

/** Splits the options field at its first unquoted blank; returns the options and the rest of the line. */
function readOptions(line: string): { options: AuthorizedKeyOption[]; rest: string } {
  const options: AuthorizedKeyOption[] = [];
  let i = 0;
  for (;;) {
    let name = '';
    while (i < line.length && /[A-Za-z0-9_-]/.test(line[i] as string)) name += line[i++];
    if (name.length === 0) throw new KeyError('bad option name');
    let value: string | undefined;
    if (line[i] === '=') {
      if (line[++i] !== '"') throw new KeyError('option value must be quoted');
      i++;
      value = '';
      for (;;) {
        if (i >= line.length) throw new KeyError('unterminated quoted option');
        const c = line[i++] as string;
        if (c === '"') break;
        if (c === '\\' && line[i] === '"') {
          value += '"';
          i++;
        } else value += c;
      }
    }
    options.push(value === undefined ? { name: name.toLowerCase() } : { name: name.toLowerCase(), value });
    if (options.length > MAX_OPTIONS) throw new KeyError('too many options');
    if (line[i] === ',') {
      i++;
      continue;
    }
    if (i < line.length && line[i] !== ' ' && line[i] !== '\t') throw new KeyError('bad character after option');
    return { options, rest: line.slice(i).trimStart() };
  }
}

/** Parses one non-empty, non-comment authorized_keys line. */
export function parseAuthorizedKeyLine(text: string, lineNo = 1): AuthorizedKey {
  const line = text.trim();
  if (line.length > MAX_LINE) throw new KeyError('authorized_keys line too long');
  const first = /^\S+/.exec(line)?.[0] ?? '';
  let options: AuthorizedKeyOption[] = [];
  let rest = line;
  if (!isKeyType(first) && !first.includes('-cert-v01@openssh.com')) ({ options, rest } = readOptions(line));
  const m = /^(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*))?$/.exec(rest);
  if (!m) throw new KeyError('no key on authorized_keys line');
  const [, type = '', b64 = '', comment = ''] = m;
  if (b64.length % 4 !== 0 || (b64.length * 3) / 4 > MAX_PUBLIC_BLOB) throw new KeyError('bad base64 key');
  const key = PublicKey.fromBlob(Buffer.from(b64, 'base64'), comment);
  if (key.type !== type) throw new KeyError('key type does not match the key blob');
  return { options, key, comment, line: lineNo };
}

/**
 * Parses an authorized_keys file. Blank lines and `#` comments are ignored; lines that do not parse (unknown
 * key types, bad options) are skipped as sshd skips them, or throw with `{ strict: true }`.
 */
export function parseAuthorizedKeys(text: string, opts: ParseAuthorizedKeysOptions = {}): AuthorizedKey[] {
  if (text.length > MAX_AUTHORIZED_KEYS) throw new KeyError('authorized_keys file too large');
  const out: AuthorizedKey[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const l = (lines[n] as string).trim();
    if (l.length === 0 || l.startsWith('#')) continue;
    try {
      out.push(parseAuthorizedKeyLine(l, n + 1));
    } catch (e) {
      if (opts.strict) throw new KeyError(`authorized_keys line ${n + 1}: ${(e as Error).message}`, { cause: e });
    }
  }
  return out;
}
