import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireError } from '../../../src/errors.js';
import { bigintToMpint, mpintToBigint, SshReader, SshWriter } from '../../../src/wire/index.js';

test('RFC 4251 §5 mpint examples encode and decode', () => {
  const cases: [bigint, string][] = [
    [0n, ''],
    [0x9a378f9b2e332a7n, '09a378f9b2e332a7'],
    [0x80n, '0080'],
    [-0x1234n, 'edcc'],
    [-0xdeadbeefn, 'ff21524111'],
  ];
  for (const [v, hex] of cases) {
    assert.equal(bigintToMpint(v).toString('hex'), hex, `encode ${v}`);
    assert.equal(mpintToBigint(Buffer.from(hex, 'hex')), v, `decode ${hex}`);
  }
});

test('writer and reader round-trip every type', () => {
  const buf = new SshWriter(4)
    .byte(7)
    .bool(true)
    .uint32(0xffffffff)
    .uint64(2n ** 63n + 5n)
    .string('héllo')
    .nameList(['a', 'b-c'])
    .mpint(-5n)
    .raw(Buffer.from([1, 2]))
    .toBuffer();
  const r = new SshReader(buf);
  assert.equal(r.byte(), 7);
  assert.equal(r.bool(), true);
  assert.equal(r.uint32(), 0xffffffff);
  assert.equal(r.uint64(), 2n ** 63n + 5n);
  assert.equal(r.utf8(), 'héllo');
  assert.deepEqual(r.nameList(), ['a', 'b-c']);
  assert.equal(r.mpint(), -5n);
  assert.deepEqual([...r.raw(2)], [1, 2]);
  r.ensureEnd();
});

test('short input, oversized lengths and trailing bytes are WireErrors', () => {
  assert.throws(() => new SshReader(Buffer.from([0, 0, 0])).uint32(), WireError);
  assert.throws(() => new SshReader(Buffer.from([0, 0, 0, 9, 1])).string(), WireError);
  assert.throws(() => new SshReader(Buffer.from([0xff, 0xff, 0xff, 0xff])).string(), WireError);
  assert.throws(() => new SshReader(Buffer.from([0, 0, 0, 4, 1, 2, 3, 4])).string(3), WireError);
  const r = new SshReader(Buffer.from([1, 2]));
  r.byte();
  assert.throws(() => r.ensureEnd(), WireError);
  assert.throws(() => new SshReader(Buffer.from([0, 0, 0, 2, 0xc3, 0x28])).utf8(), WireError);
  assert.throws(() => new SshReader(new SshWriter().string('a,,b').toBuffer()).nameList(), WireError);
});

test('uint32 above 2^31 stays positive', () => {
  const r = new SshReader(Buffer.from([0x80, 0, 0, 0]));
  assert.equal(r.uint32(), 2 ** 31);
});
