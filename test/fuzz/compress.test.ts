/**
 * The packet decompressor (zlib / zlib@openssh.com): one zlib stream across packets, fed mutated
 * real compressed packets, throws only ProtocolError (COMPRESSION_ERROR) and never inflates past its
 * limit; decompress(compress(x)) = x over a run of packets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PacketCompressor, PacketDecompressor } from '../../src/crypto/compress.js';
import { DisconnectReason, ProtocolError } from '../../src/errors.js';
import { MAX_PACKET_LENGTH } from '../../src/transport/packet-codec.js';
import { fuzz, mutated, only, runs } from './harness.js';

test('compression: decompress(compress(x)) = x over a run of packets', () => {
  fuzz(
    'zlib round trip',
    fc.array(
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 400 }).map((u) => Buffer.from(u)),
        fc
          .tuple(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 0, max: 255 }))
          .map(([n, b]) => Buffer.alloc(n, b)),
      ),
      { minLength: 1, maxLength: 6 },
    ),
    (payloads) => {
      const c = new PacketCompressor();
      const d = new PacketDecompressor(MAX_PACKET_LENGTH);
      for (const p of payloads) assert.deepEqual(d.decompress(c.compress(p)), p);
      c.close();
      d.close();
    },
    { numRuns: runs(200, 3), allowed: () => false },
  );
});

test('compression: mutated compressed packets throw only ProtocolError and never inflate past the limit', () => {
  const c = new PacketCompressor();
  const seeds = [
    Buffer.from('SSH_MSG_CHANNEL_DATA payload, some text text text'),
    Buffer.alloc(5000, 0x61),
    Buffer.from([94, 0, 0, 0, 1, 0, 0, 0, 3, 1, 2, 3]),
  ].map((p) => c.compress(p));
  const limit = 64 * 1024;
  fuzz(
    'zlib decompress',
    fc.array(fc.oneof(fc.constantFrom(...seeds), mutated(seeds)), { minLength: 1, maxLength: 4 }),
    (packets) => {
      const d = new PacketDecompressor(limit);
      try {
        for (const p of packets) assert.ok(d.decompress(p).length <= limit);
      } finally {
        d.close();
      }
    },
    { numRuns: runs(1500), allowed: only(ProtocolError), maxAlloc: () => 2 * limit },
  );
});

test('compression: a packet that inflates past the limit (a zip bomb) is a COMPRESSION_ERROR, refused early', () => {
  const bomb = new PacketCompressor().compress(Buffer.alloc(64 * 1024 * 1024));
  assert.ok(bomb.length < 100_000);
  const d = new PacketDecompressor(MAX_PACKET_LENGTH);
  assert.throws(
    () => d.decompress(bomb),
    (e: unknown) => e instanceof ProtocolError && e.reason === DisconnectReason.COMPRESSION_ERROR,
  );
});
