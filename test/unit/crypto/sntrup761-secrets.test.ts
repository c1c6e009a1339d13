/**
 * sntrup761 leaves no copy of a shared key behind in memory it does not own. Node's Buffer pool (the
 * 8 KiB slab that Buffer.from and Buffer.allocUnsafe slice small buffers from) outlives any one buffer:
 * a secret copied there stays readable through every other slice of the slab until the slab is
 * collected, and nothing ever wipes it. The keys the KEM returns are the caller's to wipe; copies
 * made on the way must not land in the pool.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sntrup761Decapsulate, sntrup761Encapsulate, sntrup761KeyPair } from '../../../src/crypto/sntrup761.js';

/** The slab Node currently slices small buffers from (Buffer.allocUnsafe(1) is a view into it). */
function currentPool(): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafe(1).buffer);
}

/** Whether `needle` occurs in `haystack` (compared in place: no copy of the needle is made). */
function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

test('encapsulation leaves no copy of the shared key in the Buffer pool', () => {
  const { publicKey } = sntrup761KeyPair();
  const { sharedKey } = sntrup761Encapsulate(publicKey);
  assert.equal(contains(currentPool(), sharedKey), false);
});

test('decapsulation of a valid ciphertext leaves no copy of the shared key in the Buffer pool', () => {
  const { publicKey, secretKey } = sntrup761KeyPair();
  const { ciphertext } = sntrup761Encapsulate(publicKey);
  const key = sntrup761Decapsulate(ciphertext, secretKey);
  assert.equal(contains(currentPool(), key), false);
});

test('decapsulation of a rejected ciphertext leaves no copy of the rho-derived key in the Buffer pool', () => {
  const { publicKey, secretKey } = sntrup761KeyPair();
  const { ciphertext } = sntrup761Encapsulate(publicKey);
  const bad = Uint8Array.from(ciphertext);
  bad[0] = (bad[0] as number) ^ 1;
  const key = sntrup761Decapsulate(bad, secretKey);
  assert.equal(contains(currentPool(), key), false);
});
