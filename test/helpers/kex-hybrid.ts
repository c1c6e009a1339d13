/**
 * Checks shared by the post-quantum hybrid KEX unit tests (kex-mlkem, kex-sntrup): the RFC 7748 X25519
 * vector, and one ClientKex/ServerKex exchange whose messages 30/31 carry C_INIT/S_REPLY as strings
 * and whose exchange hash and key derivation take K as a string.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { deriveKey } from '../../src/crypto/kex.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import type { HashPrefix } from '../../src/transport/kex-exchange.js';
import { ClientKex, ServerKex } from '../../src/transport/kex-exchange.js';
import { SshReader, SshWriter } from '../../src/wire/index.js';

const hex = (s: string) => Buffer.from(s, 'hex');

/** RFC 7748 §6.1 X25519 test vector (Alice as client, Bob as server). */
export const RFC7748 = {
  alicePrivate: hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'),
  alicePublic: hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'),
  bobPrivate: hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'),
  bobPublic: hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'),
  shared: hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'),
};

/** A KEY_EXCHANGE_FAILED ProtocolError, as assert.throws matches it. */
export const KEX_FAILED = { code: 'ERR_SSH_PROTOCOL', reason: 3 };

/** `b` as an SSH string (uint32 length || bytes). */
export function stringOf(b: Uint8Array): Buffer {
  return Buffer.from(new SshWriter(b.length + 4).string(b).toBuffer());
}

export const PREFIX: HashPrefix = {
  clientVersion: 'SSH-2.0-client',
  serverVersion: 'SSH-2.0-server',
  clientKexInit: Buffer.from([20, 1, 2, 3]),
  serverKexInit: Buffer.from([20, 4, 5, 6]),
};

/**
 * Runs `name` through ClientKex/ServerKex: C_INIT of `initLength` and S_REPLY of `replyLength` bytes as
 * strings, both sides agree on K (a string of the hash's length) and H = HASH(V_C, V_S, I_C, I_S, K_S,
 * C_INIT, S_REPLY, K as a string), and key derivation hashes K as a string.
 */
export function checkHybridExchange(name: string, hash: 'sha256' | 'sha512', initLength: number, replyLength: number) {
  const hostKey = generatePrivateKey('ed25519');
  const client = new ClientKex(name, 'ssh-ed25519', PREFIX);
  const server = new ServerKex(name, hostKey, 'ssh-ed25519', PREFIX);
  const init = client.start();
  assert.equal(init[0], 30);
  assert.equal(init.length, 1 + 4 + initLength);
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
  assert.equal(sReply.length, replyLength);
  const cOut = client.handle(reply);
  assert.ok('result' in cOut);
  const { k, h } = cOut.result;
  assert.deepEqual(k, sOut.result.k);
  assert.deepEqual(h, sOut.result.h);
  const digestLength = hash === 'sha256' ? 32 : 64;
  assert.equal(k.length, 4 + digestLength);
  assert.equal(k.readUInt32BE(0), digestLength, 'K is a string, not an mpint');
  const expectedH = createHash(hash)
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
  const expectedIv = createHash(hash).update(k).update(h).update('A').update(h).digest().subarray(0, 16);
  assert.deepEqual(deriveKey(hash, k, h, 'A', h, 16), expectedIv);
}

/**
 * ServerKex refuses a C_INIT one byte short (KEY_EXCHANGE_FAILED) and one over the transport's 4096-byte
 * cap; ClientKex refuses an S_REPLY one byte long.
 */
export function checkHybridWrongLengths(name: string, initLength: number, replyLength: number) {
  const hostKey = generatePrivateKey('ed25519');
  const server = new ServerKex(name, hostKey, 'ssh-ed25519', PREFIX);
  const shortInit = new SshWriter()
    .byte(30)
    .string(Buffer.alloc(initLength - 1, 7))
    .toBuffer();
  assert.throws(() => server.handle(shortInit), KEX_FAILED);
  const hugeInit = new SshWriter().byte(30).string(Buffer.alloc(5000, 7)).toBuffer();
  assert.throws(() => server.handle(hugeInit), { code: 'ERR_SSH_PROTOCOL' });
  const client = new ClientKex(name, 'ssh-ed25519', PREFIX);
  client.start();
  const badReply = new SshWriter()
    .byte(31)
    .string(hostKey.publicKey.blob)
    .string(Buffer.alloc(replyLength + 1, 7))
    .string(Buffer.alloc(83))
    .toBuffer();
  assert.throws(() => client.handle(badReply), KEX_FAILED);
}
