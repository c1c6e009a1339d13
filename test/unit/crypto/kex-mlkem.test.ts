import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { test } from 'node:test';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { DEFAULT_ALGORITHMS } from '../../../src/crypto/algorithms.js';
import { deriveKey, KEX_METHODS, kexInfo } from '../../../src/crypto/kex.js';
import {
  MLKEM768_CIPHERTEXT_LENGTH,
  MLKEM768_PUBLIC_KEY_LENGTH,
  MLKEM768X25519_CLIENT_LENGTH,
  MLKEM768X25519_SERVER_LENGTH,
  mlkem768x25519ClientKeyPair,
  mlkem768x25519Respond,
} from '../../../src/crypto/kex-mlkem.js';
import { generatePrivateKey } from '../../../src/keys/index.js';
import type { HashPrefix } from '../../../src/transport/kex-exchange.js';
import { ClientKex, ServerKex } from '../../../src/transport/kex-exchange.js';
import { SshReader, SshWriter } from '../../../src/wire/index.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const KEX_FAILED = { code: 'ERR_SSH_PROTOCOL', reason: 3 };

// RFC 7748 §6.1 X25519 test vector (Alice as client, Bob as server).
const ALICE_PRIVATE = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
const ALICE_PUBLIC = hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
const BOB_PRIVATE = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
const BOB_PUBLIC = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
const X25519_SHARED = hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');

const SEED = Buffer.alloc(64, 0).map((_, i) => i);
const M = Buffer.alloc(32, 0).map((_, i) => 0xa0 + i);

function stringOf(b: Uint8Array): Buffer {
  return Buffer.from(new SshWriter(b.length + 4).string(b).toBuffer());
}

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

const PREFIX: HashPrefix = {
  clientVersion: 'SSH-2.0-client',
  serverVersion: 'SSH-2.0-server',
  clientKexInit: Buffer.from([20, 1, 2, 3]),
  serverKexInit: Buffer.from([20, 4, 5, 6]),
};

test('ClientKex/ServerKex: messages 30/31 carry C_INIT/S_REPLY as strings; H and key derivation hash K as a string', () => {
  const hostKey = generatePrivateKey('ed25519');
  const client = new ClientKex('mlkem768x25519-sha256', 'ssh-ed25519', PREFIX);
  const server = new ServerKex('mlkem768x25519-sha256', hostKey, 'ssh-ed25519', PREFIX);
  const init = client.start();
  assert.equal(init[0], 30);
  assert.equal(init.length, 1 + 4 + 1216);
  const cInit = new SshReader(init, 1).string(4096);
  const sOut = server.handle(init);
  assert.ok(sOut.result);
  const reply = sOut.send;
  assert.equal(reply[0], 31);
  const r = new SshReader(reply, 1);
  const ks = r.string(4096);
  const sReply = r.string(4096);
  r.string(4096);
  r.ensureEnd('reply');
  assert.equal(sReply.length, 1120);
  const cOut = client.handle(reply);
  assert.ok('result' in cOut);
  const { k, h } = cOut.result;
  assert.deepEqual(k, sOut.result.k);
  assert.deepEqual(h, sOut.result.h);
  assert.equal(k.length, 36);
  assert.equal(k.readUInt32BE(0), 32);

  const expectedH = createHash('sha256')
    .update(
      new SshWriter()
        .string(PREFIX.clientVersion)
        .string(PREFIX.serverVersion)
        .string(PREFIX.clientKexInit)
        .string(PREFIX.serverKexInit)
        .string(ks)
        .string(cInit)
        .string(sReply)
        .string(k.subarray(4))
        .toBuffer(),
    )
    .digest();
  assert.deepEqual(h, expectedH);
  const expectedIv = createHash('sha256').update(k).update(h).update('A').update(h).digest();
  assert.deepEqual(deriveKey('sha256', k, h, 'A', h, 32), expectedIv);
});

test('ClientKex/ServerKex refuse C_INIT and S_REPLY of the wrong length', () => {
  const hostKey = generatePrivateKey('ed25519');
  const server = new ServerKex('mlkem768x25519-sha256', hostKey, 'ssh-ed25519', PREFIX);
  const shortInit = new SshWriter().byte(30).string(Buffer.alloc(1215, 7)).toBuffer();
  assert.throws(() => server.handle(shortInit), KEX_FAILED);
  const hugeInit = new SshWriter().byte(30).string(Buffer.alloc(5000, 7)).toBuffer();
  assert.throws(() => server.handle(hugeInit), { code: 'ERR_SSH_PROTOCOL' });

  const client = new ClientKex('mlkem768x25519-sha256', 'ssh-ed25519', PREFIX);
  client.start();
  const badReply = new SshWriter()
    .byte(31)
    .string(hostKey.publicKey.blob)
    .string(Buffer.alloc(1121, 7))
    .string(Buffer.alloc(83))
    .toBuffer();
  assert.throws(() => client.handle(badReply), KEX_FAILED);
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
