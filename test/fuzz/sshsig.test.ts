/**
 * SSHSIG parsers: signature blobs (binary, and re-armored), armored texts mutated as text, allowed_signers
 * lines and files, pattern lists, KRLs and revoked-key lists, and verification and find-principals over
 * mutated inputs. Only KeyError
 * (SshsigError is one) may be thrown, every promise settles, and no input takes long or allocates much.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { KeyError } from '../../src/errors.js';
import {
  armorSshsig,
  CertificateSigner,
  findPrincipals,
  generatePrivateKey,
  issueCertificate,
  matchSshPatternList,
  type PrivateKey,
  parseAllowedSignerLine,
  parseAllowedSigners,
  parseRevokedKeys,
  parseSshsig,
  RevocationList,
  signSshsigBlob,
  verifySshsig,
} from '../../src/keys/index.js';
import { SshWriter } from '../../src/wire/index.js';
import { bytesFrom, fuzz, fuzzAsync, only, runs } from './harness.js';

const keys: PrivateKey[] = [
  generatePrivateKey('ed25519'),
  generatePrivateKey('ecdsa', { bits: 256 }),
  generatePrivateKey('ecdsa', { bits: 521 }),
  generatePrivateKey('rsa', { bits: 1024 }),
];
const ca = generatePrivateKey('ed25519');
const data = Buffer.from('fuzzed data\n');
const keyErrors = only(KeyError);
const latin1 = (b: Buffer) => b.toString('latin1');

async function seeds() {
  const blobs: Buffer[] = [];
  for (const [i, k] of keys.entries()) {
    blobs.push(await signSshsigBlob(data, k, { namespace: 'git', hashAlgorithm: i % 2 ? 'sha256' : 'sha512' }));
  }
  const cert = await issueCertificate(ca, (keys[0] as PrivateKey).publicKey, {
    type: 'user',
    keyId: 'k',
    principals: ['alice', 'bob'],
  });
  blobs.push(await signSshsigBlob(data, new CertificateSigner(keys[0] as PrivateKey, cert), { namespace: 'file' }));
  const pubs = keys.map((k) => k.publicKey.toString());
  const lines = [
    `alice@example.com ${pubs[0]}`,
    `"a b,c",*@d namespaces="git,file",valid-after="20200101Z",valid-before="20300101120000" ${pubs[1]} comment`,
    `*,!mallory cert-authority ${ca.publicKey.toString()}`,
    `x valid-before="202001011200UTC" ${pubs[2]}`,
    `y namespaces="a\\"b" ${cert.toString()}`,
    `z ${pubs[3]}`,
    '# comment',
  ];
  return { blobs, lines, allowed: lines.join('\n') };
}

test('SSHSIG blobs and armor: mutated ones throw only KeyError; parse(armor(blob)) = blob', async () => {
  const { blobs } = await seeds();
  fuzz(
    'sshsig blob',
    bytesFrom(blobs),
    (b) => {
      const sig = parseSshsig(b);
      if (!sig.blob.equals(b)) throw new Error('parse changed the blob');
      if (!parseSshsig(armorSshsig(b)).blob.equals(b)) throw new Error('armor round trip changed the blob');
    },
    { numRuns: runs(1500, 4), allowed: keyErrors },
  );
  const texts = blobs.map((b) => Buffer.from(armorSshsig(b)));
  fuzz('sshsig armored text', bytesFrom(texts), (b) => parseSshsig(latin1(b)), {
    numRuns: runs(800, 4),
    allowed: keyErrors,
  });
});

test('allowed_signers: mutated lines and files throw only KeyError (strict) or nothing (lenient)', async () => {
  const { lines, allowed } = await seeds();
  const seedLines = lines.map((l) => Buffer.from(l));
  fuzz('allowed_signers line', bytesFrom(seedLines), (b) => parseAllowedSignerLine(latin1(b)), {
    numRuns: runs(2000, 2),
    allowed: keyErrors,
  });
  fuzz(
    'allowed_signers file',
    bytesFrom([Buffer.from(allowed)]),
    (b) => {
      parseAllowedSigners(latin1(b));
      parseAllowedSigners(latin1(b), { strict: true });
    },
    { numRuns: runs(500, 4), allowed: keyErrors },
  );
  const patternChars = fc.constantFrom('*', '?', '!', ',', 'a', 'b', '@');
  fuzz(
    'principal pattern list',
    fc.tuple(fc.string({ unit: patternChars, maxLength: 64 }), fc.string({ unit: patternChars, maxLength: 200 })),
    ([s, list]) => matchSshPatternList(s, list),
    { numRuns: runs(2000), allowed: () => false, maxMs: 200 },
  );
});

test('verifySshsig and findPrincipals over mutated signatures and allowed_signers settle with KeyError or a result', async () => {
  const { blobs, allowed } = await seeds();
  const at = new Date(Date.UTC(2025, 0, 1));
  await fuzzAsync(
    'sshsig verify',
    fc.tuple(
      bytesFrom(blobs),
      bytesFrom([Buffer.from(allowed)]),
      fc.constantFrom('alice', 'x', 'bob', 'a b', 'mallory'),
    ),
    async ([sig, file, principal]) => {
      await verifySshsig(data, sig, { namespace: 'git', allowedSigners: latin1(file), principal, at });
    },
    { numRuns: runs(400, 8), allowed: keyErrors },
  );
  fuzz(
    'sshsig find-principals',
    fc.tuple(bytesFrom(blobs), bytesFrom([Buffer.from(allowed)])),
    ([sig, file]) => findPrincipals(sig, latin1(file), { at }),
    { numRuns: runs(400, 8), allowed: keyErrors },
  );
});

/** A KRL with every section kind (as ssh-keygen -k writes them), unsigned and signed. */
function krlSeeds(): Buffer[] {
  const k = keys[0] as PrivateKey;
  const sub = (t: number, b: Uint8Array) => new SshWriter(64).byte(t).string(b).toBuffer();
  const certs = new SshWriter(512)
    .string(ca.publicKey.blob)
    .string('')
    .raw(sub(0x20, new SshWriter(16).uint64(5n).uint64(9n).toBuffer()))
    .raw(sub(0x21, new SshWriter(16).uint64(10n).uint64(20n).toBuffer()))
    .raw(
      sub(
        0x22,
        new SshWriter(16)
          .uint64(64n)
          .string(Buffer.from([0x05, 0x81]))
          .toBuffer(),
      ),
    )
    .raw(sub(0x23, new SshWriter(16).string('lost').toBuffer()))
    .toBuffer();
  const body = new SshWriter(2048)
    .raw(Buffer.from('SSHKRL\n\0', 'latin1'))
    .uint32(1)
    .uint64(1n)
    .uint64(0n)
    .uint64(0n)
    .string('')
    .string('c')
    .raw(sub(1, certs))
    .raw(sub(2, new SshWriter(64).string(k.publicKey.blob).toBuffer()))
    .raw(sub(3, new SshWriter(32).string(Buffer.alloc(20, 1)).toBuffer()))
    .raw(sub(5, new SshWriter(48).string(Buffer.alloc(32, 2)).toBuffer()))
    .toBuffer();
  const pre = Buffer.concat([body, new SshWriter(64).byte(4).string(ca.publicKey.blob).toBuffer()]);
  const sig = ca.signSync(pre, 'ssh-ed25519');
  return [Buffer.from(body), Buffer.concat([pre, new SshWriter(sig.length + 4).string(sig).toBuffer()])];
}

test('KRLs and revoked-key lists: mutated ones throw only KeyError; isRevoked never throws', async () => {
  const krls = krlSeeds();
  const probe = await issueCertificate(ca, (keys[1] as PrivateKey).publicKey, {
    type: 'user',
    keyId: 'lost',
    serial: 9n,
  });
  fuzz(
    'krl',
    bytesFrom(krls),
    (b) => {
      const l = RevocationList.parse(b);
      l.isRevoked(probe);
      l.isRevoked(probe.publicKey);
    },
    { numRuns: runs(1500, 4), allowed: keyErrors },
  );
  const list = Buffer.from(`# revoked\n${keys.map((k) => k.publicKey.toString()).join('\n')}\n`);
  fuzz('revoked keys list', bytesFrom([list]), (b) => parseRevokedKeys(latin1(b)), {
    numRuns: runs(800, 2),
    allowed: keyErrors,
  });
});
