/** Reading: DSA (OpenSSH, PEM, PKCS#8), PKCS#8 encrypted with PBKDF2 and scrypt, KDF cost caps, authorized_keys. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KeyError, KeyPassphraseError } from '../../../src/errors.js';
import {
  generatePrivateKey,
  parseAuthorizedKeyLine,
  parseAuthorizedKeys,
  parsePrivateKey,
  parsePublicKey,
} from '../../../src/keys/index.js';
import { requirePeer } from '../../helpers/peers.js';
import { keygen, keygenStatus, makeKey, sshsigArmor, sshsigSignedData, tempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
before(() => {
  tmp = tempDir();
});
after(() => tmp.cleanup());

function openssl(args: string[]): Buffer {
  const r = spawnSync('openssl', args, { encoding: 'buffer', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout;
}

const haveOpenssl = spawnSync('openssl', ['version']).status === 0;

describe('DSA (ssh-dss, legacy)', () => {
  for (const [label, args] of [
    ['OpenSSH', []],
    ['OpenSSH encrypted', ['-N', 'secret', '-a', '2']],
    ['PEM', ['-m', 'PEM']],
    ['PEM encrypted', ['-m', 'PEM', '-N', 'secret']],
    ['PKCS8', ['-m', 'PKCS8']],
    ['PKCS8 encrypted', ['-m', 'PKCS8', '-N', 'secret']],
  ] as [string, string[]][]) {
    test(`${label}: parses, signs (verified by ssh-keygen), exports back`, (t) => {
      if (!requirePeer(t, 'ssh-keygen')) return;
      const name = `dsa-${label.replace(/\W/g, '')}`;
      const k = makeKey(tmp.dir, name, [
        '-t',
        'dsa',
        '-C',
        'dsa@test',
        ...(args.includes('-N') ? [] : ['-N', '']),
        ...args,
      ]);
      const passphrase = args.includes('-N') ? 'secret' : undefined;
      if (passphrase) assert.throws(() => parsePrivateKey(k.priv), KeyPassphraseError);
      const priv = parsePrivateKey(k.priv, passphrase ? { passphrase } : {});
      const pub = parsePublicKey(k.pub);
      assert.equal(priv.type, 'ssh-dss');
      assert.ok(priv.publicKey.equals(pub));
      assert.equal(pub.bits, 1024);
      const msg = Buffer.from('dsa message');
      const sig = priv.signSync(sshsigSignedData('file', msg), 'ssh-dss');
      assert.ok(pub.verify(sshsigSignedData('file', msg), sig, 'ssh-dss'));
      const sigPath = join(tmp.dir, `${name}.sig`);
      writeFileSync(sigPath, sshsigArmor(pub.blob, 'file', sig));
      assert.equal(keygenStatus(['-Y', 'check-novalidate', '-n', 'file', '-s', sigPath], msg).status, 0);
      assert.notEqual(
        keygenStatus(['-Y', 'check-novalidate', '-n', 'file', '-s', sigPath], Buffer.from('x')).status,
        0,
      );
      const out = join(tmp.dir, `${name}.out`);
      writeFileSync(out, priv.export({ passphrase: 'new', rounds: 2 }), { mode: 0o600 });
      assert.equal(keygen(['-y', '-P', 'new', '-f', out]).trim().split(' ')[1], pub.blob.toString('base64'));
      assert.ok(parsePrivateKey(priv.export({ format: 'pkcs8' })).publicKey.equals(pub));
    });
  }

  test('a DSA key whose x does not match y is refused', (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const k = makeKey(tmp.dir, 'dsa-bad', ['-t', 'dsa', '-N', '']);
    const priv = parsePrivateKey(k.priv);
    // Flip a bit of the last byte of x in the private blob and re-armour via a fresh OpenSSH encoding.
    const text = priv.export();
    const raw = Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const xEnd = raw.indexOf(Buffer.from(priv.comment, 'utf8'), raw.length - 64) - 4 - 1;
    raw[xEnd] = (raw[xEnd] as number) ^ 1;
    const bad = `-----BEGIN OPENSSH PRIVATE KEY-----\n${raw.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
    assert.throws(() => parsePrivateKey(bad), KeyError);
  });
});

describe('PKCS#8 encrypted', () => {
  test('PBES2 with PBKDF2 (ssh-keygen -m PKCS8, openssl) and scrypt (openssl)', (t) => {
    if (!haveOpenssl || !requirePeer(t, 'ssh-keygen')) return;
    const k = makeKey(tmp.dir, 'p8-ec', ['-t', 'ecdsa', '-m', 'PKCS8', '-N', 'secret']);
    assert.match(k.priv, /ENCRYPTED PRIVATE KEY/);
    const pub = parsePublicKey(k.pub);
    assert.ok(parsePrivateKey(k.priv, { passphrase: 'secret' }).publicKey.equals(pub));
    assert.throws(() => parsePrivateKey(k.priv, { passphrase: 'no' }), KeyPassphraseError);
    const plainPath = join(tmp.dir, 'p8-ec.plain');
    writeFileSync(plainPath, parsePrivateKey(k.priv, { passphrase: 'secret' }).export({ format: 'pkcs8' }));
    const scrypt = openssl(['pkcs8', '-topk8', '-scrypt', '-in', plainPath, '-passout', 'pass:sc']).toString();
    assert.ok(parsePrivateKey(scrypt, { passphrase: 'sc' }).publicKey.equals(pub));
    assert.throws(() => parsePrivateKey(scrypt, { passphrase: 'no' }), KeyPassphraseError);
    const sha1 = openssl([
      'pkcs8',
      '-topk8',
      '-v2',
      'aes128',
      '-v2prf',
      'hmacWithSHA1',
      '-in',
      plainPath,
      '-passout',
      'pass:x',
    ]);
    assert.ok(parsePrivateKey(sha1, { passphrase: 'x' }).publicKey.equals(pub));
  });

  test('hostile KDF costs are refused quickly: PBKDF2 iterations, scrypt N', (t) => {
    if (!haveOpenssl) return t.skip('openssl not installed');
    const key = generatePrivateKey('ed25519');
    const plainPath = join(tmp.dir, 'cost.plain');
    writeFileSync(plainPath, key.export({ format: 'pkcs8' }));
    const patch = (pem: string, from: string, to: string): string => {
      const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
      const at = der.indexOf(Buffer.from(from, 'hex'));
      assert.ok(at > 0, 'parameter found');
      Buffer.from(to, 'hex').copy(der, at);
      return `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${der.toString('base64')}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
    };
    const pbkdf2 = openssl([
      'pkcs8',
      '-topk8',
      '-v2',
      'aes256',
      '-iter',
      '65536',
      '-in',
      plainPath,
      '-passout',
      'pass:p',
    ]);
    assert.ok(parsePrivateKey(pbkdf2, { passphrase: 'p' }).publicKey.equals(key.publicKey));
    const slow = patch(pbkdf2.toString(), '0203010000', '02037fffff');
    let t0 = Date.now();
    assert.throws(() => parsePrivateKey(slow, { passphrase: 'p' }), /PBKDF2 iteration count/);
    assert.ok(Date.now() - t0 < 1000);
    const sc = openssl(['pkcs8', '-topk8', '-scrypt', '-in', plainPath, '-passout', 'pass:p']);
    assert.ok(parsePrivateKey(sc, { passphrase: 'p' }).publicKey.equals(key.publicKey));
    t0 = Date.now();
    // N = 2^14, r = 8 as openssl writes them; r patched to 127.
    const hostile = patch(sc.toString(), '02024000020108', '0202400002017f');
    assert.throws(() => parsePrivateKey(hostile, { passphrase: 'p' }), /scrypt/);
    assert.ok(Date.now() - t0 < 1000);
  });
});

describe('authorized_keys', () => {
  const ed = generatePrivateKey('ed25519').publicKey;
  const ec = generatePrivateKey('ecdsa').publicKey;
  const edB64 = ed.blob.toString('base64');
  const ecB64 = ec.blob.toString('base64');

  test('options, quoting, comments, blank lines and bad lines', () => {
    const text = [
      '# a comment',
      '',
      `ssh-ed25519 ${edB64} plain key`,
      `from="10.0.0.0/8,!10.1.*",command="echo \\"hi there\\"",no-pty,permitopen="h:22",permitopen="h:80" ecdsa-sha2-nistp256 ${ecB64} me@host`,
      `restrict,Cert-Authority ssh-ed25519 ${edB64}`,
      `environment="A=b c" ssh-ed25519 ${edB64}   spaced comment `,
      'garbage line',
      `no-pty ssh-foo ${edB64}`,
      `command="unterminated ssh-ed25519 ${edB64}`,
    ].join('\n');
    const keys = parseAuthorizedKeys(text);
    assert.equal(keys.length, 4);
    const [a, b, c, d] = keys;
    assert.deepEqual(a?.options, []);
    assert.equal(a?.comment, 'plain key');
    assert.equal(a?.line, 3);
    assert.ok(a?.key.equals(ed));
    assert.deepEqual(b?.options, [
      { name: 'from', value: '10.0.0.0/8,!10.1.*' },
      { name: 'command', value: 'echo "hi there"' },
      { name: 'no-pty' },
      { name: 'permitopen', value: 'h:22' },
      { name: 'permitopen', value: 'h:80' },
    ]);
    assert.ok(b?.key.equals(ec));
    assert.equal(b?.comment, 'me@host');
    assert.deepEqual(c?.options, [{ name: 'restrict' }, { name: 'cert-authority' }]);
    assert.equal(c?.comment, '');
    assert.deepEqual(d?.options, [{ name: 'environment', value: 'A=b c' }]);
    assert.equal(d?.comment, 'spaced comment');
    assert.throws(() => parseAuthorizedKeys(text, { strict: true }), /line 7/);
    assert.throws(() => parseAuthorizedKeyLine(`no-pty,, ssh-ed25519 ${edB64}`), KeyError);
    assert.throws(() => parseAuthorizedKeyLine(`from=x ssh-ed25519 ${edB64}`), KeyError);
  });

  test('keys from ssh-keygen in an authorized_keys file', (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const k = makeKey(tmp.dir, 'ak', ['-t', 'rsa', '-b', '2048', '-N', '', '-C', 'ak@x']);
    const parsed = parseAuthorizedKeys(`no-agent-forwarding ${k.pub}\n`);
    assert.equal(parsed.length, 1);
    assert.equal(parsed[0]?.key.fingerprint(), keygen(['-l', '-f', `${k.path}.pub`]).split(' ')[1]);
    assert.equal(readFileSync(`${k.path}.pub`, 'utf8').trim(), `${parsed[0]?.key.toString()}`);
  });
});
