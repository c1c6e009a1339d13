/** PublicKey parsing strictness, verification edge cases and fingerprints, without external peers. */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { test } from 'node:test';
import { KeyError } from '../../../src/errors.js';
import { generatePrivateKey, PublicKey, parsePublicKey, signatureAlgorithmsFor } from '../../../src/keys/index.js';
import { SshWriter } from '../../../src/wire/index.js';

// A fixed Ed25519 key: RFC 8032 §7.1 test 1.
const RFC8032_PK = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex');
const RFC8032_SIG = Buffer.from(
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  'hex',
);

function blob(build: (w: SshWriter) => void): Buffer {
  const w = new SshWriter();
  build(w);
  return Buffer.from(w.toBuffer());
}

const ED_BLOB = blob((w) => w.string('ssh-ed25519').string(RFC8032_PK));

test('Ed25519: RFC 8032 test vector verifies through an SSH signature blob', () => {
  const key = PublicKey.fromBlob(ED_BLOB);
  assert.equal(key.type, 'ssh-ed25519');
  assert.equal(key.bits, 256);
  const sig = blob((w) => w.string('ssh-ed25519').string(RFC8032_SIG));
  assert.equal(key.verify(Buffer.alloc(0), sig, 'ssh-ed25519'), true);
  assert.equal(key.verify(Buffer.from([0]), sig, 'ssh-ed25519'), false);
  const flipped = Buffer.from(sig);
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
  assert.equal(key.verify(Buffer.alloc(0), flipped, 'ssh-ed25519'), false);
});

test('fingerprints are SHA256 base64 without padding and colon-separated MD5', () => {
  const key = PublicKey.fromBlob(ED_BLOB);
  const sha = createHash('sha256').update(ED_BLOB).digest('base64').replace(/=+$/, '');
  assert.equal(key.fingerprint(), `SHA256:${sha}`);
  assert.equal(key.fingerprint('sha256'), `SHA256:${sha}`);
  assert.doesNotMatch(key.fingerprint(), /=/);
  const md5 = createHash('md5').update(ED_BLOB).digest('hex');
  assert.equal(key.fingerprint('md5'), `MD5:${md5.match(/../g)?.join(':')}`);
});

test('one-line form round-trips, with and without comment', () => {
  const line = `ssh-ed25519 ${ED_BLOB.toString('base64')} me@host with spaces`;
  const key = parsePublicKey(line);
  assert.equal(key.comment, 'me@host with spaces');
  assert.equal(key.toString(), line);
  const bare = parsePublicKey(`\n# comment line\nssh-ed25519 ${ED_BLOB.toString('base64')}\n`);
  assert.equal(bare.comment, '');
  assert.equal(bare.toString(), `ssh-ed25519 ${ED_BLOB.toString('base64')}`);
  assert.ok(bare.equals(key));
  assert.ok(parsePublicKey(ED_BLOB).equals(key));
  assert.ok(parsePublicKey(Buffer.from(`${line}\n`)).equals(key));
});

test('PEM SPKI public keys are accepted', () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const key = parsePublicKey(publicKey.export({ format: 'pem', type: 'spki' }).toString());
  assert.equal(key.type, 'ecdsa-sha2-nistp384');
});

test('one-line type must match the blob type', () => {
  assert.throws(() => parsePublicKey(`ssh-rsa ${ED_BLOB.toString('base64')}`), KeyError);
  assert.throws(() => parsePublicKey('ssh-ed25519 !!!notbase64'), KeyError);
  assert.throws(() => parsePublicKey(''), KeyError);
});

test('malformed blobs throw KeyError', () => {
  const rsaPub = generatePrivateKey('rsa', { bits: 1024 }).publicKey;
  const ec = generatePrivateKey('ecdsa').publicKey;
  const q = ec.blob.subarray(ec.blob.length - 65);
  const cases: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['trailing byte', Buffer.concat([ED_BLOB, Buffer.from([0])])],
    ['truncated', ED_BLOB.subarray(0, ED_BLOB.length - 1)],
    ['unknown type', blob((w) => w.string('ssh-foo').string(RFC8032_PK))],
    ['ed25519 31 bytes', blob((w) => w.string('ssh-ed25519').string(RFC8032_PK.subarray(1)))],
    ['length overflow', blob((w) => w.string('ssh-ed25519').uint32(0xffffffff))],
    ['rsa trailing', Buffer.concat([rsaPub.blob, Buffer.from([1])])],
    [
      'rsa 16392-bit modulus',
      blob((w) =>
        w
          .string('ssh-rsa')
          .mpint(65537n)
          .mpint((1n << 16391n) + 1n),
      ),
    ],
    [
      'rsa 512-bit modulus',
      blob((w) =>
        w
          .string('ssh-rsa')
          .mpint(65537n)
          .mpint((1n << 511n) + 1n),
      ),
    ],
    [
      'rsa negative modulus',
      blob((w) =>
        w
          .string('ssh-rsa')
          .mpint(65537n)
          .mpint(-((1n << 2047n) + 1n)),
      ),
    ],
    [
      'rsa even exponent',
      blob((w) =>
        w
          .string('ssh-rsa')
          .mpint(65536n)
          .mpint((1n << 2047n) + 1n),
      ),
    ],
    [
      'rsa zero exponent',
      blob((w) =>
        w
          .string('ssh-rsa')
          .mpint(0n)
          .mpint((1n << 2047n) + 1n),
      ),
    ],
    ['ecdsa wrong curve name', blob((w) => w.string('ecdsa-sha2-nistp256').string('nistp384').string(q))],
    [
      'ecdsa point off curve',
      blob((w) =>
        w
          .string('ecdsa-sha2-nistp256')
          .string('nistp256')
          .string(Buffer.concat([q.subarray(0, 64), Buffer.from([q[64]! ^ 1])])),
      ),
    ],
    [
      'ecdsa compressed point',
      blob((w) =>
        w
          .string('ecdsa-sha2-nistp256')
          .string('nistp256')
          .string(Buffer.concat([Buffer.from([2]), q.subarray(1, 33)])),
      ),
    ],
    ['dss short p', blob((w) => w.string('ssh-dss').mpint(23n).mpint(11n).mpint(2n).mpint(3n))],
  ];
  for (const [name, b] of cases) {
    assert.throws(() => PublicKey.fromBlob(b), KeyError, name);
  }
  // Exactly 16384 bits is the largest modulus accepted.
  const max = PublicKey.fromBlob(
    blob((w) =>
      w
        .string('ssh-rsa')
        .mpint(65537n)
        .mpint((1n << 16383n) + 1n),
    ),
  );
  assert.equal(max.bits, 16384);
  assert.equal(
    max.verify(
      Buffer.from('x'),
      blob((w) => w.string('rsa-sha2-256').string(Buffer.alloc(2048, 1))),
      'rsa-sha2-256',
    ),
    false,
  );
  // The huge modulus must be refused by size, before arithmetic; and a blob over the size limit outright.
  assert.throws(() => PublicKey.fromBlob(Buffer.alloc(100_000)), KeyError);
});

test('verify returns false (never throws) on malformed or mismatched signatures', () => {
  const key = generatePrivateKey('ecdsa', { bits: 521 });
  const data = Buffer.from('data');
  const good = key.signSync(data, 'ecdsa-sha2-nistp521');
  const pub = key.publicKey;
  assert.equal(pub.verify(data, good, 'ecdsa-sha2-nistp521'), true);
  assert.equal(pub.verify(data, good, 'ssh-ed25519'), false);
  assert.equal(pub.verify(data, good, 'rsa-sha2-256'), false);
  const garbage = [
    Buffer.alloc(0),
    Buffer.from([0, 0, 0]),
    Buffer.concat([good, Buffer.from([0])]),
    good.subarray(0, good.length - 1),
    blob((w) => w.string('ecdsa-sha2-nistp521').string(Buffer.from([1, 2, 3]))),
    blob((w) => w.string('ecdsa-sha2-nistp521').string(blob((x) => x.mpint(-5n).mpint(7n)))),
    blob((w) => w.string('ecdsa-sha2-nistp384').string(good.subarray(27))),
  ];
  for (const g of garbage) assert.equal(pub.verify(data, g, 'ecdsa-sha2-nistp521'), false);
});

test('RSA: each algorithm signs with its own hash, names are checked, short signatures are padded', () => {
  const key = generatePrivateKey('rsa', { bits: 1024 });
  const pub = key.publicKey;
  assert.deepEqual(pub.signatureAlgorithms, ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  const data = Buffer.from('hello');
  const s512 = key.signSync(data, 'rsa-sha2-512');
  assert.equal(pub.verify(data, s512, 'rsa-sha2-512'), true);
  assert.equal(pub.verify(data, s512, 'rsa-sha2-256'), false);
  // Same raw signature relabelled as another algorithm must fail (the hash differs).
  const raw512 = s512.subarray(4 + 'rsa-sha2-512'.length + 4);
  const relabelled = blob((w) => w.string('rsa-sha2-256').string(raw512));
  assert.equal(pub.verify(data, relabelled, 'rsa-sha2-256'), false);
  // Independent check against node: rsa-sha2-256 is PKCS#1 v1.5 over SHA-256.
  const raw256 = key.signSync(data, 'rsa-sha2-256').subarray(4 + 'rsa-sha2-256'.length + 4);
  assert.deepEqual(raw256, nodeSign('sha256', data, key.toKeyObject()));
  // Find a signature with a leading zero byte and check the stripped form still verifies.
  for (let i = 0; i < 2000; i++) {
    const d = Buffer.from(`msg ${i}`);
    const raw = key.signSync(d, 'ssh-rsa').subarray(4 + 7 + 4);
    if (raw[0] !== 0) continue;
    const stripped = blob((w) => w.string('ssh-rsa').string(raw.subarray(1)));
    assert.equal(pub.verify(d, stripped, 'ssh-rsa'), true);
    break;
  }
  const tooLong = blob((w) => w.string('rsa-sha2-512').string(Buffer.concat([Buffer.from([0]), raw512])));
  assert.equal(pub.verify(data, tooLong, 'rsa-sha2-512'), false);
  assert.throws(() => key.signSync(data, 'ssh-ed25519'), KeyError);
});

test('ECDSA signatures are mpint r, mpint s and match node verification', () => {
  for (const bits of [256, 384, 521]) {
    const key = generatePrivateKey('ecdsa', { bits });
    const alg = signatureAlgorithmsFor(key.type)[0]!;
    for (let i = 0; i < 20; i++) {
      const data = Buffer.from(`m${i}`);
      const sig = key.signSync(data, alg);
      assert.ok(key.publicKey.verify(data, sig, alg));
    }
  }
});

test('signatureAlgorithmsFor lists best first and returns a copy', () => {
  assert.deepEqual(signatureAlgorithmsFor('ssh-ed25519'), ['ssh-ed25519']);
  assert.deepEqual(signatureAlgorithmsFor('ecdsa-sha2-nistp384'), ['ecdsa-sha2-nistp384']);
  const a = signatureAlgorithmsFor('ssh-rsa');
  a.pop();
  assert.deepEqual(signatureAlgorithmsFor('ssh-rsa'), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
});

test('generatePrivateKey rejects bad sizes', () => {
  assert.throws(() => generatePrivateKey('ecdsa', { bits: 255 }));
  assert.throws(() => generatePrivateKey('rsa', { bits: 512 }));
  assert.equal(generatePrivateKey('ed25519', { comment: 'c' }).comment, 'c');
});
