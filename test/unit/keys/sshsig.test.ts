/** SSHSIG (PROTOCOL.sshsig): the blob and armor, signing, strict parsing and verification without peers. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { InvalidArgumentError, KeyError } from '../../../src/errors.js';
import {
  armorSshsig,
  CertificateSigner,
  dearmorSshsig,
  generatePrivateKey,
  issueCertificate,
  type PrivateKey,
  parseSshsig,
  type Signer,
  SSHSIG_LIMITS,
  SshsigError,
  signSshsig,
  signSshsigBlob,
  verifySshsig,
} from '../../../src/keys/index.js';
import { SshReader, SshWriter } from '../../../src/wire/index.js';

const KEYS: PrivateKey[] = [
  generatePrivateKey('ed25519'),
  generatePrivateKey('ecdsa', { bits: 256 }),
  generatePrivateKey('ecdsa', { bits: 384 }),
  generatePrivateKey('ecdsa', { bits: 521 }),
  generatePrivateKey('rsa', { bits: 1024 }),
];
const ed = KEYS[0] as PrivateKey;
const rsa = KEYS[4] as PrivateKey;
const data = Buffer.from('some data to sign\n');

async function failure(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof SshsigError, `expected SshsigError, got ${String(e)}`);
    assert.ok(e instanceof KeyError);
    assert.equal(e.code, 'ERR_SSH_KEY');
    return e.failure;
  }
  assert.fail('no error');
}

/** An SSHSIG blob with the given fields (defaults from a valid one). */
function blob(f: {
  magic?: string;
  version?: number;
  key?: Buffer;
  namespace?: string;
  reserved?: Buffer;
  hash?: string;
  signature?: Buffer;
  trailing?: Buffer;
}): Buffer {
  const w = new SshWriter(512)
    .raw(Buffer.from(f.magic ?? 'SSHSIG'))
    .uint32(f.version ?? 1)
    .string(f.key ?? ed.publicKey.blob)
    .string(f.namespace ?? 'git')
    .string(f.reserved ?? Buffer.alloc(0))
    .string(f.hash ?? 'sha512')
    .string(f.signature ?? new SshWriter(80).string('ssh-ed25519').string(Buffer.alloc(64)).toBuffer());
  if (f.trailing) w.raw(f.trailing);
  return Buffer.from(w.toBuffer());
}

describe('SSHSIG format', () => {
  test('the blob has the layout of PROTOCOL.sshsig and the armor wraps at 70 columns with a final newline', async () => {
    const b = await signSshsigBlob(data, ed, { namespace: 'file' });
    const r = new SshReader(b);
    assert.equal(r.raw(6).toString(), 'SSHSIG');
    assert.equal(r.uint32(), 1);
    assert.ok(r.string().equals(ed.publicKey.blob));
    assert.equal(r.utf8(), 'file');
    assert.equal(r.string().length, 0);
    assert.equal(r.ascii(), 'sha512');
    const sig = r.string();
    r.ensureEnd();
    // what was signed: MAGIC, namespace, reserved, hash name, string H(data)
    const signed = new SshWriter(200)
      .raw(Buffer.from('SSHSIG'))
      .string('file')
      .string('')
      .string('sha512')
      .string(createHash('sha512').update(data).digest())
      .toBuffer();
    assert.ok(ed.publicKey.verify(signed, sig, 'ssh-ed25519'));

    const text = armorSshsig(b);
    const lines = text.split('\n');
    assert.equal(lines[0], '-----BEGIN SSH SIGNATURE-----');
    assert.equal(lines.at(-2), '-----END SSH SIGNATURE-----');
    assert.equal(lines.at(-1), '');
    const body = lines.slice(1, -2);
    assert.ok(body.slice(0, -1).every((l) => l.length === 70));
    assert.ok((body.at(-1)?.length ?? 0) <= 70);
    assert.ok(dearmorSshsig(text).equals(b));
    assert.equal(await signSshsig(data, ed, { namespace: 'file' }), text, 'Ed25519 signatures are deterministic');
  });

  test('a base64 body of exactly 70 characters gets no empty line', () => {
    const b = Buffer.alloc(105, 1); // 140 base64 characters
    assert.equal(armorSshsig(b).split('\n').length, 5);
  });

  test('every key type and both hashes sign and verify; RSA signs with rsa-sha2-512', async () => {
    for (const key of KEYS) {
      for (const hashAlgorithm of ['sha256', 'sha512'] as const) {
        const text = await signSshsig(data, key, { namespace: 'ns', hashAlgorithm });
        const sig = parseSshsig(text);
        assert.equal(sig.hashAlgorithm, hashAlgorithm);
        assert.equal(sig.namespace, 'ns');
        assert.equal(sig.signatureAlgorithm, key.type === 'ssh-rsa' ? 'rsa-sha2-512' : key.type);
        const v = await verifySshsig(data, text, { namespace: 'ns' });
        assert.ok(v.publicKey.equals(key.publicKey));
        await verifySshsig(data, text, { namespace: 'ns', publicKey: key.publicKey });
        await verifySshsig(data, sig.blob, { namespace: 'ns', publicKey: key.publicKey.toString() });
      }
    }
  });

  test('data may be a string, a Readable or an async iterable of chunks, with the same signature', async () => {
    const text = await signSshsig(data, ed, { namespace: 'n' });
    assert.equal(await signSshsig(data.toString(), ed, { namespace: 'n' }), text);
    assert.equal(
      await signSshsig(Readable.from([data.subarray(0, 3), data.subarray(3)]), ed, { namespace: 'n' }),
      text,
    );
    const r = Readable.from([data]);
    r.setEncoding('utf8');
    await verifySshsig(r, text, { namespace: 'n' });
    async function* gen() {
      yield data.subarray(0, 5);
      yield data.subarray(5);
    }
    await verifySshsig(gen(), text, { namespace: 'n' });
    async function* bad() {
      yield 42 as unknown as Buffer;
    }
    assert.equal(await failure(verifySshsig(bad(), text, { namespace: 'n' })), 'malformed');
  });

  test('an agent that answers with a SHA-1 or a wrong signature makes signing fail, not a bad signature', async () => {
    const sha1: Signer = { publicKey: rsa.publicKey, sign: (d) => rsa.sign(d, 'ssh-rsa') };
    assert.equal(await failure(signSshsig(data, sha1, { namespace: 'n' })), 'bad-signature');
    const garbage: Signer = { publicKey: ed.publicKey, sign: async () => Buffer.from('nonsense') };
    assert.equal(await failure(signSshsig(data, garbage, { namespace: 'n' })), 'bad-signature');
  });

  test('signing refuses an empty namespace, an unknown hash and a certificate for another key', async () => {
    assert.equal(await failure(signSshsig(data, ed, { namespace: '' })), 'malformed');
    assert.equal(
      await failure(signSshsig(data, ed, { namespace: 'n', hashAlgorithm: 'md5' as 'sha256' })),
      'unsupported',
    );
    const cert = await issueCertificate(ed, KEYS[1]?.publicKey ?? ed.publicKey, {
      type: 'user',
      keyId: 'x',
      principals: ['a'],
    });
    assert.equal(await failure(signSshsig(data, ed, { namespace: 'n', certificate: cert })), 'certificate');
  });
});

describe('SSHSIG parsing is strict', () => {
  test('magic, version, namespace, hash, signature algorithm, trailing bytes and key are checked', async () => {
    const cases: [string, Buffer, string][] = [
      ['bad magic', blob({ magic: 'SSHSIH' }), 'malformed'],
      ['version 2', blob({ version: 2 }), 'unsupported'],
      ['version 0', blob({ version: 0 }), 'unsupported'],
      ['empty namespace', blob({ namespace: '' }), 'malformed'],
      ['NUL in namespace', blob({ namespace: 'a\0b' }), 'malformed'],
      ['hash md5', blob({ hash: 'md5' }), 'unsupported'],
      ['hash SHA512', blob({ hash: 'SHA512' }), 'unsupported'],
      ['trailing byte', blob({ trailing: Buffer.from([0]) }), 'malformed'],
      ['bad key', blob({ key: Buffer.from('nonsense') }), 'malformed'],
      ['unknown key type', blob({ key: new SshWriter(64).string('ssh-foo').string('x').toBuffer() }), 'unsupported'],
      ['bad ed25519 key', blob({ key: new SshWriter(64).string('ssh-ed25519').string('x').toBuffer() }), 'malformed'],
      [
        'algorithm for another key type',
        blob({ signature: new SshWriter(80).string('ecdsa-sha2-nistp256').string(Buffer.alloc(8)).toBuffer() }),
        'unsupported',
      ],
      [
        'ssh-rsa (SHA-1) for an RSA key',
        blob({
          key: rsa.publicKey.blob,
          signature: new SshWriter(80).string('ssh-rsa').string(Buffer.alloc(128)).toBuffer(),
        }),
        'unsupported',
      ],
      [
        'signature blob with trailing bytes',
        blob({ signature: new SshWriter(80).string('ssh-ed25519').string(Buffer.alloc(64)).byte(0).toBuffer() }),
        'malformed',
      ],
      ['truncated', blob({}).subarray(0, 40), 'malformed'],
      ['empty', Buffer.alloc(0), 'malformed'],
    ];
    for (const [name, b, why] of cases) {
      assert.equal(await failure(() => parseSshsig(b)), why, name);
      assert.equal(await failure(() => parseSshsig(armorSshsig(b))), why, `${name} (armored)`);
    }
    // a non-empty reserved field is ignored, as the format asks
    assert.equal(parseSshsig(blob({ reserved: Buffer.from('future') })).reserved.toString(), 'future');
  });

  test('the armor: header first, footer on its own line, base64 only; CRLF and leading blank lines are fine', async () => {
    const text = await signSshsig(data, ed, { namespace: 'n' });
    assert.ok(parseSshsig(text.replace(/\n/g, '\r\n')).blob.equals(parseSshsig(text).blob));
    assert.ok(parseSshsig(`\n  ${text}`).blob.length > 0);
    assert.ok(parseSshsig(Buffer.from(text)).blob.length > 0);
    const bad = [
      text.replace('-----BEGIN SSH SIGNATURE-----', '-----BEGIN SSH SIGNATURE----'),
      `junk\n${text}`,
      text.replace('-----END SSH SIGNATURE-----', ''),
      text.replace(/\n(?=-----END)/, ''),
      text.replace('U1NI', 'U1N*'),
      text.replace('U1NI', 'U1N'),
      '-----BEGIN SSH SIGNATURE-----\n\n-----END SSH SIGNATURE-----\n',
      `-----BEGIN SSH SIGNATURE-----\n${'A'.repeat(SSHSIG_LIMITS.maxArmored)}\n-----END SSH SIGNATURE-----\n`,
    ];
    for (const t of bad) assert.equal(await failure(() => parseSshsig(t)), 'malformed', t.slice(0, 80));
  });

  test('a blob over the size limit is refused before it is decoded', async () => {
    assert.equal(await failure(() => parseSshsig(Buffer.alloc(SSHSIG_LIMITS.maxBlob + 1))), 'malformed');
  });

  test('a certificate with a bad CA signature is refused when parsed', async () => {
    const ca = generatePrivateKey('ed25519');
    const cert = await issueCertificate(ca, ed.publicKey, { type: 'user', keyId: 'k', principals: ['a'] });
    const good = await signSshsigBlob(data, new CertificateSigner(ed, cert), { namespace: 'n' });
    assert.ok(parseSshsig(good).certificate);
    const forged = Buffer.from(good);
    const at = forged.indexOf(cert.signature) + cert.signature.length - 2;
    forged[at] = (forged[at] as number) ^ 1;
    assert.equal(await failure(() => parseSshsig(forged)), 'certificate');
  });
});

describe('SSHSIG verification', () => {
  test('wrong namespace, tampered data, another key and a tampered signature are refused with their reason', async () => {
    const text = await signSshsig(data, ed, { namespace: 'git' });
    assert.equal(await failure(verifySshsig(data, text, { namespace: 'file' })), 'namespace');
    assert.equal(await failure(verifySshsig(Buffer.from('other'), text, { namespace: 'git' })), 'bad-signature');
    const other = generatePrivateKey('ed25519').publicKey;
    assert.equal(await failure(verifySshsig(data, text, { namespace: 'git', publicKey: other })), 'key-mismatch');
    const b = parseSshsig(text).blob;
    const t2 = Buffer.from(b);
    t2[t2.length - 3] = (t2[t2.length - 3] as number) ^ 0x10;
    assert.equal(await failure(verifySshsig(data, t2, { namespace: 'git' })), 'bad-signature');
  });

  test('publicKey with allowedSigners, or a principal without allowedSigners, is an argument error', async () => {
    const text = await signSshsig(data, ed, { namespace: 'git' });
    await assert.rejects(
      verifySshsig(data, text, { namespace: 'git', publicKey: ed.publicKey, allowedSigners: '' }),
      InvalidArgumentError,
    );
    await assert.rejects(verifySshsig(data, text, { namespace: 'git', principal: 'a' }), InvalidArgumentError);
    await assert.rejects(verifySshsig(data, text, { namespace: 'git', at: Number.NaN }), InvalidArgumentError);
  });

  test('a stream is not read when the signer is refused', async () => {
    const text = await signSshsig(data, ed, { namespace: 'git' });
    let pulled = false;
    async function* src() {
      pulled = true;
      yield data;
    }
    assert.equal(await failure(verifySshsig(src(), text, { namespace: 'git', allowedSigners: '' })), 'not-allowed');
    assert.equal(pulled, false);
  });
});
