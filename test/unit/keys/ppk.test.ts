/** PuTTY .ppk v2/v3 read and v3 write (against puttygen), Argon2 (RFC 9106 vectors) and BLAKE2b. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KeyError, KeyPassphraseError } from '../../../src/errors.js';
import { argon2, blake2b, generatePrivateKey, type PrivateKey, parsePrivateKey } from '../../../src/keys/index.js';
import { tempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
let passFile = '';
before(() => {
  tmp = tempDir();
  passFile = join(tmp.dir, 'pass');
  writeFileSync(passFile, 'ppk secret\n');
});
after(() => tmp.cleanup());

const havePuttygen = spawnSync('puttygen', ['--version']).status === 0;
function puttygen(args: string[]): string {
  const r = spawnSync('puttygen', args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`puttygen ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
function needPuttygen(t: { skip(msg: string): void }): boolean {
  if (havePuttygen) return true;
  if (process.env.CI) throw new Error('puttygen (putty-tools) is required under CI');
  t.skip('puttygen not installed');
  return false;
}

describe('BLAKE2b and Argon2', () => {
  test('BLAKE2b-512 matches node; RFC 7693 "abc" vector; short outputs', () => {
    for (const n of [0, 1, 64, 127, 128, 129, 256, 1000]) {
      const d = Buffer.alloc(n, n & 0xff);
      assert.ok(blake2b(d, 64).equals(createHash('blake2b512').update(d).digest()), `len ${n}`);
    }
    assert.equal(
      blake2b(Buffer.from('abc'), 64).toString('hex'),
      'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923',
    );
    // BLAKE2b-256 of the empty string (a well-known value).
    assert.equal(
      blake2b(Buffer.alloc(0), 32).toString('hex'),
      '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8',
    );
    assert.throws(() => blake2b(Buffer.alloc(1), 65));
  });

  test('RFC 9106 §5 test vectors (Argon2d, Argon2i, Argon2id)', () => {
    const base = {
      password: Buffer.alloc(32, 1),
      salt: Buffer.alloc(16, 2),
      secret: Buffer.alloc(8, 3),
      associatedData: Buffer.alloc(12, 4),
      memory: 32,
      passes: 3,
      parallelism: 4,
      tagLength: 32,
    };
    assert.equal(
      argon2({ ...base, type: 'argon2d' }).toString('hex'),
      '512b391b6f1162975371d30919734294f868e3be3984f3c1a13a4db9fabe4acb',
    );
    assert.equal(
      argon2({ ...base, type: 'argon2i' }).toString('hex'),
      'c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8',
    );
    assert.equal(
      argon2({ ...base, type: 'argon2id' }).toString('hex'),
      '0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659',
    );
  });

  test('hostile Argon2 parameters are refused before any work', () => {
    const p = {
      type: 'argon2id' as const,
      password: Buffer.from('x'),
      salt: Buffer.alloc(16),
      tagLength: 32,
      parallelism: 1,
    };
    const t0 = Date.now();
    assert.throws(() => argon2({ ...p, memory: 2 ** 31, passes: 1 }), KeyError);
    assert.throws(() => argon2({ ...p, memory: 8192, passes: 2 ** 32 - 1 }), KeyError);
    assert.throws(() => argon2({ ...p, memory: 256 * 1024, passes: 100 }), /too costly/);
    assert.throws(() => argon2({ ...p, memory: 8192, passes: 1, parallelism: 1000 }), KeyError);
    assert.ok(Date.now() - t0 < 100);
  });
});

describe('PuTTY .ppk', () => {
  const KINDS = [
    ['ed25519', ['-t', 'ed25519']],
    ['ecdsa', ['-t', 'ecdsa', '-b', '256']],
    ['rsa', ['-t', 'rsa', '-b', '2048']],
    ['dsa', ['-t', 'dsa', '-b', '1024']],
  ] as [string, string[]][];

  for (const [name, args] of KINDS) {
    test(`${name}: puttygen v3 and v2 files, encrypted or not, parse to puttygen's public key`, (t) => {
      if (!needPuttygen(t)) return;
      for (const [version, enc] of [
        [3, false],
        [3, true],
        [2, false],
        [2, true],
      ] as const) {
        const path = join(tmp.dir, `pg-${name}-${version}-${enc}.ppk`);
        // A cheap Argon2 for the encrypted v3 case keeps the test fast; the default cost is covered below.
        const params = version === 2 ? ['--ppk-param', 'version=2'] : ['--ppk-param', 'memory=1024,passes=2'];
        puttygen([...args, ...params, '-C', `c-${name}`, '-o', path, '--new-passphrase', enc ? passFile : '/dev/null']);
        const text = readFileSync(path, 'utf8');
        assert.match(text, new RegExp(`^PuTTY-User-Key-File-${version}: `));
        const opts = enc ? { passphrase: 'ppk secret' } : {};
        const key = parsePrivateKey(text, opts);
        const theirs = puttygen([path, '-O', 'public-openssh', ...(enc ? ['--old-passphrase', passFile] : [])]).trim();
        assert.equal(`${key.publicKey.export().trim()}`, theirs);
        assert.equal(key.comment, `c-${name}`);
        if (enc) {
          assert.throws(() => parsePrivateKey(text), KeyPassphraseError);
          assert.throws(() => parsePrivateKey(text, { passphrase: 'wrong' }), KeyPassphraseError);
        }
        // A changed comment breaks the MAC: corrupt (unencrypted) vs wrong passphrase (encrypted).
        const tampered = text.replace(`Comment: c-${name}`, `Comment: c-${name}x`);
        assert.throws(() => parsePrivateKey(tampered, opts), enc ? KeyPassphraseError : /MAC/);
      }
    });
  }

  test('puttygen default v3 encryption (Argon2id 8 MiB) parses', (t) => {
    if (!needPuttygen(t)) return;
    const path = join(tmp.dir, 'pg-default.ppk');
    puttygen(['-t', 'ed25519', '-o', path, '--new-passphrase', passFile]);
    const text = readFileSync(path, 'utf8');
    assert.match(text, /Key-Derivation: Argon2id/);
    const key = parsePrivateKey(text, { passphrase: 'ppk secret' });
    assert.equal(
      key.publicKey.export().trim(),
      puttygen([path, '-O', 'public-openssh', '--old-passphrase', passFile]).trim(),
    );
  });

  const ours: Record<string, PrivateKey> = {};
  for (const name of ['ed25519', 'ecdsa', 'rsa'] as const) {
    test(`${name}: our .ppk v3 (plain and encrypted) is read by puttygen and by us`, (t) => {
      const key = generatePrivateKey(name, name === 'rsa' ? { bits: 2048, comment: 'ours' } : { comment: 'ours' });
      ours[name] = key;
      const plain = key.export({ format: 'ppk' });
      const enc = key.export({ format: 'ppk', passphrase: 'ppk secret', argon2: { memory: 1024, passes: 2 } });
      assert.match(plain, /^PuTTY-User-Key-File-3: .*\nEncryption: none\nComment: ours\n/);
      assert.match(enc, /Key-Derivation: Argon2id\nArgon2-Memory: 1024\nArgon2-Passes: 2\n/);
      assert.ok(parsePrivateKey(plain).publicKey.equals(key.publicKey));
      assert.ok(parsePrivateKey(enc, { passphrase: 'ppk secret' }).publicKey.equals(key.publicKey));
      assert.throws(() => parsePrivateKey(enc, { passphrase: 'nope' }), KeyPassphraseError);
      if (!needPuttygen(t)) return;
      const pp = join(tmp.dir, `ours-${name}.ppk`);
      const pe = join(tmp.dir, `ours-${name}-enc.ppk`);
      writeFileSync(pp, plain, { mode: 0o600 });
      writeFileSync(pe, enc, { mode: 0o600 });
      const expected = key.publicKey.export().trim();
      assert.equal(puttygen([pp, '-O', 'public-openssh']).trim(), expected);
      assert.equal(puttygen([pe, '-O', 'public-openssh', '--old-passphrase', passFile]).trim(), expected);
      // puttygen must decrypt the private part too (it checks the MAC over it): convert to OpenSSH and compare.
      const out = join(tmp.dir, `ours-${name}.openssh`);
      puttygen([
        pe,
        '-O',
        'private-openssh-new',
        '-o',
        out,
        '--old-passphrase',
        passFile,
        '--new-passphrase',
        '/dev/null',
      ]);
      assert.ok(parsePrivateKey(readFileSync(out)).publicKey.equals(key.publicKey));
    });
  }

  test('hostile .ppk: huge Argon2 cost and line counts are refused quickly', () => {
    const key = generatePrivateKey('ed25519');
    const enc = key.export({ format: 'ppk', passphrase: 'x', argon2: { memory: 64, passes: 1 } });
    const t0 = Date.now();
    const costly = enc
      .replace('Argon2-Memory: 64', 'Argon2-Memory: 4194304')
      .replace('Argon2-Passes: 1', 'Argon2-Passes: 4294967295');
    assert.throws(() => parsePrivateKey(costly, { passphrase: 'x' }), KeyError);
    assert.throws(
      () => parsePrivateKey(enc.replace(/Private-Lines: \d+/, 'Private-Lines: 99999999'), { passphrase: 'x' }),
      KeyError,
    );
    assert.throws(
      () => parsePrivateKey(enc.replace('PuTTY-User-Key-File-3', 'PuTTY-User-Key-File-9'), { passphrase: 'x' }),
      KeyError,
    );
    assert.ok(Date.now() - t0 < 1000);
  });
});
