/** known_hosts policy for host certificates: @cert-authority, @revoked, principal/type/validity, algorithm preference. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KnownHosts, knownHostsVerifier, preferKnownHostKeyAlgorithms } from '../../../src/config/index.js';
import { HostKeyError } from '../../../src/errors.js';
import { generatePrivateKey, issueCertificate } from '../../../src/keys/index.js';

const ca = generatePrivateKey('ed25519');
const hostKey = generatePrivateKey('ecdsa', { bits: 256 });

function verifier(text: string, mode: 'strict' | 'off' = 'strict') {
  return knownHostsVerifier({ files: [new KnownHosts(text)], mode, host: 'db.example', port: 22 });
}

test('a host certificate from a @cert-authority CA is accepted; principal, type, expiry and CA are checked', async () => {
  const caLine = `@cert-authority *.example ${ca.publicKey.toString()}\n`;
  const good = await issueCertificate(ca, hostKey.publicKey, { type: 'host', keyId: 'h', principals: ['db.example'] });
  await verifier(caLine)(hostKey.publicKey, good);
  const bad = [
    await issueCertificate(ca, hostKey.publicKey, { type: 'host', keyId: 'h', principals: ['web.example'] }),
    await issueCertificate(ca, hostKey.publicKey, { type: 'user', keyId: 'h', principals: ['db.example'] }),
    await issueCertificate(ca, hostKey.publicKey, {
      type: 'host',
      keyId: 'h',
      validBefore: new Date(Date.now() - 1000),
    }),
  ];
  for (const cert of bad) await assert.rejects(verifier(caLine)(hostKey.publicKey, cert), HostKeyError);
  // Another CA: falls back to the plain key, which is unknown.
  const other = await issueCertificate(generatePrivateKey('ed25519'), hostKey.publicKey, { type: 'host', keyId: 'h' });
  await assert.rejects(verifier(caLine)(hostKey.publicKey, other), /unknown host key/);
  // ...and a known plain key still matches.
  await verifier(`${caLine}db.example ${hostKey.publicKey.toString()}\n`)(hostKey.publicKey, other);
  // @revoked CA or certified key refuses even with a good certificate.
  await assert.rejects(
    verifier(`${caLine}@revoked * ${ca.publicKey.toString()}\n`)(hostKey.publicKey, good),
    /revoked/,
  );
  await assert.rejects(
    verifier(`${caLine}@revoked * ${hostKey.publicKey.toString()}\n`)(hostKey.publicKey, good),
    /revoked/,
  );
  // A CA line for another host does not apply.
  await assert.rejects(verifier(`@cert-authority *.other ${ca.publicKey.toString()}\n`)(hostKey.publicKey, good));
});

test('certificate host key algorithms are asked for first only when a @cert-authority line matches', () => {
  const algs = ['ssh-ed25519', 'rsa-sha2-512'];
  const files = [new KnownHosts(`@cert-authority *.example ${ca.publicKey.toString()}\n`)];
  assert.deepEqual(preferKnownHostKeyAlgorithms(algs, files, 'db.example', 22), [
    'ssh-ed25519-cert-v01@openssh.com',
    'rsa-sha2-512-cert-v01@openssh.com',
    'ssh-ed25519',
    'rsa-sha2-512',
  ]);
  assert.deepEqual(preferKnownHostKeyAlgorithms(algs, files, 'db.other', 22), algs);
});
