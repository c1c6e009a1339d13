/** What an idle connection's packet encoder holds: no random-padding pool of its own. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PacketEncoder } from '../../../src/transport/packet-codec.js';

test('a thousand packet encoders, each having sent a packet, hold no padding memory of their own', () => {
  const first = new PacketEncoder();
  first.encode(Buffer.from([5, 0, 0, 0, 0])); // the shared pool exists from here on
  const before = process.memoryUsage().arrayBuffers;
  const held: PacketEncoder[] = [];
  for (let i = 0; i < 1000; i++) {
    const e = new PacketEncoder();
    e.encode(Buffer.from([5, 0, 0, 0, 0]));
    held.push(e);
  }
  const grown = process.memoryUsage().arrayBuffers - before;
  // A 4 KiB pool each would be about 4 MB; encoded packets are garbage the collector has not reclaimed yet.
  assert.ok(grown < 1000 * 1024, `external memory grew by ${grown} bytes for ${held.length} encoders`);
});

test('padding bytes differ between packets and between encoders', () => {
  const a = new PacketEncoder();
  const b = new PacketEncoder();
  const pa = a.encode(Buffer.alloc(1)).subarray(6);
  const pb = b.encode(Buffer.alloc(1)).subarray(6);
  assert.ok(pa.length >= 4 && pb.length >= 4);
  assert.notDeepEqual(pa, pb);
});
