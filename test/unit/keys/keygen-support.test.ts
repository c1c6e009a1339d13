/**
 * What the keys layer gained for `secsh keygen`: fingerprints and randomart for every `-E` digest, the
 * traditional PEM export of `-m PEM`, the clear public key of an encrypted OpenSSH file, DSA generation and
 * the Bubble Babble of `-B`, and KRL writing for `-k` —
 * each checked against ssh-keygen.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InvalidArgumentError, KeyError } from '../../../src/errors.js';
import {
  bubblebabble,
  generatePrivateKey,
  issueCertificate,
  KrlBuilder,
  parsePrivateKey,
  parsePublicKey,
  publicKeyOfPrivateKeyFile,
  RevocationList,
  shortTypeName,
} from '../../../src/keys/index.js';
import { requirePeer } from '../../helpers/peers.js';
import { keygen, keygenStatus, makeKey, tempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
before(() => {
  tmp = tempDir();
});
after(() => tmp.cleanup());

test('fingerprints and randomart for -E sha1, sha384 and sha512 are what ssh-keygen -lv prints', (t) => {
  if (!requirePeer(t, 'ssh-keygen')) return;
  const k = makeKey(tmp.dir, 'fp', ['-t', 'ecdsa', '-N', '', '-C', 'c']);
  const pub = parsePublicKey(k.pub);
  for (const hash of ['sha1', 'sha384', 'sha512'] as const) {
    const [first, ...art] = keygen(['-lv', '-E', hash, '-f', `${k.path}.pub`])
      .replace(/\n$/, '')
      .split('\n');
    assert.equal(first, `${pub.bits} ${pub.fingerprint(hash)} c (${shortTypeName(pub.type)})`);
    assert.equal(pub.randomart(hash), art.join('\n'), hash);
  }
});

test("export format 'pem' writes PKCS#1 and SEC1 (AES-128-CBC when encrypted) that ssh-keygen -y reads", (t) => {
  if (!requirePeer(t, 'ssh-keygen')) return;
  const ec = generatePrivateKey('ecdsa', { bits: 384 });
  const rsa = generatePrivateKey('rsa', { bits: 1024 });
  for (const [name, key, label] of [
    ['ec', ec, 'EC'],
    ['rsa', rsa, 'RSA'],
  ] as const) {
    for (const passphrase of [undefined, 'pem pass']) {
      const text = key.export({ format: 'pem', ...(passphrase ? { passphrase } : {}) });
      assert.match(text, new RegExp(`^-----BEGIN ${label} PRIVATE KEY-----\\n`));
      if (passphrase) assert.match(text, /Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,/);
      const path = join(tmp.dir, `${name}-${passphrase ? 'enc' : 'plain'}.pem`);
      writeFileSync(path, text, { mode: 0o600 });
      const out = keygen(['-y', '-P', passphrase ?? '', '-f', path]);
      assert.equal(out.trim(), `${key.type} ${key.publicKey.blob.toString('base64')}`);
      assert.ok(parsePrivateKey(text, passphrase ? { passphrase } : {}).publicKey.equals(key.publicKey));
    }
  }
  assert.throws(() => generatePrivateKey('ed25519').export({ format: 'pem' }), KeyError);
});

test('publicKeyOfPrivateKeyFile reads the public key of an encrypted OpenSSH key without its passphrase', (t) => {
  if (!requirePeer(t, 'ssh-keygen')) return;
  const k = makeKey(tmp.dir, 'enc', ['-t', 'ed25519', '-N', 'secret', '-C', 'x']);
  const pub = publicKeyOfPrivateKeyFile(k.priv);
  assert.ok(pub?.equals(parsePublicKey(k.pub)));
  assert.equal(pub?.comment, '');
  const pem = makeKey(tmp.dir, 'pem', ['-t', 'ecdsa', '-N', '', '-m', 'PEM']);
  assert.equal(publicKeyOfPrivateKeyFile(pem.priv), undefined);
  const broken = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
  assert.throws(() => publicKeyOfPrivateKeyFile(broken), KeyError);
});

test('generatePrivateKey dsa makes the 1024-bit keys ssh-keygen -t dsa makes, and refuses other sizes', (t) => {
  if (!requirePeer(t, 'ssh-keygen')) return;
  const key = generatePrivateKey('dsa', { comment: 'd' });
  assert.equal(key.type, 'ssh-dss');
  assert.equal(key.publicKey.bits, 1024);
  const path = join(tmp.dir, 'dsa');
  writeFileSync(path, key.toOpenSSH(), { mode: 0o600 });
  const r = keygenStatus(['-l', '-f', path]);
  assert.equal(r.status, 0, r.out);
  assert.equal(r.out, `1024 ${key.fingerprint()} d (DSA)\n`);
  assert.throws(() => generatePrivateKey('dsa', { bits: 2048 }), InvalidArgumentError);
});

test('bubblebabble: the vectors of the Bubble Babble spec, and ssh-keygen -B of a key', (t) => {
  assert.equal(bubblebabble(Buffer.alloc(0)), 'xexax');
  assert.equal(bubblebabble(Buffer.from('1234567890')), 'xesef-disof-gytuf-katof-movif-baxux');
  assert.equal(bubblebabble(Buffer.from('Pineapple')), 'xigak-nyryk-humil-bosek-sonax');
  if (!requirePeer(t, 'ssh-keygen')) return;
  const k = makeKey(tmp.dir, 'bb', ['-t', 'ed25519', '-N', '', '-C', 'b']);
  const pub = parsePublicKey(k.pub);
  const digest = createHash('sha1').update(pub.blob).digest();
  assert.equal(keygen(['-B', '-f', `${k.path}.pub`]), `256 ${bubblebabble(digest)} b (ED25519)\n`);
});

test('KrlBuilder: what it revokes (keys, hashes, serials, ranges, key IDs, per CA or any CA) RevocationList reads back', async () => {
  const ca = generatePrivateKey('ed25519');
  const other = generatePrivateKey('ed25519');
  const fresh = () => generatePrivateKey('ed25519').publicKey;
  const [k1, k2, k3, k4] = [fresh(), fresh(), fresh(), fresh()];
  const cert = (signer: typeof ca, serial: bigint, keyId = 'id') =>
    issueCertificate(signer, k4, { type: 'user', keyId, serial });
  const krl = new KrlBuilder({ version: 5n, comment: 'c' })
    .revokeKey(k1)
    .revokeSha1(k2)
    .revokeSha256(k3)
    .revokeSerials(ca.publicKey, 10n, 20n)
    .revokeSerials(ca.publicKey, 21n)
    .revokeSerials(ca.publicKey, 7n)
    .revokeKeyId(undefined, 'anyone');
  const list = RevocationList.parse(krl.toBuffer(1234n));
  assert.equal(list.version, 5n);
  assert.equal(list.comment, 'c');
  assert.equal(list.generatedAt, 1234n);
  for (const k of [k1, k2, k3]) assert.ok(list.isRevoked(k));
  assert.ok(!list.isRevoked(k4));
  for (const serial of [7n, 10n, 15n, 21n]) assert.ok(list.isRevoked(await cert(ca, serial)), `serial ${serial}`);
  for (const serial of [6n, 9n, 22n]) assert.ok(!list.isRevoked(await cert(ca, serial)), `serial ${serial}`);
  assert.ok(!list.isRevoked(await cert(other, 15n)), 'serials are per CA');
  assert.ok(list.isRevoked(await cert(other, 15n, 'anyone')), 'a key ID under "any CA"');
  assert.throws(() => new KrlBuilder().revokeSerials(undefined, 0n), KeyError);
});
