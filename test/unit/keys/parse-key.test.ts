/**
 * One parseKey from the package root (issue 11, item 10): any private key file (OpenSSH plain or
 * encrypted, PKCS#8, PuTTY) or public key (OpenSSH line, RFC 4716, PEM SPKI, bare blob) gives a key
 * with `type` and `fingerprint()`; `instanceof PrivateKey` tells which. parsePrivateKey and
 * parsePublicKey stay.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import {
  generatePrivateKey,
  KeyError,
  KeyPassphraseError,
  PrivateKey,
  PublicKey,
  parseKey,
  parsePrivateKey,
  parsePublicKey,
} from '../../../src/index.js';
import { hasPeer } from '../../helpers/peers.js';

const run = promisify(execFile);

test('parseKey: private keys in every format give a PrivateKey with fingerprint(); public ones a PublicKey', () => {
  const key = generatePrivateKey('ed25519', { comment: 'me' });
  const fp = key.publicKey.fingerprint();
  const privates: Array<[string, string | Buffer, string | undefined]> = [
    ['openssh', key.toOpenSSH(), undefined],
    ['openssh bytes', Buffer.from(key.toOpenSSH()), undefined],
    ['openssh encrypted', key.export({ passphrase: 'pw', rounds: 2 }), 'pw'],
    ['pkcs8', key.export({ format: 'pkcs8' }), undefined],
    ['ppk', key.export({ format: 'ppk' }), undefined],
  ];
  for (const [name, data, passphrase] of privates) {
    const k = parseKey(data, passphrase === undefined ? {} : { passphrase });
    assert.ok(k instanceof PrivateKey, name);
    assert.equal(k.type, 'ssh-ed25519', name);
    assert.equal(k.fingerprint(), fp, name);
  }
  const publics: Array<[string, string | Uint8Array]> = [
    ['openssh line', key.publicKey.toString()],
    ['rfc4716', key.publicKey.export({ format: 'rfc4716' })],
    ['spki', key.publicKey.export({ format: 'spki' })],
    ['blob', key.publicKey.blob],
  ];
  for (const [name, data] of publics) {
    const k = parseKey(data);
    assert.ok(k instanceof PublicKey, name);
    assert.ok(!(k instanceof PrivateKey), name);
    assert.equal(k.type, 'ssh-ed25519', name);
    assert.equal(k.fingerprint(), fp, name);
  }
  // The separate entry points stay.
  assert.equal(parsePrivateKey(key.toOpenSSH()).fingerprint(), fp);
  assert.equal(parsePublicKey(key.publicKey.toString()).fingerprint(), fp);
});

test('parseKey errors: wrong or missing passphrase, garbage, a path', () => {
  const enc = generatePrivateKey('ecdsa').export({ passphrase: 'right', rounds: 2 });
  assert.throws(() => parseKey(enc), KeyPassphraseError);
  assert.throws(() => parseKey(enc, { passphrase: 'wrong' }), KeyPassphraseError);
  assert.throws(
    () => parseKey('hello world'),
    (e: unknown) => e instanceof KeyError && /unrecognised key format/.test(e.message),
  );
  assert.throws(
    () => parseKey('~/.ssh/id_ed25519'),
    (e: unknown) => e instanceof KeyError && /looks like a file path/.test(e.message),
  );
});

test('parseKey agrees with ssh-keygen -l on keys it made (rsa, ecdsa, ed25519; private and .pub)', async (t) => {
  if (!hasPeer('ssh-keygen')) {
    t.skip('ssh-keygen missing');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'secsh-parse-key-'));
  try {
    for (const type of ['rsa', 'ecdsa', 'ed25519']) {
      const path = join(dir, `id_${type}`);
      await run('ssh-keygen', ['-q', '-t', type, '-N', 'pp', '-f', path]);
      const { stdout } = await run('ssh-keygen', ['-l', '-f', `${path}.pub`]);
      const want = stdout.split(' ')[1];
      const priv = parseKey(await readFile(path), { passphrase: 'pp' });
      const pub = parseKey(await readFile(`${path}.pub`, 'utf8'));
      assert.ok(priv instanceof PrivateKey);
      assert.equal(priv.fingerprint(), want, type);
      assert.equal(pub.fingerprint(), want, type);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
