/** The SSH2 public key file format of RFC 4716 (`---- BEGIN SSH2 PUBLIC KEY ----`), as `ssh-keygen -e/-i` use it. */
import { KeyError } from '../../errors.js';
import { MAX_KEY_FILE } from './armor.js';

const BEGIN = '---- BEGIN SSH2 PUBLIC KEY ----';
const END = '---- END SSH2 PUBLIC KEY ----';
/** RFC 4716 §3.3: header lines are at most 72 bytes; the body lines at most 72 characters. */
const LINE = 70;
const MAX_HEADERS = 64;

/** True when `text` holds an RFC 4716 public key. */
export function isRfc4716(text: string): boolean {
  return text.includes(BEGIN);
}

/** A decoded RFC 4716 key: the key blob, its `Comment` header (unquoted) and every header. */
export interface Rfc4716Key {
  readonly blob: Buffer;
  readonly comment: string;
  readonly headers: ReadonlyArray<{ readonly tag: string; readonly value: string }>;
}

/** Parses the first RFC 4716 public key in `text`; throws {@link KeyError} when malformed. */
export function parseRfc4716(text: string): Rfc4716Key {
  if (text.length > MAX_KEY_FILE) throw new KeyError('public key file too large');
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const b = lines.indexOf(BEGIN);
  const e = lines.indexOf(END, b + 1);
  if (b < 0 || e < 0) throw new KeyError('missing RFC 4716 begin/end markers');
  const body = lines.slice(b + 1, e);
  const headers: { tag: string; value: string }[] = [];
  let i = 0;
  while (i < body.length && (body[i] as string).includes(':')) {
    let line = body[i] as string;
    i++;
    // A trailing backslash continues the header on the next line.
    while (line.endsWith('\\') && i < body.length) {
      line = line.slice(0, -1) + (body[i] as string);
      i++;
    }
    const colon = line.indexOf(':');
    const tag = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (tag.length === 0 || tag.length > 64 || !/^[\x21-\x7e]+$/.test(tag)) throw new KeyError('bad RFC 4716 header');
    if (headers.length >= MAX_HEADERS) throw new KeyError('too many RFC 4716 headers');
    headers.push({ tag, value });
  }
  const b64 = body.slice(i).join('');
  if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw new KeyError('invalid base64 in RFC 4716 key');
  }
  const c = headers.find((h) => h.tag.toLowerCase() === 'comment')?.value ?? '';
  const comment = c.length >= 2 && c.startsWith('"') && c.endsWith('"') ? c.slice(1, -1) : c;
  return { blob: Buffer.from(b64, 'base64'), comment, headers };
}

/** Encodes a public key blob as RFC 4716 text, with a `Comment` header when `comment` is not empty. */
export function encodeRfc4716(blob: Uint8Array, comment = ''): string {
  const out = [BEGIN];
  if (comment) {
    const header = `Comment: "${comment.replace(/[\r\n]/g, ' ')}"`;
    // Split long headers into continuation lines (each ending in a backslash).
    let rest = header;
    while (rest.length > LINE) {
      out.push(`${rest.slice(0, LINE - 1)}\\`);
      rest = rest.slice(LINE - 1);
    }
    out.push(rest);
  }
  const b64 = Buffer.from(blob).toString('base64');
  for (let i = 0; i < b64.length; i += LINE) out.push(b64.slice(i, i + LINE));
  out.push(END);
  return `${out.join('\n')}\n`;
}
