import assert from 'node:assert/strict';
import { generatePrimeSync, getDiffieHellman } from 'node:crypto';
import { test } from 'node:test';
import { bitLength, DH_GROUPS } from '../../../src/crypto/dh-groups.js';
import { dhKeyPair, privateExponentBits } from '../../../src/crypto/kex-dh.js';
import type { DhGroup } from '../../../src/crypto/types.js';

const KEX_FAILED = { code: 'ERR_SSH_PROTOCOL', reason: 3 };

function group(bits: number): DhGroup {
  const g = DH_GROUPS[bits];
  assert.ok(g);
  return g;
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  let b = base % mod;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % mod;
    b = (b * b) % mod;
  }
  return r;
}

const toBig = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);
const toBuf = (v: bigint) => {
  const h = v.toString(16);
  return Buffer.from(h.length % 2 ? `0${h}` : h, 'hex');
};

/** mpint with uint32 length prefix of a non-negative bigint, built by hand. */
function mpintString(v: bigint): Buffer {
  let body = v === 0n ? Buffer.alloc(0) : toBuf(v);
  if (body.length > 0 && (body[0] as number) >= 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

test('private exponent size: at least 512 bits and twice the security strength', () => {
  assert.equal(privateExponentBits(1024), 512);
  assert.equal(privateExponentBits(2048), 512);
  assert.equal(privateExponentBits(8192), 512);
  assert.equal(privateExponentBits(300), 299);
});

test('DH with given exponents matches an independent modular exponentiation', () => {
  const { p } = group(2048);
  const x = 0x1234567890abcdef1234567890abcdef1234567890abcdefn;
  const y = (1n << 511n) + 987654321n;
  const a = dhKeyPair(group(2048), x);
  const b = dhKeyPair(group(2048), y);
  assert.equal(toBig(a.publicValue), modPow(2n, x, p));
  assert.equal(toBig(b.publicValue), modPow(2n, y, p));
  const k = mpintString(modPow(2n, x * y, p));
  assert.deepEqual(a.agree(b.publicValue), k);
  assert.deepEqual(b.agree(a.publicValue), k);
});

test('DH public values agree with OpenSSL legacy DiffieHellman for the same exponent', () => {
  const dh = getDiffieHellman('modp14');
  dh.generateKeys();
  const pair = dhKeyPair(group(2048), toBig(dh.getPrivateKey()));
  assert.deepEqual(pair.publicValue, dh.getPublicKey().subarray(dh.getPublicKey().findIndex((v) => v !== 0)));
  const other = dhKeyPair(group(2048));
  const secret = dh.computeSecret(other.publicValue);
  assert.deepEqual(pair.agree(other.publicValue), mpintString(toBig(secret)));
});

test('DH generated exponents are fresh and of the chosen size', () => {
  const a = dhKeyPair(group(2048));
  const b = dhKeyPair(group(2048));
  assert.notDeepEqual(a.publicValue, b.publicValue);
  assert.ok(a.publicValue.length <= 256 && a.publicValue.length > 200);
  assert.notEqual(a.publicValue[0], 0);
});

test('DH K encoding: top bit set gets 0x00, leading zero bytes are stripped', () => {
  const g = group(2048);
  const a = dhKeyPair(g, (1n << 511n) + 12345n);
  let sawTopBit = false;
  let sawLeadingZero = false;
  for (let i = 1n; i < 3000n && !(sawTopBit && sawLeadingZero); i++) {
    const b = dhKeyPair(g, (1n << 300n) + i);
    const k = a.agree(b.publicValue);
    const expected = modPow(toBig(b.publicValue), (1n << 511n) + 12345n, g.p);
    assert.deepEqual(k, mpintString(expected));
    if (k[4] === 0) sawTopBit = true;
    if (bitLength(expected) <= 2040) sawLeadingZero = true;
  }
  assert.ok(sawTopBit && sawLeadingZero);
});

test('DH rejects peer values 0, 1, p-1, p, above p and overlong', () => {
  for (const bits of [1024, 2048, 4096]) {
    const g = group(bits);
    const me = dhKeyPair(g);
    for (const bad of [0n, 1n, g.p - 1n, g.p, g.p + 1n, (1n << BigInt(bits)) - 1n]) {
      assert.throws(() => me.agree(toBuf(bad)), KEX_FAILED, `${bits}: ${bad.toString(16).slice(0, 8)}`);
    }
    assert.throws(() => me.agree(Buffer.alloc(0)), KEX_FAILED);
    assert.throws(() => me.agree(Buffer.concat([Buffer.from([1]), Buffer.alloc(bits / 8)])), KEX_FAILED);
    // leading zero bytes on a small value that is still out of range
    assert.throws(() => me.agree(Buffer.from([0, 0, 1])), KEX_FAILED);
    // 2 and 4 lie in the prime-order subgroup and are accepted. p-2 is in range but outside it: OpenSSL
    // refuses it for the groups it knows by name (2048 bits and up), accepts it otherwise; either way
    // the only error is KEY_EXCHANGE_FAILED (an honest g^x is always in the subgroup).
    assert.equal(me.agree(toBuf(2n)).readUInt32BE(0) > 0, true);
    assert.equal(me.agree(toBuf(4n)).readUInt32BE(0) > 0, true);
    try {
      me.agree(toBuf(g.p - 2n));
    } catch (e) {
      assert.equal((e as { reason?: number }).reason, 3);
    }
  }
});

test('DH works over a group-exchange prime that is not a named group, quickly', () => {
  const p = generatePrimeSync(2048, { bigint: true, safe: false });
  const g: DhGroup = { p, g: 5n };
  const t = performance.now();
  const a = dhKeyPair(g);
  const b = dhKeyPair(g);
  const k = a.agree(b.publicValue);
  assert.ok(performance.now() - t < 500, 'no primality test on construction');
  assert.deepEqual(k, b.agree(a.publicValue));
  const x = (1n << 400n) + 7n;
  assert.equal(toBig(dhKeyPair(g, x).publicValue), modPow(5n, x, p));
});

test('DH rejects unusable groups and exponents', () => {
  const g = group(2048);
  assert.throws(() => dhKeyPair({ p: 23n, g: 5n }), { code: 'ERR_SSH_INVALID_ARGUMENT' });
  assert.throws(() => dhKeyPair({ p: 1n << 9000n, g: 2n }), { code: 'ERR_SSH_INVALID_ARGUMENT' });
  assert.throws(() => dhKeyPair({ p: g.p, g: 1n }), { code: 'ERR_SSH_INVALID_ARGUMENT' });
  assert.throws(() => dhKeyPair(g, 1n), { code: 'ERR_SSH_INVALID_ARGUMENT' });
  assert.throws(() => dhKeyPair(g, g.p), { code: 'ERR_SSH_INVALID_ARGUMENT' });
});
