/**
 * The PROTOCOL.mux parsers under hostile bytes: the control-message framer, the HELLO, NEW_SESSION and
 * forward-request decoders and the proxy framer throw nothing but MuxError, never over-allocate, and
 * round-trip what the encoders write.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MuxError } from '../../src/errors.js';
import {
  decodeForward,
  decodeHello,
  decodeNewSession,
  encodeForward,
  encodeHello,
  encodeNewSession,
  MUX,
  type MuxForwardSpec,
  MuxFramer,
  muxFrame,
} from '../../src/mux/codec.js';
import { ProxyFramer, proxyFrame } from '../../src/mux/proxy-link.js';
import { SshReader } from '../../src/wire/index.js';
import { bytesFrom, fuzz, only, runs } from './harness.js';

const text = fc.string({ maxLength: 40 });
const session = fc.record({
  tty: fc.boolean(),
  x11: fc.boolean(),
  agent: fc.boolean(),
  subsystem: fc.boolean(),
  escapeChar: fc.nat({ max: 0xffffffff }),
  term: text,
  command: text,
  env: fc.array(text, { maxLength: 5 }),
});
const port = fc.nat({ max: 65535 });
const forward: fc.Arbitrary<MuxForwardSpec> = fc.oneof(
  fc.record({
    type: fc.constantFrom('local' as const, 'remote' as const, 'dynamic' as const),
    listenHost: text,
    listenPort: port,
    connectHost: text,
    connectPort: port,
  }),
  fc.record({
    type: fc.constantFrom('local' as const, 'remote' as const),
    listenPath: text,
    connectPath: text,
  }),
);

test('NEW_SESSION and OPEN_FWD: decode(encode(x)) = x', () => {
  fuzz(
    'mux round trip',
    fc.tuple(session, forward, fc.nat({ max: 0xffffffff })),
    ([s, f, rid]) => {
      const ns = new SshReader(encodeNewSession(rid, s), 8);
      assert.equal(ns.uint32(), rid);
      assert.deepEqual(decodeNewSession(ns), { ...s });
      const fw = new SshReader(encodeForward(MUX.C_OPEN_FWD, rid, f), 12);
      assert.deepEqual(decodeForward(fw), { ...f });
    },
    { numRuns: runs(300), allowed: () => false },
  );
});

const seeds = [
  encodeHello(),
  encodeNewSession(1, {
    tty: true,
    x11: false,
    agent: false,
    subsystem: false,
    escapeChar: 126,
    term: 'xterm',
    command: 'ls',
    env: ['A=b'],
  }),
  encodeForward(MUX.C_OPEN_FWD, 2, { type: 'remote', listenPort: 0, connectHost: 'h', connectPort: 80 }),
  muxFrame(MUX.S_ALIVE, (w) => w.uint32(3).uint32(4)),
  muxFrame(MUX.S_FAILURE, (w) => w.uint32(3).string('no')),
];

test('hostile control bytes: the framer and every decoder throw only MuxError, in pieces or whole', () => {
  fuzz(
    'mux decoders',
    fc.tuple(bytesFrom(seeds), fc.nat({ max: 16 })),
    ([bytes, cut]) => {
      const f = new MuxFramer();
      const msgs = [...f.push(bytes.subarray(0, cut)), ...f.push(bytes.subarray(cut))];
      for (const m of msgs) {
        const body = Buffer.from(m.body.rest());
        for (const decode of [decodeHello, decodeNewSession, decodeForward]) {
          try {
            decode(new SshReader(body));
          } catch (e) {
            if (!(e instanceof MuxError)) throw e;
          }
        }
      }
    },
    { numRuns: runs(2000), allowed: only(MuxError) },
  );
});

test('hostile proxy bytes: the proxy framer throws only MuxError and returns frames within its bytes', () => {
  const pseeds = [
    proxyFrame(Buffer.from([94, 0, 0, 0, 1, 0, 0, 0, 2, 104, 105])),
    proxyFrame(Buffer.from([97, 0, 0, 0, 3])),
  ];
  fuzz(
    'proxy framer',
    fc.tuple(bytesFrom(pseeds), fc.nat({ max: 16 })),
    ([bytes, cut]) => {
      const f = new ProxyFramer();
      const out = [...f.push(bytes.subarray(0, cut)), ...f.push(bytes.subarray(cut))];
      for (const p of out) assert.ok(p.length <= bytes.length);
    },
    { numRuns: runs(2000), allowed: only(MuxError) },
  );
});
