/** OpenSSH certificates: ssh-keygen -s certificates parse and verify; ours pass ssh-keygen -L. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KeyError } from '../../../src/errors.js';
import {
  CERT_FOREVER,
  Certificate,
  CertificateSigner,
  generatePrivateKey,
  issueCertificate,
  type PrivateKey,
  parseCertificate,
  parsePrivateKey,
  parsePublicKey,
} from '../../../src/keys/index.js';
import { requirePeer } from '../../helpers/peers.js';
import { keygen, keygenStatus, makeKey, tempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
before(() => {
  tmp = tempDir();
});
after(() => tmp.cleanup());

const TYPES = [
  ['ed25519', ['-t', 'ed25519']],
  ['ecdsa', ['-t', 'ecdsa', '-b', '384']],
  ['rsa', ['-t', 'rsa', '-b', '2048']],
] as [string, string[]][];

describe('certificates made by ssh-keygen -s', () => {
  for (const [caName, caArgs] of TYPES) {
    test(`CA ${caName}: user and host certificates for each key type parse and verify`, (t) => {
      if (!requirePeer(t, 'ssh-keygen')) return;
      const ca = makeKey(tmp.dir, `ca-${caName}`, [...caArgs, '-N', '']);
      const caPub = parsePublicKey(ca.pub);
      const otherCa = generatePrivateKey('ed25519').publicKey;
      for (const [subName, subArgs] of TYPES) {
        const sub = makeKey(tmp.dir, `sub-${caName}-${subName}`, [...subArgs, '-N', '', '-C', 'subject']);
        keygen([
          '-s',
          ca.path,
          '-I',
          'key id "x"',
          '-n',
          'alice,bob',
          '-z',
          '42',
          '-V',
          '20200101:20400101',
          '-O',
          'force-command=/bin/true',
          '-O',
          'source-address=10.0.0.0/8',
          '-O',
          'no-pty',
          sub.path,
        ]);
        const text = readFileSync(`${sub.path}-cert.pub`, 'utf8');
        const cert = parseCertificate(text);
        assert.equal(cert.certType, `${parsePublicKey(sub.pub).type}-cert-v01@openssh.com`);
        assert.ok(cert.publicKey.equals(parsePublicKey(sub.pub)));
        assert.ok(cert.signatureKey.equals(caPub));
        assert.equal(cert.type, 'user');
        assert.equal(cert.keyId, 'key id "x"');
        assert.equal(cert.serial, 42n);
        assert.deepEqual(cert.principals, ['alice', 'bob']);
        assert.equal(cert.criticalOptions.get('force-command'), '/bin/true');
        assert.equal(cert.criticalOptions.get('source-address'), '10.0.0.0/8');
        assert.deepEqual([...cert.extensions.keys()].sort(), [
          'permit-X11-forwarding',
          'permit-agent-forwarding',
          'permit-port-forwarding',
          'permit-user-rc',
        ]);
        assert.equal(cert.toString(), text.trim());
        if (caName === 'rsa') assert.equal(cert.signatureAlgorithm, 'rsa-sha2-512');
        const now = new Date('2030-06-01T00:00:00Z');
        cert.verify({ trustedCAs: [caPub], type: 'user', principal: 'alice', now });
        assert.throws(() => cert.verify({ trustedCAs: [otherCa], now }), /untrusted CA/);
        assert.throws(() => cert.verify({ principal: 'carol', now }), /principal/);
        assert.throws(() => cert.verify({ type: 'host', now }), /not a host certificate/);
        assert.throws(() => cert.verify({ now: new Date('2041-01-01T00:00:00Z') }), /expired/);
        assert.throws(() => cert.verify({ now: new Date('2019-01-01T00:00:00Z') }), /not yet valid/);
        assert.throws(() => cert.verify({ now, acceptedCriticalOptions: ['source-address'] }), /critical option/);
        // A flipped bit in the signed part breaks the signature (or the parse).
        const bad = Buffer.from(cert.blob);
        const at = bad.indexOf(Buffer.from('alice'));
        bad[at] = 0x41;
        assert.throws(() => Certificate.fromBlob(bad).verify({ now }), /bad certificate signature/);
      }
      // Host certificate.
      const host = makeKey(tmp.dir, `host-${caName}`, ['-t', 'ed25519', '-N', '']);
      keygen(['-s', ca.path, '-h', '-I', 'host', '-n', 'server.example', host.path]);
      const hc = parseCertificate(readFileSync(`${host.path}-cert.pub`, 'utf8'));
      assert.equal(hc.type, 'host');
      assert.equal(hc.validBefore, CERT_FOREVER);
      hc.verify({ trustedCAs: [caPub], type: 'host', principal: 'server.example' });
      assert.throws(() => hc.verify({ type: 'user' }), KeyError);
    });
  }

  test('a certificate with no principals is valid for any principal; unknown critical options are refused', (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const ca = makeKey(tmp.dir, 'ca-any', ['-t', 'ed25519', '-N', '']);
    const sub = makeKey(tmp.dir, 'sub-any', ['-t', 'ed25519', '-N', '']);
    keygen(['-s', ca.path, '-I', 'any', '-O', 'critical:frobnicate=yes', sub.path]);
    const cert = parseCertificate(readFileSync(`${sub.path}-cert.pub`, 'utf8'));
    assert.deepEqual(cert.principals, []);
    assert.throws(() => cert.verify({ principal: 'anyone' }), /unsupported critical option frobnicate/);
    cert.verify({ principal: 'anyone', acceptedCriticalOptions: ['frobnicate'] });
  });
});

describe('certificates issued by secsh', () => {
  for (const [caName] of TYPES) {
    test(`CA ${caName}: ssh-keygen -L reads what we issue`, async (t) => {
      const ca = generatePrivateKey(caName as 'ed25519', caName === 'rsa' ? { bits: 2048 } : { bits: 384 });
      const subject = generatePrivateKey('ecdsa', { comment: 'sub@host' });
      const cert = await issueCertificate(ca, subject.publicKey, {
        type: 'user',
        keyId: 'issued-by-secsh',
        principals: ['alice', 'root'],
        serial: 7n,
        validAfter: new Date('2021-01-01T00:00:00Z'),
        validBefore: new Date('2035-01-01T00:00:00Z'),
        criticalOptions: { 'source-address': '127.0.0.1/32', 'force-command': 'echo forced' },
        ...(caName === 'rsa' ? { signatureAlgorithm: 'rsa-sha2-256' as const } : {}),
      });
      cert.verify({ trustedCAs: [ca.publicKey], principal: 'root', now: new Date('2030-01-01T00:00:00Z') });
      const again = parseCertificate(cert.toString());
      assert.ok(again.blob.equals(cert.blob));
      assert.equal(again.comment, 'sub@host');
      assert.throws(() => new CertificateSigner(generatePrivateKey('ed25519'), cert), /not for this key/);
      if (!requirePeer(t, 'ssh-keygen')) return;
      const path = join(tmp.dir, `ours-${caName}-cert.pub`);
      writeFileSync(path, `${cert.toString()}\n`);
      const out = keygen(['-L', '-f', path]);
      assert.match(out, /Type: ecdsa-sha2-nistp256-cert-v01@openssh.com user certificate/);
      assert.ok(out.includes(`Public key: ECDSA-CERT ${subject.publicKey.fingerprint()}`), out);
      assert.ok(out.includes(`Signing CA: `) && out.includes(ca.publicKey.fingerprint()), out);
      if (caName === 'rsa') assert.match(out, /using rsa-sha2-256/);
      assert.match(out, /Key ID: "issued-by-secsh"/);
      assert.match(out, /Serial: 7/);
      assert.match(out, /Valid: from 2021-01-01T\d\d:00:00 to 2035-01-01T\d\d:00:00/);
      assert.match(out, /Principals: \n\s+alice\n\s+root\n/);
      assert.match(out, /force-command echo forced/);
      assert.match(out, /source-address 127.0.0.1\/32/);
      assert.match(out, /permit-pty/);
    });
  }

  test('host certificate with no expiry and custom extensions; ssh-keygen -L agrees', async (t) => {
    const ca = generatePrivateKey('ed25519');
    const host = generatePrivateKey('ed25519');
    const cert = await issueCertificate(ca, host.publicKey, { type: 'host', keyId: 'h', principals: ['h.example'] });
    assert.equal(cert.validBefore, CERT_FOREVER);
    assert.equal(cert.extensions.size, 0);
    cert.verify({ type: 'host', principal: 'h.example', trustedCAs: [ca.publicKey] });
    if (!requirePeer(t, 'ssh-keygen')) return;
    const path = join(tmp.dir, 'host-ours-cert.pub');
    writeFileSync(path, `${cert.toString()}\n`);
    const out = keygen(['-L', '-f', path]);
    assert.match(out, /host certificate/);
    assert.match(out, /Valid: forever/);
  });

  test('ssh-keygen verifies our certificate against the CA (-Y with cert-authority allowed_signers)', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    // A certificate of ours used as a signing key: ssh-keygen -Y sign with our key + cert, verify with CA trust.
    const ca = generatePrivateKey('ecdsa');
    const k = makeKey(tmp.dir, 'ysign', ['-t', 'ed25519', '-N', '']);
    const priv: PrivateKey = parsePrivateKey(k.priv);
    const cert = await issueCertificate(ca, priv.publicKey, { type: 'user', keyId: 'y', principals: ['signer@x'] });
    writeFileSync(`${k.path}-cert.pub`, `${cert.toString()}\n`);
    const msg = Buffer.from('message');
    const sigPath = join(tmp.dir, 'ysign.sig');
    writeFileSync(sigPath, keygen(['-Y', 'sign', '-f', `${k.path}-cert.pub`, '-n', 'file'], msg));
    const allowed = join(tmp.dir, 'allowed');
    writeFileSync(allowed, `signer@x cert-authority ${ca.publicKey.toString()}\n`);
    const ok = keygenStatus(['-Y', 'verify', '-f', allowed, '-I', 'signer@x', '-n', 'file', '-s', sigPath], msg);
    assert.equal(ok.status, 0, ok.out);
    const other = generatePrivateKey('ecdsa');
    writeFileSync(allowed, `signer@x cert-authority ${other.publicKey.toString()}\n`);
    assert.notEqual(
      keygenStatus(['-Y', 'verify', '-f', allowed, '-I', 'signer@x', '-n', 'file', '-s', sigPath], msg).status,
      0,
    );
  });
});
