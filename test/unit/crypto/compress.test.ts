import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { constants, deflateSync, inflateSync } from 'node:zlib';
import { PacketCompressor, PacketDecompressor } from '../../../src/crypto/compress.js';
import { DisconnectReason, ProtocolError } from '../../../src/errors.js';

function payloads(): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    if (i % 3 === 0) out.push(randomBytes((i * 131) % 2000));
    else out.push(Buffer.from(`SSH_MSG_CHANNEL_DATA ${i} `.repeat(1 + (i % 50))));
  }
  out.push(Buffer.alloc(200_000, 7)); // output larger than one internal chunk
  return out;
}

test('one continuous stream: every packet decodes on its own, in order', () => {
  const c = new PacketCompressor();
  const d = new PacketDecompressor(256 * 1024);
  const wire: Buffer[] = [];
  for (const p of payloads()) {
    const z = c.compress(p);
    wire.push(z);
    assert.deepEqual(d.decompress(z), p);
  }
  // A zlib header only at the start of the stream, and repetition compresses across packets.
  assert.equal(wire[0]?.readUInt16BE(0), 0x789c);
  assert.ok((wire[2]?.length ?? 0) < 40);
});

test('the concatenated packets are one valid zlib stream (checked by zlib.inflateSync)', () => {
  const c = new PacketCompressor();
  const ps = payloads();
  const all = Buffer.concat(ps.map((p) => c.compress(p)));
  const inflated = inflateSync(all, { finishFlush: constants.Z_SYNC_FLUSH });
  assert.deepEqual(inflated, Buffer.concat(ps));
});

test('decompresses a stream made by zlib itself, split at arbitrary points', () => {
  const data = Buffer.concat(payloads().slice(0, 100));
  const z = deflateSync(data);
  const d = new PacketDecompressor(1 << 30);
  const out: Buffer[] = [];
  for (let i = 0; i < z.length; i += 977) out.push(d.decompress(z.subarray(i, i + 977)));
  assert.deepEqual(Buffer.concat(out), data);
});

test('inflated size above maxOutput is refused with COMPRESSION_ERROR', () => {
  const bomb = new PacketCompressor().compress(Buffer.alloc(50_000_000));
  assert.ok(bomb.length < 100_000);
  const d = new PacketDecompressor(64 * 1024);
  assert.throws(
    () => d.decompress(bomb),
    (e: unknown) =>
      e instanceof ProtocolError && e.reason === DisconnectReason.COMPRESSION_ERROR && /exceeds/.test(e.message),
  );
  // The stream is unusable afterwards.
  assert.throws(() => d.decompress(Buffer.alloc(1)), ProtocolError);
  // Exactly at the limit is fine.
  const c = new PacketCompressor();
  assert.equal(new PacketDecompressor(1000).decompress(c.compress(Buffer.alloc(1000, 1))).length, 1000);
});

test('corrupt data is a COMPRESSION_ERROR', () => {
  const d = new PacketDecompressor(1024);
  assert.throws(
    () => d.decompress(Buffer.from('789cffffffffffff', 'hex')),
    (e: unknown) => e instanceof ProtocolError && e.reason === DisconnectReason.COMPRESSION_ERROR,
  );
  const c = new PacketCompressor();
  const z = c.compress(Buffer.from('hello world'));
  const bad = Buffer.from(z);
  bad[0] = 0x00; // bad zlib header
  assert.throws(() => new PacketDecompressor(1024).decompress(bad), ProtocolError);
});
