/**
 * The binary packet decoder under every cipher mode: mutated streams of real packets (bit flips,
 * length edits, truncation, splices, chunked arbitrarily) throw only ProtocolError/MacError, never
 * buffer more than they were given, and decode(encode(x)) = x.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { cipherInfo, createOpener, createSealer, macInfo } from '../../src/crypto/cipher.js';
import type { DirectionKeys } from '../../src/crypto/types.js';
import { MacError, ProtocolError } from '../../src/errors.js';
import { MAX_PACKET_LENGTH, PacketDecoder, PacketEncoder } from '../../src/transport/packet-codec.js';
import { fuzz, mutated, only, runs, withAllocationBudget } from './harness.js';

/** One mode per row: every packet format the decoder meets (AEAD, ETM, classic MAC, CBC, none). */
export const MODES: readonly { cipher: string; mac: string }[] = [
  { cipher: 'none', mac: '' },
  { cipher: 'chacha20-poly1305@openssh.com', mac: '' },
  { cipher: 'aes128-gcm@openssh.com', mac: '' },
  { cipher: 'aes256-gcm@openssh.com', mac: '' },
  { cipher: 'aes128-ctr', mac: 'hmac-sha2-256-etm@openssh.com' },
  { cipher: 'aes256-ctr', mac: 'hmac-sha2-512-etm@openssh.com' },
  { cipher: 'aes128-ctr', mac: 'hmac-sha2-256' },
  { cipher: 'aes192-ctr', mac: 'hmac-sha1' },
  { cipher: 'aes128-cbc', mac: 'hmac-sha2-256' },
  { cipher: 'aes256-cbc', mac: 'hmac-sha2-512-etm@openssh.com' },
  { cipher: '3des-cbc', mac: 'hmac-sha2-256' },
];

/** Fixed keys for a mode (a fresh sealer/opener from them start in the same state). */
function keysOf(mode: { cipher: string; mac: string }): DirectionKeys | null {
  if (mode.cipher === 'none') return null;
  const c = cipherInfo(mode.cipher);
  assert.ok(c, mode.cipher);
  const m = c.aead ? undefined : macInfo(mode.mac);
  const bytes = (label: string, n: number) =>
    createHash('sha512').update(`${mode.cipher}/${mode.mac}/${label}`).digest().subarray(0, n);
  return {
    cipher: mode.cipher,
    mac: m?.name ?? '',
    key: Buffer.concat([bytes('k1', 64), bytes('k2', 64)]).subarray(0, c.keyLength),
    iv: bytes('iv', c.ivLength),
    macKey: m ? bytes('mac', m.keyLength) : Buffer.alloc(0),
  };
}

function name(mode: { cipher: string; mac: string }): string {
  return mode.mac ? `${mode.cipher}+${mode.mac}` : mode.cipher;
}

/** Encodes payloads as one stream, from sequence number `seq`. */
function encodeStream(keys: DirectionKeys | null, payloads: readonly Buffer[], seq = 0, parts = false): Buffer {
  const e = new PacketEncoder();
  e.setSealer(createSealer(keys));
  e.seq = seq;
  const out: Buffer[] = [];
  for (const p of payloads) {
    if (parts && p.length >= 1) out.push(...e.encodeParts(p.subarray(0, 1), p.subarray(1)));
    else out.push(e.encode(p));
  }
  return Buffer.concat(out);
}

/** Feeds `stream` in pieces cut at `cuts` and returns every payload decoded (copied). */
function decodeStream(keys: DirectionKeys | null, stream: Buffer, cuts: readonly number[], seq = 0): Buffer[] {
  const d = new PacketDecoder();
  d.setOpener(createOpener(keys));
  d.seq = seq;
  const out: Buffer[] = [];
  let at = 0;
  const points = [...new Set(cuts.map((c) => (stream.length === 0 ? 0 : c % (stream.length + 1))))].sort(
    (a, b) => a - b,
  );
  points.push(stream.length);
  for (const p of points) {
    if (p < at) continue;
    d.push(stream.subarray(at, p));
    at = p;
    for (let guard = 0; ; guard++) {
      assert.ok(guard <= stream.length, 'decoder did not make progress');
      const payload = d.next();
      if (!payload) break;
      out.push(Buffer.from(payload));
    }
  }
  return out;
}

const payloadArb = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((u) => Buffer.from(u));
const cutsArb = fc.array(fc.nat(), { maxLength: 6 });

for (const mode of MODES) {
  test(`packet codec ${name(mode)}: decode(encode(x)) = x, however the stream is cut`, () => {
    const keys = keysOf(mode);
    fuzz(
      `packet-codec round trip ${name(mode)}`,
      fc.tuple(
        fc.array(payloadArb, { minLength: 1, maxLength: 5 }),
        cutsArb,
        fc.boolean(),
        fc.nat({ max: 0xffffffff }),
      ),
      ([payloads, cuts, parts, seq]) => {
        const stream = encodeStream(keys, payloads, seq, parts);
        const got = decodeStream(keys, stream, cuts, seq);
        assert.deepEqual(got, payloads);
      },
      { numRuns: runs(150, 3), allowed: () => false },
    );
  });
}

/** Valid streams of one to three packets per mode, the fuzz seeds. */
function seedsFor(keys: DirectionKeys | null): Buffer[] {
  const p = (n: number, fill: number) => Buffer.alloc(n, fill);
  return [
    encodeStream(keys, [Buffer.from([5, 0, 0, 0, 12, ...Buffer.from('ssh-userauth')])]),
    encodeStream(keys, [p(1, 2), p(40, 94), p(3, 21)]),
    encodeStream(keys, [p(200, 94)]),
    encodeStream(keys, [p(17, 50), p(64, 80)]),
  ];
}

for (const mode of MODES) {
  test(`packet codec ${name(mode)}: mutated streams throw only ProtocolError or MacError`, () => {
    const keys = keysOf(mode);
    const seeds = seedsFor(keys);
    fuzz(
      `packet-codec ${name(mode)}`,
      fc.tuple(
        fc.oneof(
          { weight: 9, arbitrary: mutated(seeds) },
          { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u)) },
        ),
        cutsArb,
      ),
      ([stream, cuts]) => {
        decodeStream(keys, stream, cuts);
      },
      {
        numRuns: runs(400),
        allowed: only(ProtocolError, MacError),
        // The decoder buffers only what it was given: no allocation beyond the input (+ a header).
        maxAlloc: ([stream]) => stream.length + 64,
        size: ([stream]) => stream.length,
      },
    );
  });
}

test('packet codec: a length field of 2^32-1 (or just over the limit) allocates nothing, in every mode with a readable length', () => {
  for (const mode of MODES) {
    const keys = keysOf(mode);
    const c = keys === null ? undefined : cipherInfo(keys.cipher);
    // Classic-MAC modes encrypt the length with the first block: it cannot be set from outside.
    if (keys !== null && !c?.aead && !macInfo(keys.mac)?.etm) continue;
    for (const len of [0xffffffff, MAX_PACKET_LENGTH + 1, 0x80000000]) {
      const head = encodeStream(keys, [Buffer.alloc(8)]).subarray(0, 16);
      // chacha20-poly1305 XORs the length with a key stream: flip the bits that make it `len`.
      const plain = createOpener(keys).packetLength(0, head);
      head.writeUInt32BE((head.readUInt32BE(0) ^ plain ^ len) >>> 0, 0);
      const d = new PacketDecoder();
      d.setOpener(createOpener(keys));
      d.push(head);
      const r = withAllocationBudget(64, () => {
        try {
          return d.next();
        } catch (e) {
          assert.ok(e instanceof ProtocolError || e instanceof MacError, String(e));
          return 'refused';
        }
      });
      assert.equal(r.value, 'refused', `${name(mode)}: length ${len}`);
    }
  }
});

for (const mode of MODES.filter((m) => m.cipher !== 'none')) {
  test(`packet codec ${name(mode)}: under keys every flipped bit is the same MacError; a CBC opener fails exactly 4 + MAX_PACKET_LENGTH + MAC bytes after the corrupt packet started`, () => {
    const keys = keysOf(mode) as DirectionKeys;
    const cbcClassic = mode.cipher.endsWith('-cbc') && !macInfo(mode.mac)?.etm;
    const packet = encodeStream(keys, [Buffer.alloc(40, 94)]);
    const limit = 4 + MAX_PACKET_LENGTH + createOpener(keys).macLength;
    const messages = new Set<string>();
    fuzz(
      `packet-codec bit flip ${name(mode)}`,
      fc.tuple(fc.nat({ max: packet.length * 8 - 1 }), fc.array(fc.integer({ min: 1, max: 70_000 }), { maxLength: 5 })),
      ([bit, chunks]) => {
        const bad = Buffer.from(packet);
        bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
        const d = new PacketDecoder();
        d.setOpener(createOpener(keys));
        // The tampered packet, then junk (what a live peer goes on sending) in pieces, up to the limit.
        const stream = Buffer.concat([bad, Buffer.alloc(limit + 64 - bad.length, 0x41)]);
        let fed = 0;
        let failedAt = -1;
        const sizes = [...chunks, stream.length];
        for (const size of sizes) {
          const piece = stream.subarray(fed, Math.min(stream.length, fed + size));
          if (piece.length === 0) break;
          d.push(piece);
          fed += piece.length;
          try {
            assert.equal(d.next(), undefined, 'a corrupt packet was delivered');
          } catch (e) {
            assert.ok(e instanceof MacError, `${String(e)} (bit ${bit})`);
            messages.add(e.message);
            failedAt = fed;
            break;
          }
        }
        assert.ok(failedAt > 0, `no error after ${fed} bytes (bit ${bit})`);
        if (cbcClassic) {
          // It failed in the piece that brought the total to the limit, never before.
          assert.ok(
            failedAt >= limit && failedAt - limit < Math.max(...sizes),
            `failed at ${failedAt}, limit ${limit}`,
          );
        }
      },
      { numRuns: runs(60, 100), allowed: () => false, maxAlloc: () => 2 * limit },
    );
    assert.equal(
      messages.size,
      1,
      `${name(mode)}: one error text for every position, got ${[...messages].join(' | ')}`,
    );
  });
}
