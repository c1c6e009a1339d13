/**
 * The byte encodings of Streamlined NTRU Prime 761 (the submission's §"Encoding"): the recursive radix
 * encoding `Encode`/`Decode` of sequences with per-position ranges, and on top of it Rq (public keys,
 * 1158 bytes), Rounded (ciphertexts, 1007 bytes) and Small (secret polynomials, 4 per byte, 191 bytes).
 *
 * Encoders run on secrets too (the re-encryption inside decapsulation), so they use only shifts,
 * masks and multiplications on the values; the loop structure depends on the public ranges alone.
 * Decoders read public data (a peer's key or ciphertext) and check every length first.
 */

import { InvalidArgumentError } from '../errors.js';
import { P, Q, Q12 } from './sntrup761-poly.js';

/** Bytes of an encoded Rq element (a public key). */
export const RQ_BYTES = 1158;
/** Bytes of an encoded rounded Rq element (the first part of a ciphertext). */
export const ROUNDED_BYTES = 1007;
/** Bytes of an encoded small polynomial. */
export const SMALL_BYTES = 191;

/** Range of a rounded coefficient's index: (q + 2) / 3. */
const ROUNDED_RANGE = 1531;

/**
 * Encode R (0 <= R[i] < M[i] <= 16384) into bytes, returned as a number array. Pairs are merged bottom
 * up; whenever a merged range reaches 2^14 its low byte is emitted, so each level's ranges stay below 2^14
 * (and merged values below 2^28).
 */
function encode(out: number[], r: Int32Array, m: readonly number[]): void {
  const len = m.length;
  if (len === 1) {
    let x = r[0] as number;
    let range = m[0] as number;
    while (range > 1) {
      out.push(x & 0xff);
      x >>= 8;
      range = (range + 255) >> 8;
    }
    return;
  }
  const half = (len + 1) >> 1;
  const r2 = new Int32Array(half);
  const m2: number[] = [];
  let i = 0;
  for (; i < len - 1; i += 2) {
    const m0 = m[i] as number;
    let x = (r[i] as number) + (r[i + 1] as number) * m0;
    let range = (m[i + 1] as number) * m0;
    while (range >= 16384) {
      out.push(x & 0xff);
      x >>= 8;
      range = (range + 255) >> 8;
    }
    r2[i >> 1] = x;
    m2.push(range);
  }
  if (i < len) {
    r2[i >> 1] = r[i] as number;
    m2.push(m[i] as number);
  }
  encode(out, r2, m2);
  r2.fill(0);
}

/** Inverse of {@link encode}: `s` must hold exactly the bytes the ranges need (checked by callers). */
function decode(out: Int32Array, s: Uint8Array, offset: number, m: readonly number[]): number {
  const len = m.length;
  if (len === 1) {
    const m0 = m[0] as number;
    if (m0 === 1) out[0] = 0;
    else if (m0 <= 256) out[0] = (s[offset] as number) % m0;
    else out[0] = ((s[offset] as number) + ((s[offset + 1] as number) << 8)) % m0;
    return offset + (m0 === 1 ? 0 : m0 <= 256 ? 1 : 2);
  }
  const half = (len + 1) >> 1;
  const m2: number[] = [];
  const bottomR: number[] = [];
  const bottomT: number[] = [];
  let pos = offset;
  let i = 0;
  for (; i < len - 1; i += 2) {
    const range = (m[i] as number) * (m[i + 1] as number);
    if (range > 256 * 16383) {
      bottomT.push(65536);
      bottomR.push((s[pos] as number) + 256 * (s[pos + 1] as number));
      pos += 2;
      m2.push((((range + 255) >> 8) + 255) >> 8);
    } else if (range >= 16384) {
      bottomT.push(256);
      bottomR.push(s[pos] as number);
      pos += 1;
      m2.push((range + 255) >> 8);
    } else {
      bottomT.push(1);
      bottomR.push(0);
      m2.push(range);
    }
  }
  if (i < len) m2.push(m[i] as number);
  const r2 = new Int32Array(half);
  const end = decode(r2, s, pos, m2);
  let o = 0;
  for (i = 0; i < len - 1; i += 2) {
    const x = (bottomR[i >> 1] as number) + (bottomT[i >> 1] as number) * (r2[i >> 1] as number);
    const m0 = m[i] as number;
    out[o++] = x % m0;
    // The modulo only matters for invalid encodings, whose top value can exceed its range.
    out[o++] = Math.floor(x / m0) % (m[i + 1] as number);
  }
  if (i < len) out[o++] = r2[i >> 1] as number;
  return end;
}

const RQ_RANGES: readonly number[] = Object.freeze(new Array<number>(P).fill(Q));
const ROUNDED_RANGES: readonly number[] = Object.freeze(new Array<number>(P).fill(ROUNDED_RANGE));

/** Encodes an Rq element (coefficients in [-Q12, Q12]) in RQ_BYTES bytes. */
export function rqEncode(h: Int16Array): Uint8Array {
  const r = new Int32Array(P);
  for (let i = 0; i < P; i++) r[i] = (h[i] as number) + Q12;
  const out: number[] = [];
  encode(out, r, RQ_RANGES);
  r.fill(0);
  return Uint8Array.from(out);
}

/** Decodes RQ_BYTES bytes (any bytes: out-of-range values are reduced) into an Rq element. */
export function rqDecode(s: Uint8Array): Int16Array {
  if (s.length !== RQ_BYTES) throw new InvalidArgumentError(`an Rq encoding is ${RQ_BYTES} bytes`);
  const r = new Int32Array(P);
  decode(r, s, 0, RQ_RANGES);
  const h = new Int16Array(P);
  for (let i = 0; i < P; i++) h[i] = (r[i] as number) - Q12;
  return h;
}

/**
 * Rounds each coefficient of an Rq element to the nearest multiple of 3 (x - (x mod 3)) and encodes the
 * multiples, (x + Q12) / 3 in [0, 1530], in ROUNDED_BYTES bytes (written to `out` at `offset`).
 */
export function roundAndEncode(out: Uint8Array, offset: number, h: Int16Array, f3: (x: number) => number): void {
  const r = new Int32Array(P);
  for (let i = 0; i < P; i++) {
    const x = h[i] as number;
    // (x + Q12) is a multiple of 3 below 4593; * 10923 >> 15 divides it by 3 exactly in that range.
    r[i] = Math.imul(x - f3(x) + Q12, 10923) >> 15;
  }
  const bytes: number[] = [];
  encode(bytes, r, ROUNDED_RANGES);
  r.fill(0);
  out.set(bytes, offset);
  bytes.fill(0);
}

/** Decodes ROUNDED_BYTES bytes at `offset` into an Rq element whose coefficients are multiples of 3. */
export function roundedDecode(s: Uint8Array, offset: number): Int16Array {
  if (s.length < offset + ROUNDED_BYTES) throw new InvalidArgumentError(`a rounded encoding is ${ROUNDED_BYTES} bytes`);
  const r = new Int32Array(P);
  decode(r, s.subarray(offset, offset + ROUNDED_BYTES), 0, ROUNDED_RANGES);
  const h = new Int16Array(P);
  for (let i = 0; i < P; i++) h[i] = Math.imul(r[i] as number, 3) - Q12;
  return h;
}

/** Encodes a small polynomial (coefficients in {-1, 0, 1}), four per byte, in SMALL_BYTES bytes. */
export function smallEncode(out: Uint8Array, offset: number, f: Int8Array): void {
  const full = (P - 1) >> 2;
  for (let i = 0; i < full; i++) {
    const b = 4 * i;
    out[offset + i] =
      ((f[b] as number) + 1) |
      (((f[b + 1] as number) + 1) << 2) |
      (((f[b + 2] as number) + 1) << 4) |
      (((f[b + 3] as number) + 1) << 6);
  }
  out[offset + full] = (f[P - 1] as number) + 1;
}

/** Decodes SMALL_BYTES bytes at `offset` into a small polynomial (each 2-bit field minus 1). */
export function smallDecode(s: Uint8Array, offset: number): Int8Array {
  const f = new Int8Array(P);
  const full = (P - 1) >> 2;
  for (let i = 0; i < full; i++) {
    const x = s[offset + i] as number;
    f[4 * i] = (x & 3) - 1;
    f[4 * i + 1] = ((x >> 2) & 3) - 1;
    f[4 * i + 2] = ((x >> 4) & 3) - 1;
    f[4 * i + 3] = ((x >> 6) & 3) - 1;
  }
  f[P - 1] = ((s[offset + full] as number) & 3) - 1;
  return f;
}
