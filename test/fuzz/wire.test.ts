/**
 * Wire types and the transport's clear-phase parsers: SshReader round trips, KEXINIT (round trip,
 * mutated real ones, negotiation), the version line, EXT_INFO, and a whole server/client Transport fed
 * a version line and mutated clear packets (KEXINIT, KEX messages, DISCONNECT, IGNORE, DEBUG,
 * UNIMPLEMENTED, EXT_INFO, NEWKEYS): it must close with a typed error or stay up, never throw.
 */
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import { resolveAlgorithms } from '../../src/crypto/algorithms.js';
import { cipherInfo } from '../../src/crypto/cipher.js';
import { NegotiationError, ProtocolError, SshError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { ClientKex } from '../../src/transport/kex-exchange.js';
import { buildKexInit, decodeKexInit, encodeKexInit, negotiate } from '../../src/transport/kexinit.js';
import { PacketEncoder } from '../../src/transport/packet-codec.js';
import { decodeExtInfo, encodeServerSigAlgs } from '../../src/transport/session-keys.js';
import { Transport } from '../../src/transport/transport.js';
import { VersionReader } from '../../src/transport/version.js';
import { MSG, SshReader, SshWriter } from '../../src/wire/index.js';
import { bytesFrom, fuzz, fuzzAsync, mutated, only, runs } from './harness.js';

test('decode(encode(x)) = x for strings, uint32, uint64, bool, mpint, name-lists', () => {
  const name = fc.stringMatching(/^[a-z0-9@.+_-]{1,64}$/);
  fuzz(
    'wire round trip',
    fc.tuple(
      fc.uint8Array({ maxLength: 300 }),
      fc.nat({ max: 0xffffffff }),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      fc.boolean(),
      fc.bigInt(),
      fc.array(name, { maxLength: 8 }),
    ),
    ([bytes, n, n64, b, big, names]) => {
      const buf = new SshWriter().string(bytes).uint32(n).uint64(n64).bool(b).mpint(big).nameList(names).toBuffer();
      const r = new SshReader(buf);
      assert.deepEqual(new Uint8Array(r.string()), bytes);
      assert.equal(r.uint32(), n);
      assert.equal(r.uint64(), n64);
      assert.equal(r.bool(), b);
      assert.equal(r.mpint(), big);
      assert.deepEqual(r.nameList(), names);
      r.ensureEnd();
    },
    { numRuns: runs(500), allowed: () => false },
  );
});

const ours = resolveAlgorithms({ cipher: '+aes128-cbc,3des-cbc', kex: '+diffie-hellman-group1-sha1' });
const kexinitSeeds = [
  buildKexInit('client', ours, ours.hostKey, { first: true, strict: true }),
  buildKexInit('server', ours, ['ssh-ed25519', 'rsa-sha2-512'], { first: true, strict: true }),
  buildKexInit('client', resolveAlgorithms(undefined), ['ssh-ed25519'], { first: false, strict: false }),
];

test('KEXINIT: decode(encode(x)) = x', () => {
  const name = fc.stringMatching(/^[a-z0-9@.+_-]{1,64}$/);
  const list = fc.array(name, { maxLength: 6 });
  fuzz(
    'kexinit round trip',
    fc.record({
      cookie: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((u) => Buffer.from(u)),
      kex: list,
      hostKey: list,
      cipherCS: list,
      cipherSC: list,
      macCS: list,
      macSC: list,
      compressionCS: list,
      compressionSC: list,
      languagesCS: list,
      languagesSC: list,
      firstKexPacketFollows: fc.boolean(),
    }),
    (m) => {
      const d = decodeKexInit(encodeKexInit(m));
      assert.deepEqual(d, { ...m, reserved: 0 });
    },
    { numRuns: runs(300), allowed: () => false },
  );
});

test('KEXINIT: mutated and random ones throw only ProtocolError; negotiation only NegotiationError', () => {
  const mine = decodeKexInit(kexinitSeeds[0] as Buffer);
  fuzz(
    'kexinit decode + negotiate',
    bytesFrom(kexinitSeeds, 600),
    (p) => {
      const theirs = decodeKexInit(Buffer.concat([Buffer.from([MSG.KEXINIT]), p.subarray(1)]));
      negotiate(mine, theirs, (c) => cipherInfo(c)?.aead ?? false);
      negotiate(theirs, mine, (c) => cipherInfo(c)?.aead ?? false);
    },
    { numRuns: runs(2000), allowed: only(ProtocolError, NegotiationError) },
  );
});

test('version reader: random and mutated input in random pieces throws only ProtocolError', () => {
  const lines = [
    Buffer.from('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'),
    Buffer.from('banner line\r\nanother\nSSH-2.0-x\r\nrest'),
    Buffer.from('SSH-1.99-old\n'),
  ];
  fuzz(
    'version reader',
    fc.tuple(fc.boolean(), fc.array(bytesFrom(lines, 300), { minLength: 1, maxLength: 8 })),
    ([client, chunks]) => {
      const v = new VersionReader(client);
      for (const c of chunks) if (v.push(c).done) break;
    },
    { numRuns: runs(1500), allowed: only(ProtocolError) },
  );
});

test('EXT_INFO: mutated ones throw only ProtocolError', () => {
  const seeds = [
    encodeServerSigAlgs(['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256']),
    new SshWriter()
      .byte(MSG.EXT_INFO)
      .uint32(2)
      .string('server-sig-algs')
      .string('ssh-ed25519')
      .string('ping@openssh.com')
      .string('0')
      .toBuffer(),
  ];
  fuzz('ext-info decode', bytesFrom(seeds), (p) => decodeExtInfo(p, new Map()), {
    numRuns: runs(1500),
    allowed: only(ProtocolError),
  });
});

// ---- a whole Transport in the clear phase ----

/** A stream that records what is written and lets the test push input. */
class Pipe extends Duplex {
  out: Buffer[] = [];
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.out.push(chunk);
    cb();
  }
}

const hostKey = generatePrivateKey('ed25519');
const algorithms = resolveAlgorithms({ kex: ['curve25519-sha256'], hostKey: ['ssh-ed25519'] });

/** Clear packets a peer sends in the first exchange, and the generic ones. */
function transportSeeds(): Buffer[] {
  const prefix = {
    clientVersion: 'SSH-2.0-a',
    serverVersion: 'SSH-2.0-b',
    clientKexInit: Buffer.alloc(1),
    serverKexInit: Buffer.alloc(1),
  };
  const c = new ClientKex('curve25519-sha256', 'ssh-ed25519', prefix);
  return [
    buildKexInit('client', algorithms, ['ssh-ed25519'], { first: true, strict: false }),
    buildKexInit('server', algorithms, ['ssh-ed25519'], { first: true, strict: true }),
    c.start(),
    Buffer.from([MSG.NEWKEYS]),
    new SshWriter().byte(MSG.DISCONNECT).uint32(11).string('bye').string('en').toBuffer(),
    new SshWriter().byte(MSG.IGNORE).string('xyz').toBuffer(),
    new SshWriter().byte(MSG.DEBUG).bool(true).string('msg').string('').toBuffer(),
    new SshWriter().byte(MSG.UNIMPLEMENTED).uint32(3).toBuffer(),
    encodeServerSigAlgs(['ssh-ed25519']),
  ];
}

test('transport (clear phase, both roles): mutated packet sequences close it with an SshError or leave it open; nothing escapes', async () => {
  const seeds = transportSeeds();
  const enc = new PacketEncoder();
  await fuzzAsync(
    'transport clear phase',
    fc.tuple(
      fc.constantFrom<'client' | 'server'>('client', 'server'),
      fc.array(fc.oneof(fc.constantFrom(...seeds), mutated(seeds)), { minLength: 1, maxLength: 5 }),
      fc.boolean(),
    ),
    async ([role, payloads, raw]) => {
      const pipe = new Pipe();
      const t = new Transport(pipe, {
        role,
        algorithms,
        ...(role === 'server' ? { hostKeys: [hostKey] } : { verifyHostKey: () => {} }),
      });
      let closeError: unknown = 'open';
      t.on('close', (e?: Error) => {
        closeError = e;
      });
      t.start();
      pipe.read(0); // leaves the stream's initial sync state, so each push() is delivered at once
      pipe.push(Buffer.from('SSH-2.0-fuzz\r\n'));
      assert.ok(t.peerVersion !== undefined || t.closed, 'input was not delivered synchronously');
      for (const p of payloads) {
        // Framed properly (to reach the parsers), or as raw bytes (to reach the framing).
        pipe.push(
          raw && p.length > 0 && p.length % 3 === 0 ? p : enc.encode(p.length > 0 ? p : Buffer.from([MSG.IGNORE])),
        );
      }
      t.destroy();
      // Let the event loop turn, so what the closed transport queued runs (and is released).
      await new Promise<void>((r) => setImmediate(r));
      // Tallied by type; anything but an SshError fails the property.
      if (closeError instanceof Error) throw closeError;
    },
    { numRuns: runs(400, 2), allowed: only(SshError) },
  );
});
