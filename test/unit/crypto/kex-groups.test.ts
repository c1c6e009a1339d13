import assert from 'node:assert/strict';
import { createHash, getDiffieHellman } from 'node:crypto';
import { test } from 'node:test';
import { bitLength, chooseGexGroup, DH_GROUPS, validateGexGroup } from '../../../src/crypto/dh-groups.js';

/** floor(pi * 2^bits), by Machin's formula in fixed point with guard bits. */
function piTimesPow2(bits: number): bigint {
  const guard = 64n;
  const one = 1n << (BigInt(bits) + guard);
  const atanInv = (x: bigint): bigint => {
    let sum = 0n;
    let power = one / x; // one / x^(2k+1)
    const x2 = x * x;
    for (let k = 0n; power !== 0n; k++) {
      const term = power / (2n * k + 1n);
      sum += k % 2n === 0n ? term : -term;
      power /= x2;
    }
    return sum;
  };
  const pi = 16n * atanInv(5n) - 4n * atanInv(239n);
  return pi >> guard;
}

/** RFC 2409 / RFC 3526: p = 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) pi) + k). */
const OFFSETS: Record<number, bigint> = {
  1024: 129093n,
  2048: 124476n,
  3072: 1690314n,
  4096: 240904n,
  6144: 929484n,
  8192: 4743158n,
};

const NODE_NAMES: Record<number, string> = {
  1024: 'modp2',
  2048: 'modp14',
  3072: 'modp15',
  4096: 'modp16',
  6144: 'modp17',
  8192: 'modp18',
};

// SHA-256 of each prime's uppercase hex (as printed in the RFCs, without spaces).
const PRIME_HEX_SHA256: Record<number, string> = {
  1024: '693daceaf10c4200894cbd5696b120faebc30f7c4a242a8cd915ca3e83e141db',
  2048: 'dcd8538e629d7b8bc0dabdcda6744e0542bfb801d50305b2f6acf823b3d4e7ba',
  3072: '2b2c15e1523695d748a2f56b3b81d59d23467b300f1879585be61f0addacdc45',
  4096: '2349a6f8251156cbfade78ada6bd1e0c961a56847def4d288b6fdbd740016bff',
  6144: 'eeff9f22efbb6af437e9bb4a5466ddc607a9d0c954e14a4a90461688896b9e2b',
  8192: 'd0c08f76798cac51345c195a01a2bea21bc577cfa9d857bbc6627ee41cb0b2b6',
};

test('DH_GROUPS holds exactly the six MODP groups with generator 2', () => {
  assert.deepEqual(
    Object.keys(DH_GROUPS)
      .map(Number)
      .sort((a, b) => a - b),
    [1024, 2048, 3072, 4096, 6144, 8192],
  );
  for (const [bits, g] of Object.entries(DH_GROUPS)) {
    assert.equal(bitLength(g.p), Number(bits));
    assert.equal(g.g, 2n);
  }
});

test('each prime follows the RFC 2409/3526 formula from pi', () => {
  const pi = piTimesPow2(8192 - 130);
  for (const [bitsStr, offset] of Object.entries(OFFSETS)) {
    const n = BigInt(bitsStr);
    const piPart = pi >> (8192n - n);
    const p = (1n << n) - (1n << (n - 64n)) - 1n + (1n << 64n) * (piPart + offset);
    assert.equal(DH_GROUPS[Number(bitsStr)]?.p, p, `${bitsStr}-bit prime`);
  }
});

test("each prime equals OpenSSL's copy of the RFC group", () => {
  for (const [bits, name] of Object.entries(NODE_NAMES)) {
    const fromNode = BigInt(`0x${getDiffieHellman(name).getPrime('hex')}`);
    assert.equal(DH_GROUPS[Number(bits)]?.p, fromNode, name);
  }
});

test('prime hex hashes are pinned', () => {
  for (const [bits, digest] of Object.entries(PRIME_HEX_SHA256)) {
    const hex = DH_GROUPS[Number(bits)]?.p.toString(16).toUpperCase() ?? '';
    assert.equal(createHash('sha256').update(hex).digest('hex'), digest);
  }
  // 2048-bit prime begins and ends as printed in RFC 3526 §3
  const hex2048 = DH_GROUPS[2048]?.p.toString(16).toUpperCase() ?? '';
  assert.ok(hex2048.startsWith('FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1'));
  assert.ok(hex2048.endsWith('15728E5A8AACAA68FFFFFFFFFFFFFFFF'));
});

test('validateGexGroup accepts the fixed groups within bounds', () => {
  for (const bits of [2048, 3072, 4096, 6144, 8192]) {
    const g = DH_GROUPS[bits];
    assert.ok(g);
    validateGexGroup(g, 2048, 8192);
  }
});

test('validateGexGroup rejects out-of-range sizes, even primes and bad generators', () => {
  const g2048 = DH_GROUPS[2048];
  const g1024 = DH_GROUPS[1024];
  assert.ok(g2048 && g1024);
  const reject = (group: { p: bigint; g: bigint }, min = 2048, max = 8192) =>
    assert.throws(() => validateGexGroup(group, min, max), { code: 'ERR_SSH_PROTOCOL', reason: 3 });
  reject(g1024);
  reject(g2048, 3072, 8192);
  reject(g2048, 1024, 1536);
  reject({ p: 1n << 9000n, g: 2n }, 2048, 16384); // over the absolute cap, and even
  reject({ p: g2048.p + 1n, g: 2n });
  reject({ p: g2048.p, g: 0n });
  reject({ p: g2048.p, g: 1n });
  reject({ p: g2048.p, g: g2048.p - 1n });
  reject({ p: g2048.p, g: g2048.p });
  validateGexGroup({ p: g2048.p, g: 5n }, 2048, 2048);
});

test('chooseGexGroup picks the smallest group >= n within max, else the largest within max', () => {
  const bits = (min: number, n: number, max: number) => bitLength(chooseGexGroup(min, n, max).p);
  assert.equal(bits(2048, 3072, 8192), 3072);
  assert.equal(bits(2048, 2048, 8192), 2048);
  assert.equal(bits(2048, 2500, 8192), 3072);
  assert.equal(bits(2048, 7000, 8192), 8192);
  assert.equal(bits(2048, 8192, 8192), 8192);
  assert.equal(bits(2048, 8192, 7000), 6144); // none >= n fits max: largest <= max
  assert.equal(bits(1024, 1024, 8192), 2048); // 1024-bit groups are never handed out
  assert.equal(bits(4096, 4096, 4096), 4096);
  assert.throws(() => chooseGexGroup(1024, 1024, 1024), { code: 'ERR_SSH_PROTOCOL', reason: 3 });
  assert.throws(() => chooseGexGroup(1024, 1536, 2000), { code: 'ERR_SSH_PROTOCOL' });
  assert.throws(() => chooseGexGroup(9000, 9000, 10000), { code: 'ERR_SSH_PROTOCOL' });
  assert.throws(() => chooseGexGroup(3100, 3100, 4000), { code: 'ERR_SSH_PROTOCOL' });
});
