/**
 * A `@revoked` known_hosts line that lists a certificate revokes its certified key, as OpenSSH compares
 * revoked entries by their public key (sshkey_equal_public): the hostbased check (knownClientHost) and
 * the client's host key lookup both refuse that key, with or without the certificate. The line was
 * dropped as unparseable, so the revoked host certificate still logged in by hostbased.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KnownHosts, knownClientHost } from '../../../src/config/index.js';
import { generatePrivateKey, issueCertificate } from '../../../src/keys/index.js';

const ca = generatePrivateKey('ed25519');
const host = generatePrivateKey('ed25519');
const other = generatePrivateKey('ecdsa', { bits: 256 });

test('a @revoked line with a host certificate revokes the certified key for hostbased and host key lookups', async () => {
  const cert = await issueCertificate(ca, host.publicKey, {
    type: 'host',
    keyId: 'kiosk',
    principals: ['kiosk.example'],
  });
  const otherCert = await issueCertificate(ca, other.publicKey, {
    type: 'host',
    keyId: 'o',
    principals: ['o.example'],
  });
  const caLine = `@cert-authority *.example ${ca.publicKey.type} ${ca.publicKey.blob.toString('base64')}`;
  const plainLine = `kiosk.example ${host.publicKey.type} ${host.publicKey.blob.toString('base64')}`;
  const claim = { clientHostname: 'kiosk.example', key: host.publicKey, hostCertificate: cert };
  const before = new KnownHosts([caLine, plainLine].join('\n'));
  assert.equal(knownClientHost(before, claim), true, 'accepted before the revocation');

  const kh = new KnownHosts(
    [caLine, plainLine, `@revoked * ${cert.certType} ${cert.blob.toString('base64')} gone`].join('\n'),
  );
  assert.equal(knownClientHost(kh, claim), false, 'the certificate');
  assert.equal(knownClientHost(kh, { clientHostname: 'kiosk.example', key: host.publicKey }), false, 'the plain key');
  assert.equal(kh.lookup('kiosk.example', 22, host.publicKey).status, 'revoked');
  // Another key certified by the same CA is not touched, and the file is written back as it was.
  assert.equal(
    knownClientHost(kh, { clientHostname: 'o.example', key: other.publicKey, hostCertificate: otherCert }),
    true,
  );
  assert.match(kh.toString(), /@revoked \* ssh-ed25519-cert-v01@openssh\.com \S+ gone/);
});

test('a certificate on a line without @revoked still matches nothing', async () => {
  const cert = await issueCertificate(ca, host.publicKey, { type: 'host', keyId: 'kiosk' });
  const kh = new KnownHosts(`kiosk.example ${cert.certType} ${cert.blob.toString('base64')}`);
  assert.equal(kh.entries.length, 0);
  assert.equal(knownClientHost(kh, { clientHostname: 'kiosk.example', key: host.publicKey }), false);
  assert.equal(kh.lookup('kiosk.example', 22, host.publicKey).status, 'unknown');
});
