/** Hostile key files: huge KDF costs and oversized RSA keys are clear errors within a second. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { KeyError } from '../../../src/errors.js';
import { der, derUint } from '../../../src/keys/der.js';
import { generatePrivateKey, parsePrivateKey, parsePublicKey } from '../../../src/keys/index.js';
import { SshWriter } from '../../../src/wire/index.js';

function armor(label: string, body: Uint8Array): string {
  const b64 =
    Buffer.from(body)
      .toString('base64')
      .match(/.{1,64}/g)
      ?.join('\n') ?? '';
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function quick(fn: () => void, re: RegExp): void {
  const t0 = Date.now();
  assert.throws(fn, (e: unknown) => e instanceof KeyError && re.test(e.message), String(re));
  assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
}

/** An odd 20,000-bit number with the top bit set (not a real modulus: it must be refused before any arithmetic). */
function big(bits: number): Buffer {
  const b = randomBytes(bits / 8);
  b[0] = (b[0] as number) | 0x80;
  b[b.length - 1] = (b[b.length - 1] as number) | 1;
  return b;
}

function openssh(cipher: string, kdf: string, kdfOpts: Uint8Array, pub: Uint8Array, priv: Uint8Array): string {
  const body = new SshWriter(8192)
    .raw(Buffer.from('openssh-key-v1\0', 'latin1'))
    .string(cipher)
    .string(kdf)
    .string(kdfOpts)
    .uint32(1)
    .string(pub)
    .string(priv)
    .toBuffer();
  return armor('OPENSSH PRIVATE KEY', body);
}

test('2^32-1 bcrypt rounds: a clear error within a second; the read limit is configurable', () => {
  const key = generatePrivateKey('ed25519');
  const opts = new SshWriter(32)
    .string(randomBytes(16))
    .uint32(2 ** 32 - 1)
    .toBuffer();
  const text = openssh('aes256-ctr', 'bcrypt', opts, key.publicKey.blob, Buffer.alloc(64));
  quick(() => parsePrivateKey(text, { passphrase: 'x' }), /rounds/);
  const enc = key.export({ passphrase: 'pw', rounds: 3 });
  assert.ok(parsePrivateKey(enc, { passphrase: 'pw' }).publicKey.equals(key.publicKey));
  quick(() => parsePrivateKey(enc, { passphrase: 'pw', maxKdfRounds: 2 }), /3 rounds refused/);
  const over = openssh(
    'aes256-ctr',
    'bcrypt',
    new SshWriter(32).string(randomBytes(16)).uint32(1001).toBuffer(),
    key.publicKey.blob,
    Buffer.alloc(64),
  );
  quick(() => parsePrivateKey(over, { passphrase: 'x' }), /1001 rounds refused \(limit 1000/);
});

test('a 20,000-bit RSA key is refused before any arithmetic, in every format', () => {
  const n = big(20_000);
  const e = Buffer.from([1, 0, 1]);
  const pubBlob = new SshWriter(4096).string('ssh-rsa').mpintFromUnsigned(e).mpintFromUnsigned(n).toBuffer();
  // Public: one-line, RFC 4716, bare blob.
  quick(() => parsePublicKey(`ssh-rsa ${Buffer.from(pubBlob).toString('base64')} big`), /RSA modulus is too large/);
  quick(() => parsePublicKey(pubBlob), /RSA modulus is too large/);
  // OpenSSH private key.
  const priv = new SshWriter(16384).uint32(1).uint32(1).string('ssh-rsa');
  for (const part of [n, e, big(19_992), big(1024), big(10_000), big(10_000)]) priv.mpintFromUnsigned(part);
  priv.string('c');
  for (let i = 1; priv.length % 8 !== 0; i++) priv.byte(i);
  quick(
    () => parsePrivateKey(openssh('none', 'none', Buffer.alloc(0), pubBlob, priv.toBuffer())),
    /RSA modulus is too large/,
  );
  // PKCS#1 and PKCS#8 PEM (node parses these without checking the numbers; our size check refuses them).
  const parts = [Buffer.from([0]), n, e, big(19_992), big(10_000), big(10_000), big(10_000), big(10_000), big(10_000)];
  const pkcs1 = der(0x30, Buffer.concat(parts.map((p) => derUint(p))));
  quick(() => parsePrivateKey(armor('RSA PRIVATE KEY', pkcs1)), /RSA modulus (is too large|larger than 16384)/);
  const rsaAlg = der(0x30, Buffer.concat([Buffer.from('06092a864886f70d010101', 'hex'), Buffer.from([5, 0])]));
  const pkcs8 = der(0x30, Buffer.concat([derUint(Buffer.from([0])), rsaAlg, der(0x04, pkcs1)]));
  quick(() => parsePrivateKey(armor('PRIVATE KEY', pkcs8)), /RSA modulus (is too large|larger than 16384)/);
  const spki = der(
    0x30,
    Buffer.concat([
      rsaAlg,
      der(0x03, Buffer.concat([Buffer.from([0]), der(0x30, Buffer.concat([derUint(n), derUint(e)]))])),
    ]),
  );
  quick(() => parsePublicKey(armor('PUBLIC KEY', spki)), /RSA modulus (is too large|larger than 16384)/);
});

test('truncated and oversized inputs are KeyErrors, not crashes', () => {
  const text = generatePrivateKey('ecdsa').export({ passphrase: 'p', rounds: 1 });
  for (let cut = 40; cut < text.length; cut += 37) {
    assert.throws(() => parsePrivateKey(text.slice(0, cut), { passphrase: 'p' }), KeyError);
  }
  quick(() => parsePrivateKey('x'.repeat(2 * 1024 * 1024)), /too large/);
});
