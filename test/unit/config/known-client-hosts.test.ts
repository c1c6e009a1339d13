/** knownClientHost: the server's known_hosts check of a hostbased login's host key for its client host name. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashKnownHostsName, KnownHosts, knownClientHost } from '../../../src/config/index.js';
import { generatePrivateKey, issueCertificate } from '../../../src/keys/index.js';

const a = generatePrivateKey('ed25519').publicKey;
const b = generatePrivateKey('ed25519').publicKey;
const rsa = generatePrivateKey('rsa', { bits: 1024 }).publicKey;
const ca = generatePrivateKey('ed25519');
const otherCa = generatePrivateKey('ed25519');

const line = (host: string, k = a, marker = '') => `${marker}${host} ${k.type} ${k.blob.toString('base64')}`;

test('a plain key listed for the name matches: exact, pattern, hashed, any case, trailing dot ignored', () => {
  const kh = new KnownHosts(
    [line('client.example,10.0.0.1'), line('*.pool.example', rsa), line(hashKnownHostsName('hidden.example'))].join(
      '\n',
    ),
  );
  assert.equal(knownClientHost(kh, { clientHostname: 'client.example', key: a }), true);
  assert.equal(knownClientHost(kh, { clientHostname: 'Client.Example.', key: a }), true);
  assert.equal(knownClientHost(kh, { clientHostname: 'n7.pool.example', key: rsa }), true);
  assert.equal(knownClientHost(kh, { clientHostname: 'hidden.example', key: a }), true);
  assert.equal(knownClientHost([new KnownHosts(), kh], { clientHostname: '10.0.0.1', key: a }), true);
});

test('refused: another key, another name, no name, no key, a @revoked key, a key only listed as a CA', () => {
  const kh = new KnownHosts(
    [
      line('client.example'),
      line('revoked.example'),
      line('*', a, '@revoked '),
      line('ca.example', b, '@cert-authority '),
    ].join('\n'),
  );
  assert.equal(knownClientHost(kh, { clientHostname: 'client.example', key: b }), false);
  assert.equal(knownClientHost(kh, { clientHostname: 'other.example', key: a }), false);
  assert.equal(knownClientHost(kh, { clientHostname: '', key: a }), false);
  assert.equal(knownClientHost(kh, { clientHostname: '.', key: a }), false);
  assert.equal(knownClientHost(kh, { clientHostname: 'client.example' }), false);
  assert.equal(knownClientHost(kh, { clientHostname: 'revoked.example', key: a }), false, '@revoked wins');
  assert.equal(knownClientHost(kh, { clientHostname: 'ca.example', key: b }), false, 'a CA line is no host key');
});

test('a host certificate needs a @cert-authority CA for the name, the name as principal, validity now', async () => {
  const kh = new KnownHosts([line('*.certs.example', ca.publicKey, '@cert-authority ')].join('\n'));
  const cert = await issueCertificate(ca, a, { type: 'host', keyId: 'h', principals: ['h1.certs.example'] });
  const claim = { clientHostname: 'h1.certs.example.', key: a, hostCertificate: cert };
  assert.equal(knownClientHost(kh, claim), true);
  // The principal must be the claimed name.
  assert.equal(knownClientHost(kh, { ...claim, clientHostname: 'h2.certs.example' }), false);
  // A CA listed for other names only.
  assert.equal(knownClientHost(new KnownHosts(line('*.other', ca.publicKey, '@cert-authority ')), claim), false);
  // Signed by a CA that is not listed.
  const stray = await issueCertificate(otherCa, a, { type: 'host', keyId: 'h', principals: ['h1.certs.example'] });
  assert.equal(knownClientHost(kh, { ...claim, hostCertificate: stray }), false);
  // A user certificate, an expired one, one for another key.
  const user = await issueCertificate(ca, a, { type: 'user', keyId: 'u', principals: ['h1.certs.example'] });
  assert.equal(knownClientHost(kh, { ...claim, hostCertificate: user }), false);
  const expired = await issueCertificate(ca, a, {
    type: 'host',
    keyId: 'old',
    principals: ['h1.certs.example'],
    validBefore: new Date(Date.now() - 60_000),
  });
  assert.equal(knownClientHost(kh, { ...claim, hostCertificate: expired }), false);
  assert.equal(knownClientHost(kh, { ...claim, key: b }), false);
  // A revoked CA or certified key refuses it.
  const revokedCa = new KnownHosts(
    [line('*.certs.example', ca.publicKey, '@cert-authority '), line('*', ca.publicKey, '@revoked ')].join('\n'),
  );
  assert.equal(knownClientHost(revokedCa, claim), false);
  const revokedKey = new KnownHosts(
    [line('*.certs.example', ca.publicKey, '@cert-authority '), line('*', a, '@revoked ')].join('\n'),
  );
  assert.equal(knownClientHost(revokedKey, claim), false);
  // A plain entry for the certified key does not stand in for the CA (as sshd: a certificate matches CA lines only).
  assert.equal(knownClientHost(new KnownHosts(line('h1.certs.example')), claim), false);
});
