/** KRLs built by hand: each section kind, OpenSSH's refusals, signed KRLs, and plain revoked-key lists. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeyError } from '../../../src/errors.js';
import {
  generatePrivateKey,
  isKeyRevoked,
  issueCertificate,
  type PrivateKey,
  parseRevokedKeys,
  RevocationList,
} from '../../../src/keys/index.js';
import { SshWriter } from '../../../src/wire/index.js';

const ca = generatePrivateKey('ed25519');
const user = generatePrivateKey('ed25519');

function header(): SshWriter {
  return new SshWriter(256)
    .raw(Buffer.from('SSHKRL\n\0', 'latin1'))
    .uint32(1)
    .uint64(3n)
    .uint64(1_700_000_000n)
    .uint64(0n)
    .string('')
    .string('a comment');
}
function section(type: number, body: Uint8Array): Buffer {
  return Buffer.from(new SshWriter(body.length + 8).byte(type).string(body).toBuffer());
}
function certSection(caBlob: Uint8Array, ...subs: [number, Uint8Array][]): Buffer {
  const w = new SshWriter(512).string(caBlob).string('');
  for (const [t, b] of subs) w.byte(t).string(b);
  return section(1, w.toBuffer());
}
const u64s = (...v: bigint[]) => {
  const w = new SshWriter(64);
  for (const x of v) w.uint64(x);
  return w.toBuffer();
};
function krl(...sections: Buffer[]): Buffer {
  return Buffer.concat([header().toBuffer(), ...sections]);
}
async function cert(serial: bigint, keyId = 'id', signer: PrivateKey = ca) {
  return issueCertificate(signer, user.publicKey, { type: 'user', keyId, principals: ['u'], serial });
}

describe('KRL sections', () => {
  test('serial list, range and bitmap (bit N is offset + N), key IDs, for one CA or every CA', async () => {
    const bitmap = new SshWriter(32)
      .uint64(64n)
      .string(Buffer.from([0x00, 0x81, 0x01]))
      .toBuffer(); // bits 0, 8, 15
    const l = RevocationList.parse(
      krl(
        certSection(
          ca.publicKey.blob,
          [0x20, u64s(3n, 5n)],
          [0x21, u64s(10n, 12n)],
          [0x22, bitmap],
          [0x23, new SshWriter(32).string('lost').toBuffer()],
        ),
        certSection(Buffer.alloc(0), [0x23, new SshWriter(32).string('anywhere').toBuffer()]),
      ),
    );
    assert.equal(l.version, 3n);
    assert.equal(l.comment, 'a comment');
    const expect: [bigint, boolean][] = [
      [3n, true],
      [4n, false],
      [5n, true],
      [9n, false],
      [10n, true],
      [12n, true],
      [13n, false],
      [64n, true],
      [65n, false],
      [72n, true],
      [79n, true],
      [80n, false],
      [63n, false],
    ];
    for (const [serial, revoked] of expect) assert.equal(l.isRevoked(await cert(serial)), revoked, `serial ${serial}`);
    assert.equal(l.isRevoked(await cert(0n, 'lost')), true);
    assert.equal(l.isRevoked(await cert(3n, 'x', generatePrivateKey('ed25519'))), false, 'serials are per CA');
    assert.equal(l.isRevoked(await cert(0n, 'lost', generatePrivateKey('ed25519'))), false, 'key IDs are per CA');
    assert.equal(l.isRevoked(await cert(0n, 'anywhere', generatePrivateKey('ed25519'))), true, 'wildcard CA');
    assert.equal(l.isRevoked(user.publicKey), false);
  });

  test('explicit keys and SHA-1/SHA-256 hashes revoke the plain key, its certificates, and certificates it signed', async () => {
    const { createHash } = await import('node:crypto');
    const k1 = generatePrivateKey('ed25519').publicKey;
    const k2 = generatePrivateKey('ed25519').publicKey;
    const l = RevocationList.parse(
      krl(
        section(2, new SshWriter(128).string(user.publicKey.blob).toBuffer()),
        section(3, new SshWriter(64).string(createHash('sha1').update(k1.blob).digest()).toBuffer()),
        section(5, new SshWriter(64).string(createHash('sha256').update(ca.publicKey.blob).digest()).toBuffer()),
      ),
    );
    assert.ok(l.isRevoked(user.publicKey));
    assert.ok(l.isRevoked(k1));
    assert.ok(l.isRevoked(ca.publicKey));
    assert.ok(!l.isRevoked(k2));
    const other = generatePrivateKey('ed25519');
    assert.ok(l.isRevoked(await issueCertificate(other, user.publicKey, { type: 'user', keyId: 'x' })), 'its key');
    assert.ok(l.isRevoked(await issueCertificate(ca, k2, { type: 'user', keyId: 'x' })), 'its CA');
    assert.ok(!l.isRevoked(await issueCertificate(other, k2, { type: 'user', keyId: 'x' })));
  });

  test('what OpenSSH refuses is a KeyError: serial 0, bad ranges, wrapping bitmaps, unknown sections, leftovers', () => {
    const bad: [string, Buffer][] = [
      ['magic', Buffer.from('SSHKRL\n\x01')],
      ['version 2', Buffer.concat([Buffer.from('SSHKRL\n\0', 'latin1'), Buffer.from([0, 0, 0, 2])])],
      ['truncated header', header().toBuffer().subarray(0, 30)],
      ['serial 0', krl(certSection(ca.publicKey.blob, [0x20, u64s(0n)]))],
      ['range 0', krl(certSection(ca.publicKey.blob, [0x21, u64s(0n, 4n)]))],
      ['range backwards', krl(certSection(ca.publicKey.blob, [0x21, u64s(5n, 4n)]))],
      ['range short', krl(certSection(ca.publicKey.blob, [0x21, u64s(5n)]))],
      ['range long', krl(certSection(ca.publicKey.blob, [0x21, u64s(5n, 6n, 7n)]))],
      [
        'bitmap serial 0',
        krl(
          certSection(ca.publicKey.blob, [
            0x22,
            new SshWriter(16)
              .uint64(0n)
              .string(Buffer.from([1]))
              .toBuffer(),
          ]),
        ),
      ],
      [
        'bitmap wraps',
        krl(
          certSection(ca.publicKey.blob, [
            0x22,
            new SshWriter(16)
              .uint64(0xffff_ffff_ffff_fffen)
              .string(Buffer.from([4]))
              .toBuffer(),
          ]),
        ),
      ],
      [
        'bitmap negative',
        krl(
          certSection(ca.publicKey.blob, [
            0x22,
            new SshWriter(16)
              .uint64(1n)
              .string(Buffer.from([0x80]))
              .toBuffer(),
          ]),
        ),
      ],
      [
        'bitmap huge',
        krl(
          certSection(ca.publicKey.blob, [
            0x22,
            new SshWriter(4096).uint64(1n).string(Buffer.alloc(2050, 1)).toBuffer(),
          ]),
        ),
      ],
      ['key id NUL', krl(certSection(ca.publicKey.blob, [0x23, new SshWriter(16).string('a\0b').toBuffer()]))],
      ['unknown cert section', krl(certSection(ca.publicKey.blob, [0x24, Buffer.alloc(0)]))],
      ['bad CA', krl(certSection(Buffer.from('junk'), [0x20, u64s(1n)]))],
      ['unknown section', krl(section(6, Buffer.alloc(0)))],
      ['sha1 length', krl(section(3, new SshWriter(64).string(Buffer.alloc(21)).toBuffer()))],
      ['sha256 length', krl(section(5, new SshWriter(64).string(Buffer.alloc(20)).toBuffer()))],
      ['explicit leftover', krl(section(2, Buffer.from([0, 0, 0])))],
      ['trailing byte', Buffer.concat([krl(), Buffer.from([2])])],
    ];
    for (const [name, b] of bad) assert.throws(() => RevocationList.parse(b), KeyError, name);
    assert.ok(RevocationList.parse(krl()), 'an empty KRL');
  });

  test('signatures: verified over the KRL up to the key, last, once per key; not every signer revoked', () => {
    const signer = generatePrivateKey('ecdsa', { bits: 256 });
    const signed = (body: Buffer, key: PrivateKey) => {
      const pre = Buffer.concat([body, Buffer.from([4]), new SshWriter(256).string(key.publicKey.blob).toBuffer()]);
      const sig = key.signSync(pre, key.publicKey.signatureAlgorithms[0] ?? 'ssh-ed25519');
      return Buffer.concat([pre, new SshWriter(sig.length + 4).string(sig).toBuffer()]);
    };
    const body = krl(certSection(ca.publicKey.blob, [0x20, u64s(1n)]));
    const one = RevocationList.parse(signed(body, signer));
    assert.equal(one.signedBy.length, 1);
    assert.ok(one.signedBy[0]?.equals(signer.publicKey));
    assert.equal(RevocationList.parse(signed(signed(body, signer), ca)).signedBy.length, 2);

    const tampered = signed(body, signer);
    tampered[body.length - 3] = (tampered[body.length - 3] as number) ^ 1;
    assert.throws(() => RevocationList.parse(tampered), KeyError);
    assert.throws(
      () => RevocationList.parse(Buffer.concat([signed(body, signer), section(2, Buffer.alloc(0))])),
      /after its signature/,
    );
    assert.throws(() => RevocationList.parse(signed(signed(body, signer), signer)), /twice/);
    const selfRevoking = krl(section(2, new SshWriter(128).string(signer.publicKey.blob).toBuffer()));
    assert.throws(() => RevocationList.parse(signed(selfRevoking, signer)), /revoked/);
  });
});

describe('plain revoked-key lists', () => {
  test('keys and certificates by line; a certificate is revoked by its key or its CA; a bad line fails the list', async () => {
    const c = await issueCertificate(ca, user.publicKey, { type: 'user', keyId: 'k' });
    const other = generatePrivateKey('ed25519');
    const list = parseRevokedKeys(`# revoked\n\n  ${other.publicKey.toString()}\r\n${c.toString()}\n`);
    assert.ok(!(list instanceof RevocationList));
    assert.ok(isKeyRevoked(list, other.publicKey));
    assert.ok(isKeyRevoked(list, user.publicKey), 'a listed certificate revokes its key');
    assert.ok(!isKeyRevoked(list, ca.publicKey));
    const byCa = parseRevokedKeys(ca.publicKey.toString());
    assert.ok(isKeyRevoked(byCa, user.publicKey, c));
    assert.ok(!isKeyRevoked(byCa, user.publicKey));
    for (const bad of [
      'garbage',
      `ssh-ed25519 ${other.publicKey.blob.toString('base64').slice(0, 20)}`,
      `ssh-rsa ${other.publicKey.blob.toString('base64')}`,
    ]) {
      assert.throws(() => parseRevokedKeys(`${other.publicKey.toString()}\n${bad}\n`), KeyError, bad);
    }
    assert.ok(parseRevokedKeys(krl()) instanceof RevocationList);
  });
});
