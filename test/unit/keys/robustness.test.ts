/** Mutated inputs: parsers throw only their own error types, and verify() never throws. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyError, KeyPassphraseError } from '../../../src/errors.js';
import { generatePrivateKey, PublicKey, parsePrivateKey, parsePublicKey } from '../../../src/keys/index.js';

/** Small deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(src: Buffer, rand: () => number): Buffer {
  const b = Buffer.from(src);
  const op = Math.floor(rand() * 4);
  const at = Math.floor(rand() * b.length);
  if (op === 0) b[at] = Math.floor(rand() * 256);
  else if (op === 1) return b.subarray(0, at);
  else if (op === 2) return Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(rand() * 256)]), b.subarray(at)]);
  else b.writeUInt32BE(Math.floor(rand() * 4294967296), Math.min(at, b.length - 4));
  return b;
}

const keys = [
  generatePrivateKey('ed25519', { comment: 'a' }),
  generatePrivateKey('ecdsa', { bits: 256 }),
  generatePrivateKey('ecdsa', { bits: 521 }),
  generatePrivateKey('rsa', { bits: 1024 }),
];

test('mutated public key blobs throw only KeyError', () => {
  const rand = rng(1);
  for (const k of keys) {
    for (let i = 0; i < 400; i++) {
      const b = mutate(k.publicKey.blob, rand);
      try {
        PublicKey.fromBlob(b);
        parsePublicKey(b);
      } catch (e) {
        assert.ok(e instanceof KeyError, `unexpected ${String(e)}`);
      }
    }
  }
});

test('mutated signatures never make verify() throw, and never verify', () => {
  const rand = rng(2);
  const data = Buffer.from('data');
  for (const k of keys) {
    for (const alg of k.publicKey.signatureAlgorithms) {
      const sig = k.signSync(data, alg);
      for (let i = 0; i < 150; i++) {
        const m = mutate(sig, rand);
        const ok = k.publicKey.verify(data, m, alg);
        if (ok) assert.ok(m.equals(sig), `mutated ${alg} signature verified`);
      }
    }
  }
});

test('mutated OpenSSH private key files throw only KeyError / KeyPassphraseError', () => {
  const rand = rng(3);
  for (const k of keys) {
    const raw = Buffer.from(
      k
        .toOpenSSH()
        .replace(/-----[^-]+-----/g, '')
        .replace(/\s+/g, ''),
      'base64',
    );
    for (let i = 0; i < 200; i++) {
      const text = `-----BEGIN OPENSSH PRIVATE KEY-----\n${mutate(raw, rand).toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
      try {
        const p = parsePrivateKey(text);
        // A mutation that still parses may only have touched the comment or the random check-ints.
        assert.ok(p.publicKey.equals(k.publicKey));
      } catch (e) {
        assert.ok(e instanceof KeyError || e instanceof KeyPassphraseError, `unexpected ${String(e)}`);
      }
    }
  }
});
