/**
 * sntrup761 against the NTRU Prime submission's known-answer tests, regenerated here with NIST's
 * AES-256-CTR DRBG (test/helpers/nist-drbg.ts) exactly as PQCgenKAT_kem.c does, and compared by SHA-256:
 *
 * - the first entry (count = 0): afc42c3a…, PQClean's crypto_kem/sntrup761/META.yml `nistkat-sha256`
 *   and liboqs tests/KATs/kem/kats.json "sntrup761".single;
 * - all 100 entries of the submission's .rsp: 36e1e53d…, liboqs kats.json "sntrup761".all (the file as
 *   published, entries separated by a blank line, without its header line).
 *
 * Plus the arithmetic helpers checked exhaustively over the ranges the KEM uses.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  SNTRUP761_CIPHERTEXT_BYTES,
  SNTRUP761_PUBLIC_KEY_BYTES,
  SNTRUP761_SECRET_KEY_BYTES,
  SNTRUP761_SHARED_KEY_BYTES,
  sntrup761Decapsulate,
  sntrup761Encapsulate,
  sntrup761KeyPair,
} from '../../../src/crypto/sntrup761.js';
import {
  f3Freeze,
  fqFreeze,
  r3Mult,
  r3Recip,
  rqMultSmall,
  rqRecip3,
  setSntrup761Fallback,
  sntrup761UsesWasm,
  sortUint32Halves,
} from '../../../src/crypto/sntrup761-poly.js';
import { katSeeds, NistDrbg } from '../../helpers/nist-drbg.js';

const SINGLE_SHA256 = 'afc42c3a5b10f4ef69654250097ebda9b9564570f4086744b24a6daf2bd1f89a';
const ALL_SHA256 = '36e1e53d4e6e295e8fb804449958ad9a3719aa350e91933c65791b9117382d57';

const hexU = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

/** One .rsp entry: keypair then encapsulation from a DRBG seeded with `seed`; decapsulation must agree. */
function katEntry(count: number, seed: Buffer): string {
  const drbg = new NistDrbg(seed);
  const random = (n: number): Uint8Array => drbg.randombytes(n);
  const { publicKey, secretKey } = sntrup761KeyPair(random);
  const { ciphertext, sharedKey } = sntrup761Encapsulate(publicKey, random);
  assert.deepEqual(sntrup761Decapsulate(ciphertext, secretKey), sharedKey, `decapsulation of entry ${count}`);
  return (
    `count = ${count}\nseed = ${hexU(seed)}\npk = ${hexU(publicKey)}\nsk = ${hexU(secretKey)}\n` +
    `ct = ${hexU(ciphertext)}\nss = ${hexU(sharedKey)}\n`
  );
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

test("the DRBG gives the KAT files' first seed (061550234D…)", () => {
  assert.equal(
    hexU(katSeeds(1)[0] as Buffer),
    '061550234D158C5EC95595FE04EF7A25767F2E24CC2BC479D09D86DC9ABCFDE7056A8C266F9EF97ED08541DBD2E1FFA1',
  );
});

test('KAT entry 0 matches the published nistkat-sha256 (PQClean, liboqs "single")', () => {
  const entry = katEntry(0, katSeeds(1)[0] as Buffer);
  assert.equal(sha256(entry), SINGLE_SHA256);
});

test('all 100 KAT entries match the submission .rsp hash (liboqs "all")', () => {
  const seeds = katSeeds(100);
  const entries = seeds.map((seed, i) => katEntry(i, seed));
  assert.equal(sha256(entries.join('\n')), ALL_SHA256);
});

test('the plain-JavaScript arithmetic (the fallback without WebAssembly) also gives KAT entry 0', () => {
  setSntrup761Fallback(true);
  try {
    assert.equal(sntrup761UsesWasm(), false);
    assert.equal(sha256(katEntry(0, katSeeds(1)[0] as Buffer)), SINGLE_SHA256);
  } finally {
    setSntrup761Fallback(false);
  }
});

test('WebAssembly and JavaScript arithmetic agree on random and edge-case inputs (inverses, products)', () => {
  assert.equal(sntrup761UsesWasm(), true, 'Node 20 runs the SIMD module');
  let seed = 99;
  const next = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 8;
  };
  const smalls: Int8Array[] = [new Int8Array(761), Int8Array.from({ length: 761 }, (_, i) => (i === 0 ? 1 : 0))];
  smalls.push(
    Int8Array.from({ length: 761 }, () => -1),
    Int8Array.from({ length: 761 }, () => 1),
  );
  for (let k = 0; k < 6; k++) smalls.push(Int8Array.from({ length: 761 }, () => (next() % 3) - 1));
  const run = (js: boolean, g: Int8Array) => {
    setSntrup761Fallback(js);
    try {
      const inv3 = new Int8Array(761);
      const ok3 = r3Recip(inv3, g);
      const invq = new Int16Array(761);
      const okq = rqRecip3(invq, g);
      const f = Int16Array.from({ length: 761 }, () => (next() % 4591) - 2295);
      const prod = new Int16Array(761);
      const prod3 = new Int8Array(761);
      rqMultSmall(prod, f, g);
      r3Mult(prod3, g, g);
      return {
        ok3,
        okq,
        inv3: ok3 === 0 ? [...inv3] : [],
        invq: okq === 0 ? [...invq] : [],
        prod: [...prod],
        prod3: [...prod3],
      };
    } finally {
      setSntrup761Fallback(false);
    }
  };
  for (const [n, g] of smalls.entries()) {
    const s0 = seed;
    const a = run(false, g);
    seed = s0;
    const b = run(true, g);
    assert.deepEqual(a, b, `input ${n}`);
  }
  // the zero polynomial has no inverse in either ring
  assert.equal(run(false, new Int8Array(761)).ok3, -1);
});

test('sizes: pk 1158, sk 1763, ct 1039, key 32; a random round trip agrees', () => {
  assert.deepEqual(
    [SNTRUP761_PUBLIC_KEY_BYTES, SNTRUP761_SECRET_KEY_BYTES, SNTRUP761_CIPHERTEXT_BYTES, SNTRUP761_SHARED_KEY_BYTES],
    [1158, 1763, 1039, 32],
  );
  const { publicKey, secretKey } = sntrup761KeyPair();
  assert.equal(publicKey.length, 1158);
  assert.equal(secretKey.length, 1763);
  const { ciphertext, sharedKey } = sntrup761Encapsulate(publicKey);
  assert.equal(ciphertext.length, 1039);
  assert.deepEqual(sntrup761Decapsulate(ciphertext, secretKey), sharedKey);
});

test('implicit rejection: a changed ciphertext gives Hash_0(Hash_3(rho) || ct), not an error', () => {
  const { publicKey, secretKey } = sntrup761KeyPair();
  const { ciphertext, sharedKey } = sntrup761Encapsulate(publicKey);
  const rho = secretKey.subarray(2 * 191 + 1158, 2 * 191 + 1158 + 191);
  const hashPrefix = (b: number, ...parts: Uint8Array[]): Buffer => {
    const h = createHash('sha512').update(Uint8Array.of(b));
    for (const p of parts) h.update(p);
    return h.digest().subarray(0, 32);
  };
  for (const at of [0, 500, 1006, 1007, 1038]) {
    const bad = Uint8Array.from(ciphertext);
    bad[at] = (bad[at] as number) ^ 0x10;
    const k = sntrup761Decapsulate(bad, secretKey);
    assert.notDeepEqual(k, sharedKey, `byte ${at}`);
    assert.deepEqual(Buffer.from(k), hashPrefix(0, hashPrefix(3, rho), bad), `byte ${at}`);
  }
});

test('wrong lengths are refused with ERR_SSH_INVALID_ARGUMENT', () => {
  const { publicKey, secretKey } = sntrup761KeyPair();
  assert.throws(() => sntrup761Encapsulate(publicKey.subarray(1)), { code: 'ERR_SSH_INVALID_ARGUMENT' });
  assert.throws(() => sntrup761Decapsulate(new Uint8Array(1038), secretKey), { code: 'ERR_SSH_INVALID_ARGUMENT' });
  assert.throws(() => sntrup761Decapsulate(new Uint8Array(1039), secretKey.subarray(1)), {
    code: 'ERR_SSH_INVALID_ARGUMENT',
  });
  assert.throws(() => sntrup761KeyPair(() => new Uint8Array(3)), { code: 'ERR_SSH_INVALID_ARGUMENT' });
});

test('fqFreeze is x mod q in [-2295, 2295] for every |x| < 2^24', () => {
  const q = 4591;
  for (let x = -(2 ** 24) + 1; x < 2 ** 24; x++) {
    const y = fqFreeze(x);
    if (y < -2295 || y > 2295 || (x - y) % q !== 0) assert.fail(`fqFreeze(${x}) = ${y}`);
  }
});

test('f3Freeze is x mod 3 in {-1, 0, 1} for every |x| < 16384', () => {
  for (let x = -16383; x < 16384; x++) {
    const y = f3Freeze(x);
    if (y < -1 || y > 1 || (x - y) % 3 !== 0) assert.fail(`f3Freeze(${x}) = ${y}`);
  }
});

test('the sorting network sorts 32-bit keys given as halves, for every length up to 64 and for 761', () => {
  let seed = 12345;
  const next = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  for (const n of [...Array.from({ length: 64 }, (_, i) => i + 1), 761]) {
    // few distinct high halves, so equal-high comparisons are exercised
    const keys = Array.from({ length: n }, () => ((next() & 0x30000) | (next() >>> 16)) >>> 0);
    if (n === 761) for (let i = 0; i < n; i++) keys[i] = next();
    const hi = Int32Array.from(keys, (k) => k >>> 16);
    const lo = Int32Array.from(keys, (k) => k & 0xffff);
    sortUint32Halves(hi, lo, n);
    const got = Array.from(hi, (h, i) => h * 65536 + (lo[i] as number));
    assert.deepEqual(
      got,
      [...keys].sort((a, b) => a - b),
      `n = ${n}`,
    );
  }
});
