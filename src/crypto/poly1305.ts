/**
 * Poly1305 one-time authenticator (RFC 8439 §2.5), written for speed in plain JavaScript numbers.
 *
 * The 130-bit accumulator and the key `r` are held as six 22-bit limbs in doubles. Because
 * 2^132 = 4·2^130 ≡ 4·5 = 20 (mod 2^130 − 5), every partial product whose limb exponent passes 132
 * folds back with a factor of 20. With `r` clamped (r < 2^124) each limb product is below 2^49.4 and
 * each column sum below 2^52, so every intermediate is an exact integer in a double; carries use
 * multiplication by 2^-22 (exact) and `Math.floor`.
 */

const LIMB = 4194304; // 2^22
const INV_LIMB = 1 / LIMB; // 2^-22, exact
const HIBIT = 262144; // 2^128 expressed in limb 5 (bits 110..131): 2^18
const MASK22 = 0x3fffff;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const SCRATCH_BLOCKS = 256;
const SCRATCH = new Int32Array(SCRATCH_BLOCKS * 4);

/** Copies `count` little-endian words from `src[pos..)` into `dst[0..count)` (in place is allowed when aligned). */
function loadWords(src: Uint8Array, pos: number, count: number, dst: Int32Array): void {
  if (LITTLE_ENDIAN) {
    new Uint8Array(dst.buffer, dst.byteOffset, count * 4).set(src.subarray(pos, pos + count * 4));
    return;
  }
  for (let i = 0; i < count; i++) dst[i] = word(src, pos + 4 * i);
}

/** Reads a little-endian uint32 as a signed 32-bit pattern (only used with `>>>` and masks below). */
function word(m: Uint8Array, o: number): number {
  return (m[o] as number) | ((m[o + 1] as number) << 8) | ((m[o + 2] as number) << 16) | ((m[o + 3] as number) << 24);
}

/**
 * Incremental Poly1305. One instance can be reused: call {@link Poly1305.init} with a fresh one-time
 * key for every message.
 */
export class Poly1305 {
  private h0 = 0;
  private h1 = 0;
  private h2 = 0;
  private h3 = 0;
  private h4 = 0;
  private h5 = 0;
  private r0 = 0;
  private r1 = 0;
  private r2 = 0;
  private r3 = 0;
  private r4 = 0;
  private r5 = 0;
  private readonly pad = new Float64Array(4);
  private readonly bufWords = new Int32Array(4);
  private readonly buf = new Uint8Array(this.bufWords.buffer);
  private leftover = 0;

  /** Creates an instance, optionally initialised with a 32-byte one-time key. */
  constructor(key?: Uint8Array) {
    if (key) this.init(key);
  }

  /** Starts a new message with the 32-byte one-time key `key[offset..offset+32)`. */
  init(key: Uint8Array, offset = 0): this {
    if (key.length - offset < 32) throw new RangeError('poly1305 key must be 32 bytes');
    // r = key[0..16) clamped with 0x0ffffffc0ffffffc0ffffffc0fffffff.
    const w0 = word(key, offset) & 0x0fffffff;
    const w1 = word(key, offset + 4) & 0x0ffffffc;
    const w2 = word(key, offset + 8) & 0x0ffffffc;
    const w3 = word(key, offset + 12) & 0x0ffffffc;
    this.r0 = w0 & MASK22;
    this.r1 = ((w0 >>> 22) | (w1 << 10)) & MASK22;
    this.r2 = ((w1 >>> 12) | (w2 << 20)) & MASK22;
    this.r3 = (w2 >>> 2) & MASK22;
    this.r4 = ((w2 >>> 24) | (w3 << 8)) & MASK22;
    this.r5 = w3 >>> 14;
    for (let i = 0; i < 4; i++) this.pad[i] = word(key, offset + 16 + 4 * i) >>> 0;
    this.h0 = this.h1 = this.h2 = this.h3 = this.h4 = this.h5 = 0;
    this.leftover = 0;
    return this;
  }

  /**
   * Processes `nblocks` 16-byte blocks given as little-endian 32-bit words `m[o..o+4·nblocks)`;
   * `hibit` is 2^128's limb-5 value, or 0 for the padded last block.
   */
  private words(m: Int32Array, o: number, nblocks: number, hibit: number): void {
    const r0 = this.r0;
    const r1 = this.r1;
    const r2 = this.r2;
    const r3 = this.r3;
    const r4 = this.r4;
    const r5 = this.r5;
    const s1 = r1 * 20;
    const s2 = r2 * 20;
    const s3 = r3 * 20;
    const s4 = r4 * 20;
    const s5 = r5 * 20;
    let h0 = this.h0;
    let h1 = this.h1;
    let h2 = this.h2;
    let h3 = this.h3;
    let h4 = this.h4;
    let h5 = this.h5;
    for (let n = 0; n < nblocks; n++, o += 4) {
      const w0 = m[o] as number;
      const w1 = m[o + 1] as number;
      const w2 = m[o + 2] as number;
      const w3 = m[o + 3] as number;
      h0 += w0 & MASK22;
      h1 += ((w0 >>> 22) | (w1 << 10)) & MASK22;
      h2 += ((w1 >>> 12) | (w2 << 20)) & MASK22;
      h3 += (w2 >>> 2) & MASK22;
      h4 += ((w2 >>> 24) | (w3 << 8)) & MASK22;
      h5 += (w3 >>> 14) + hibit;

      const d0 = h0 * r0 + h1 * s5 + h2 * s4 + h3 * s3 + h4 * s2 + h5 * s1;
      let d1 = h0 * r1 + h1 * r0 + h2 * s5 + h3 * s4 + h4 * s3 + h5 * s2;
      let d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s5 + h4 * s4 + h5 * s3;
      let d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s5 + h5 * s4;
      let d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0 + h5 * s5;
      let d5 = h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1 + h5 * r0;

      let c = Math.floor(d0 * INV_LIMB);
      h0 = d0 - c * LIMB;
      d1 += c;
      c = Math.floor(d1 * INV_LIMB);
      h1 = d1 - c * LIMB;
      d2 += c;
      c = Math.floor(d2 * INV_LIMB);
      h2 = d2 - c * LIMB;
      d3 += c;
      c = Math.floor(d3 * INV_LIMB);
      h3 = d3 - c * LIMB;
      d4 += c;
      c = Math.floor(d4 * INV_LIMB);
      h4 = d4 - c * LIMB;
      d5 += c;
      c = Math.floor(d5 * INV_LIMB);
      h5 = d5 - c * LIMB;
      h0 += c * 20;
      c = Math.floor(h0 * INV_LIMB);
      h0 -= c * LIMB;
      h1 += c;
    }
    this.h0 = h0;
    this.h1 = h1;
    this.h2 = h2;
    this.h3 = h3;
    this.h4 = h4;
    this.h5 = h5;
  }

  /** Processes `n` whole blocks of bytes from `data[pos..)`, through an aligned word view when possible. */
  private blocks(data: Uint8Array, pos: number, n: number, hibit: number): void {
    const at = data.byteOffset + pos;
    if (LITTLE_ENDIAN && at % 4 === 0) {
      this.words(new Int32Array(data.buffer, at, n * 4), 0, n, hibit);
      return;
    }
    while (n > 0) {
      const k = Math.min(n, SCRATCH_BLOCKS);
      loadWords(data, pos, k * 4, SCRATCH);
      this.words(SCRATCH, 0, k, hibit);
      pos += k * 16;
      n -= k;
    }
  }

  /** Absorbs `data[start..end)`. */
  update(data: Uint8Array, start = 0, end = data.length): this {
    let pos = start;
    if (this.leftover > 0) {
      const take = Math.min(16 - this.leftover, end - pos);
      this.buf.set(data.subarray(pos, pos + take), this.leftover);
      this.leftover += take;
      pos += take;
      if (this.leftover < 16) return this;
      this.flushBuf(HIBIT);
      this.leftover = 0;
    }
    const n = Math.floor((end - pos) / 16);
    if (n > 0) {
      this.blocks(data, pos, n, HIBIT);
      pos += n * 16;
    }
    if (pos < end) {
      this.buf.set(data.subarray(pos, end), 0);
      this.leftover = end - pos;
    }
    return this;
  }

  private flushBuf(hibit: number): void {
    if (!LITTLE_ENDIAN) loadWords(this.buf, 0, 4, this.bufWords);
    this.words(this.bufWords, 0, 1, hibit);
  }

  /** Finishes the message and writes the 16-byte tag to `out[offset..offset+16)`. */
  finish(out: Uint8Array, offset = 0): void {
    if (this.leftover > 0) {
      const b = this.buf;
      b[this.leftover] = 1;
      b.fill(0, this.leftover + 1);
      this.flushBuf(0);
      this.leftover = 0;
    }
    let { h0, h1, h2, h3, h4, h5 } = this;
    // Full carry: every limb below 2^22, value below 2^132.
    let c = Math.floor(h1 * INV_LIMB);
    h1 -= c * LIMB;
    h2 += c;
    c = Math.floor(h2 * INV_LIMB);
    h2 -= c * LIMB;
    h3 += c;
    c = Math.floor(h3 * INV_LIMB);
    h3 -= c * LIMB;
    h4 += c;
    c = Math.floor(h4 * INV_LIMB);
    h4 -= c * LIMB;
    h5 += c;
    // Fold bits 130.. back (×5) until the value is below 2^130.
    for (;;) {
      c = Math.floor(h5 / 1048576); // 2^20: limb 5 holds bits 110..129
      if (c === 0) break;
      h5 -= c * 1048576;
      h0 += c * 5;
      c = Math.floor(h0 * INV_LIMB);
      h0 -= c * LIMB;
      h1 += c;
      c = Math.floor(h1 * INV_LIMB);
      h1 -= c * LIMB;
      h2 += c;
      c = Math.floor(h2 * INV_LIMB);
      h2 -= c * LIMB;
      h3 += c;
      c = Math.floor(h3 * INV_LIMB);
      h3 -= c * LIMB;
      h4 += c;
      c = Math.floor(h4 * INV_LIMB);
      h4 -= c * LIMB;
      h5 += c;
    }
    // h < 2^130; subtract p = 2^130 - 5 once if h >= p (g = h + 5 - 2^130 >= 0).
    let g0 = h0 + 5;
    c = Math.floor(g0 * INV_LIMB);
    g0 -= c * LIMB;
    let g1 = h1 + c;
    c = Math.floor(g1 * INV_LIMB);
    g1 -= c * LIMB;
    let g2 = h2 + c;
    c = Math.floor(g2 * INV_LIMB);
    g2 -= c * LIMB;
    let g3 = h3 + c;
    c = Math.floor(g3 * INV_LIMB);
    g3 -= c * LIMB;
    let g4 = h4 + c;
    c = Math.floor(g4 * INV_LIMB);
    g4 -= c * LIMB;
    const g5 = h5 + c - 1048576;
    if (g5 >= 0) {
      h0 = g0;
      h1 = g1;
      h2 = g2;
      h3 = g3;
      h4 = g4;
      h5 = g5;
    }
    // Low 128 bits as four words, plus s (mod 2^128). Limbs are integers below 2^22 here.
    const pad = this.pad;
    let f = h0 + (h1 % 1024) * LIMB + (pad[0] as number);
    const o0 = f % 4294967296;
    f = Math.floor(f / 4294967296) + Math.floor(h1 / 1024) + (h2 % 1048576) * 4096 + (pad[1] as number);
    const o1 = f % 4294967296;
    f = Math.floor(f / 4294967296) + Math.floor(h2 / 1048576) + h3 * 4 + (h4 % 256) * 16777216 + (pad[2] as number);
    const o2 = f % 4294967296;
    f = Math.floor(f / 4294967296) + Math.floor(h4 / 256) + (h5 % 262144) * 16384 + (pad[3] as number);
    const o3 = f % 4294967296;
    writeLE(out, offset, o0);
    writeLE(out, offset + 4, o1);
    writeLE(out, offset + 8, o2);
    writeLE(out, offset + 12, o3);
    this.h0 = this.h1 = this.h2 = this.h3 = this.h4 = this.h5 = 0;
  }

  /** Finishes and returns the 16-byte tag. */
  digest(): Buffer {
    const out = Buffer.allocUnsafe(16);
    this.finish(out, 0);
    return out;
  }
}

function writeLE(out: Uint8Array, o: number, v: number): void {
  out[o] = v % 256;
  out[o + 1] = Math.floor(v / 256) % 256;
  out[o + 2] = Math.floor(v / 65536) % 256;
  out[o + 3] = Math.floor(v / 16777216);
}

/** Computes the Poly1305 tag of `msg` under the 32-byte one-time `key`. */
export function poly1305(key: Uint8Array, msg: Uint8Array): Buffer {
  return new Poly1305(key).update(msg).digest();
}
