/** PEM-style armor (`-----BEGIN …-----` / `-----END …-----`) around base64. */
import { KeyError } from '../../errors.js';

/** Largest key file text accepted. */
export const MAX_KEY_FILE = 1024 * 1024;

/** Extracts and decodes the base64 body between `-----BEGIN label-----` and `-----END label-----`. */
export function dearmor(text: string, label: string): Buffer {
  if (text.length > MAX_KEY_FILE) throw new KeyError('key file too large');
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  const b = text.indexOf(begin);
  const e = text.indexOf(end, b + begin.length);
  if (b < 0 || e < 0) throw new KeyError(`missing ${label} armor`);
  const body = text.slice(b + begin.length, e).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw new KeyError('invalid base64 in key file');
  return Buffer.from(body, 'base64');
}

/** Armors `data` as base64 with lines of `width` characters. */
export function armor(data: Uint8Array, label: string, width = 70): string {
  const b64 = Buffer.from(data).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
