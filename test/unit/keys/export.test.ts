/** Writing keys: OpenSSH (plain/encrypted), PKCS#8, public formats, 0600 files — read back by ssh-keygen. */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KeyError, KeyPassphraseError } from '../../../src/errors.js';
import {
  generatePrivateKey,
  type PrivateKey,
  parsePrivateKey,
  parsePublicKey,
  readPrivateKeyFile,
  writePrivateKeyFile,
} from '../../../src/keys/index.js';
import { requirePeer } from '../../helpers/peers.js';
import { keygen, keygenStatus, makeKey, tempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
const keys: Record<string, PrivateKey> = {};
before(() => {
  tmp = tempDir();
  keys.ed25519 = generatePrivateKey('ed25519', { comment: 'ed@host' });
  keys.ecdsa384 = generatePrivateKey('ecdsa', { bits: 384, comment: 'ec@host' });
  keys.rsa = generatePrivateKey('rsa', { bits: 2048, comment: 'rsa@host' });
});
after(() => tmp.cleanup());

function file(name: string, text: string): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

for (const name of ['ed25519', 'ecdsa384', 'rsa']) {
  describe(`export ${name}`, () => {
    test('OpenSSH plain and encrypted are read by ssh-keygen -y and by us', (t) => {
      const k = keys[name] as PrivateKey;
      const plain = k.export();
      const enc = k.export({ passphrase: 'correct horse', rounds: 4 });
      assert.match(enc, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
      assert.ok(parsePrivateKey(plain).publicKey.equals(k.publicKey));
      assert.equal(parsePrivateKey(enc, { passphrase: 'correct horse' }).comment, k.comment);
      assert.throws(() => parsePrivateKey(enc, { passphrase: 'wrong' }), KeyPassphraseError);
      assert.throws(() => parsePrivateKey(enc), KeyPassphraseError);
      if (!requirePeer(t, 'ssh-keygen')) return;
      const expected = k.publicKey.export({ comment: '' }).trim();
      assert.equal(
        keygen(['-y', '-f', file(`${name}.plain`, plain)])
          .trim()
          .split(' ')
          .slice(0, 2)
          .join(' '),
        expected,
      );
      const encPath = file(`${name}.enc`, enc);
      assert.equal(
        keygen(['-y', '-P', 'correct horse', '-f', encPath]).trim().split(' ').slice(0, 2).join(' '),
        expected,
      );
      assert.notEqual(keygenStatus(['-y', '-P', 'wrong', '-f', encPath]).status, 0);
      // ssh-keygen can re-encrypt it (proves the KDF parameters and the cipher are what it expects).
      keygen(['-p', '-P', 'correct horse', '-N', 'other', '-f', encPath]);
      assert.ok(parsePrivateKey(readFileSync(encPath), { passphrase: 'other' }).publicKey.equals(k.publicKey));
    });

    test('other ciphers round-trip (aes128-ctr, aes256-gcm, chacha20-poly1305)', (t) => {
      const k = keys[name] as PrivateKey;
      for (const cipher of ['aes128-ctr', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com']) {
        const enc = k.export({ passphrase: 'p', rounds: 2, cipher });
        assert.ok(parsePrivateKey(enc, { passphrase: 'p' }).publicKey.equals(k.publicKey));
        if (requirePeer(t, 'ssh-keygen')) {
          const out = keygen(['-y', '-P', 'p', '-f', file(`${name}.${cipher}`, enc)]);
          assert.ok(out.startsWith(k.publicKey.export({ comment: '' }).trim()));
        }
      }
    });

    test('PKCS#8 plain and encrypted', (t) => {
      const k = keys[name] as PrivateKey;
      const plain = k.export({ format: 'pkcs8' });
      const enc = k.export({ format: 'pkcs8', passphrase: 'pw' });
      assert.match(plain, /^-----BEGIN PRIVATE KEY-----/);
      assert.match(enc, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
      assert.ok(parsePrivateKey(plain).publicKey.equals(k.publicKey));
      assert.ok(parsePrivateKey(enc, { passphrase: 'pw' }).publicKey.equals(k.publicKey));
      assert.throws(() => parsePrivateKey(enc, { passphrase: 'nope' }), KeyPassphraseError);
      // OpenSSH 9.2 reads no Ed25519 PKCS#8; the others it must.
      if (name === 'ed25519' || !requirePeer(t, 'ssh-keygen')) return;
      const expected = k.publicKey.export({ comment: '' }).trim();
      assert.equal(keygen(['-y', '-f', file(`${name}.p8`, plain)]).trim(), expected);
      assert.equal(keygen(['-y', '-P', 'pw', '-f', file(`${name}.p8e`, enc)]).trim(), expected);
    });

    test('public formats: one-line, RFC 4716, SPKI', (t) => {
      const pub = (keys[name] as PrivateKey).publicKey;
      const line = pub.export();
      assert.equal(line, `${pub.toString()}\n`);
      const rfc = pub.export({ format: 'rfc4716' });
      const spki = pub.export({ format: 'spki' });
      const back = parsePublicKey(rfc);
      assert.ok(back.equals(pub));
      assert.equal(back.comment, pub.comment);
      assert.ok(parsePublicKey(spki).equals(pub));
      if (!requirePeer(t, 'ssh-keygen')) return;
      const bare = pub.export({ comment: '' }).trim();
      assert.equal(keygen(['-i', '-f', file(`${name}.rfc`, rfc)]).trim(), bare);
      if (name !== 'ed25519')
        assert.equal(keygen(['-i', '-m', 'PKCS8', '-f', file(`${name}.spki`, spki)]).trim(), bare);
      // And what ssh-keygen -e writes, we read.
      const pubPath = file(`${name}.pub`, line);
      const theirs = keygen(['-e', '-f', pubPath]);
      assert.ok(parsePublicKey(theirs).equals(pub));
      if (name !== 'ed25519') assert.ok(parsePublicKey(keygen(['-e', '-m', 'PKCS8', '-f', pubPath])).equals(pub));
    });
  });
}

test('RFC 4716: long comments use continuation lines; headers and quoting', () => {
  const pub = (keys.ed25519 as PrivateKey).publicKey;
  const comment = `a very long comment ${'x'.repeat(150)} end`;
  const rfc = pub.export({ format: 'rfc4716', comment });
  for (const l of rfc.split('\n')) assert.ok(l.length <= 72, l);
  assert.equal(parsePublicKey(rfc).comment, comment);
  const b64 = pub.blob.toString('base64');
  const text = `---- BEGIN SSH2 PUBLIC KEY ----\nSubject: me\nx-Private: a\\\n b\nComment: unquoted\n${b64}\n---- END SSH2 PUBLIC KEY ----\n`;
  assert.equal(parsePublicKey(text).comment, 'unquoted');
  assert.throws(() => parsePublicKey(text.replace(b64, `${b64}!`)), KeyError);
  assert.throws(() => parsePublicKey('---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n'), KeyError);
});

test('ssh-keygen -e of generated RSA/ECDSA keys parses with the comment ssh-keygen writes', (t) => {
  if (!requirePeer(t, 'ssh-keygen')) return;
  const k = makeKey(tmp.dir, 'rfc-ecdsa', ['-t', 'ecdsa', '-N', '', '-C', 'me@there']);
  const rfc = keygen(['-e', '-f', k.path]);
  const parsed = parsePublicKey(rfc);
  assert.equal(parsed.export({ comment: '' }).trim(), k.pub.split(' ').slice(0, 2).join(' '));
  assert.match(parsed.comment, /ECDSA/);
});

test('export refuses bad options', () => {
  const k = keys.ed25519 as PrivateKey;
  assert.throws(() => k.export({ passphrase: '' }), KeyError);
  assert.throws(() => k.export({ passphrase: 'x', rounds: 0 }), KeyError);
  assert.throws(() => k.export({ passphrase: 'x', rounds: 2 ** 32 - 1 }), KeyError);
  assert.throws(() => k.export({ passphrase: 'x', cipher: 'rot13' }), KeyError);
  assert.throws(() => k.export({ format: 'bogus' as 'openssh' }), KeyError);
});

describe('key files', () => {
  test('writePrivateKeyFile creates 0600, replaces atomically, and readPrivateKeyFile reads it', async () => {
    const k = keys.ecdsa384 as PrivateKey;
    const p = join(tmp.dir, 'id_written');
    writeFileSync(p, 'old contents', { mode: 0o600 });
    await writePrivateKeyFile(p, k, { passphrase: 'pw', rounds: 2 });
    assert.equal(statSync(p).mode & 0o777, 0o600);
    const back = await readPrivateKeyFile(p, { passphrase: 'pw' });
    assert.ok(back.publicKey.equals(k.publicKey));
    await assert.rejects(readPrivateKeyFile(p), KeyPassphraseError);
  });

  test('readPrivateKeyFile refuses group/other-readable files unless allowed', async () => {
    const k = keys.ed25519 as PrivateKey;
    const p = join(tmp.dir, 'id_open');
    await writePrivateKeyFile(p, k);
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      chmodSync(p, mode);
      await assert.rejects(readPrivateKeyFile(p), (e: unknown) => e instanceof KeyError && /too open/.test(e.message));
    }
    chmodSync(p, 0o644);
    const back = await readPrivateKeyFile(p, { allowInsecurePermissions: true });
    assert.ok(back.publicKey.equals(k.publicKey));
    chmodSync(p, 0o400);
    assert.ok((await readPrivateKeyFile(p)).publicKey.equals(k.publicKey));
  });
});
