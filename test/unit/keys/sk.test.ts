/**
 * Security-key (sk) keys (PROTOCOL.u2f): public keys with their application, signatures carrying flags and a
 * counter over SHA256(application) || flags || counter || SHA256(message), their certificates, the private key
 * files ssh-keygen writes for them, authorized_keys options and SSHSIG. The signatures come from the software
 * authenticator in test/helpers (its output is checked against OpenSSH in test/interop/sk-keys.test.ts).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { authorizedKeyRestrictions } from '../../../src/auth/restrictions.js';
import { KnownHosts } from '../../../src/config/known-hosts.js';
import { KeyError } from '../../../src/errors.js';
import {
  certificateAlgorithmFor,
  generatePrivateKey,
  isCertificateType,
  issueCertificate,
  PublicKey,
  parseAuthorizedKeyLine,
  parseCertificate,
  parsePrivateKey,
  parsePublicKey,
  parseSecurityKeyFile,
  parseSshsig,
  plainSignatureAlgorithm,
  signatureAlgorithmsFor,
  signSshsig,
  skSignedData,
  verifySshsig,
} from '../../../src/keys/index.js';
import { SshReader, SshWriter } from '../../../src/wire/index.js';
import { SoftwareAuthenticator } from '../../helpers/sk-authenticator.js';

const KINDS = ['ed25519', 'ecdsa'] as const;

/** Rebuilds an sk signature blob with other flags / counter / tail (the inner signature unchanged). */
function reshape(sig: Buffer, change: { flags?: number; counter?: number; tail?: Buffer; drop?: boolean }): Buffer {
  const r = new SshReader(sig);
  const alg = r.ascii(64);
  const inner = r.string();
  const flags = r.byte();
  const counter = r.uint32();
  const w = new SshWriter(256).string(alg).string(inner);
  if (!change.drop) w.byte(change.flags ?? flags).uint32(change.counter ?? counter);
  if (change.tail) w.raw(change.tail);
  return Buffer.from(w.toBuffer());
}

describe('sk public keys', () => {
  test('a published sk-ssh-ed25519 key (from ssh-keygen output) has the fingerprint ssh-keygen printed for it', () => {
    // github.com/Jookia/gitsshkey README: the allowed_signers line and ssh-keygen -Y verify's "ED25519-SK key SHA256:…".
    const key = parsePublicKey(
      'sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAID7OzA3dl0YNrkRPXGldZTzz3rtFcyBvXz661ZmMgIS3AAAABHNzaDo= jookia@titan',
    );
    assert.equal(key.type, 'sk-ssh-ed25519@openssh.com');
    assert.equal(key.fingerprint(), 'SHA256:/gEvgms/9HpbgpcH+K7O4GYXmqkP7siJx9zHeEWRZTg');
    assert.equal(key.application, 'ssh:');
    assert.equal(key.isSecurityKey, true);
    assert.equal(key.bits, 256);
    assert.equal(key.comment, 'jookia@titan');
  });

  for (const kind of KINDS) {
    test(`${kind}-sk: the public line round-trips, names its application and draws ${kind === 'ed25519' ? 'ED25519-SK' : 'ECDSA-SK'} randomart`, () => {
      const a = new SoftwareAuthenticator(kind, { application: 'ssh:test', comment: 'c' });
      const key = parsePublicKey(a.publicKeyLine());
      assert.ok(key.equals(a.publicKey));
      assert.equal(key.toString(), a.publicKeyLine());
      assert.equal(key.application, 'ssh:test');
      assert.equal(key.signatureAlgorithms[0], a.type);
      assert.deepEqual(signatureAlgorithmsFor(a.type), key.signatureAlgorithms);
      assert.match(key.randomart().split('\n')[0] ?? '', kind === 'ed25519' ? /ED25519-SK 256/ : /ECDSA-SK 256/);
      assert.throws(() => key.export({ format: 'spki' }), KeyError);
      assert.equal(parsePublicKey(key.export()).fingerprint(), key.fingerprint());
    });

    test(`${kind}-sk: a blob without its application, with trailing bytes or a NUL in the application is a KeyError`, () => {
      const a = new SoftwareAuthenticator(kind);
      const blob = a.publicKey.blob;
      const r = new SshReader(blob);
      r.ascii(64);
      const fields: Buffer[] = [];
      while (r.remaining > 0) fields.push(Buffer.from(r.string()));
      const build = (parts: Buffer[]) => {
        const w = new SshWriter(256).string(a.type);
        for (const p of parts) w.string(p);
        return Buffer.from(w.toBuffer());
      };
      assert.ok(PublicKey.fromBlob(build(fields)).equals(a.publicKey));
      assert.throws(() => PublicKey.fromBlob(build(fields.slice(0, -1))), KeyError);
      assert.throws(() => PublicKey.fromBlob(Buffer.concat([blob, Buffer.from([0])])), KeyError);
      assert.throws(() => PublicKey.fromBlob(build([...fields.slice(0, -1), Buffer.from('ssh:\0x')])), KeyError);
    });
  }

  test('sk-ecdsa with another curve name is a KeyError', () => {
    const a = new SoftwareAuthenticator('ecdsa');
    const r = new SshReader(a.publicKey.blob);
    r.ascii(64);
    r.ascii(64);
    const q = r.string();
    const app = r.string();
    const blob = new SshWriter(256).string(a.type).string('nistp384').string(q).string(app).toBuffer();
    assert.throws(() => PublicKey.fromBlob(blob), KeyError);
  });
});

describe('sk signatures', () => {
  for (const kind of KINDS) {
    test(`${kind}-sk: a signature verifies and reports the authenticator's flags and counter`, () => {
      const a = new SoftwareAuthenticator(kind, { counter: 41 });
      const msg = Buffer.from('session data');
      const sig = a.signMessage(msg, 0x05);
      const v = a.publicKey.verifyDetailed(msg, sig, a.type);
      assert.deepEqual(v, { valid: true, securityKey: { flags: 0x05, counter: 42 } });
      assert.equal(a.publicKey.verify(msg, sig, a.type), true);
      // A signature without user presence is still a valid signature; requiring touch is the caller's rule.
      assert.deepEqual(a.publicKey.verifyDetailed(msg, a.signMessage(msg, 0), a.type).securityKey, {
        flags: 0,
        counter: 43,
      });
    });

    test(`${kind}-sk: flags and counter are signed — changing either, or the message, breaks the signature`, () => {
      const a = new SoftwareAuthenticator(kind);
      const msg = Buffer.from('m');
      const sig = a.signMessage(msg, 0x01);
      assert.equal(a.publicKey.verify(msg, reshape(sig, { flags: 0x05 }), a.type), false);
      assert.equal(a.publicKey.verify(msg, reshape(sig, { counter: 2 }), a.type), false);
      assert.equal(a.publicKey.verify(Buffer.from('n'), sig, a.type), false);
    });

    test(`${kind}-sk: a blob without flags and counter, or with trailing bytes, is refused without throwing`, () => {
      const a = new SoftwareAuthenticator(kind);
      const msg = Buffer.from('m');
      const sig = a.signMessage(msg);
      assert.deepEqual(a.publicKey.verifyDetailed(msg, reshape(sig, { drop: true }), a.type), { valid: false });
      assert.equal(a.publicKey.verify(msg, reshape(sig, { tail: Buffer.from([0]) }), a.type), false);
      assert.equal(a.publicKey.verify(msg, sig.subarray(0, sig.length - 1), a.type), false);
      assert.equal(a.publicKey.verify(msg, sig, kind === 'ed25519' ? 'ssh-ed25519' : 'ecdsa-sha2-nistp256'), false);
    });

    test(`${kind}-sk: the application is part of what is signed — the same key under another application refuses it`, () => {
      const a = new SoftwareAuthenticator(kind, { application: 'ssh:one' });
      const r = new SshReader(a.publicKey.blob);
      r.ascii(64);
      const fields: Buffer[] = [];
      while (r.remaining > 0) fields.push(Buffer.from(r.string()));
      const w = new SshWriter(256).string(a.type);
      for (const f of fields.slice(0, -1)) w.string(f);
      const other = PublicKey.fromBlob(w.string('ssh:two').toBuffer());
      const msg = Buffer.from('m');
      const sig = a.signMessage(msg);
      assert.equal(a.publicKey.verify(msg, sig, a.type), true);
      assert.equal(other.verify(msg, sig, a.type), false);
    });
  }

  test('skSignedData is SHA256(application) || flags || uint32 counter || SHA256(message)', () => {
    const d = skSignedData(Buffer.from('ssh:'), 0x05, 0x01020304, Buffer.from('msg'));
    const sha = (s: string) => createHash('sha256').update(s).digest();
    assert.deepEqual(d, Buffer.concat([sha('ssh:'), Buffer.from([5, 1, 2, 3, 4]), sha('msg')]));
  });
});

describe('sk certificates', () => {
  for (const kind of KINDS) {
    test(`${kind}-sk: a user certificate has the sk certificate type, round-trips and keeps the application`, async () => {
      const a = new SoftwareAuthenticator(kind);
      const ca = generatePrivateKey('ed25519');
      const cert = await issueCertificate(ca, a.publicKey, {
        type: 'user',
        keyId: 'sk',
        principals: ['me'],
        extensions: { 'no-touch-required': '', 'permit-pty': '' },
      });
      const certType =
        kind === 'ed25519' ? 'sk-ssh-ed25519-cert-v01@openssh.com' : 'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com';
      assert.equal(cert.certType, certType);
      assert.equal(isCertificateType(certType), true);
      assert.equal(certificateAlgorithmFor(a.type), certType);
      assert.equal(plainSignatureAlgorithm(certType), a.type);
      const back = parseCertificate(cert.toString());
      assert.ok(back.publicKey.equals(a.publicKey));
      assert.equal(back.publicKey.application, 'ssh:');
      assert.equal(back.extensions.has('no-touch-required'), true);
      back.verify({ trustedCAs: [ca.publicKey], type: 'user', principal: 'me' });
    });
  }

  test('the names with a doubled suffix are not certificate types', () => {
    assert.equal(isCertificateType('sk-ssh-ed25519@openssh.com-cert-v01@openssh.com'), false);
    assert.equal(isCertificateType('sk-ssh-ed25519@openssh.com'), false);
  });
});

describe('sk private key files', () => {
  for (const kind of KINDS) {
    test(`${kind}-sk: parseSecurityKeyFile reads the application, flags, key handle and comment`, () => {
      const a = new SoftwareAuthenticator(kind, { enrolFlags: 0x25, application: 'ssh:work' });
      const f = parseSecurityKeyFile(a.privateKeyFile('my key'));
      assert.equal(f.type, a.type);
      assert.ok(f.publicKey.equals(a.publicKey));
      assert.equal(f.application, 'ssh:work');
      assert.equal(f.flags, 0x25);
      assert.deepEqual(f.keyHandle, a.keyHandle);
      assert.equal(f.reserved.length, 0);
      assert.equal(f.comment, 'my key');
      assert.equal(f.publicKey.comment, 'my key');
    });

    test(`${kind}-sk: parsePrivateKey refuses the file with a KeyError (the secret is on the token)`, () => {
      const a = new SoftwareAuthenticator(kind);
      assert.throws(() => parsePrivateKey(a.privateKeyFile()), KeyError);
    });
  }

  test('parseSecurityKeyFile refuses an ordinary key file and a file whose public key does not match', () => {
    assert.throws(() => parseSecurityKeyFile(generatePrivateKey('ed25519').toOpenSSH()), /not a security-key file/);
    const a = new SoftwareAuthenticator('ed25519');
    const b = new SoftwareAuthenticator('ed25519');
    // Swap the outer public key for another authenticator's: the private section no longer matches it.
    const body = Buffer.from(
      a
        .privateKeyFile()
        .replace(/-----[A-Z ]+-----/g, '')
        .replace(/\s+/g, ''),
      'base64',
    );
    const forged = Buffer.from(
      body.toString('latin1').replace(a.publicKey.blob.toString('latin1'), b.publicKey.blob.toString('latin1')),
      'latin1',
    );
    const text = `-----BEGIN OPENSSH PRIVATE KEY-----\n${forged.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
    assert.throws(() => parseSecurityKeyFile(text), KeyError);
  });
});

describe('sk in authorized_keys and SSHSIG', () => {
  test('an authorized_keys line with no-touch-required and verify-required maps to the restrictions', () => {
    const a = new SoftwareAuthenticator('ed25519');
    const line = parseAuthorizedKeyLine(`no-touch-required,verify-required ${a.publicKeyLine()}`);
    assert.ok(line.key.equals(a.publicKey));
    assert.deepEqual(authorizedKeyRestrictions(line.options), { noTouchRequired: true, verifyRequired: true });
    assert.deepEqual(authorizedKeyRestrictions(parseAuthorizedKeyLine(a.publicKeyLine()).options), {});
  });

  for (const kind of KINDS) {
    test(`${kind}-sk: an SSHSIG made through the authenticator verifies and reports flags and counter`, async () => {
      const a = new SoftwareAuthenticator(kind);
      const text = await signSshsig('data\n', a.signer(), { namespace: 'file', hashAlgorithm: 'sha256' });
      const parsed = parseSshsig(text);
      assert.equal(parsed.signatureAlgorithm, a.type);
      const v = await verifySshsig('data\n', text, { namespace: 'file', publicKey: a.publicKey });
      assert.deepEqual(v.securityKey, { flags: 0x01, counter: a.counter });
      await assert.rejects(
        verifySshsig('other\n', text, { namespace: 'file', publicKey: a.publicKey }),
        /does not verify/,
      );
      // As ssh-keygen -Y verify: no touch is reported, not refused.
      a.signFlags = 0;
      const untouched = await signSshsig('data\n', a.signer(), { namespace: 'file' });
      assert.equal(
        (await verifySshsig('data\n', untouched, { namespace: 'file', publicKey: a.publicKey })).securityKey?.flags,
        0,
      );
    });
  }
});

describe('sk keys elsewhere', () => {
  test('a known_hosts line with an sk key matches that key and no other', () => {
    const a = new SoftwareAuthenticator('ecdsa');
    const b = new SoftwareAuthenticator('ecdsa');
    const kh = new KnownHosts(`example.com ${a.publicKeyLine()}\n`);
    assert.equal(kh.find('example.com').length, 1);
    assert.equal(kh.lookup('example.com', 22, a.publicKey).status, 'match');
    assert.notEqual(kh.lookup('example.com', 22, b.publicKey).status, 'match');
  });

  for (const kind of KINDS) {
    test(`${kind}-sk: every truncation and every single-byte change of a signature is refused without throwing`, () => {
      const a = new SoftwareAuthenticator(kind);
      const msg = Buffer.from('m');
      const sig = a.signMessage(msg);
      for (let i = 0; i < sig.length; i++) {
        assert.equal(a.publicKey.verify(msg, sig.subarray(0, i), a.type), false, `truncated at ${i}`);
        const bad = Buffer.from(sig);
        bad[i] = (bad[i] as number) ^ 0x01;
        assert.equal(a.publicKey.verify(msg, bad, a.type), false, `byte ${i} changed`);
      }
    });
  }
});

describe('webauthn-sk-ecdsa-sha2-nistp256@openssh.com signatures', () => {
  const WA = 'webauthn-sk-ecdsa-sha2-nistp256@openssh.com';
  const challenge = (m: Buffer) => m.toString('base64url');

  test('a webauthn signature of an sk-ecdsa key verifies with its flags and counter; sk-ecdsa signs with the plain algorithm first', () => {
    const a = new SoftwareAuthenticator('ecdsa');
    const msg = Buffer.from('session data');
    const sig = a.signWebauthn(msg, 'https://example.com', { flags: 0x05 });
    assert.deepEqual(a.publicKey.verifyDetailed(msg, sig, WA), { valid: true, securityKey: { flags: 5, counter: 1 } });
    assert.equal(a.publicKey.verify(Buffer.from('other'), sig, WA), false);
    assert.equal(a.publicKey.verify(msg, sig, a.type), false, 'the name in the blob must be the one asked for');
    assert.deepEqual(a.publicKey.signatureAlgorithms, [a.type, WA]);
  });

  test('clientData must start with the type, the base64url challenge of the message and the origin, in that order', () => {
    const a = new SoftwareAuthenticator('ecdsa');
    const msg = Buffer.from('m');
    const o = 'https://example.com';
    const ok = `{"type":"webauthn.get","challenge":"${challenge(msg)}","origin":"${o}"}`;
    assert.equal(a.publicKey.verify(msg, a.signWebauthn(msg, o, { clientData: ok }), WA), true);
    for (const clientData of [
      `{"type":"webauthn.create","challenge":"${challenge(msg)}","origin":"${o}"}`,
      `{"type":"webauthn.get","challenge":"${challenge(Buffer.from('x'))}","origin":"${o}"}`,
      `{"type":"webauthn.get","challenge":"${challenge(msg)}","origin":"https://evil.example"}`,
      `{"challenge":"${challenge(msg)}","type":"webauthn.get","origin":"${o}"}`,
    ]) {
      assert.equal(a.publicKey.verify(msg, a.signWebauthn(msg, o, { clientData }), WA), false, clientData);
    }
  });

  test('an origin with a quote, the AT flag, or the ED flag without extensions is refused', () => {
    const a = new SoftwareAuthenticator('ecdsa');
    const msg = Buffer.from('m');
    assert.equal(a.publicKey.verify(msg, a.signWebauthn(msg, 'https://a"b'), WA), false);
    assert.equal(a.publicKey.verify(msg, a.signWebauthn(msg, 'https://a', { flags: 0x41 }), WA), false);
    assert.equal(a.publicKey.verify(msg, a.signWebauthn(msg, 'https://a', { flags: 0x81 }), WA), false);
  });

  test('an sk-ed25519 key does not take webauthn signatures', () => {
    const a = new SoftwareAuthenticator('ed25519');
    assert.equal(signatureAlgorithmsFor(a.type).includes(WA as never), false);
  });
});
