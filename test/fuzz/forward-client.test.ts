/**
 * The parsers of client-side forwarding on random and mutated input: the X11 setup prefix (never
 * throws; 'short' only while within the limit; a parsed setup re-encodes to the same bytes; the answer
 * does not depend on trailing bytes), the x11 and forwarded-streamlocal open tails and the
 * tcpip-forward reply (nothing but WireError/ListenError), DISPLAY (nothing but InvalidArgumentError)
 * and xauth output (never throws).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError, ListenError, WireError } from '../../src/errors.js';
import { allocatedPort, decodeStreamlocalOpen } from '../../src/forward/remote.js';
import { decodeX11Open } from '../../src/forward/x11.js';
import {
  encodeX11Setup,
  MAX_X11_AUTH_FIELD,
  parseDisplay,
  parseX11Setup,
  parseXauthList,
} from '../../src/forward/x11-setup.js';
import { SshWriter } from '../../src/wire/index.js';
import { bytesFrom, fuzz, only, runs } from './harness.js';

const cookie = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const SETUPS = [
  encodeX11Setup({
    bigEndian: true,
    major: 11,
    minor: 0,
    authName: Buffer.from('MIT-MAGIC-COOKIE-1'),
    authData: cookie,
  }),
  encodeX11Setup({
    bigEndian: false,
    major: 11,
    minor: 0,
    authName: Buffer.from('MIT-MAGIC-COOKIE-1'),
    authData: cookie,
  }),
  encodeX11Setup({ bigEndian: false, major: 11, minor: 0, authName: Buffer.alloc(0), authData: Buffer.alloc(0) }),
  Buffer.concat([
    encodeX11Setup({
      bigEndian: true,
      major: 11,
      minor: 0,
      authName: Buffer.from('XDM-AUTHORIZATION-1'),
      authData: Buffer.alloc(24, 1),
    }),
    Buffer.from('request bytes'),
  ]),
];

test('fuzz parseX11Setup: never throws, stays within its limit, re-encodes what it parsed, ignores what follows', () => {
  fuzz(
    'parseX11Setup',
    fc.tuple(bytesFrom(SETUPS), fc.uint8Array({ maxLength: 16 })),
    ([data, tail]) => {
      const r = parseX11Setup(data);
      if (r === 'short') {
        assert.ok(data.length < 12 + 2 * (MAX_X11_AUTH_FIELD + 3), `${data.length} bytes still short`);
        return;
      }
      if (r === 'bad') return;
      assert.ok(r.authName.length <= MAX_X11_AUTH_FIELD && r.authData.length <= MAX_X11_AUTH_FIELD);
      assert.ok(r.length <= data.length);
      // padding bytes are not checked by X servers either, so compare the fields, not the pad
      const again = parseX11Setup(encodeX11Setup(r));
      assert.ok(typeof again === 'object');
      assert.deepEqual(
        [again.authName, again.authData, again.major, again.minor, again.bigEndian],
        [r.authName, r.authData, r.major, r.minor, r.bigEndian],
      );
      const withTail = parseX11Setup(Buffer.concat([data, tail]));
      assert.deepEqual(withTail, r);
    },
    { numRuns: runs(3000), allowed: only() },
  );
});

test('fuzz the x11 and forwarded-streamlocal open tails and the tcpip-forward reply: WireError or ListenError only', () => {
  const seeds = [
    new SshWriter().string('127.0.0.1').uint32(40404).toBuffer(),
    new SshWriter().string('/tmp/sock').string('').toBuffer(),
    new SshWriter().uint32(40000).toBuffer(),
  ];
  fuzz(
    'forward open tails',
    bytesFrom(seeds),
    (data) => {
      const outcomes: unknown[] = [];
      for (const f of [() => decodeX11Open(data), () => decodeStreamlocalOpen(data), () => allocatedPort(data, 0)]) {
        try {
          outcomes.push(f());
        } catch (e) {
          if (!(e instanceof WireError || e instanceof ListenError)) throw e;
        }
      }
      return outcomes;
    },
    { numRuns: runs(3000), allowed: only(WireError, ListenError) },
  );
});

test('fuzz parseDisplay and parseXauthList: InvalidArgumentError only, and never a cookie that is not hex of the line', () => {
  fuzz(
    'parseDisplay',
    fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(':0', 'localhost:10.0', 'unix:3.1', 'h:99999', '/x:0')),
    (s) => {
      const d = parseDisplay(s);
      if ('port' in d.target) assert.ok(d.target.port >= 6000 && d.target.port <= 65535);
    },
    { numRuns: runs(3000), allowed: only(InvalidArgumentError) },
  );
  fuzz(
    'parseXauthList',
    fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.constantFrom('h/unix:0  MIT-MAGIC-COOKIE-1  00ff', 'h/unix:0 MIT-MAGIC-COOKIE-1 0g'),
    ),
    (s) => {
      const c = parseXauthList(s);
      if (c) assert.ok(s.toLowerCase().includes(c.toString('hex')));
    },
    { numRuns: runs(3000), allowed: only() },
  );
});
