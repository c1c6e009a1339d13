/**
 * Streamlined NTRU Prime sntrup761 (p = 761, q = 4591, w = 286), the KEM of the NTRU Prime round-3
 * submission as SUPERCOP and OpenSSH carry it: key generation, encapsulation and decapsulation with the
 * submission's encodings, hash prefixes, plaintext confirmation and implicit rejection. Public key
 * 1158 bytes, secret key 1763, ciphertext 1039, shared key 32. Written from the specification; the
 * submission's known-answer tests (NIST AES-256-CTR DRBG) are reproduced byte for byte in
 * test/unit/crypto/sntrup761-kat.test.ts.
 *
 * Randomness comes from a `random(n)` function (default: node:crypto), called in the submission's
 * order and sizes (one call of 4p bytes per random polynomial, p little-endian 32-bit words, then 191
 * bytes of rho), so a deterministic generator reproduces the KATs.
 *
 * Speed: the two inversions of key generation and the products run on a small WebAssembly SIMD module
 * (./sntrup761-simd.ts, generated from scripts/build-sntrup761-wasm.mjs) when the runtime has it and it
 * passes a self-check, else on the plain JavaScript in ./sntrup761-poly.ts (about 25 times slower). Both
 * give the same bytes (tested, KATs included).
 *
 * Constant time, and how it was checked. Secret data (f, 1/g, rho, the short polynomials, the decrypted
 * r, the comparison result) never decides a branch, a loop bound or a memory address: choices use
 * all-ones/zero masks (swap in the divsteps, the weight check, the ciphertext comparison, the rho
 * substitution), the short polynomial comes from a fixed sorting network, the inversions run a fixed
 * 2p - 1 divsteps whose loop bounds depend only on the iteration number, and reductions are
 * multiplications and shifts (no `%` or `/` on secrets). This was checked by review of every function
 * that touches a secret — the poly, encode and simd modules and the WAT in the generator (decoders read
 * only public data: a peer's key or a ciphertext) — and measured: bench/sntrup761-ct.ts times
 * decapsulation of valid against invalid ciphertexts, and key generation and decapsulation under
 * different secret keys, with Welch's t-test (dudect-style). That measurement only shows no difference
 * large enough to see at its sample size on that machine; it proves nothing about other CPUs or JIT
 * tiers. JavaScript adds caveats C does not have: the JIT may compile the same code differently over
 * time (timing varies, but not with the secrets), and V8 keeps integers below 2^30 unboxed — every
 * secret intermediate here stays below 2^25, so none becomes a heap number. Key generation retries a
 * candidate g that is not invertible mod 3; that branch reveals only that a discarded random value was
 * rejected. SHA-512 is node:crypto's (OpenSSL).
 */

import { createHash, randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import {
  ROUNDED_BYTES,
  RQ_BYTES,
  roundAndEncode,
  roundedDecode,
  rqDecode,
  rqEncode,
  SMALL_BYTES,
  smallDecode,
  smallEncode,
} from './sntrup761-encode.js';
import {
  f3Freeze,
  fqFreeze,
  P,
  r3Mult,
  r3Recip,
  rqMultSmall,
  rqRecip3,
  sortUint32Halves,
  W,
  weightMask,
} from './sntrup761-poly.js';

/** A source of random bytes: `random(n)` returns n fresh bytes. */
export type RandomSource = (n: number) => Uint8Array;

/** Public key bytes. */
export const SNTRUP761_PUBLIC_KEY_BYTES = RQ_BYTES;
/** Secret key bytes: f, 1/g (small), the public key, rho and the public key's hash. */
export const SNTRUP761_SECRET_KEY_BYTES = 2 * SMALL_BYTES + RQ_BYTES + SMALL_BYTES + 32;
/** Ciphertext bytes: the rounded encryption then the 32-byte confirmation hash. */
export const SNTRUP761_CIPHERTEXT_BYTES = ROUNDED_BYTES + 32;
/** Shared key bytes. */
export const SNTRUP761_SHARED_KEY_BYTES = 32;

const HASH_BYTES = 32;

/**
 * The first 32 bytes of SHA-512(b || parts...) (the submission's Hash_prefix), in a Uint8Array of its
 * own: a Buffer copy (Buffer.from) would sit in Node's shared pool slab, where nobody wipes it.
 */
function hashPrefix(b: number, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha512').update(Uint8Array.of(b));
  for (const part of parts) h.update(part);
  const digest = h.digest();
  const out = new Uint8Array(HASH_BYTES);
  out.set(digest.subarray(0, HASH_BYTES));
  digest.fill(0);
  return out;
}

/**
 * n random 32-bit words from one `random(4n)` call, read little-endian as the submission does, and
 * returned as 16-bit halves so no value reaches 2^30.
 */
function randomWords(random: RandomSource, n: number, hi: Int32Array, lo: Int32Array): void {
  const c = random(4 * n);
  if (c.length !== 4 * n) throw new InvalidArgumentError(`random(${4 * n}) must return ${4 * n} bytes`);
  for (let i = 0; i < n; i++) {
    lo[i] = (c[4 * i] as number) | ((c[4 * i + 1] as number) << 8);
    hi[i] = (c[4 * i + 2] as number) | ((c[4 * i + 3] as number) << 8);
  }
  c.fill(0);
}

/** A small polynomial with uniform coefficients: ((word & 0x3fffffff) * 3) >> 30, minus 1. */
function smallRandom(random: RandomSource): Int8Array {
  const hi = new Int32Array(P);
  const lo = new Int32Array(P);
  randomWords(random, P, hi, lo);
  const out = new Int8Array(P);
  for (let i = 0; i < P; i++) {
    // (3 * word30) >> 30 computed from the halves: 3 * hi14 plus the carry out of 3 * lo, over 2^14.
    const h = (hi[i] as number) & 0x3fff;
    out[i] = ((Math.imul(3, h) + (Math.imul(3, lo[i] as number) >> 16)) >> 14) - 1;
  }
  hi.fill(0);
  lo.fill(0);
  return out;
}

/** A short polynomial (exactly w coefficients ±1): random words tagged and sorted by a fixed network. */
function shortRandom(random: RandomSource): Int8Array {
  const hi = new Int32Array(P);
  const lo = new Int32Array(P);
  randomWords(random, P, hi, lo);
  // The first w words get low bits 00 or 10 (coefficient -1 or +1), the rest 01 (coefficient 0);
  // sorting moves them to random places.
  for (let i = 0; i < W; i++) lo[i] = (lo[i] as number) & 0xfffe;
  for (let i = W; i < P; i++) lo[i] = ((lo[i] as number) & 0xfffd) | 1;
  sortUint32Halves(hi, lo, P);
  const out = new Int8Array(P);
  for (let i = 0; i < P; i++) out[i] = ((lo[i] as number) & 3) - 1;
  hi.fill(0);
  lo.fill(0);
  return out;
}

/** A keypair: `publicKey` 1158 bytes, `secretKey` 1763 bytes. */
export interface Sntrup761KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** Key generation (the submission's KEM_KeyGen). */
export function sntrup761KeyPair(random: RandomSource = randomBytes): Sntrup761KeyPair {
  const sk = new Uint8Array(SNTRUP761_SECRET_KEY_BYTES);
  const ginv = new Int8Array(P);
  let g: Int8Array;
  for (;;) {
    g = smallRandom(random);
    if (r3Recip(ginv, g) === 0) break;
    g.fill(0);
  }
  const f = shortRandom(random);
  const h = new Int16Array(P);
  rqRecip3(h, f); // always succeeds: f is nonzero and Rq is a field
  rqMultSmall(h, h, g);
  const publicKey = rqEncode(h);
  smallEncode(sk, 0, f);
  smallEncode(sk, SMALL_BYTES, ginv);
  sk.set(publicKey, 2 * SMALL_BYTES);
  const rho = random(SMALL_BYTES);
  if (rho.length !== SMALL_BYTES)
    throw new InvalidArgumentError(`random(${SMALL_BYTES}) must return ${SMALL_BYTES} bytes`);
  sk.set(rho, 2 * SMALL_BYTES + RQ_BYTES);
  sk.set(hashPrefix(4, publicKey), 2 * SMALL_BYTES + RQ_BYTES + SMALL_BYTES);
  rho.fill(0);
  f.fill(0);
  g.fill(0);
  ginv.fill(0);
  h.fill(0);
  return { publicKey, secretKey: sk };
}

/**
 * Hide: encrypts r to the public key (c = Round(h*r), encoded) and appends the confirmation
 * Hash_2(Hash_3(r) || Hash_4(pk)). Returns the ciphertext and r_enc = Small_encode(r).
 */
function hide(r: Int8Array, h: Int16Array, pkHash: Uint8Array): { ct: Uint8Array; rEnc: Uint8Array } {
  const rEnc = new Uint8Array(SMALL_BYTES);
  smallEncode(rEnc, 0, r);
  const hr = new Int16Array(P);
  rqMultSmall(hr, h, r);
  const ct = new Uint8Array(SNTRUP761_CIPHERTEXT_BYTES);
  roundAndEncode(ct, 0, hr, f3Freeze);
  hr.fill(0);
  const rHash = hashPrefix(3, rEnc);
  const confirm = hashPrefix(2, rHash, pkHash);
  ct.set(confirm, ROUNDED_BYTES);
  rHash.fill(0);
  confirm.fill(0);
  return { ct, rEnc };
}

/** 0 when a and b (same length) are equal, -1 when not: every byte is examined, no branch on data. */
function differMask(a: Uint8Array, b: Uint8Array): number {
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return (1 & ((diff - 1) >> 8)) - 1;
}

/** The session key Hash_b(Hash_3(r_enc) || ct): b = 1 after a good decryption, 0 on rejection. */
function sessionKey(b: number, rEnc: Uint8Array, ct: Uint8Array): Uint8Array {
  const rHash = hashPrefix(3, rEnc);
  const k = hashPrefix(b, rHash, ct);
  rHash.fill(0);
  return k;
}

/** Encapsulation to a 1158-byte public key: the 1039-byte ciphertext and the 32-byte shared key. */
export function sntrup761Encapsulate(
  publicKey: Uint8Array,
  random: RandomSource = randomBytes,
): { ciphertext: Uint8Array; sharedKey: Uint8Array } {
  if (publicKey.length !== SNTRUP761_PUBLIC_KEY_BYTES) {
    throw new InvalidArgumentError(`an sntrup761 public key is ${SNTRUP761_PUBLIC_KEY_BYTES} bytes`);
  }
  const h = rqDecode(publicKey);
  const pkHash = hashPrefix(4, publicKey);
  const r = shortRandom(random);
  const { ct, rEnc } = hide(r, h, pkHash);
  const sharedKey = sessionKey(1, rEnc, ct);
  r.fill(0);
  rEnc.fill(0);
  return { ciphertext: ct, sharedKey };
}

/**
 * Decapsulation: the 32-byte shared key for a 1039-byte ciphertext. Never fails on a well-sized
 * ciphertext: when re-encryption does not reproduce it, the key is derived from the secret rho instead
 * (implicit rejection), chosen with a mask.
 */
export function sntrup761Decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (ciphertext.length !== SNTRUP761_CIPHERTEXT_BYTES) {
    throw new InvalidArgumentError(`an sntrup761 ciphertext is ${SNTRUP761_CIPHERTEXT_BYTES} bytes`);
  }
  if (secretKey.length !== SNTRUP761_SECRET_KEY_BYTES) {
    throw new InvalidArgumentError(`an sntrup761 secret key is ${SNTRUP761_SECRET_KEY_BYTES} bytes`);
  }
  const pkOffset = 2 * SMALL_BYTES;
  const rhoOffset = pkOffset + RQ_BYTES;
  const pkHash = secretKey.subarray(rhoOffset + SMALL_BYTES);
  // Decrypt: e = 3*c*f mod q, lifted to R3; r = e/g (times 1/g from the secret key).
  const c = roundedDecode(ciphertext, 0);
  const f = smallDecode(secretKey, 0);
  rqMultSmall(c, c, f);
  const e = new Int8Array(P);
  for (let i = 0; i < P; i++) e[i] = f3Freeze(fqFreeze(3 * (c[i] as number)));
  const ginv = smallDecode(secretKey, SMALL_BYTES);
  const r = new Int8Array(P);
  r3Mult(r, e, ginv);
  // Weight not w: replace r by (1, ..., 1, 0, ..., 0) with w ones, under a mask.
  const bad = weightMask(r);
  for (let i = 0; i < W; i++) r[i] = (((r[i] as number) ^ 1) & ~bad) ^ 1;
  for (let i = W; i < P; i++) r[i] = (r[i] as number) & ~bad;
  // Re-encrypt and compare in constant time; on mismatch substitute rho for r_enc.
  const h = rqDecode(secretKey.subarray(pkOffset, rhoOffset));
  const { ct, rEnc } = hide(r, h, pkHash);
  const mask = differMask(ct, ciphertext);
  for (let i = 0; i < SMALL_BYTES; i++) {
    const x = rEnc[i] as number;
    rEnc[i] = x ^ (mask & (x ^ (secretKey[rhoOffset + i] as number)));
  }
  const k = sessionKey(1 + mask, rEnc, ciphertext);
  for (const a of [c, f, e, ginv, r, ct, rEnc]) a.fill(0);
  return k;
}
