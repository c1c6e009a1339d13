import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { DEFAULT_ALGORITHMS } from '../../../src/crypto/algorithms.js';
import { KEX_METHODS, kexInfo } from '../../../src/crypto/kex.js';
import {
  SNTRUP761X25519_CLIENT_LENGTH,
  SNTRUP761X25519_SERVER_LENGTH,
  sntrup761x25519ClientKeyPair,
  sntrup761x25519Respond,
} from '../../../src/crypto/kex-sntrup.js';
import { sntrup761Decapsulate, sntrup761Encapsulate, sntrup761KeyPair } from '../../../src/crypto/sntrup761.js';
import {
  checkHybridExchange,
  checkHybridWrongLengths,
  KEX_FAILED,
  RFC7748,
  stringOf,
} from '../../helpers/kex-hybrid.js';
import { NistDrbg } from '../../helpers/nist-drbg.js';

const NAMES = ['sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com'] as const;
const {
  alicePrivate: ALICE_PRIVATE,
  alicePublic: ALICE_PUBLIC,
  bobPrivate: BOB_PRIVATE,
  bobPublic: BOB_PUBLIC,
} = RFC7748;

const drbg = (seedByte: number) => {
  const d = new NistDrbg(Buffer.alloc(48, seedByte));
  return (n: number): Uint8Array => d.randombytes(n);
};

test('sizes: C_INIT is 1190 bytes, S_REPLY 1071, K a 64-byte string, and both sides agree', () => {
  assert.equal(SNTRUP761X25519_CLIENT_LENGTH, 1158 + 32);
  assert.equal(SNTRUP761X25519_SERVER_LENGTH, 1039 + 32);
  const client = sntrup761x25519ClientKeyPair();
  assert.equal(client.publicValue.length, 1190);
  const server = sntrup761x25519Respond(client.publicValue);
  assert.equal(server.publicValue.length, 1071);
  assert.equal(server.k.length, 68);
  assert.equal(server.k.readUInt32BE(0), 64, 'K is a string of 64 bytes, not an mpint');
  assert.deepEqual(client.agree(server.publicValue), server.k);
});

test('fixed randomness: the hybrid is sntrup761 || X25519 (RFC 7748 vector) and K = SHA-512(K_pq || K_cl)', () => {
  const client = sntrup761x25519ClientKeyPair({ random: drbg(1), x25519Private: ALICE_PRIVATE });
  const { publicKey, secretKey } = sntrup761KeyPair(drbg(1));
  assert.deepEqual(client.publicValue.subarray(0, 1158), Buffer.from(publicKey));
  assert.deepEqual(client.publicValue.subarray(1158), ALICE_PUBLIC);

  const server = sntrup761x25519Respond(client.publicValue, { random: drbg(2), x25519Private: BOB_PRIVATE });
  const enc = sntrup761Encapsulate(publicKey, drbg(2));
  assert.deepEqual(server.publicValue.subarray(0, 1039), Buffer.from(enc.ciphertext));
  assert.deepEqual(server.publicValue.subarray(1039), BOB_PUBLIC);
  assert.deepEqual(sntrup761Decapsulate(enc.ciphertext, secretKey), enc.sharedKey);

  const expected = stringOf(createHash('sha512').update(enc.sharedKey).update(RFC7748.shared).digest());
  assert.deepEqual(server.k, expected);
  assert.deepEqual(client.agree(server.publicValue), expected);
});

test('wrong lengths are a KEY_EXCHANGE_FAILED ProtocolError on both sides; a rejected length keeps the keypair', () => {
  const client = sntrup761x25519ClientKeyPair();
  for (const n of [0, 32, 1158, 1189, 1191, 1071, 2380]) {
    assert.throws(() => sntrup761x25519Respond(Buffer.alloc(n, 1)), KEX_FAILED, `C_INIT of ${n}`);
  }
  const reply = sntrup761x25519Respond(client.publicValue).publicValue;
  for (const n of [0, 32, 1039, 1070, 1072, 1190]) {
    assert.throws(() => client.agree(Buffer.alloc(n, 1)), KEX_FAILED, `S_REPLY of ${n}`);
  }
  assert.equal(client.agree(reply).length, 68);
  assert.throws(() => client.agree(reply), KEX_FAILED, 'a keypair serves one exchange');
});

test('a tampered ciphertext gives a different K (implicit rejection), not an error', () => {
  const client = sntrup761x25519ClientKeyPair();
  const server = sntrup761x25519Respond(client.publicValue);
  const reply = Buffer.from(server.publicValue);
  reply[10] = (reply[10] as number) ^ 1;
  const k = client.agree(reply);
  assert.equal(k.length, 68);
  assert.notDeepEqual(k, server.k);
});

test('a low-order X25519 value (all-zero shared secret) is refused on both sides', () => {
  const zero = Buffer.alloc(32);
  const c = Buffer.from(sntrup761x25519ClientKeyPair().publicValue);
  zero.copy(c, 1158);
  assert.throws(() => sntrup761x25519Respond(c), KEX_FAILED);
  const client = sntrup761x25519ClientKeyPair();
  const reply = Buffer.from(sntrup761x25519Respond(client.publicValue).publicValue);
  zero.copy(reply, 1039);
  assert.throws(() => client.agree(reply), KEX_FAILED);
});

test('table rows: both names, after mlkem768x25519 and before curve25519 (OpenSSH 10 order), kem, sha512', () => {
  assert.deepEqual(DEFAULT_ALGORITHMS.kex.slice(0, 4), ['mlkem768x25519-sha256', ...NAMES, 'curve25519-sha256']);
  assert.deepEqual(
    KEX_METHODS.slice(0, 4).map((k) => k.name),
    DEFAULT_ALGORITHMS.kex.slice(0, 4),
  );
  for (const name of NAMES) {
    const row = kexInfo(name);
    assert.ok(row?.respond);
    assert.equal(row.type, 'kem');
    assert.equal(row.hash, 'sha512');
    assert.equal(row.insecure, false);
    const c = row.generate();
    const r = row.respond(c.publicValue);
    assert.deepEqual(c.agree(r.publicValue), r.k);
  }
});

for (const name of NAMES) {
  test(`${name}: messages 30/31 carry C_INIT/S_REPLY as strings; H is SHA-512 over K as a string`, () => {
    checkHybridExchange(name, 'sha512', 1190, 1071);
  });
  test(`${name}: ClientKex/ServerKex refuse C_INIT and S_REPLY of the wrong length`, () => {
    checkHybridWrongLengths(name, 1190, 1071);
  });
}
