/**
 * Ring arithmetic for Streamlined NTRU Prime 761 (see ./sntrup761.ts for the KEM and how constant
 * time was checked): R = Z[x]/(x^p - x - 1), Rq = R mod q, R3 = R mod 3, with p = 761, q = 4591.
 *
 * Every function here runs the same instruction sequence whatever the secret values are: loop bounds
 * and array indices depend only on p, q and loop counters; choices are made with masks (all-ones or
 * zero int32 values), never with `if`, `?:`, `&&`/`||` or a lookup indexed by a secret. Secret values
 * stay small integers in typed arrays (|x| < 2^25 everywhere, so V8 keeps them unboxed small integers).
 */

import { loadSntrupWasm, type SntrupWasm } from './sntrup761-simd.js';

/** The ring degree p. */
export const P = 761;
/** The modulus q. */
export const Q = 4591;
/** The weight w of short polynomials (their number of nonzero coefficients). */
export const W = 286;
/** (q - 1) / 2: Rq elements are kept in [-Q12, Q12]. */
export const Q12 = 2295;

/**
 * x mod q in [-Q12, Q12], for |x| < 2^24 (checked exhaustively in the unit test): two Barrett steps,
 * 57 ~ 2^18/q then 29235 ~ 2^27/q with rounding.
 */
export function fqFreeze(x: number): number {
  const y = x - Math.imul(Q, Math.imul(x, 57) >> 18);
  return y - Math.imul(Q, (Math.imul(y, 29235) + 67108864) >> 27);
}

/** x mod 3 in {-1, 0, 1}, for |x| < 16384 (checked exhaustively in the unit test). */
export function f3Freeze(x: number): number {
  return x - Math.imul(3, (Math.imul(x, 10923) + 16384) >> 15);
}

/** -1 when x (an int16 value) is nonzero, else 0. */
export function nonzeroMask(x: number): number {
  return (0 - (x & 0xffff)) >> 31; // 0 - x, not -x: never a -0
}

/** -1 when x (an int32 value) is negative, else 0. */
export function negativeMask(x: number): number {
  return x >> 31;
}

const PRODUCT = new Int32Array(2 * P - 1);

/**
 * The product f*g in Z[x]/(x^p - x - 1) with unreduced integer coefficients (|f_i| <= Q12 and
 * |g_i| <= 1, so each is below 3 * p * Q12 < 2^23), written to `out` (p entries).
 */
function multiplySmall(out: Int32Array, f: ArrayLike<number>, g: Int8Array): void {
  const fg = PRODUCT;
  const simd = backend();
  if (simd) simd.mult(fg, f, g);
  else {
    fg.fill(0);
    for (let i = 0; i < P; i++) {
      const fi = f[i] as number;
      for (let j = 0; j < P; j++) fg[i + j] = (fg[i + j] as number) + Math.imul(fi, g[j] as number);
    }
  }
  // x^(p+k) = x^(k+1) + x^k: fold the top terms down, highest first (no fold lands above p - 1).
  for (let i = 2 * P - 2; i >= P; i--) {
    const top = fg[i] as number;
    fg[i - P] = (fg[i - P] as number) + top;
    fg[i - P + 1] = (fg[i - P + 1] as number) + top;
  }
  for (let i = 0; i < P; i++) out[i] = fg[i] as number;
  fg.fill(0);
}

/** h = f*g in Rq (f in Rq, g small). `h` may be `f`. */
export function rqMultSmall(h: Int16Array, f: Int16Array, g: Int8Array): void {
  const t = new Int32Array(P);
  multiplySmall(t, f, g);
  for (let i = 0; i < P; i++) h[i] = fqFreeze(t[i] as number);
  t.fill(0);
}

/** h = f*g in R3 (both small). `h` may be `f` or `g`. */
export function r3Mult(h: Int8Array, f: Int8Array, g: Int8Array): void {
  const t = new Int32Array(P);
  multiplySmall(t, f, g);
  for (let i = 0; i < P; i++) h[i] = f3Freeze(t[i] as number);
  t.fill(0);
}

/** a^(q-2) = 1/a in Fq (a nonzero), by a fixed chain of q - 3 multiplications. */
function fqRecip(a: number): number {
  let r = a;
  for (let i = 1; i < Q - 2; i++) r = fqFreeze(Math.imul(r, a));
  return r;
}

/**
 * Inversion by constant-time divsteps (Bernstein–Yang): runs 2p - 1 iterations on f = x^p - x - 1 and
 * g = the input, both reversed, tracking v with v*g ≡ f-ish multiples. `combine(f0, g0, fi, gi)` gives
 * the new g coefficient (mod 3 or mod q), and the same combination updates r from v.
 *
 * Work is cut with public bounds only: after iteration k, v and r have degree <= k + 1, and only the
 * first 2p - 1 - k coefficients of f and g can reach position 0 in the iterations that remain.
 */
function divsteps(
  f: Int16Array,
  g: Int16Array,
  v: Int16Array,
  r: Int16Array,
  step: (f: Int16Array, g: Int16Array, v: Int16Array, r: Int16Array, fgLen: number, vrLen: number) => void,
): number {
  let delta = 1;
  for (let loop = 0; loop < 2 * P - 1; loop++) {
    const vrLen = Math.min(loop + 2, P + 1);
    const fgLen = Math.min(2 * P - 1 - loop, P + 1);
    for (let i = vrLen - 1; i > 0; i--) v[i] = v[i - 1] as number;
    v[0] = 0;
    const swap = negativeMask(0 - delta) & nonzeroMask(g[0] as number);
    delta ^= swap & (delta ^ (0 - delta));
    delta += 1;
    for (let i = 0; i < fgLen; i++) {
      const fi = f[i] as number;
      const gi = g[i] as number;
      const t = swap & (fi ^ gi);
      f[i] = fi ^ t;
      g[i] = gi ^ t;
    }
    for (let i = 0; i < vrLen; i++) {
      const vi = v[i] as number;
      const ri = r[i] as number;
      const t = swap & (vi ^ ri);
      v[i] = vi ^ t;
      r[i] = ri ^ t;
    }
    step(f, g, v, r, fgLen, vrLen);
    for (let i = 0; i < fgLen - 1; i++) g[i] = g[i + 1] as number;
    g[fgLen - 1] = 0;
  }
  return delta;
}

function divstepInputs(input: Int8Array): { f: Int16Array; g: Int16Array; v: Int16Array; r: Int16Array } {
  const f = new Int16Array(P + 1);
  const g = new Int16Array(P + 1);
  f[0] = 1;
  f[P - 1] = -1;
  f[P] = -1;
  for (let i = 0; i < P; i++) g[P - 1 - i] = input[i] as number;
  return { f, g, v: new Int16Array(P + 1), r: new Int16Array(P + 1) };
}

function r3Step(f: Int16Array, g: Int16Array, v: Int16Array, r: Int16Array, fgLen: number, vrLen: number): void {
  const sign = 0 - Math.imul(g[0] as number, f[0] as number); // 0 - x, not -x: never a -0
  for (let i = 0; i < fgLen; i++) g[i] = f3Freeze((g[i] as number) + Math.imul(sign, f[i] as number));
  for (let i = 0; i < vrLen; i++) r[i] = f3Freeze((r[i] as number) + Math.imul(sign, v[i] as number));
}

/**
 * out = 1/input in R3. Returns 0 when input is invertible, -1 when not (then `out` is meaningless).
 * The caller may branch on the result: key generation discards a non-invertible candidate.
 */
export function r3Recip(out: Int8Array, input: Int8Array): number {
  const simd = backend();
  if (simd) {
    const v = new Int32Array(P);
    const { delta, f0 } = simd.r3Divsteps(input, v);
    for (let i = 0; i < P; i++) out[i] = Math.imul(f0, v[P - 1 - i] as number);
    v.fill(0);
    return nonzeroMask(delta);
  }
  return r3RecipJs(out, input);
}

function r3RecipJs(out: Int8Array, input: Int8Array): number {
  const { f, g, v, r } = divstepInputs(input);
  r[0] = 1;
  const delta = divsteps(f, g, v, r, r3Step);
  const sign = f[0] as number;
  for (let i = 0; i < P; i++) out[i] = Math.imul(sign, v[P - 1 - i] as number);
  f.fill(0);
  g.fill(0);
  v.fill(0);
  r.fill(0);
  return nonzeroMask(delta);
}

function rqStep(f: Int16Array, g: Int16Array, v: Int16Array, r: Int16Array, fgLen: number, vrLen: number): void {
  const f0 = f[0] as number;
  const g0 = g[0] as number;
  for (let i = 0; i < fgLen; i++) g[i] = fqFreeze(Math.imul(f0, g[i] as number) - Math.imul(g0, f[i] as number));
  for (let i = 0; i < vrLen; i++) r[i] = fqFreeze(Math.imul(f0, r[i] as number) - Math.imul(g0, v[i] as number));
}

/**
 * out = 1/(3*input) in Rq for a small input. Returns 0 on success, -1 when not invertible (never for a
 * short polynomial, as q is prime and x^p - x - 1 irreducible mod q).
 */
export function rqRecip3(out: Int16Array, input: Int8Array): number {
  const simd = backend();
  if (simd) {
    const v = new Int32Array(P);
    const { delta, f0 } = simd.rqDivsteps(input, fqRecip(3), v);
    const scale = fqRecip(f0);
    for (let i = 0; i < P; i++) out[i] = fqFreeze(Math.imul(scale, v[P - 1 - i] as number));
    v.fill(0);
    return nonzeroMask(delta);
  }
  return rqRecip3Js(out, input);
}

function rqRecip3Js(out: Int16Array, input: Int8Array): number {
  const { f, g, v, r } = divstepInputs(input);
  r[0] = fqRecip(3);
  const delta = divsteps(f, g, v, r, rqStep);
  const scale = fqRecip(f[0] as number);
  for (let i = 0; i < P; i++) out[i] = fqFreeze(Math.imul(scale, v[P - 1 - i] as number));
  f.fill(0);
  g.fill(0);
  v.fill(0);
  r.fill(0);
  return nonzeroMask(delta);
}

/** -1 when the weight (number of nonzero coefficients) of r is not w, else 0. */
export function weightMask(r: Int8Array): number {
  let weight = 0;
  for (let i = 0; i < P; i++) weight += (r[i] as number) & 1;
  return nonzeroMask(weight - W);
}

/**
 * Sorts n unsigned 32-bit keys, given as 16-bit halves, ascending, with a fixed network of
 * compare-exchanges (djbsort's schedule): which pairs are compared depends only on n.
 */
export function sortUint32Halves(hi: Int32Array, lo: Int32Array, n: number): void {
  if (n < 2) return;
  let top = 1;
  while (top < n - top) top += top;
  for (let p = top; p >= 1; p >>= 1) {
    for (let i = 0; i < n - p; i++) if (!(i & p)) minmax(hi, lo, i, i + p);
    let i = 0;
    for (let q = top; q > p; q >>= 1) {
      for (; i < n - q; i++) {
        if (i & p) continue;
        for (let r = q; r > p; r >>= 1) minmax(hi, lo, i + p, i + r);
      }
    }
  }
}

/** Puts the smaller of keys a and b (indices, public) at a, with masks only. */
function minmax(hi: Int32Array, lo: Int32Array, a: number, b: number): void {
  const ah = hi[a] as number;
  const bh = hi[b] as number;
  const al = lo[a] as number;
  const bl = lo[b] as number;
  // Halves are in [0, 65535], so differences never overflow and >> 31 gives the sign as a mask.
  const hiGreater = (bh - ah) >> 31;
  const hiEqual = ((ah ^ bh) - 1) >> 31;
  const loGreater = (bl - al) >> 31;
  const swap = hiGreater | (hiEqual & loGreater);
  const th = swap & (ah ^ bh);
  const tl = swap & (al ^ bl);
  hi[a] = ah ^ th;
  hi[b] = bh ^ th;
  lo[a] = al ^ tl;
  lo[b] = bl ^ tl;
}

let forceJs = false;
let simdState: SntrupWasm | null | undefined;

/**
 * The WebAssembly backend once it has passed its check, else null: on first use the module's two
 * inversions of a fixed polynomial are verified (g * (1/g) = 1 in R3, 3 * g * (1/(3g)) = 1 in Rq) and
 * its product compared with the JavaScript one. A module that throws (traps) during the check has
 * failed it: the JavaScript arithmetic is used from then on.
 */
function backend(): SntrupWasm | null {
  if (forceJs) return null;
  if (simdState === undefined) {
    let checked: SntrupWasm | null = null;
    try {
      const candidate = loadSntrupWasm();
      if (candidate !== null && selfTest(candidate)) checked = candidate;
    } catch {
      checked = null;
    }
    simdState = checked;
  }
  return simdState;
}

function selfTest(simd: SntrupWasm): boolean {
  const g = new Int8Array(P);
  let x = 1;
  for (let i = 0; i < P; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    g[i] = (x >>> 30) % 3 === 0 ? 0 : ((x >>> 29) & 1) * 2 - 1;
  }
  const f = new Int16Array(P);
  for (let i = 0; i < P; i++) f[i] = ((Math.imul(i, 2654435761) >>> 0) % Q) - Q12;
  const viaSimd = new Int32Array(2 * P - 1);
  simd.mult(viaSimd, f, g);
  const viaJs = new Int32Array(2 * P - 1);
  for (let i = 0; i < P; i++) {
    for (let j = 0; j < P; j++) viaJs[i + j] = (viaJs[i + j] as number) + Math.imul(f[i] as number, g[j] as number);
  }
  for (let i = 0; i < 2 * P - 1; i++) if (viaSimd[i] !== viaJs[i]) return false;
  simdState = simd; // the checks below run through the dispatching functions
  const saved = forceJs;
  forceJs = false;
  try {
    const inv3 = new Int8Array(P);
    if (r3Recip(inv3, g) !== 0) return false;
    const one3 = new Int8Array(P);
    r3Mult(one3, g, inv3);
    const invq = new Int16Array(P);
    if (rqRecip3(invq, g) !== 0) return false;
    const oneq = new Int16Array(P);
    rqMultSmall(oneq, invq, g);
    for (let i = 0; i < P; i++) {
      if (one3[i] !== (i === 0 ? 1 : 0) || fqFreeze(3 * (oneq[i] as number)) !== (i === 0 ? 1 : 0)) return false;
    }
    return true;
  } finally {
    simdState = undefined;
    forceJs = saved;
  }
}

/**
 * Selects the implementation for later calls: `true` forces the plain-JavaScript arithmetic (for tests
 * comparing the two), `false` restores the default (WebAssembly SIMD when available and checked).
 */
export function setSntrup761Fallback(force: boolean): void {
  forceJs = force;
}

/** Whether sntrup761's arithmetic currently runs on WebAssembly. */
export function sntrup761UsesWasm(): boolean {
  return backend() !== null;
}
