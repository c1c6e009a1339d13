/** Fingerprints and randomart byte-for-byte against `ssh-keygen -l`, `-lv` and `-E md5`. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parsePublicKey, shortTypeName } from '../../../src/keys/index.js';
import { requirePeer } from '../../helpers/peers.js';
import { keygen, makeKey, tempDir } from './helpers.js';

let tmp: { dir: string; cleanup: () => void };
before(() => {
  tmp = tempDir();
});
after(() => tmp.cleanup());

const KINDS = [
  ['ed25519', ['-t', 'ed25519']],
  ['ecdsa256', ['-t', 'ecdsa', '-b', '256']],
  ['ecdsa521', ['-t', 'ecdsa', '-b', '521']],
  ['rsa1024', ['-t', 'rsa', '-b', '1024']],
  ['dsa', ['-t', 'dsa']],
] as [string, string[]][];

test('randomart and fingerprints match ssh-keygen -lv for several keys of each type', (t) => {
  if (!requirePeer(t, 'ssh-keygen')) return;
  for (const [name, args] of KINDS) {
    for (let i = 0; i < 3; i++) {
      const k = makeKey(tmp.dir, `${name}-${i}`, [...args, '-N', '', '-C', `c${i}`]);
      const pub = parsePublicKey(k.pub);
      for (const hash of ['sha256', 'md5'] as const) {
        const out = keygen(['-lv', '-E', hash, '-f', `${k.path}.pub`]).replace(/\n$/, '');
        const [first, ...art] = out.split('\n');
        assert.equal(first, `${pub.bits} ${pub.fingerprint(hash)} c${i} (${shortTypeName(pub.type)})`);
        assert.equal(pub.randomart(hash), art.join('\n'), `${name} ${hash}`);
      }
    }
  }
});

test('randomart of a fixed key (recorded from ssh-keygen 9.2 -lv)', () => {
  const pub = parsePublicKey(
    'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKfeecjGieozDB0C7fzKB4ja4C+A/hIDv0XzHedvDCnmAlwY6nLgvXcWSIY7iKQWonh84NTwITR+CN/bBeQaAqU= c ecdsa',
  );
  assert.equal(pub.fingerprint(), 'SHA256:4wJkXs7UMPLjkcCnxhfOEdiEDAR1M1ITRTy2l2eYysE');
  const expected = [
    '+---[ECDSA 256]---+',
    '|.+==XXB.         |',
    '|   o=BO=         |',
    '|   .oBB=.+       |',
    '|   ++*Eo= o      |',
    '|   .oo++So       |',
    '|     .o. .       |',
    '|      . .        |',
    '|       .         |',
    '|                 |',
    '+----[SHA256]-----+',
  ];
  assert.equal(pub.randomart(), expected.join('\n'));
});

test('a cell walked 15 times or more shows ^ as in ssh-keygen (S and E are only start and end)', (t) => {
  if (!requirePeer(t, 'ssh-keygen')) return;
  // ssh-keygen reads any 32 bytes as an ed25519 public key: search, deterministically, for keys whose
  // MD5 and SHA256 walks each press one cell at least 15 times.
  const found = new Map<'md5' | 'sha256', string>();
  for (let i = 0; found.size < 2 && i < 200_000; i++) {
    const raw = createHash('sha256').update(`secsh randomart ${i}`).digest();
    const blob = Buffer.concat([
      Buffer.from([0, 0, 0, 11]),
      Buffer.from('ssh-ed25519'),
      Buffer.from([0, 0, 0, 32]),
      raw,
    ]);
    for (const hash of ['md5', 'sha256'] as const)
      if (!found.has(hash) && maxVisits(createHash(hash).update(blob).digest()) >= 15)
        found.set(hash, `ssh-ed25519 ${blob.toString('base64')} c`);
  }
  assert.equal(found.size, 2);
  for (const [hash, line] of found) {
    const path = join(tmp.dir, `walk-${hash}.pub`);
    writeFileSync(path, `${line}\n`);
    const art = keygen(['-lv', '-E', hash, '-f', path]).replace(/\n$/, '').split('\n').slice(1).join('\n');
    assert.match(art, /\^/);
    assert.equal(parsePublicKey(line).randomart(hash), art, hash);
  }
});

/** Most visits to one cell of the 17×9 field (the drunken bishop's walk, counted without a cap). */
function maxVisits(digest: Buffer): number {
  const field = new Array<number>(17 * 9).fill(0);
  let x = 8;
  let y = 4;
  for (const byte of digest) {
    for (let s = 0; s < 4; s++) {
      const b = (byte >> (2 * s)) & 3;
      x = Math.max(0, Math.min(16, x + (b & 1 ? 1 : -1)));
      y = Math.max(0, Math.min(8, y + (b & 2 ? 1 : -1)));
      field[y * 17 + x] = (field[y * 17 + x] ?? 0) + 1;
    }
  }
  return Math.max(...field);
}
