import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants as fsConstants,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  hashKnownHostsName,
  KnownHosts,
  knownHostsName,
  knownHostsVerifier,
  preferKnownHostKeyAlgorithms,
} from '../../../src/config/index.js';
import { HostKeyError } from '../../../src/errors.js';
import { generatePrivateKey } from '../../../src/keys/index.js';

const k1 = generatePrivateKey('ed25519').publicKey;
const k2 = generatePrivateKey('ed25519').publicKey;
const ec = generatePrivateKey('ecdsa').publicKey;
const line = (hosts: string, k = k1) => `${hosts} ${k.type} ${k.blob.toString('base64')}`;

test('knownHostsName brackets non-22 ports and lowercases', () => {
  assert.equal(knownHostsName('Example.COM', 22), 'example.com');
  assert.equal(knownHostsName('example.com', 2222), '[example.com]:2222');
  assert.equal(knownHostsName('::1', 2200), '[::1]:2200');
});

test('hashKnownHostsName is HMAC-SHA1 keyed by the salt, base64, |1| prefixed', () => {
  const salt = Buffer.alloc(20, 7);
  const want = createHmac('sha1', salt).update('host.example').digest('base64');
  assert.equal(hashKnownHostsName('host.example', salt), `|1|${salt.toString('base64')}|${want}`);
  const kh = new KnownHosts(`${line(hashKnownHostsName('host.example'))}\n`);
  assert.equal(kh.lookup('host.example', 22, k1).status, 'match');
  assert.equal(kh.lookup('host.example', 23, k1).status, 'unknown');
  assert.equal(kh.lookup('other', 22, k1).status, 'unknown');
});

test('lookup: match, mismatch of the same type, unknown with other types known, revoked first', () => {
  const kh = new KnownHosts(
    [line('a.example', k1), line('b.example', ec), line('@revoked *.bad', k2), line('x.bad', k2)].join('\n'),
  );
  assert.equal(kh.lookup('a.example', 22, k1).status, 'match');
  const m = kh.lookup('a.example', 22, k2);
  assert.equal(m.status, 'mismatch');
  assert.equal(m.entry?.line, 1);
  const u = kh.lookup('b.example', 22, k1);
  assert.equal(u.status, 'unknown');
  assert.deepEqual(
    u.known.map((e) => e.key.type),
    [ec.type],
  );
  assert.equal(kh.lookup('x.bad', 22, k2).status, 'revoked');
  assert.deepEqual(kh.knownKeyTypes('b.example'), ['ecdsa-sha2-nistp256']);
});

test('patterns: wildcards, negation, comma lists; @cert-authority never matches a plain key', () => {
  const kh = new KnownHosts(
    [line('*.example.org,!secret.example.org'), line('@cert-authority *.ca', k1), line('[h?]:2022')].join('\n'),
  );
  assert.equal(kh.lookup('www.example.org', 22, k1).status, 'match');
  assert.equal(kh.lookup('secret.example.org', 22, k1).status, 'unknown');
  assert.equal(kh.lookup('host.ca', 22, k1).status, 'unknown');
  assert.equal(kh.find('host.ca', 22)[0]?.marker, 'cert-authority');
  assert.equal(kh.lookup('h1', 2022, k1).status, 'match');
  assert.equal(kh.lookup('h1', 22, k1).status, 'unknown');
});

test('bad lines are skipped but kept; toString round-trips the file', () => {
  const text = [
    '# comment',
    '',
    'garbage',
    line('ok.example'),
    'host ssh-ed25519 AAAA',
    `${line('mism')}`.replace('ssh-ed25519', 'ssh-rsa'),
    '@weird x y z',
    `${'a'.repeat(70000)} ssh-ed25519 AAAA`,
    '',
  ].join('\n');
  const kh = new KnownHosts(text);
  assert.equal(kh.entries.length, 1);
  assert.equal(kh.entries[0]?.line, 4);
  assert.equal(kh.toString(), text);
});

test('add validates names; remove drops plain matches only; save is atomic with mode 0600', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'secsh-kh-unit-'));
  try {
    const kh = new KnownHosts(`${line('@revoked a.example', k2)}\n`, join(dir, 'known_hosts'));
    assert.throws(() => kh.add('a b', 22, k1), /invalid host/);
    assert.throws(() => kh.add('a,b', 22, k1), /invalid host/);
    kh.add('a.example', 22, k1, { comment: 'added' });
    kh.add('a.example', 2200, k1, { hash: true });
    assert.equal(kh.lookup('a.example', 2200, k1).status, 'match');
    await kh.save();
    const p = join(dir, 'known_hosts');
    assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['known_hosts']);
    assert.equal(readFileSync(p, 'utf8').split('\n')[1], `${line('a.example')} added`);
    chmodSync(p, 0o644);
    assert.equal(kh.remove('a.example', 22), 1);
    assert.equal(kh.entries.length, 2);
    await kh.save();
    assert.equal(statSync(p).mode & 0o777, 0o644, 'an existing file keeps its mode');
    const back = await KnownHosts.load(p);
    assert.equal(back.lookup('a.example', 2200, k1).status, 'match');
    assert.equal(back.lookup('a.example', 22, k2).status, 'revoked');
    assert.equal((await KnownHosts.load(join(dir, 'missing'))).entries.length, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('knownHostsVerifier: strict / accept-new / off, and revoked always refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'secsh-kh-unit-'));
  try {
    const p = join(dir, 'kh');
    writeFileSync(p, `${line('known', k1)}\n${line('@revoked *', ec)}\n`);
    const files = [await KnownHosts.load(p)];
    const strict = knownHostsVerifier({ files, mode: 'strict', host: 'known', port: 22 });
    await strict(k1);
    await assert.rejects(
      strict(k2),
      (e: unknown) => e instanceof HostKeyError && e.fingerprint === k2.fingerprint() && /CHANGED/.test(e.message),
    );
    const s2 = knownHostsVerifier({ files, mode: 'strict', host: 'new', port: 22 });
    await assert.rejects(s2(k2), /not in known_hosts/);
    const an = knownHostsVerifier({ files, mode: 'accept-new', host: 'new', port: 2222 });
    await an(k2);
    assert.match(readFileSync(p, 'utf8'), /\[new\]:2222 ssh-ed25519/);
    await assert.rejects(knownHostsVerifier({ files, mode: 'accept-new', host: 'known', port: 22 })(k2), /CHANGED/);
    await knownHostsVerifier({ files, mode: 'off', host: 'known', port: 22 })(k2);
    await assert.rejects(knownHostsVerifier({ files, mode: 'off', host: 'any', port: 22 })(ec), /revoked/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('preferKnownHostKeyAlgorithms puts known types first (RSA keys map to rsa-sha2-*)', () => {
  const rsa = generatePrivateKey('rsa', { bits: 2048 }).publicKey;
  const rsaLine = line('r', rsa);
  const kh = new KnownHosts(`${line('e', ec)}\n${rsaLine}\n`);
  const algs = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512', 'rsa-sha2-256'];
  assert.deepEqual(preferKnownHostKeyAlgorithms(algs, [kh], 'e', 22), [
    'ecdsa-sha2-nistp256',
    'ssh-ed25519',
    'rsa-sha2-512',
    'rsa-sha2-256',
  ]);
  assert.equal(kh.entries.length, 2);
  assert.deepEqual(preferKnownHostKeyAlgorithms(algs, [kh], 'r', 22), [
    'rsa-sha2-512',
    'rsa-sha2-256',
    'ssh-ed25519',
    'ecdsa-sha2-nistp256',
  ]);
  assert.deepEqual(preferKnownHostKeyAlgorithms(algs, [kh], 'none', 22), algs);
});

test('save writes through a symlink to its target, and into a non-regular file (a FIFO, like /dev/null) in place', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'secsh-kh-special-'));
  try {
    const key = generatePrivateKey('ed25519').publicKey;
    // A symlink stays a symlink; the file it points to gets the line.
    const target = join(dir, 'real_known_hosts');
    writeFileSync(target, '');
    const link = join(dir, 'known_hosts');
    symlinkSync(target, link);
    const kh = await KnownHosts.load(link);
    kh.add('example.com', 22, key);
    await kh.save();
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.match(readFileSync(target, 'utf8'), /^example\.com ssh-ed25519 /);
    // A FIFO (a stand-in for /dev/null) is written, never renamed over.
    const fifo = join(dir, 'fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const reader = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    try {
      const k2 = await KnownHosts.load(join(dir, 'empty-does-not-exist'));
      k2.add('example.org', 22, key);
      await k2.save(fifo);
      assert.ok(lstatSync(fifo).isFIFO(), 'the FIFO was replaced');
      const buf = Buffer.alloc(4096);
      const n = readSync(reader, buf, 0, buf.length, null);
      assert.match(buf.subarray(0, n).toString('utf8'), /^example\.org ssh-ed25519 /);
    } finally {
      closeSync(reader);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
