import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_ALGORITHMS, resolveAlgorithmList } from '../../../src/crypto/algorithms.js';
import { InvalidArgumentError } from '../../../src/errors.js';

test('OpenSSH-style edits of the defaults', () => {
  assert.deepEqual(resolveAlgorithmList('cipher', undefined), DEFAULT_ALGORITHMS.cipher);
  assert.deepEqual(resolveAlgorithmList('cipher', '+3des-cbc').at(-1), '3des-cbc');
  assert.ok(!resolveAlgorithmList('cipher', '-aes128-gcm@openssh.com').includes('aes128-gcm@openssh.com'));
  assert.equal(resolveAlgorithmList('cipher', '^aes256-ctr')[0], 'aes256-ctr');
  assert.deepEqual(resolveAlgorithmList('mac', 'hmac-sha1,hmac-sha2-256'), ['hmac-sha1', 'hmac-sha2-256']);
  assert.deepEqual(resolveAlgorithmList('cipher', ['aes128-ctr']), ['aes128-ctr']);
  assert.ok(resolveAlgorithmList('kex', '-*sha1').every((n) => !n.endsWith('sha1')));
  assert.ok(resolveAlgorithmList('cipher', '-aes*').every((n) => !n.startsWith('aes')));
});

test('unknown names are rejected', () => {
  assert.throws(() => resolveAlgorithmList('cipher', 'rot13'), InvalidArgumentError);
  assert.throws(() => resolveAlgorithmList('kex', '+nope'), InvalidArgumentError);
});
