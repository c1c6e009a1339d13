/** Keys made by the real ssh-keygen: parsing, fingerprints, signatures both ways, export accepted back. */
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KeyError, KeyPassphraseError } from '../../../src/errors.js';
import {
  generatePrivateKey,
  parsePrivateKey,
  parsePublicKey,
  type SignatureAlgorithm,
} from '../../../src/keys/index.js';
import { requirePeer } from '../../helpers/peers.js';
import { keygen, keygenStatus, makeKey, sshsigArmor, sshsigParse, sshsigSignedData, tempDir } from './helpers.js';

const KINDS: { name: string; args: string[]; type: string; bits: number }[] = [
  { name: 'ed25519', args: ['-t', 'ed25519'], type: 'ssh-ed25519', bits: 256 },
  { name: 'ecdsa256', args: ['-t', 'ecdsa', '-b', '256'], type: 'ecdsa-sha2-nistp256', bits: 256 },
  { name: 'ecdsa384', args: ['-t', 'ecdsa', '-b', '384'], type: 'ecdsa-sha2-nistp384', bits: 384 },
  { name: 'ecdsa521', args: ['-t', 'ecdsa', '-b', '521'], type: 'ecdsa-sha2-nistp521', bits: 521 },
  { name: 'rsa2048', args: ['-t', 'rsa', '-b', '2048'], type: 'ssh-rsa', bits: 2048 },
];

let tmp: { dir: string; cleanup: () => void };
before(() => {
  tmp = tempDir();
});
after(() => tmp.cleanup());

const message = Buffer.from('the quick brown fox jumps over the lazy dog\n');

for (const kind of KINDS) {
  describe(`ssh-keygen ${kind.name}`, () => {
    test('parses, fingerprints, signs and verifies both ways', (t) => {
      if (!requirePeer(t, 'ssh-keygen')) return;
      const k = makeKey(tmp.dir, kind.name, [...kind.args, '-N', '', '-C', `test ${kind.name}@host`]);
      const priv = parsePrivateKey(k.priv);
      const pub = parsePublicKey(k.pub);
      assert.equal(priv.type, kind.type);
      assert.equal(pub.type, kind.type);
      assert.equal(pub.bits, kind.bits);
      assert.equal(priv.publicKey.comment, `test ${kind.name}@host`);
      assert.ok(priv.publicKey.equals(pub));
      assert.equal(priv.publicKey.toString(), k.pub);
      assert.equal(pub.toString(), k.pub);

      // Fingerprints exactly as ssh-keygen -l prints them.
      const [bits, sha] = keygen(['-l', '-f', `${k.path}.pub`])
        .trim()
        .split(' ');
      assert.equal(pub.fingerprint(), sha);
      assert.equal(String(pub.bits), bits);
      const md5 = keygen(['-l', '-E', 'md5', '-f', `${k.path}.pub`])
        .trim()
        .split(' ')[1];
      assert.equal(pub.fingerprint('md5'), md5);

      // Our signatures are accepted by ssh-keygen -Y check-novalidate.
      const algs = pub.signatureAlgorithms.filter((a) => a !== 'ssh-rsa');
      for (const alg of algs) {
        const sig = priv.signSync(sshsigSignedData('file', message), alg);
        assert.ok(pub.verify(sshsigSignedData('file', message), sig, alg));
        const sigPath = join(tmp.dir, `${kind.name}-${alg}.sig`);
        writeFileSync(sigPath, sshsigArmor(pub.blob, 'file', sig));
        const ok = keygenStatus(['-Y', 'check-novalidate', '-n', 'file', '-s', sigPath], message);
        assert.equal(ok.status, 0, `${alg}: ${ok.out}`);
        const bad = keygenStatus(['-Y', 'check-novalidate', '-n', 'file', '-s', sigPath], Buffer.from('other'));
        assert.notEqual(bad.status, 0);
      }

      // ssh-keygen's signatures verify with our PublicKey.
      const theirs = sshsigParse(keygen(['-Y', 'sign', '-f', k.path, '-n', 'file'], message));
      const alg = theirs.signature.subarray(4, 4 + theirs.signature.readUInt32BE(0)).toString() as SignatureAlgorithm;
      assert.ok(pub.verify(sshsigSignedData('file', message), theirs.signature, alg));
      assert.ok(!pub.verify(sshsigSignedData('file', Buffer.from('tampered')), theirs.signature, alg));
    });

    test('toOpenSSH() output is read back by ssh-keygen -y', (t) => {
      if (!requirePeer(t, 'ssh-keygen')) return;
      const k = makeKey(tmp.dir, `${kind.name}-rt`, [...kind.args, '-N', '', '-C', 'rt']);
      const priv = parsePrivateKey(Buffer.from(k.priv));
      const out = join(tmp.dir, `${kind.name}-rt.out`);
      writeFileSync(out, priv.toOpenSSH('exported'), { mode: 0o600 });
      chmodSync(out, 0o600);
      const derived = keygen(['-y', '-f', out]).trim();
      assert.equal(derived, `${priv.publicKey.type} ${priv.publicKey.blob.toString('base64')} exported`);
      const again = parsePrivateKey(priv.toOpenSSH());
      assert.ok(again.publicKey.equals(priv.publicKey));
      assert.equal(again.comment, 'rt');
    });
  });
}

describe('encrypted OpenSSH keys', () => {
  const ciphers = [
    'aes256-ctr',
    'aes128-ctr',
    'aes192-ctr',
    'aes256-gcm@openssh.com',
    'aes128-gcm@openssh.com',
    'aes256-cbc',
    'aes128-cbc',
    'chacha20-poly1305@openssh.com',
  ];
  for (const cipher of ciphers) {
    test(`${cipher}: right, missing and wrong passphrase`, (t) => {
      if (!requirePeer(t, 'ssh-keygen')) return;
      const name = `enc-${cipher.replace(/[^a-z0-9]/g, '')}`;
      const k = makeKey(tmp.dir, name, ['-t', 'ed25519', '-N', 'correct horse', '-Z', cipher, '-a', '4', '-C', 'enc']);
      assert.match(k.priv, /OPENSSH PRIVATE KEY/);
      const key = parsePrivateKey(k.priv, { passphrase: 'correct horse' });
      assert.equal(key.publicKey.toString(), k.pub);
      const sig = key.signSync(message, 'ssh-ed25519');
      assert.ok(parsePublicKey(k.pub).verify(message, sig, 'ssh-ed25519'));
      assert.throws(
        () => parsePrivateKey(k.priv),
        (e: unknown) => {
          assert.ok(e instanceof KeyPassphraseError);
          assert.equal(e.code, 'ERR_SSH_KEY_PASSPHRASE');
          return true;
        },
      );
      assert.throws(() => parsePrivateKey(k.priv, { passphrase: '' }), KeyPassphraseError);
      assert.throws(
        () => parsePrivateKey(k.priv, { passphrase: 'wrong horse' }),
        (e: unknown) =>
          e instanceof KeyPassphraseError && /wrong passphrase/.test(e.message) && !/horse/.test(e.message),
      );
    });
  }

  test('default ssh-keygen -N (aes256-ctr, 16 rounds) rsa and ecdsa keys', (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    for (const args of [
      ['-t', 'rsa', '-b', '2048'],
      ['-t', 'ecdsa', '-b', '384'],
    ]) {
      const k = makeKey(tmp.dir, `enc-default-${args[1]}`, [...args, '-N', 'pw', '-C', 'x']);
      const key = parsePrivateKey(k.priv, { passphrase: Buffer.from('pw') });
      assert.equal(key.publicKey.toString(), k.pub);
    }
  });

  test('a corrupted encrypted section is refused', (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    for (const cipher of ['aes256-ctr', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com']) {
      const k = makeKey(tmp.dir, `enc-bad-${cipher.replace(/[^a-z0-9]/g, '')}`, [
        '-t',
        'ed25519',
        '-N',
        'pw',
        '-Z',
        cipher,
        '-a',
        '2',
        '-C',
        '',
      ]);
      const raw = Buffer.from(k.priv.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
      raw[raw.length - 40] = (raw[raw.length - 40] as number) ^ 0x80;
      const bad = `-----BEGIN OPENSSH PRIVATE KEY-----\n${raw.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
      assert.ok(parsePrivateKey(k.priv, { passphrase: 'pw' }));
      assert.throws(
        () => parsePrivateKey(bad, { passphrase: 'pw' }),
        (e: unknown) => e instanceof KeyError || e instanceof KeyPassphraseError,
        cipher,
      );
    }
  });
});

describe('PEM private keys (via node:crypto)', () => {
  const cases: { name: string; args: string[] }[] = [
    { name: 'rsa-pkcs1', args: ['-t', 'rsa', '-b', '2048', '-m', 'PEM'] },
    { name: 'ec-sec1', args: ['-t', 'ecdsa', '-b', '256', '-m', 'PEM'] },
    { name: 'ec384-pkcs8', args: ['-t', 'ecdsa', '-b', '384', '-m', 'PKCS8'] },
    { name: 'rsa-pkcs8', args: ['-t', 'rsa', '-b', '2048', '-m', 'PKCS8'] },
  ];
  for (const c of cases) {
    test(c.name, (t) => {
      if (!requirePeer(t, 'ssh-keygen')) return;
      const k = makeKey(tmp.dir, `pem-${c.name}`, [...c.args, '-N', '']);
      assert.doesNotMatch(k.priv, /OPENSSH/);
      const key = parsePrivateKey(k.priv);
      assert.equal(key.publicKey.blob.toString('base64'), k.pub.split(' ')[1]);
      const alg = key.publicKey.signatureAlgorithms[0] as SignatureAlgorithm;
      assert.ok(key.publicKey.verify(message, key.signSync(message, alg), alg));
    });
  }

  test('encrypted legacy PEM: passphrase required, wrong one refused', (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const k = makeKey(tmp.dir, 'pem-enc', ['-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', 'secret']);
    assert.match(k.priv, /ENCRYPTED/);
    assert.equal(
      parsePrivateKey(k.priv, { passphrase: 'secret' }).publicKey.blob.toString('base64'),
      k.pub.split(' ')[1],
    );
    assert.throws(() => parsePrivateKey(k.priv), KeyPassphraseError);
    assert.throws(() => parsePrivateKey(k.priv, { passphrase: 'nope' }), KeyPassphraseError);
  });
});

describe('generated keys', () => {
  const gens: ['ed25519' | 'ecdsa' | 'rsa', number | undefined, string][] = [
    ['ed25519', undefined, 'ssh-ed25519'],
    ['ecdsa', undefined, 'ecdsa-sha2-nistp256'],
    ['ecdsa', 384, 'ecdsa-sha2-nistp384'],
    ['ecdsa', 521, 'ecdsa-sha2-nistp521'],
    ['rsa', 2048, 'ssh-rsa'],
  ];
  for (const [type, bits, sshType] of gens) {
    test(`${type} ${bits ?? 'default'} is accepted by ssh-keygen`, (t) => {
      if (!requirePeer(t, 'ssh-keygen')) return;
      const key = generatePrivateKey(type, { bits, comment: 'gen' });
      assert.equal(key.type, sshType);
      const path = join(tmp.dir, `gen-${type}-${bits}`);
      writeFileSync(path, key.toOpenSSH(), { mode: 0o600 });
      assert.equal(keygen(['-y', '-f', path]).trim(), key.publicKey.toString());
      for (const alg of key.publicKey.signatureAlgorithms) {
        assert.ok(key.publicKey.verify(message, key.signSync(message, alg), alg), alg);
      }
    });
  }
});

test('DSA public keys verify ssh-keygen signatures; DSA private keys parse', (t) => {
  if (!requirePeer(t, 'ssh-keygen')) return;
  let k: ReturnType<typeof makeKey>;
  try {
    k = makeKey(tmp.dir, 'dsa', ['-t', 'dsa', '-N', '']);
  } catch {
    t.skip('this ssh-keygen cannot make DSA keys');
    return;
  }
  const pub = parsePublicKey(k.pub);
  assert.equal(pub.type, 'ssh-dss');
  assert.equal(pub.bits, 1024);
  assert.equal(
    pub.fingerprint(),
    keygen(['-l', '-f', `${k.path}.pub`])
      .trim()
      .split(' ')[1],
  );
  const theirs = sshsigParse(keygen(['-Y', 'sign', '-f', k.path, '-n', 'file'], message));
  assert.ok(pub.verify(sshsigSignedData('file', message), theirs.signature, 'ssh-dss'));
  assert.ok(!pub.verify(sshsigSignedData('file', Buffer.from('x')), theirs.signature, 'ssh-dss'));
  assert.ok(parsePrivateKey(k.priv).publicKey.equals(pub));
});
