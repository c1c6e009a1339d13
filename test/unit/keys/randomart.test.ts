/** Fingerprints and randomart byte-for-byte against `ssh-keygen -l`, `-lv` and `-E md5`. */
import assert from 'node:assert/strict';
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
