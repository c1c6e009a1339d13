/** A minimal, bounds-checked DER reader and writer: just enough for DSA keys and PKCS#8 encryption parameters. */
import { KeyError } from '../errors.js';

/** One DER element: tag, contents, and where the next element starts. */
export interface Tlv {
  readonly tag: number;
  readonly body: Buffer;
  readonly end: number;
}

/** Reads the element at `pos`; throws {@link KeyError} on truncation or non-minimal/indefinite lengths. */
export function readTlv(buf: Buffer, pos: number): Tlv {
  if (pos + 2 > buf.length) throw new KeyError('truncated DER');
  const tag = buf[pos] as number;
  let len = buf[pos + 1] as number;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new KeyError('unsupported DER length');
    if (p + n > buf.length) throw new KeyError('truncated DER');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[p + i] as number);
    p += n;
  }
  if (p + len > buf.length) throw new KeyError('truncated DER');
  return { tag, body: buf.subarray(p, p + len), end: p + len };
}

/** Reads all elements of a constructed body (a SEQUENCE's contents). */
export function readChildren(body: Buffer, max = 16): Tlv[] {
  const out: Tlv[] = [];
  let pos = 0;
  while (pos < body.length) {
    if (out.length >= max) throw new KeyError('too many DER elements');
    const t = readTlv(body, pos);
    out.push(t);
    pos = t.end;
  }
  return out;
}

/** The SEQUENCE at the start of `buf` (which must be exactly one element), as its children. */
export function readSequence(buf: Buffer, max = 16): Tlv[] {
  const t = readTlv(buf, 0);
  if (t.tag !== 0x30 || t.end !== buf.length) throw new KeyError('expected a DER SEQUENCE');
  return readChildren(t.body, max);
}

/** The contents of an INTEGER element as an unsigned magnitude (leading zero bytes stripped). */
export function derUnsigned(t: Tlv | undefined): Buffer {
  if (t?.tag !== 0x02 || t.body.length === 0) throw new KeyError('expected a DER INTEGER');
  if ((t.body[0] as number) & 0x80) throw new KeyError('negative DER INTEGER');
  let i = 0;
  while (i < t.body.length - 1 && t.body[i] === 0) i++;
  return t.body.subarray(i);
}

/** A small non-negative INTEGER as a number (refuses values above 2^48). */
export function derSmallInt(t: Tlv | undefined): number {
  const b = derUnsigned(t);
  if (b.length > 6) throw new KeyError('DER INTEGER too large');
  return b.length === 0 ? 0 : b.readUIntBE(0, b.length);
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 + bytes.length, ...bytes]);
}

/** Encodes one element. */
export function der(tag: number, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

/** Encodes an unsigned magnitude as an INTEGER. */
export function derUint(mag: Uint8Array): Buffer {
  let i = 0;
  while (i < mag.length - 1 && mag[i] === 0) i++;
  const m = mag.subarray(i);
  const body = m.length === 0 ? Buffer.from([0]) : (m[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m;
  return der(0x02, body);
}
