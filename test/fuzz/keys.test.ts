/**
 * Key parsers: public key blobs and texts (OpenSSH line, RFC 4716, PEM SPKI), signatures, certificates
 * (blob, text, verification), authorized_keys lines, and private key files — OpenSSH (plain and
 * bcrypt-encrypted), PEM (PKCS#1, SEC1, PKCS#8 plain and encrypted, legacy encrypted PEM) and PuTTY
 * .ppk v3 (and v2 from puttygen when present). Mutated at the text level and, for armored formats,
 * at the binary level then re-armored. Only KeyError / KeyPassphraseError may be thrown; verify()
 * never throws; parse(export(k)) = k.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { KeyError, KeyPassphraseError } from '../../src/errors.js';
import { armor, dearmor } from '../../src/keys/formats/armor.js';
import { encodeRfc4716 } from '../../src/keys/formats/rfc4716.js';
import {
  Certificate,
  generatePrivateKey,
  issueCertificate,
  type PrivateKey,
  PublicKey,
  parseAuthorizedKeys,
  parseCertificate,
  parsePrivateKey,
  parsePublicKey,
} from '../../src/keys/index.js';
import { bytesFrom, DEEP, fuzz, mutated, only, runs } from './harness.js';

const keys: PrivateKey[] = [
  generatePrivateKey('ed25519', { comment: 'ed' }),
  generatePrivateKey('ecdsa', { bits: 256, comment: 'p256' }),
  generatePrivateKey('ecdsa', { bits: 384 }),
  generatePrivateKey('ecdsa', { bits: 521 }),
  generatePrivateKey('rsa', { bits: 1024, comment: 'rsa' }),
  generatePrivateKey('rsa', { bits: 2048 }),
];
const dsa = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 }).privateKey;
const keyErrors = only(KeyError, KeyPassphraseError);
const text = (b: Buffer) => b.toString('latin1');

test('public key blobs and texts: mutated ones throw only KeyError; parse(export(k)) = k', () => {
  const blobs = keys.map((k) => k.publicKey.blob);
  fuzz(
    'public key blob',
    bytesFrom(blobs),
    (b) => {
      PublicKey.fromBlob(b);
      parsePublicKey(b);
    },
    { numRuns: runs(1500, 2), allowed: only(KeyError) },
  );
  const texts = keys.flatMap((k) => [
    Buffer.from(k.publicKey.toString()),
    Buffer.from(encodeRfc4716(k.publicKey.blob, 'c')),
    Buffer.from(k.publicKey.export({ format: 'spki' })),
  ]);
  fuzz('public key text', bytesFrom(texts, 800), (b) => parsePublicKey(text(b)), {
    numRuns: runs(1500, 2),
    allowed: only(KeyError),
  });
  for (const k of keys) {
    for (const t of [k.publicKey.toString(), encodeRfc4716(k.publicKey.blob), k.publicKey.export({ format: 'spki' })]) {
      assert.ok(parsePublicKey(t).equals(k.publicKey), `${k.type}: ${t.slice(0, 30)}`);
    }
  }
});

test('signatures: mutated ones never make verify() throw, and never verify', () => {
  const data = Buffer.from('exchange hash');
  const cases = keys.flatMap((k) =>
    k.publicKey.signatureAlgorithms.map((alg) => ({ k, alg, sig: k.signSync(data, alg) })),
  );
  fuzz(
    'signature verify',
    fc.tuple(fc.nat({ max: cases.length - 1 }), mutated(cases.map((c) => c.sig))),
    ([i, sig]) => {
      const c = cases[i] as (typeof cases)[number];
      const ok = c.k.publicKey.verify(data, sig, c.alg);
      if (ok)
        assert.ok(
          sig.equals(c.sig) || c.k.type === 'ssh-rsa' || c.k.type.startsWith('ecdsa'),
          'a mutated signature verified',
        );
    },
    { numRuns: runs(800, 3), allowed: () => false },
  );
});

test('certificates: mutated blobs and texts throw only KeyError, and verify() only KeyError', async () => {
  const ca = generatePrivateKey('ed25519');
  const rsaCa = keys[4] as PrivateKey;
  const certs = [
    await issueCertificate(ca, (keys[0] as PrivateKey).publicKey, {
      type: 'user',
      keyId: 'alice@example',
      principals: ['alice', 'root'],
      criticalOptions: { 'force-command': 'ls', 'source-address': '10.0.0.0/8,::1' },
    }),
    await issueCertificate(rsaCa, (keys[1] as PrivateKey).publicKey, {
      type: 'host',
      keyId: 'host',
      principals: ['example.com'],
      validAfter: 1n,
      validBefore: 4_000_000_000n,
    }),
    await issueCertificate(ca, (keys[4] as PrivateKey).publicKey, { type: 'user', keyId: 'r', serial: 77n }),
  ];
  fuzz(
    'certificate blob + verify',
    bytesFrom(
      certs.map((c) => c.blob),
      1500,
    ),
    (b) => {
      const c = Certificate.fromBlob(b);
      c.verify({ trustedCAs: [ca.publicKey, rsaCa.publicKey], principal: 'alice' });
    },
    { numRuns: runs(1500, 3), allowed: only(KeyError) },
  );
  fuzz(
    'certificate text',
    bytesFrom(
      certs.map((c) => Buffer.from(c.toString())),
      1500,
    ),
    (b) => parseCertificate(text(b)),
    {
      numRuns: runs(800, 2),
      allowed: only(KeyError),
    },
  );
  for (const c of certs) assert.deepEqual(parseCertificate(c.toString()).blob, c.blob);
});

test('authorized_keys: mutated files throw only KeyError (strict) or skip lines (default)', () => {
  const [ed, p256, , , rsa] = keys as [PrivateKey, PrivateKey, PrivateKey, PrivateKey, PrivateKey];
  const files = [
    Buffer.from(`${ed.publicKey.toString()}\n# comment\n\n${rsa.publicKey.toString()}\n`),
    Buffer.from(
      `from="10.0.0.0/8,!10.1.0.0/16",command="echo \\"hi\\"",no-pty,permitopen="h:22",environment="A=b" ${p256.publicKey.toString()}\n`,
    ),
    Buffer.from(
      `cert-authority,principals="alice,bob" ${ed.publicKey.toString()}\r\nrestrict,pty ${rsa.publicKey.toString()} c`,
    ),
  ];
  fuzz(
    'authorized_keys',
    fc.tuple(bytesFrom(files, 800), fc.boolean()),
    ([b, strict]) => {
      const got = parseAuthorizedKeys(text(b), { strict });
      for (const e of got) assert.ok(e.key instanceof PublicKey);
    },
    { numRuns: runs(1500, 2), allowed: only(KeyError) },
  );
  assert.equal(parseAuthorizedKeys((files[1] as Buffer).toString())[0]?.options.length, 5);
});

/** Private key files of every format we read, with their armor label (for binary-level mutation). */
function privateKeyFiles(): { text: string; label?: string }[] {
  const out: { text: string; label?: string }[] = [];
  const pass = 'pw';
  for (const k of keys.slice(0, 5)) {
    out.push({ text: k.export(), label: 'OPENSSH PRIVATE KEY' });
    out.push({ text: k.export({ format: 'pkcs8' }), label: 'PRIVATE KEY' });
  }
  const [ed, p256, , , rsa] = keys as [PrivateKey, PrivateKey, PrivateKey, PrivateKey, PrivateKey];
  out.push({ text: ed.export({ passphrase: pass, rounds: 1 }), label: 'OPENSSH PRIVATE KEY' });
  out.push({
    text: rsa.export({ passphrase: pass, rounds: 1, cipher: 'aes256-gcm@openssh.com' }),
    label: 'OPENSSH PRIVATE KEY',
  });
  out.push({ text: p256.export({ passphrase: pass, rounds: 1, cipher: 'aes128-cbc' }), label: 'OPENSSH PRIVATE KEY' });
  out.push({ text: p256.export({ format: 'pkcs8', passphrase: pass }), label: 'ENCRYPTED PRIVATE KEY' });
  out.push({ text: String(rsa.toKeyObject().export({ type: 'pkcs1', format: 'pem' })), label: 'RSA PRIVATE KEY' });
  out.push({ text: String(p256.toKeyObject().export({ type: 'sec1', format: 'pem' })), label: 'EC PRIVATE KEY' });
  out.push({ text: String(dsa.export({ type: 'pkcs8', format: 'pem' })), label: 'PRIVATE KEY' });
  out.push({
    text: String(rsa.toKeyObject().export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: pass })),
  });
  out.push({ text: ed.export({ format: 'ppk' }) });
  out.push({ text: rsa.export({ format: 'ppk' }) });
  out.push({ text: p256.export({ format: 'ppk', passphrase: pass, argon2: { memory: 64, passes: 1 } }) });
  out.push(...puttygenV2(rsa, ed));
  return out;
}

/** PuTTY v2 files (SHA-1 MAC, the old key derivation) made by puttygen, when it is installed. */
function puttygenV2(...ks: PrivateKey[]): { text: string }[] {
  if (spawnSync('puttygen', ['--version']).status !== 0) {
    console.log('fuzz private key files: puttygen not installed, no PPK v2 seeds');
    return [];
  }
  const dir = mkdtempSync(join(tmpdir(), 'secsh-fuzz-ppk-'));
  try {
    return ks.flatMap((k, i) =>
      [undefined, 'pw'].map((pass, j) => {
        const src = join(dir, `k${i}`);
        const dst = join(dir, `k${i}-${j}.ppk`);
        writeFileSync(src, k.export(), { mode: 0o600 });
        const args = [src, '-O', 'private', '-o', dst, '--ppk-param', 'version=2'];
        if (pass) {
          writeFileSync(join(dir, 'pass'), pass);
          args.push('--new-passphrase', join(dir, 'pass'));
        }
        const r = spawnSync('puttygen', args, { encoding: 'utf8', timeout: 30_000 });
        assert.equal(r.status, 0, r.stderr);
        return { text: readFileSync(dst, 'utf8') };
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('private key files of every format: mutated texts and re-armored mutated bodies throw only KeyError/KeyPassphraseError', () => {
  const files = privateKeyFiles();
  for (const f of files) {
    const k = parsePrivateKey(f.text, { passphrase: 'pw', maxKdfRounds: 4 });
    assert.ok(k.publicKey.blob.length > 0);
  }
  const opts = { passphrase: 'pw', maxKdfRounds: 4 };
  fuzz(
    'private key file (text)',
    bytesFrom(
      files.map((f) => Buffer.from(f.text)),
      2000,
    ),
    (b) => parsePrivateKey(text(b), opts),
    { numRuns: runs(DEEP ? 1500 : 600, 10), allowed: keyErrors, maxMs: 10_000 },
  );
  const armored = files.filter((f): f is { text: string; label: string } => f.label !== undefined);
  const bodies = armored.map((f) => dearmor(f.text, f.label));
  fuzz(
    'private key file (binary, re-armored)',
    fc.tuple(fc.nat({ max: armored.length - 1 }), mutated(bodies)),
    ([i, body]) => parsePrivateKey(armor(body, (armored[i] as { label: string }).label), opts),
    { numRuns: runs(DEEP ? 1500 : 600, 10), allowed: keyErrors, maxMs: 10_000 },
  );
});
