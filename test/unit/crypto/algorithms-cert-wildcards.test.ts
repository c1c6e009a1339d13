import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CERTIFICATE_HOST_KEY_ALGORITHMS,
  DEFAULT_ALGORITHMS,
  resolveAlgorithmList,
} from '../../../src/crypto/algorithms.js';
import { InvalidArgumentError } from '../../../src/errors.js';

const CERTS = [...CERTIFICATE_HOST_KEY_ALGORITHMS];
const HK = [...DEFAULT_ALGORITHMS.hostKey];

test('hostKey wildcards match the certificate algorithms', () => {
  assert.deepEqual(resolveAlgorithmList('hostKey', '*-cert-v01@openssh.com'), CERTS);
  assert.deepEqual(resolveAlgorithmList('hostKey', '^*-cert-v01@openssh.com'), [...CERTS, ...HK]);
  assert.deepEqual(resolveAlgorithmList('hostKey', '+ssh-ed25519-cert*'), [...HK, 'ssh-ed25519-cert-v01@openssh.com']);
  assert.deepEqual(resolveAlgorithmList('hostKey', 'ecdsa-sha2-nistp2??-cert-v01@openssh.com'), [
    'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  ]);
  const rsa = resolveAlgorithmList('hostKey', 'rsa-sha2-*');
  for (const n of [
    'rsa-sha2-512',
    'rsa-sha2-256',
    'rsa-sha2-512-cert-v01@openssh.com',
    'rsa-sha2-256-cert-v01@openssh.com',
  ])
    assert.ok(rsa.includes(n), n);
  const all = resolveAlgorithmList('hostKey', '*');
  for (const n of [...CERTS, ...HK]) assert.ok(all.includes(n), n);
  // Explicit names keep working; wildcards never invent names for other kinds.
  assert.deepEqual(resolveAlgorithmList('hostKey', 'ssh-ed25519-cert-v01@openssh.com,ssh-ed25519'), [
    'ssh-ed25519-cert-v01@openssh.com',
    'ssh-ed25519',
  ]);
  assert.throws(() => resolveAlgorithmList('cipher', '*-cert-v01@openssh.com'), InvalidArgumentError);
  assert.throws(() => resolveAlgorithmList('hostKey', 'ssh-dss-cert-v01@openssh.com'), InvalidArgumentError);
});

test('edits apply to a given base list (a server with host certificates)', () => {
  const base = [...CERTS, ...HK];
  assert.deepEqual(resolveAlgorithmList('hostKey', undefined, base), base);
  assert.deepEqual(resolveAlgorithmList('hostKey', '-*-cert-v01@openssh.com', base), HK);
  assert.deepEqual(
    resolveAlgorithmList('hostKey', '-rsa-sha2-*', base),
    base.filter((n) => !n.startsWith('rsa-sha2-')),
  );
  assert.deepEqual(resolveAlgorithmList('hostKey', '^ssh-ed25519', base), [
    'ssh-ed25519',
    ...base.filter((n) => n !== 'ssh-ed25519'),
  ]);
  assert.deepEqual(resolveAlgorithmList('hostKey', '+ssh-ed25519-cert*', base), base);
  // The default base is untouched by a call with another one.
  assert.deepEqual(resolveAlgorithmList('hostKey', undefined), HK);
});
