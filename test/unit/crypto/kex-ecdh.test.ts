import assert from 'node:assert/strict';
import { createECDH, createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { test } from 'node:test';
import {
  encodeSharedSecret,
  NIST_CURVES,
  nistKeyPair,
  x25519KeyPair,
  x25519KeyPairFromPrivate,
} from '../../../src/crypto/kex-ecdh.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const KEX_FAILED = { code: 'ERR_SSH_PROTOCOL', reason: 3 };

/** mpint with uint32 length prefix, built by hand. */
function mpintString(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length && magnitude[i] === 0) i++;
  let body = magnitude.subarray(i);
  if (body.length > 0 && (body[0] as number) >= 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

test('encodeSharedSecret: mpint with length prefix, zeros stripped, 0x00 before a set top bit', () => {
  assert.deepEqual(encodeSharedSecret(hex('7f01')), hex('000000027f01'));
  assert.deepEqual(encodeSharedSecret(hex('8001')), hex('00000003008001'));
  assert.deepEqual(encodeSharedSecret(hex('00008001')), hex('00000003008001'));
  assert.deepEqual(encodeSharedSecret(hex('00007f')), hex('000000017f'));
  assert.deepEqual(encodeSharedSecret(hex('0000')), hex('00000000'));
});

// RFC 7748 §6.1
const ALICE_PRIV = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
const ALICE_PUB = hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
const BOB_PRIV = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
const BOB_PUB = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
const SHARED = hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');

test('X25519: RFC 7748 §6.1 vector through the keypair', () => {
  const alice = x25519KeyPairFromPrivate(ALICE_PRIV);
  const bob = x25519KeyPairFromPrivate(BOB_PRIV);
  assert.deepEqual(alice.publicValue, ALICE_PUB);
  assert.deepEqual(bob.publicValue, BOB_PUB);
  const expected = Buffer.concat([hex('00000020'), SHARED]);
  assert.deepEqual(alice.agree(BOB_PUB), expected);
  assert.deepEqual(bob.agree(ALICE_PUB), expected);
});

test('X25519: K is the output read big-endian; top bit set gets 0x00, leading zeros are stripped', () => {
  const me = x25519KeyPair();
  let sawTopBit = false;
  let sawLeadingZero = false;
  for (let i = 0; i < 4000 && !(sawTopBit && sawLeadingZero); i++) {
    const peer = x25519KeyPair();
    const k = me.agree(peer.publicValue);
    assert.deepEqual(k, peer.agree(me.publicValue));
    const body = k.subarray(4);
    assert.equal(k.readUInt32BE(0), body.length);
    const magnitude = body[0] === 0 ? body.subarray(1) : body;
    assert.ok(magnitude.length <= 32);
    if (body[0] === 0) assert.ok((body[1] as number) >= 0x80, '0x00 only before a set top bit');
    else assert.ok((body[0] as number) < 0x80 && body[0] !== 0);
    if (body[0] === 0 && magnitude.length === 32) sawTopBit = true;
    if (magnitude.length < 32) sawLeadingZero = true;
  }
  assert.ok(sawTopBit, 'expected a shared secret with the top bit set');
  assert.ok(sawLeadingZero, 'expected a shared secret with a leading zero byte');
});

test('X25519: K equals the mpint of the RFC 7748 output for random keys (cross-check with node)', () => {
  const scalar = Buffer.alloc(32, 0x42);
  const me = x25519KeyPairFromPrivate(scalar);
  const myKey = createPrivateKey({
    key: Buffer.concat([hex('302e020100300506032b656e04220420'), scalar]),
    format: 'der',
    type: 'pkcs8',
  });
  for (let i = 0; i < 20; i++) {
    const peer = x25519KeyPair();
    const raw = diffieHellman({
      privateKey: myKey,
      publicKey: createPublicKey({
        key: { kty: 'OKP', crv: 'X25519', x: peer.publicValue.toString('base64url') },
        format: 'jwk',
      }),
    });
    assert.deepEqual(me.agree(peer.publicValue), mpintString(raw));
  }
});

test('X25519: rejects wrong lengths and low-order points (all-zero shared secret)', () => {
  const me = x25519KeyPair();
  assert.throws(() => me.agree(Buffer.alloc(31, 9)), KEX_FAILED);
  assert.throws(() => me.agree(Buffer.alloc(33, 9)), KEX_FAILED);
  assert.throws(() => me.agree(Buffer.alloc(0)), KEX_FAILED);
  const lowOrder = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  ];
  for (const p of lowOrder) assert.throws(() => me.agree(hex(p)), KEX_FAILED, p);
});

test('X25519: private scalar must be 32 bytes', () => {
  assert.throws(() => x25519KeyPairFromPrivate(Buffer.alloc(31)), { code: 'ERR_SSH_INVALID_ARGUMENT' });
});

for (const curve of Object.keys(NIST_CURVES) as (keyof typeof NIST_CURVES)[]) {
  const spec = NIST_CURVES[curve];
  const pointLength = 1 + 2 * spec.fieldBytes;

  test(`${curve}: agreement, K is the x-coordinate as an mpint (cross-check with node)`, () => {
    let sawTopBit = false;
    for (let i = 0; i < 40; i++) {
      const a = nistKeyPair(curve);
      const b = nistKeyPair(curve);
      assert.equal(a.publicValue.length, pointLength);
      assert.equal(a.publicValue[0], 4);
      const k = a.agree(b.publicValue);
      assert.deepEqual(k, b.agree(a.publicValue));
      const ref = createECDH(spec.openssl);
      ref.generateKeys();
      const x = ref.computeSecret(a.publicValue);
      assert.equal(x.length, spec.fieldBytes);
      const k2 = a.agree(ref.getPublicKey());
      assert.deepEqual(k2, mpintString(x));
      if (k2[4] === 0) sawTopBit = true;
    }
    // nistp521's top byte is at most 1, so the top bit is never set there
    if (curve !== 'nistp521') assert.ok(sawTopBit);
  });

  test(`${curve}: a given private key reproduces its public point`, () => {
    const ref = createECDH(spec.openssl);
    ref.generateKeys();
    const pair = nistKeyPair(curve, ref.getPrivateKey());
    assert.deepEqual(pair.publicValue, ref.getPublicKey());
  });

  test(`${curve}: rejects compressed, truncated, padded and off-curve points`, () => {
    const me = nistKeyPair(curve);
    const peer = nistKeyPair(curve).publicValue;
    const ref = createECDH(spec.openssl);
    ref.setPrivateKey(Buffer.alloc(spec.fieldBytes, 1));
    const compressed = ref.getPublicKey(null, 'compressed');
    assert.throws(() => me.agree(compressed), KEX_FAILED);
    assert.throws(() => me.agree(peer.subarray(0, pointLength - 1)), KEX_FAILED);
    assert.throws(() => me.agree(Buffer.concat([peer, Buffer.from([0])])), KEX_FAILED);
    assert.throws(() => me.agree(Buffer.alloc(0)), KEX_FAILED);
    assert.throws(() => me.agree(Buffer.from([0])), KEX_FAILED); // point at infinity
    const hybrid = Buffer.from(peer);
    hybrid[0] = 6;
    assert.throws(() => me.agree(hybrid), KEX_FAILED);
    const offCurve = Buffer.from(peer);
    offCurve[pointLength - 1] = (offCurve[pointLength - 1] as number) ^ 1;
    assert.throws(() => me.agree(offCurve), KEX_FAILED);
    const zeros = Buffer.alloc(pointLength);
    zeros[0] = 4;
    assert.throws(() => me.agree(zeros), KEX_FAILED);
    const big = Buffer.alloc(pointLength, 0xff);
    big[0] = 4;
    assert.throws(() => me.agree(big), KEX_FAILED);
  });
}
