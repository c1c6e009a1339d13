/** The openssh-key-v1 container: strict parsing of corrupt files, and bcrypt_pbkdf. */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { KeyError, KeyPassphraseError } from '../../../src/errors.js';
import { bcryptPbkdf, generatePrivateKey, parsePrivateKey } from '../../../src/keys/index.js';
import { SshReader, SshWriter } from '../../../src/wire/index.js';

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

function decode(text: string): Buffer {
  return Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}
function encode(b: Buffer): string {
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** Splits a plain key file into header fields and the private section. */
function split(text: string) {
  const r = new SshReader(decode(text), MAGIC.length);
  const cipher = r.ascii();
  const kdf = r.ascii();
  const kdfOpts = Buffer.from(r.string());
  r.uint32();
  const pub = Buffer.from(r.string());
  const priv = Buffer.from(r.string());
  return { cipher, kdf, kdfOpts, pub, priv };
}

function build(p: {
  cipher?: string;
  kdf?: string;
  kdfOpts?: Buffer;
  nkeys?: number;
  pub: Buffer;
  priv: Buffer;
  tail?: Buffer;
}) {
  const w = new SshWriter()
    .raw(MAGIC)
    .string(p.cipher ?? 'none')
    .string(p.kdf ?? 'none')
    .string(p.kdfOpts ?? Buffer.alloc(0))
    .uint32(p.nkeys ?? 1)
    .string(p.pub)
    .string(p.priv);
  if (p.tail) w.raw(p.tail);
  return encode(Buffer.from(w.toBuffer()));
}

test('a clean re-encode parses (control for the corruption cases)', () => {
  const key = generatePrivateKey('ed25519', { comment: 'c' });
  const parts = split(key.toOpenSSH());
  assert.ok(parsePrivateKey(build(parts)).publicKey.equals(key.publicKey));
  assert.equal(parts.priv.length % 8, 0);
});

test('corrupt OpenSSH private keys throw KeyError', () => {
  for (const type of ['ed25519', 'ecdsa', 'rsa'] as const) {
    const key = generatePrivateKey(type, { bits: type === 'rsa' ? 1024 : undefined, comment: 'x' });
    const text = key.toOpenSSH();
    const parts = split(text);
    const raw = decode(text);

    const checkDiffer = Buffer.from(parts.priv);
    checkDiffer[0] = (checkDiffer[0] as number) ^ 0xff;
    const badPad = Buffer.from(parts.priv);
    const padLen = badPad[badPad.length - 1] as number;
    if (padLen > 0 && padLen < 8) badPad[badPad.length - 1] = 0x7f;
    const otherPub = generatePrivateKey('ed25519').publicKey.blob;
    const flippedKey = Buffer.from(parts.priv);
    flippedKey[flippedKey.length - 12] = (flippedKey[flippedKey.length - 12] as number) ^ 0x01; // inside the comment/key

    const cases: [string, string][] = [
      ['bad magic', encode(Buffer.concat([Buffer.from('openssh-key-v2\0'), raw.subarray(MAGIC.length)]))],
      ['truncated', encode(raw.subarray(0, raw.length - 5))],
      ['trailing bytes', build({ ...parts, tail: Buffer.from([0]) })],
      ['two keys', build({ ...parts, nkeys: 2 })],
      ['check-ints differ', build({ ...parts, priv: checkDiffer })],
      ['public key mismatch', build({ ...parts, pub: otherPub })],
      ['section not block aligned', build({ ...parts, priv: Buffer.concat([parts.priv, Buffer.from([9])]) })],
      ['kdf without cipher', build({ ...parts, kdf: 'bcrypt' })],
      ['unknown cipher', build({ ...parts, cipher: 'rot13', kdf: 'bcrypt' })],
      ['no armor', 'hello'],
      ['bad base64', '-----BEGIN OPENSSH PRIVATE KEY-----\n%%%\n-----END OPENSSH PRIVATE KEY-----\n'],
    ];
    if (padLen > 0 && padLen < 8) cases.push(['bad padding', build({ ...parts, priv: badPad })]);
    for (const [name, bad] of cases) {
      assert.throws(
        () => parsePrivateKey(bad),
        (e: unknown) => e instanceof KeyError && !(e instanceof KeyPassphraseError),
        `${type}: ${name}`,
      );
    }
  }
});

test('an encrypted key with no passphrase is a KeyPassphraseError; rounds are capped', () => {
  const key = generatePrivateKey('ed25519');
  const parts = split(key.toOpenSSH());
  const kdfOpts = (rounds: number) =>
    Buffer.from(new SshWriter().string(Buffer.alloc(16, 7)).uint32(rounds).toBuffer());
  const enc = build({
    ...parts,
    cipher: 'aes256-ctr',
    kdf: 'bcrypt',
    kdfOpts: kdfOpts(16),
    priv: Buffer.alloc(parts.priv.length + 8),
  });
  assert.throws(
    () => parsePrivateKey(enc),
    (e: unknown) => e instanceof KeyPassphraseError && e.code === 'ERR_SSH_KEY_PASSPHRASE',
  );
  const huge = build({
    ...parts,
    cipher: 'aes256-ctr',
    kdf: 'bcrypt',
    kdfOpts: kdfOpts(1_000_000),
    priv: Buffer.alloc(32),
  });
  assert.throws(
    () => parsePrivateKey(huge, { passphrase: 'x' }),
    (e: unknown) => e instanceof KeyError && /rounds/.test(e.message),
  );
});

test('bcrypt_pbkdf matches the bcrypt-pbkdf package (a port of the OpenBSD code) for several lengths', () => {
  const require = createRequire(import.meta.url);
  let ref: { pbkdf: (p: Buffer, pl: number, s: Buffer, sl: number, k: Buffer, kl: number, r: number) => number };
  try {
    ref = require('bcrypt-pbkdf');
  } catch {
    assert.fail('bcrypt-pbkdf (a dependency of the ssh2 dev dependency) is not installed');
  }
  const cases: [string, string, number, number][] = [
    ['password', 'salt', 4, 32],
    ['p', 'saltsalt', 1, 48],
    ['pässwörd', '0123456789abcdef', 8, 44],
    ['x', 'y', 2, 80],
  ];
  for (const [pass, salt, rounds, len] of cases) {
    const expect = Buffer.alloc(len);
    ref.pbkdf(Buffer.from(pass), Buffer.byteLength(pass), Buffer.from(salt), salt.length, expect, len, rounds);
    assert.deepEqual(
      bcryptPbkdf(Buffer.from(pass), Buffer.from(salt), rounds, len),
      expect,
      `${pass}/${rounds}/${len}`,
    );
  }
  assert.throws(() => bcryptPbkdf(Buffer.from('p'), Buffer.from('s'), 0, 32), KeyError);
  assert.throws(() => bcryptPbkdf(Buffer.from('p'), Buffer.alloc(0), 1, 32), KeyError);
  assert.throws(() => bcryptPbkdf(Buffer.alloc(0), Buffer.from('s'), 1, 32), KeyError);
});
