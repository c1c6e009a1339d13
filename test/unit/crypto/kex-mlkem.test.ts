import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { test } from 'node:test';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { DEFAULT_ALGORITHMS } from '../../../src/crypto/algorithms.js';
import { KEX_METHODS, kexInfo } from '../../../src/crypto/kex.js';
import {
  MLKEM768_CIPHERTEXT_LENGTH,
  MLKEM768_PUBLIC_KEY_LENGTH,
  MLKEM768X25519_CLIENT_LENGTH,
  MLKEM768X25519_SERVER_LENGTH,
  mlkem768x25519ClientKeyPair,
  mlkem768x25519Respond,
} from '../../../src/crypto/kex-mlkem.js';
import {
  checkHybridExchange,
  checkHybridWrongLengths,
  KEX_FAILED,
  RFC7748,
  stringOf,
} from '../../helpers/kex-hybrid.js';

const {
  alicePrivate: ALICE_PRIVATE,
  alicePublic: ALICE_PUBLIC,
  bobPrivate: BOB_PRIVATE,
  bobPublic: BOB_PUBLIC,
} = RFC7748;
const X25519_SHARED = RFC7748.shared;
const hex = (s: string) => Buffer.from(s, 'hex');

const SEED = Buffer.alloc(64, 0).map((_, i) => i);
const M = Buffer.alloc(32, 0).map((_, i) => 0xa0 + i);

test('sizes: C_INIT is 1216 bytes, S_REPLY 1120, K a 32-byte string, and both sides agree', () => {
  assert.equal(MLKEM768X25519_CLIENT_LENGTH, 1184 + 32);
  assert.equal(MLKEM768X25519_SERVER_LENGTH, 1088 + 32);
  const client = mlkem768x25519ClientKeyPair();
  assert.equal(client.publicValue.length, 1216);
  const server = mlkem768x25519Respond(client.publicValue);
  assert.equal(server.publicValue.length, 1120);
  assert.equal(server.k.length, 36);
  assert.equal(server.k.readUInt32BE(0), 32, 'K is a string of 32 bytes, not an mpint');
  assert.deepEqual(client.agree(server.publicValue), server.k);
  const other = mlkem768x25519ClientKeyPair();
  assert.notDeepEqual(other.publicValue, client.publicValue);
});

test('fixed randomness: the hybrid is ML-KEM-768 || X25519 (RFC 7748 vector) and K = SHA-256(K_pq || K_cl)', () => {
  const client = mlkem768x25519ClientKeyPair({ mlkemSeed: SEED, x25519Private: ALICE_PRIVATE });
  const { publicKey, secretKey } = ml_kem768.keygen(Uint8Array.from(SEED));
  assert.deepEqual(client.publicValue.subarray(0, MLKEM768_PUBLIC_KEY_LENGTH), Buffer.from(publicKey));
  assert.deepEqual(client.publicValue.subarray(MLKEM768_PUBLIC_KEY_LENGTH), ALICE_PUBLIC);

  const server = mlkem768x25519Respond(client.publicValue, { encapsulation: M, x25519Private: BOB_PRIVATE });
  const enc = ml_kem768.encapsulate(publicKey, Uint8Array.from(M));
  assert.deepEqual(server.publicValue.subarray(0, MLKEM768_CIPHERTEXT_LENGTH), Buffer.from(enc.cipherText));
  assert.deepEqual(server.publicValue.subarray(MLKEM768_CIPHERTEXT_LENGTH), BOB_PUBLIC);
  assert.deepEqual(Buffer.from(ml_kem768.decapsulate(enc.cipherText, secretKey)), Buffer.from(enc.sharedSecret));

  const expected = stringOf(createHash('sha256').update(enc.sharedSecret).update(X25519_SHARED).digest());
  assert.deepEqual(server.k, expected);
  assert.deepEqual(client.agree(server.publicValue), expected);
  // deterministic under fixed randomness
  const again = mlkem768x25519Respond(client.publicValue, { encapsulation: M, x25519Private: BOB_PRIVATE });
  assert.deepEqual(again.publicValue, server.publicValue);
});

test('fixed randomness of the wrong size is refused', () => {
  assert.throws(() => mlkem768x25519ClientKeyPair({ mlkemSeed: Buffer.alloc(32) }), {
    code: 'ERR_SSH_INVALID_ARGUMENT',
  });
  const c = mlkem768x25519ClientKeyPair();
  assert.throws(() => mlkem768x25519Respond(c.publicValue, { encapsulation: Buffer.alloc(31) }), {
    code: 'ERR_SSH_INVALID_ARGUMENT',
  });
});

test('wrong lengths are a KEY_EXCHANGE_FAILED ProtocolError on both sides', () => {
  const client = mlkem768x25519ClientKeyPair();
  for (const n of [0, 32, 1184, 1215, 1217, 1120, 2432]) {
    assert.throws(() => mlkem768x25519Respond(Buffer.alloc(n, 1)), KEX_FAILED, `C_INIT of ${n}`);
  }
  const reply = mlkem768x25519Respond(client.publicValue).publicValue;
  for (const n of [0, 32, 1088, 1119, 1121, 1216]) {
    assert.throws(() => client.agree(Buffer.alloc(n, 1)), KEX_FAILED, `S_REPLY of ${n}`);
  }
  // a rejected length does not consume the keypair
  assert.equal(client.agree(reply).length, 36);
});

test('a keypair serves one exchange only (its ML-KEM secret is wiped)', () => {
  const client = mlkem768x25519ClientKeyPair();
  const reply = mlkem768x25519Respond(client.publicValue).publicValue;
  client.agree(reply);
  assert.throws(() => client.agree(reply), KEX_FAILED);
});

test('an invalid ML-KEM key (coefficient >= q) is refused by the server', () => {
  const c = Buffer.from(mlkem768x25519ClientKeyPair().publicValue);
  c[0] = 0xff; // first 12-bit coefficient becomes 0x?ff with high nibble from c[1]
  c[1] = (c[1] as number) | 0x0f; // = 0xfff = 4095 >= 3329
  assert.throws(() => mlkem768x25519Respond(c), KEX_FAILED);
});

test('a low-order X25519 value (all-zero shared secret) is refused on both sides', () => {
  const zero = Buffer.alloc(32);
  const c = Buffer.from(mlkem768x25519ClientKeyPair().publicValue);
  zero.copy(c, MLKEM768_PUBLIC_KEY_LENGTH);
  assert.throws(() => mlkem768x25519Respond(c), KEX_FAILED);
  const client = mlkem768x25519ClientKeyPair();
  const reply = Buffer.from(mlkem768x25519Respond(client.publicValue).publicValue);
  zero.copy(reply, MLKEM768_CIPHERTEXT_LENGTH);
  assert.throws(() => client.agree(reply), KEX_FAILED);
});

test('a tampered ciphertext gives a different K (implicit rejection), not an error', () => {
  const client = mlkem768x25519ClientKeyPair();
  const server = mlkem768x25519Respond(client.publicValue);
  const reply = Buffer.from(server.publicValue);
  reply[10] = (reply[10] as number) ^ 1;
  const k = client.agree(reply);
  assert.equal(k.length, 36);
  assert.notDeepEqual(k, server.k);
});

test('the table row: first by default (as in OpenSSH 10), type kem, sha256, generate() is the client, respond() the server', () => {
  assert.equal(DEFAULT_ALGORITHMS.kex[0], 'mlkem768x25519-sha256');
  assert.equal(KEX_METHODS[0]?.name, 'mlkem768x25519-sha256');
  const row = kexInfo('mlkem768x25519-sha256');
  assert.ok(row?.respond);
  assert.equal(row.type, 'kem');
  assert.equal(row.hash, 'sha256');
  assert.equal(row.insecure, false);
  const c = row.generate();
  const r = row.respond(c.publicValue);
  assert.deepEqual(c.agree(r.publicValue), r.k);
});

test('ClientKex/ServerKex: messages 30/31 carry C_INIT/S_REPLY as strings; H and key derivation hash K as a string', () => {
  checkHybridExchange('mlkem768x25519-sha256', 'sha256', 1216, 1120);
});

test('ClientKex/ServerKex refuse C_INIT and S_REPLY of the wrong length', () => {
  checkHybridWrongLengths('mlkem768x25519-sha256', 1216, 1120);
});

test('node X25519 agrees with the RFC 7748 vector used above', () => {
  const pkcs8 = Buffer.concat([hex('302e020100300506032b656e04220420'), ALICE_PRIVATE]);
  const spki = Buffer.concat([hex('302a300506032b656e032100'), BOB_PUBLIC]);
  const shared = diffieHellman({
    privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: spki, format: 'der', type: 'spki' }),
  });
  assert.deepEqual(shared, X25519_SHARED);
});
