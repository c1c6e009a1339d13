import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { deriveKey, hashParts } from '../../../src/crypto/kdf.js';
import type { HashName } from '../../../src/crypto/types.js';

const K = Buffer.from('00000021008a7c3f1e2d4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1', 'hex');
const H = createHash('sha256').update('exchange hash').digest();
const SESSION = createHash('sha256').update('first exchange hash').digest();

/** RFC 4253 §7.2 written out longhand with createHash. */
function reference(hash: HashName, letter: string, length: number): Buffer {
  let out = createHash(hash)
    .update(Buffer.concat([K, H, Buffer.from(letter), SESSION]))
    .digest();
  while (out.length < length)
    out = Buffer.concat([
      out,
      createHash(hash)
        .update(Buffer.concat([K, H, out]))
        .digest(),
    ]);
  return out.subarray(0, length);
}

test('hashParts hashes the concatenation of its parts', () => {
  const parts = [Buffer.from('abc'), new Uint8Array([1, 2, 3]), Buffer.alloc(0), Buffer.from('xyz')];
  for (const hash of ['sha1', 'sha256', 'sha384', 'sha512'] as const) {
    const expected = createHash(hash).update(Buffer.concat(parts)).digest();
    assert.deepEqual(hashParts(hash, parts), expected);
  }
  assert.equal(
    hashParts('sha256', []).toString('hex'),
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  );
});

test('deriveKey matches a longhand RFC 4253 §7.2 computation for every hash, letter and length', () => {
  for (const hash of ['sha1', 'sha256', 'sha384', 'sha512'] as const) {
    for (const letter of ['A', 'B', 'C', 'D', 'E', 'F'] as const) {
      for (const length of [0, 1, 12, 16, 20, 32, 48, 64, 65, 100, 128]) {
        const got = deriveKey(hash, K, H, letter, SESSION, length);
        assert.equal(got.length, length);
        assert.deepEqual(got, reference(hash, letter, length), `${hash} ${letter} ${length}`);
      }
    }
  }
});

test('deriveKey: letters give different keys; a longer key extends a shorter one', () => {
  const a = deriveKey('sha256', K, H, 'A', SESSION, 64);
  const b = deriveKey('sha256', K, H, 'B', SESSION, 64);
  assert.notDeepEqual(a, b);
  assert.deepEqual(deriveKey('sha256', K, H, 'A', SESSION, 40), a.subarray(0, 40));
  // first block is K1 exactly, the second is HASH(K || H || K1)
  const k1 = createHash('sha256')
    .update(Buffer.concat([K, H, Buffer.from('A'), SESSION]))
    .digest();
  assert.deepEqual(a.subarray(0, 32), k1);
  assert.deepEqual(
    a.subarray(32),
    createHash('sha256')
      .update(Buffer.concat([K, H, k1]))
      .digest(),
  );
});

test('deriveKey rejects bad letters and lengths', () => {
  assert.throws(() => deriveKey('sha256', K, H, 'G' as 'A', SESSION, 16), { code: 'ERR_SSH_INVALID_ARGUMENT' });
  assert.throws(() => deriveKey('sha256', K, H, 'A', SESSION, -1), { code: 'ERR_SSH_INVALID_ARGUMENT' });
  assert.throws(() => deriveKey('sha256', K, H, 'A', SESSION, 1.5), { code: 'ERR_SSH_INVALID_ARGUMENT' });
  assert.throws(() => deriveKey('sha256', K, H, 'A', SESSION, 1 << 20), { code: 'ERR_SSH_INVALID_ARGUMENT' });
});

test('deriveKey returns each key in memory of its own, never in the shared Buffer pool', () => {
  for (const length of [16, 32, 64]) {
    const key = deriveKey('sha256', K, H, 'C', SESSION, length);
    assert.deepEqual(key, reference('sha256', 'C', length));
    assert.equal(key.byteOffset, 0);
    assert.equal(key.buffer.byteLength, length, 'a pooled key would share a larger ArrayBuffer');
  }
});
