/**
 * KRLs made by OpenSSH's `ssh-keygen -k` (serial lists, ranges and bitmaps, key IDs, explicit keys, SHA-1 and
 * SHA-256 hashes, per CA and for every CA): secsh's RevocationList revokes exactly what `ssh-keygen -Q`
 * reports revoked, and `ssh-keygen -Y verify -r krl` and verifySshsig refuse the same signatures.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  type Certificate,
  CertificateSigner,
  generatePrivateKey,
  issueCertificate,
  type PrivateKey,
  type PublicKey,
  RevocationList,
  SshsigError,
  signSshsig,
  verifySshsig,
} from '../../src/index.js';
import { binPath, hasPeer, requirePeer } from '../helpers/peers.js';

function keygen(args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(binPath('ssh-keygen'), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    p.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.on('error', () => {});
    p.stdin.end(input);
  });
}

let dir = '';
const ca = generatePrivateKey('ed25519');
const ca2 = generatePrivateKey('ecdsa', { bits: 256 });
const user = generatePrivateKey('ed25519');
const plain = Array.from({ length: 6 }, () => generatePrivateKey('ed25519'));
const rsa = generatePrivateKey('rsa', { bits: 1024 });

before(async () => {
  if (hasPeer('ssh-keygen')) dir = await mkdtemp(join(tmpdir(), 'secsh-krl-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function file(content: string | Buffer, name = `f${n++}`): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, content);
  return p;
}

function sha256Fingerprint(k: PublicKey): string {
  return `SHA256:${createHash('sha256').update(k.blob).digest('base64').replace(/=+$/, '')}`;
}

test('a KRL from ssh-keygen -k revokes in secsh exactly what ssh-keygen -Q reports revoked', async (t) => {
  if (!requirePeer(t, 'ssh-keygen')) return;
  const caPub = await file(ca.publicKey.toString(), 'ca.pub');
  const [k0, k1, k2, k3, k4, k5] = plain.map((k) => k.publicKey) as [
    PublicKey,
    PublicKey,
    PublicKey,
    PublicKey,
    PublicKey,
    PublicKey,
  ];
  // serials: a list, a range and a dense run (which ssh-keygen writes as a bitmap); IDs under the CA
  const caSpec = [
    'serial: 7',
    'serial: 9',
    'serial: 1000-2000',
    ...Array.from({ length: 20 }, (_, i) => `serial: ${100 + 2 * i}`),
    'id: stolen-laptop',
    '# comment',
  ].join('\n');
  // keys: explicit, by SHA-1 and SHA-256 of the key, by fingerprint; key IDs for every CA
  const keySpec = [
    `key: ${k0.toString()}`,
    `sha1: ${k1.toString()}`,
    `sha256: ${k2.toString()}`,
    `hash: ${sha256Fingerprint(k3)}`,
    `key: ${ca2.publicKey.toString()}`,
  ].join('\n');
  const krlPath = join(dir, 'krl');
  let r = await keygen(['-k', '-f', krlPath, '-z', '42', '-s', caPub, await file(caSpec)]);
  assert.equal(r.code, 0, r.stderr);
  r = await keygen(['-k', '-u', '-f', krlPath, await file(keySpec)]);
  assert.equal(r.code, 0, r.stderr);
  // a wildcard-CA key ID section
  r = await keygen(['-k', '-u', '-s', 'none', '-f', krlPath, await file('id: everywhere\n')]);
  assert.equal(r.code, 0, r.stderr);
  const krl = RevocationList.parse(await readFile(krlPath));
  assert.equal(krl.version, 42n);

  const subjects: { name: string; key: PublicKey | Certificate; text: string }[] = [];
  for (const [i, k] of [k0, k1, k2, k3, k4, k5, rsa.publicKey].entries()) {
    subjects.push({ name: `key${i}`, key: k, text: k.toString() });
  }
  const certs: [string, PrivateKey, { serial: bigint; keyId: string }][] = [
    ['serial 7', ca, { serial: 7n, keyId: 'a' }],
    ['serial 8', ca, { serial: 8n, keyId: 'a' }],
    ['serial 0', ca, { serial: 0n, keyId: 'a' }],
    ['range low', ca, { serial: 1000n, keyId: 'a' }],
    ['range high', ca, { serial: 2000n, keyId: 'a' }],
    ['past range', ca, { serial: 2001n, keyId: 'a' }],
    ['bitmap hit', ca, { serial: 120n, keyId: 'a' }],
    ['bitmap miss', ca, { serial: 121n, keyId: 'a' }],
    ['bitmap end', ca, { serial: 138n, keyId: 'a' }],
    ['bitmap past', ca, { serial: 140n, keyId: 'a' }],
    ['key id', ca, { serial: 0n, keyId: 'stolen-laptop' }],
    ['key id other CA', generatePrivateKey('ed25519'), { serial: 7n, keyId: 'stolen-laptop' }],
    ['wildcard key id', generatePrivateKey('ed25519'), { serial: 0n, keyId: 'everywhere' }],
    ['revoked CA', ca2, { serial: 3n, keyId: 'b' }],
  ];
  for (const [name, signer, o] of certs) {
    const cert = await issueCertificate(signer, user.publicKey, { type: 'user', principals: ['u'], ...o });
    subjects.push({ name, key: cert, text: cert.toString() });
  }
  const revoked = new Set([
    'key0',
    'key1',
    'key2',
    'key3',
    'serial 7',
    'range low',
    'range high',
    'bitmap hit',
    'bitmap end',
    'key id',
    'wildcard key id',
    'revoked CA',
  ]);
  for (const s of subjects) {
    const q = await keygen(['-Q', '-f', krlPath, await file(`${s.text}\n`)]);
    assert.ok(q.code === 0 || q.code === 1, q.stderr);
    const theirs = q.code === 1;
    assert.equal(krl.isRevoked(s.key), theirs, `${s.name}: secsh and ssh-keygen -Q agree`);
    assert.equal(theirs, revoked.has(s.name), `${s.name}: as the spec says`);
  }
});

test('ssh-keygen -Y verify -r with a KRL and verifySshsig with it refuse the same signatures', async (t) => {
  if (!requirePeer(t, 'ssh-keygen')) return;
  const caPub = await file(ca.publicKey.toString());
  const krlPath = join(dir, 'krl2');
  const r = await keygen(['-k', '-f', krlPath, '-s', caPub, await file('serial: 5\n')]);
  assert.equal(r.code, 0, r.stderr);
  const krlBytes = await readFile(krlPath);
  const data = Buffer.from('release\n');
  const allowed = `dev cert-authority ${ca.publicKey.toString()}\n`;
  const allowedPath = await file(allowed);
  for (const serial of [5n, 6n]) {
    const cert = await issueCertificate(ca, user.publicKey, { type: 'user', keyId: 'k', principals: ['dev'], serial });
    const sig = await signSshsig(data, new CertificateSigner(user, cert), { namespace: 'file' });
    const v = await keygen(
      ['-Y', 'verify', '-f', allowedPath, '-I', 'dev', '-n', 'file', '-s', await file(sig), '-r', krlPath],
      data.toString(),
    );
    const ours = verifySshsig(data, sig, {
      namespace: 'file',
      allowedSigners: allowed,
      principal: 'dev',
      revokedKeys: krlBytes,
    });
    if (serial === 5n) {
      assert.notEqual(v.code, 0);
      await assert.rejects(ours, (e) => e instanceof SshsigError && e.failure === 'revoked');
    } else {
      assert.equal(v.code, 0, v.stderr);
      await ours;
    }
  }
});
