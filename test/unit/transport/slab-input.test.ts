/** SlabInput + PacketDecoder.detach: packets split across reads at random points come out intact, through compaction and growth. */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';
import { createOpener, createSealer } from '../../../src/crypto/cipher.js';
import { PacketDecoder, PacketEncoder } from '../../../src/transport/packet-codec.js';
import { SlabInput } from '../../../src/transport/slab-input.js';

const keys = {
  cipher: 'aes128-gcm@openssh.com',
  mac: '',
  key: randomBytes(16),
  iv: randomBytes(12),
  macKey: Buffer.alloc(0),
};

/** Simulates the socket: copies `wire` into the buffers SlabInput hands out, `sizes()` bytes per read. */
function feed(input: SlabInput, wire: Buffer, sizes: () => number): void {
  let off = 0;
  while (off < wire.length) {
    const dst = input.onread.buffer();
    const n = Math.min(sizes(), dst.length, wire.length - off);
    wire.copy(dst, 0, off, off + n);
    off += n;
    input.onread.callback(n);
  }
}

for (const [name, sizes] of [
  ['1-byte reads', () => 1],
  ['random reads up to 70 KiB', () => randomInt(1, 70_000)],
  ['64 KiB reads', () => 65536],
] as const) {
  test(`packets survive ${name}`, () => {
    const enc = new PacketEncoder();
    enc.setSealer(createSealer(keys));
    const dec = new PacketDecoder();
    dec.setOpener(createOpener(keys));
    const count = name === '1-byte reads' ? 20 : 300;
    // Sizes up to the 256 KiB packet limit, so the buffer must grow past its first 1 MiB at times.
    const payloads = Array.from({ length: count }, () => randomBytes(randomInt(1, count === 20 ? 3000 : 250_000)));
    const wire = Buffer.concat(payloads.map((p) => enc.encode(p)));
    const got: Buffer[] = [];
    const input = new SlabInput();
    input.attach((region) => {
      dec.push(region);
      for (let p = dec.next(); p; p = dec.next()) got.push(Buffer.from(p));
      return dec.detach(region);
    });
    feed(input, wire, sizes);
    assert.equal(got.length, payloads.length);
    for (let i = 0; i < payloads.length; i++) assert.ok(got[i]?.equals(payloads[i] as Buffer), `packet ${i}`);
  });
}

test('input that arrives before attach is delivered on attach', () => {
  const enc = new PacketEncoder();
  const dec = new PacketDecoder();
  const a = enc.encode(Buffer.from('first'));
  const b = enc.encode(Buffer.from('second'));
  const input = new SlabInput();
  feed(input, Buffer.concat([a, b.subarray(0, 3)]), () => 1 << 20);
  const got: string[] = [];
  input.attach((region) => {
    dec.push(region);
    for (let p = dec.next(); p; p = dec.next()) got.push(p.toString());
    return dec.detach(region);
  });
  assert.deepEqual(got, ['first']);
  feed(input, b.subarray(3), () => 1 << 20);
  assert.deepEqual(got, ['first', 'second']);
});

test('detach keeps its own copy when the unconsumed bytes span another chunk, then the reused region may change', () => {
  const enc = new PacketEncoder();
  const dec = new PacketDecoder();
  const a = enc.encode(Buffer.from('hello world'));
  dec.push(Buffer.from(a.subarray(0, 5)));
  const region = Buffer.from(a.subarray(5, 12));
  dec.push(region);
  assert.equal(dec.next(), undefined);
  assert.equal(dec.detach(region), 0, 'nothing to offer again: the decoder kept a copy');
  region.fill(0xee);
  dec.push(Buffer.from(a.subarray(12)));
  assert.equal(dec.next()?.toString(), 'hello world');
});

test('a 256 KiB packet arriving in 4-byte reads after an owned chunk decodes (and in linear time)', {
  timeout: 10_000,
}, () => {
  const enc = new PacketEncoder();
  const dec = new PacketDecoder();
  const payload = Buffer.alloc(256 * 1024 - 64, 7);
  const wire = enc.encode(payload);
  dec.push(Buffer.from(wire.subarray(0, 10))); // as the bytes after the version line: a copy the decoder owns
  assert.equal(dec.next(), undefined);
  const slab = Buffer.alloc(1 << 20);
  let start = 0;
  let end = 0;
  let got: Buffer | undefined;
  for (let off = 10; off < wire.length; off += 4) {
    const n = Math.min(4, wire.length - off);
    wire.copy(slab, end, off, off + n);
    end += n;
    const region = slab.subarray(start, end);
    dec.push(region);
    const p = dec.next();
    if (p) got = Buffer.from(p);
    const left = dec.detach(region);
    if (left <= 0) start = end = 0;
    else start = end - left;
  }
  assert.ok(got?.equals(payload));
});

test('after bulk input, a quiet read that leaves nothing pending gives the buffer back; packets stay intact around it', () => {
  const enc = new PacketEncoder();
  enc.setSealer(createSealer(keys));
  const dec = new PacketDecoder();
  dec.setOpener(createOpener(keys));
  const input = new SlabInput();
  const got: Buffer[] = [];
  input.attach((region) => {
    dec.push(region);
    for (let p = dec.next(); p; p = dec.next()) got.push(Buffer.from(p));
    return dec.detach(region);
  });
  const bulk = Array.from({ length: 64 }, () => randomBytes(32 * 1024));
  feed(input, Buffer.concat(bulk.map((p) => enc.encode(p))), () => 100_000);
  assert.ok(input.touchedBytes > 512 * 1024, `bulk input touched ${input.touchedBytes} bytes`);
  const quiet = randomBytes(40);
  feed(input, enc.encode(quiet), () => 1 << 20);
  assert.equal(input.touchedBytes, 0, 'the touched buffer was swapped for a fresh one');
  const after = randomBytes(300);
  feed(input, enc.encode(after), () => 7);
  assert.deepEqual(got, [...bulk, quiet, after]);
  assert.ok(input.touchedBytes < 4096);
});
