import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Poly1305, poly1305 } from '../../../src/crypto/poly1305.js';
import { reference } from './poly1305-reference.js';

const hex = (s: string) => Buffer.from(s.replace(/[\s:]/g, ''), 'hex');

const IETF_TEXT =
  'Any submission to the IETF intended by the Contributor for publication as all or part of an IETF ' +
  'Internet-Draft or RFC and any statement made within the context of an IETF activity is considered an ' +
  '"IETF Contribution". Such statements include oral statements in IETF sessions, as well as written and ' +
  'electronic communications made at any time or place, which are addressed to';

// RFC 8439 §2.5.2 and Appendix A.3.
const VECTORS: { name: string; key: string; msg: Buffer; tag: string }[] = [
  {
    name: '§2.5.2',
    key: '85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b',
    msg: Buffer.from('Cryptographic Forum Research Group'),
    tag: 'a8061dc1305136c6c22b8baf0c0127a9',
  },
  { name: 'A.3 #1', key: '00'.repeat(32), msg: Buffer.alloc(64), tag: '00'.repeat(16) },
  {
    name: 'A.3 #2',
    key: `${'00'.repeat(16)}36e5f6b5c5e06070f0efca96227a863e`,
    msg: Buffer.from(IETF_TEXT),
    tag: '36e5f6b5c5e06070f0efca96227a863e',
  },
  {
    name: 'A.3 #3',
    key: `36e5f6b5c5e06070f0efca96227a863e${'00'.repeat(16)}`,
    msg: Buffer.from(IETF_TEXT),
    tag: 'f3477e7cd95417af89a6b8794c310cf0',
  },
  {
    name: 'A.3 #4',
    key: '1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0',
    msg: Buffer.from(
      "'Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe:\nAll mimsy were the borogoves,\nAnd the mome raths outgrabe.",
    ),
    tag: '4541669a7eaaee61e708dc7cbcc5eb62',
  },
  { name: 'A.3 #5', key: `02${'00'.repeat(31)}`, msg: hex('ff'.repeat(16)), tag: `03${'00'.repeat(15)}` },
  {
    name: 'A.3 #6',
    key: `02${'00'.repeat(15)}${'ff'.repeat(16)}`,
    msg: hex(`02${'00'.repeat(15)}`),
    tag: `03${'00'.repeat(15)}`,
  },
  {
    name: 'A.3 #7',
    key: `01${'00'.repeat(31)}`,
    msg: hex(`${'ff'.repeat(16)}f0${'ff'.repeat(15)}11${'00'.repeat(15)}`),
    tag: `05${'00'.repeat(15)}`,
  },
  {
    name: 'A.3 #8',
    key: `01${'00'.repeat(31)}`,
    msg: hex(`${'ff'.repeat(16)}fb${'fe'.repeat(15)}${'01'.repeat(16)}`),
    tag: '00'.repeat(16),
  },
  { name: 'A.3 #9', key: `02${'00'.repeat(31)}`, msg: hex(`fd${'ff'.repeat(15)}`), tag: `faff${'ff'.repeat(14)}` },
  {
    name: 'A.3 #10',
    key: `0100000000000000040000000000000000${'00'.repeat(15)}`,
    msg: hex(
      'e33594d7505e43b900000000000000003394d7505e4379cd01000000000000000000000000000000000000000000000001000000000000000000000000000000',
    ),
    tag: '14000000000000005500000000000000',
  },
  {
    name: 'A.3 #11',
    key: `0100000000000000040000000000000000${'00'.repeat(15)}`,
    msg: hex('e33594d7505e43b900000000000000003394d7505e4379cd010000000000000000000000000000000000000000000000'),
    tag: '13000000000000000000000000000000',
  },
];

test('RFC 8439 Poly1305 vectors', () => {
  for (const v of VECTORS) {
    const key = hex(v.key);
    assert.equal(key.length, 32, v.name);
    assert.equal(poly1305(key, v.msg).toString('hex'), v.tag, v.name);
    assert.equal(reference(key, v.msg).toString('hex'), v.tag, `${v.name} (reference)`);
  }
  assert.equal(IETF_TEXT.length, 375);
});

test('matches the BigInt reference on random and extreme inputs of every length', () => {
  for (let len = 0; len <= 300; len++) {
    for (const key of [randomBytes(32), Buffer.alloc(32, 0xff)]) {
      const msg = len % 2 === 0 ? randomBytes(len) : Buffer.alloc(len, 0xff);
      assert.deepEqual(poly1305(key, msg), reference(key, msg), `len ${len}`);
    }
  }
});

test('incremental updates at odd split points and unaligned offsets equal one-shot', () => {
  const key = randomBytes(32);
  const backing = randomBytes(5000);
  const msg = backing.subarray(3, 4003); // deliberately not 4-byte aligned
  const expected = reference(key, Buffer.from(msg));
  const p = new Poly1305();
  for (const split of [1, 3, 4, 15, 16, 17, 33, 1000]) {
    p.init(key);
    for (let i = 0; i < msg.length; i += split) p.update(msg, i, Math.min(i + split, msg.length));
    assert.deepEqual(p.digest(), expected, `split ${split}`);
  }
  // Reuse after finish with a new key.
  const key2 = randomBytes(32);
  assert.deepEqual(p.init(key2).update(msg).digest(), reference(key2, Buffer.from(msg)));
});

test('rejects a short key', () => {
  assert.throws(() => new Poly1305(Buffer.alloc(31)), RangeError);
});
