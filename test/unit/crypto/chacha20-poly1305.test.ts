import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createOpener, createSealer } from '../../../src/crypto/cipher.js';
import { setPoly1305Fallback } from '../../../src/crypto/poly1305.js';
import type { DirectionKeys } from '../../../src/crypto/types.js';
import { MacError } from '../../../src/errors.js';
import { reference } from './poly1305-reference.js';

/** ChaCha20 keystream as OpenSSH defines it: 64-bit LE block counter, 64-bit nonce (seq, BE). */
function keystream(key: Buffer, seq: number, counter: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32LE(counter, 0);
  iv.writeUInt32BE(seq, 12);
  return createCipheriv('chacha20', key, iv).update(Buffer.alloc(length));
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

/** PROTOCOL.chacha20poly1305, computed step by step from the spec with an independent Poly1305. */
function expectedSeal(key: Buffer, seq: number, packet: Buffer): Buffer {
  const k2 = key.subarray(0, 32);
  const k1 = key.subarray(32, 64);
  const encLen = xor(packet.subarray(0, 4), keystream(k1, seq, 0, 4));
  const polyKey = keystream(k2, seq, 0, 32);
  const body = xor(packet.subarray(4), keystream(k2, seq, 1, packet.length - 4));
  const ct = Buffer.concat([encLen, body]);
  return Buffer.concat([ct, reference(polyKey, ct)]);
}

function keys(key: Buffer): DirectionKeys {
  return { cipher: 'chacha20-poly1305@openssh.com', mac: '', key, iv: Buffer.alloc(0), macKey: Buffer.alloc(0) };
}

test('the 16-byte node IV (counter LE || 0 || seq BE) equals the 64-bit-counter construction', () => {
  // Block 1 with counter in IV bytes 0..3 must equal bytes 64..127 of the stream at counter 0.
  const k = randomBytes(32);
  assert.deepEqual(keystream(k, 9, 1, 64), keystream(k, 9, 0, 128).subarray(64));
});

test('seal matches the spec computed independently, for many sequence numbers and sizes', () => {
  const key = randomBytes(64);
  const s = createSealer(keys(key));
  assert.equal(s.blockSize, 8);
  assert.equal(s.macLength, 16);
  assert.equal(s.lengthExcludedFromPadding, true);
  for (const [seq, size] of [
    [0, 8],
    [1, 16],
    [2, 24],
    [0x7fffffff, 64],
    [0x80000000, 1000],
    [0x01020304, 40],
    [7, 248],
    [8, 256],
    [9, 760],
    [10, 768],
    [11, 776],
    [0xa1b2c3d4, 4096],
    [0xffffffff, 32768],
  ] as const) {
    const packet = randomBytes(4 + size);
    packet.writeUInt32BE(size, 0);
    assert.deepEqual(s.seal(seq, packet), expectedSeal(key, seq, packet), `seq ${seq}`);
  }
});

test('opener: length decrypted with K_1, tag checked before decryption, tampering fails', () => {
  const key = randomBytes(64);
  const o = createOpener(keys(key));
  const packet = randomBytes(4 + 48);
  packet.writeUInt32BE(48, 0);
  const wire = expectedSeal(key, 42, packet);
  assert.equal(o.headerLength, 4);
  assert.equal(o.packetLength(42, wire.subarray(0, 4)), 48);
  assert.deepEqual(o.open(42, wire), packet.subarray(4));
  for (let i = 0; i < wire.length; i++) {
    const bad = Buffer.from(wire);
    bad[i] = (bad[i] as number) ^ 0x80;
    assert.throws(() => o.open(42, bad), MacError, `byte ${i}`);
  }
  assert.throws(() => o.open(43, wire), MacError);
});

test('interleaved sealers and openers (shared Poly1305 WebAssembly state) on both Poly1305 backends', () => {
  for (const fallback of [false, true]) {
    setPoly1305Fallback(fallback);
    try {
      const k1 = randomBytes(64);
      const k2 = randomBytes(64);
      const [s1, s2] = [createSealer(keys(k1)), createSealer(keys(k2))];
      const [o1, o2] = [createOpener(keys(k1)), createOpener(keys(k2))];
      for (let seq = 0xfffffff0; seq < 0xfffffff0 + 40; seq++) {
        const n = seq >>> 0;
        const size = 8 * (1 + ((n * 7) % 300));
        const p1 = randomBytes(4 + size);
        const p2 = randomBytes(4 + size + 8);
        p1.writeUInt32BE(size, 0);
        p2.writeUInt32BE(size + 8, 0);
        const w1 = s1.seal(n, p1);
        const w2 = s2.seal(n, p2);
        assert.deepEqual(w1, expectedSeal(k1, n, p1), `seq ${n}`);
        assert.deepEqual(w2, expectedSeal(k2, n, p2), `seq ${n}`);
        assert.equal(o2.packetLength(n, w2.subarray(0, 4)), size + 8);
        assert.equal(o1.packetLength(n, w1.subarray(0, 4)), size);
        assert.deepEqual(o2.open(n, w2), p2.subarray(4));
        assert.deepEqual(o1.open(n, w1), p1.subarray(4));
        assert.throws(() => o1.open(n, w2), MacError);
      }
    } finally {
      setPoly1305Fallback(false);
    }
  }
});
