/**
 * Blowfish, only as far as bcrypt_pbkdf needs it: the initial state, the (salted) key schedule and ECB
 * encryption of 32-bit word pairs. The initial P-array and S-boxes are the hexadecimal digits of π's
 * fractional part, which are computed here once (Machin's formula with bigints) instead of being tabled.
 */

const WORDS = 18 + 4 * 256;
let piWords: Uint32Array | undefined;

/** The first `WORDS` 32-bit words of the fractional part of π (0x243f6a88, 0x85a308d3, …). */
function piFraction(): Uint32Array {
  if (piWords) return piWords;
  const bits = WORDS * 32;
  const guard = 64;
  const one = 1n << BigInt(bits + guard);
  const atanInv = (x: bigint): bigint => {
    const x2 = x * x;
    let term = one / x;
    let sum = 0n;
    for (let n = 1n, positive = true; term !== 0n; n += 2n, positive = !positive) {
      sum += positive ? term / n : -(term / n);
      term /= x2;
    }
    return sum;
  };
  const pi = 4n * (4n * atanInv(5n) - atanInv(239n));
  const frac = (pi - 3n * one) >> BigInt(guard);
  const hex = frac.toString(16).padStart(bits / 4, '0');
  const out = new Uint32Array(WORDS);
  for (let i = 0; i < WORDS; i++) out[i] = Number.parseInt(hex.slice(i * 8, i * 8 + 8), 16);
  piWords = out;
  return out;
}

/** A Blowfish key schedule: 18 subkeys followed by four 256-entry S-boxes, in one array. */
export class BlowfishState {
  /** P[0..17] then S0..S3 (each 256 words) at offsets 18, 274, 530, 786. */
  readonly s: Uint32Array;
  /** Scratch output of {@link BlowfishState.encipher}. */
  l = 0;
  r = 0;

  constructor() {
    this.s = new Uint32Array(piFraction());
  }

  /** Encrypts one block (xl, xr); the result is left in `l` and `r`. */
  encipher(xl: number, xr: number): void {
    const s = this.s;
    let l = xl >>> 0;
    let r = xr >>> 0;
    l ^= s[0] as number;
    for (let i = 1; i <= 16; i += 2) {
      r ^= (f(s, l) ^ (s[i] as number)) >>> 0;
      l ^= (f(s, r) ^ (s[i + 1] as number)) >>> 0;
    }
    r ^= s[17] as number;
    this.l = r >>> 0;
    this.r = l >>> 0;
  }

  /** The salted key schedule (Blowfish_expandstate): mixes `key` into P and `data` into the encryptions. */
  expand(data: Uint8Array, key: Uint8Array): void {
    const s = this.s;
    const kw = new Stream(key);
    for (let i = 0; i < 18; i++) s[i] = ((s[i] as number) ^ kw.next()) >>> 0;
    const dw = new Stream(data);
    let l = 0;
    let r = 0;
    for (let i = 0; i < WORDS; i += 2) {
      l ^= dw.next();
      r ^= dw.next();
      this.encipher(l, r);
      l = this.l;
      r = this.r;
      s[i] = l;
      s[i + 1] = r;
    }
  }

  /** The plain key schedule (Blowfish_expand0state). */
  expand0(key: Uint8Array): void {
    const s = this.s;
    const kw = new Stream(key);
    for (let i = 0; i < 18; i++) s[i] = ((s[i] as number) ^ kw.next()) >>> 0;
    let l = 0;
    let r = 0;
    for (let i = 0; i < WORDS; i += 2) {
      this.encipher(l, r);
      l = this.l;
      r = this.r;
      s[i] = l;
      s[i + 1] = r;
    }
  }
}

function f(s: Uint32Array, x: number): number {
  const a = s[18 + (x >>> 24)] as number;
  const b = s[274 + ((x >>> 16) & 0xff)] as number;
  const c = s[530 + ((x >>> 8) & 0xff)] as number;
  const d = s[786 + (x & 0xff)] as number;
  return ((((a + b) >>> 0) ^ c) + d) >>> 0;
}

/** Reads big-endian 32-bit words from `data`, wrapping around at its end (Blowfish_stream2word). */
class Stream {
  private pos = 0;
  constructor(private readonly data: Uint8Array) {}
  next(): number {
    let w = 0;
    for (let i = 0; i < 4; i++) {
      w = w * 256 + (this.data[this.pos] as number);
      this.pos = this.pos + 1 === this.data.length ? 0 : this.pos + 1;
    }
    return w;
  }
}
