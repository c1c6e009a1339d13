import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Poly1305, Poly1305Js, poly1305, poly1305UsesWasm, setPoly1305Fallback } from '../../../src/crypto/poly1305.js';
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

/** Runs `body` once on the default (WebAssembly) backend and once with the JS fallback forced. */
function bothBackends(name: string, body: () => void): void {
  for (const fallback of [false, true]) {
    test(`${name} (${fallback ? 'JS fallback' : 'WebAssembly'})`, () => {
      setPoly1305Fallback(fallback);
      try {
        assert.equal(poly1305UsesWasm(), !fallback);
        body();
      } finally {
        setPoly1305Fallback(false);
      }
    });
  }
}

test('WebAssembly is used by default on Node', () => {
  assert.equal(poly1305UsesWasm(), true);
});

bothBackends('RFC 8439 Poly1305 vectors', () => {
  for (const v of VECTORS) {
    const key = hex(v.key);
    assert.equal(key.length, 32, v.name);
    assert.equal(poly1305(key, v.msg).toString('hex'), v.tag, v.name);
    assert.equal(reference(key, v.msg).toString('hex'), v.tag, `${v.name} (reference)`);
  }
  assert.equal(IETF_TEXT.length, 375);
});

bothBackends('matches the BigInt reference on random and extreme inputs of every length 0..2000', () => {
  const p = new Poly1305();
  for (let len = 0; len <= 2000; len++) {
    const keys = [randomBytes(32), Buffer.alloc(32, 0xff)];
    if (len <= 300 || len % 7 === 0) keys.push(Buffer.concat([Buffer.alloc(16, 0xff), randomBytes(16)]));
    for (const key of keys) {
      const msg = len % 2 === 0 ? randomBytes(len) : Buffer.alloc(len, 0xff);
      const expected = reference(key, msg);
      assert.deepEqual(poly1305(key, msg), expected, `len ${len}`);
      assert.deepEqual(p.init(key).update(msg).digest(), expected, `len ${len} (reused object)`);
    }
  }
});

bothBackends('incremental updates at odd split points and unaligned offsets equal one-shot', () => {
  const key = randomBytes(32);
  const backing = randomBytes(5000);
  const msg = backing.subarray(3, 4003); // deliberately not 4-byte aligned
  const expected = reference(key, Buffer.from(msg));
  const p = new Poly1305();
  for (const split of [1, 3, 4, 15, 16, 17, 33, 63, 64, 65, 1000]) {
    p.init(key);
    for (let i = 0; i < msg.length; i += split) p.update(msg, i, Math.min(i + split, msg.length));
    assert.deepEqual(p.digest(), expected, `split ${split}`);
  }
  // Random split points, including empty pieces.
  for (let round = 0; round < 50; round++) {
    p.init(key);
    let i = 0;
    while (i < msg.length) {
      const j = Math.min(msg.length, i + Math.floor(Math.random() * 200));
      p.update(msg, i, j);
      i = j;
    }
    assert.deepEqual(p.digest(), expected, `round ${round}`);
  }
  // Reuse after finish with a new key; init at a key offset; finish at an output offset.
  const key2 = randomBytes(32);
  assert.deepEqual(p.init(key2).update(msg).digest(), reference(key2, Buffer.from(msg)));
  const keyAt = Buffer.concat([randomBytes(5), key2]);
  const out = Buffer.alloc(20);
  p.init(keyAt, 5).update(msg).finish(out, 3);
  assert.deepEqual(out.subarray(3, 19), reference(key2, Buffer.from(msg)));
});

bothBackends('interleaved objects keep separate states', () => {
  const objs = [new Poly1305(), new Poly1305(), new Poly1305()];
  const keys = objs.map(() => randomBytes(32));
  const msgs = objs.map((_, i) => randomBytes(1000 + 37 * i));
  for (const [i, o] of objs.entries()) o.init(keys[i] as Buffer);
  for (let pos = 0; pos < 1200; pos += 13) {
    objs.forEach((o, i) => {
      const m = msgs[i] as Buffer;
      if (pos < m.length) o.update(m, pos, Math.min(pos + 13, m.length));
    });
  }
  // Finish in a different order than started; a new object created midway does not disturb them.
  const extra = new Poly1305(randomBytes(32)).update(randomBytes(100));
  for (const i of [2, 0, 1]) {
    assert.deepEqual((objs[i] as Poly1305).digest(), reference(keys[i] as Buffer, msgs[i] as Buffer), `object ${i}`);
  }
  assert.equal(extra.digest().length, 16);
});

bothBackends('large inputs (several WebAssembly data chunks) match the reference', () => {
  const key = randomBytes(32);
  const msg = randomBytes(450_001);
  assert.deepEqual(poly1305(key, msg), reference(key, msg));
});

test('Poly1305Js is usable directly and agrees with the default backend', () => {
  for (const len of [0, 1, 16, 64, 65, 1000, 32768 + 4]) {
    const key = randomBytes(32);
    const msg = randomBytes(len);
    assert.deepEqual(new Poly1305Js(key).update(msg).digest(), poly1305(key, msg), `len ${len}`);
  }
});

bothBackends('rejects a short key, a short output and out-of-range input', () => {
  assert.throws(() => new Poly1305(Buffer.alloc(31)), RangeError);
  assert.throws(() => new Poly1305().init(Buffer.alloc(40), 9), RangeError);
  assert.throws(() => new Poly1305(Buffer.alloc(32)).finish(Buffer.alloc(20), 5), RangeError);
  assert.throws(() => new Poly1305().init(Buffer.alloc(40), -1), RangeError);
  assert.throws(() => new Poly1305(Buffer.alloc(32)).update(Buffer.alloc(10), 0, 11), RangeError);
  assert.throws(() => new Poly1305(Buffer.alloc(32)).update(Buffer.alloc(10), 6, 5), RangeError);
});
