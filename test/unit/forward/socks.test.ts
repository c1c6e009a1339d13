/**
 * The SOCKS 4/4a/5 request parser of forwardDynamic: complete requests, every prefix incomplete,
 * extra bytes left for the target, and each kind of bad input answered with the protocol's reply.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChannelOpenError } from '../../../src/errors.js';
import {
  parseSocks,
  SOCKS_MAX_REQUEST,
  SocksError,
  type SocksParse,
  type SocksPhase,
  socksFailureReply,
} from '../../../src/forward/socks.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** SOCKS 5 CONNECT with a name. */
function s5name(name: string, port: number): Buffer {
  const n = Buffer.from(name);
  const p = Buffer.alloc(2);
  p.writeUInt16BE(port);
  return Buffer.concat([Buffer.from([5, 1, 0, 3, n.length]), n, p]);
}

/** SOCKS 4a CONNECT with a name. */
function s4a(name: string, port: number, user = 'me'): Buffer {
  const p = Buffer.alloc(2);
  p.writeUInt16BE(port);
  return Buffer.concat([Buffer.from([4, 1]), p, Buffer.from([0, 0, 0, 1]), Buffer.from(`${user}\0${name}\0`)]);
}

function expectFailure(data: Buffer, phase: SocksPhase, reply: Buffer | undefined, re?: RegExp): void {
  assert.throws(
    () => parseSocks(data, phase),
    (e: unknown) => {
      assert.ok(e instanceof SocksError, `a SocksError, got ${String(e)}`);
      assert.equal(e.code, 'ERR_SSH_PROTOCOL');
      assert.deepEqual(e.reply, reply);
      if (re) assert.match(e.message, re);
      return true;
    },
  );
}

/** Every strict prefix of `data` is incomplete (data split anywhere across chunks is fine). */
function prefixesIncomplete(data: Buffer, phase: SocksPhase): void {
  for (let i = 0; i < data.length; i++) {
    assert.deepEqual(parseSocks(data.subarray(0, i), phase), { status: 'incomplete' }, `prefix of ${i} bytes`);
  }
}

test('SOCKS 5: greeting with no-auth among the methods, then CONNECT by name, IPv4 and IPv6', () => {
  const greeting = hex('05 02 02 00');
  prefixesIncomplete(greeting, 'start');
  assert.deepEqual(parseSocks(greeting, 'start'), { status: 'greeting', consumed: 4, reply: hex('05 00') });

  const byName = s5name('db.internal', 5432);
  prefixesIncomplete(byName, 'socks5-request');
  assert.deepEqual(parseSocks(byName, 'socks5-request'), {
    status: 'request',
    consumed: byName.length,
    request: { version: 5, host: 'db.internal', port: 5432 },
  });
  const v4 = hex('05 01 00 01 0a 00 00 05 00 16');
  assert.deepEqual(parseSocks(v4, 'socks5-request'), {
    status: 'request',
    consumed: 10,
    request: { version: 5, host: '10.0.0.5', port: 22 },
  });
  const v6 = hex('05 01 00 04 20010db8 00000000 00000000 00000001 01bb');
  assert.deepEqual(parseSocks(v6, 'socks5-request'), {
    status: 'request',
    consumed: 22,
    request: { version: 5, host: '2001:db8:0:0:0:0:0:1', port: 443 },
  });
});

test('extra bytes after a request are left for the target (consumed stops at the request)', () => {
  const both = Buffer.concat([hex('05 01 00'), s5name('a.b', 80), Buffer.from('GET / HTTP/1.0\r\n\r\n')]);
  const g = parseSocks(both, 'start') as Extract<SocksParse, { status: 'greeting' }>;
  assert.equal(g.status, 'greeting');
  const rest = both.subarray(g.consumed);
  const r = parseSocks(rest, 'socks5-request');
  assert.equal(r.status, 'request');
  assert.equal(rest.subarray((r as { consumed: number }).consumed).toString(), 'GET / HTTP/1.0\r\n\r\n');

  const four = Buffer.concat([s4a('example.org', 443), Buffer.from('tls')]);
  const r4 = parseSocks(four, 'start');
  assert.deepEqual(r4, {
    status: 'request',
    consumed: four.length - 3,
    request: { version: 4, host: 'example.org', port: 443 },
  });
});

test('SOCKS 4 by address and 4a by name, with every prefix incomplete', () => {
  const four = Buffer.concat([hex('04 01 0050 7f000001'), Buffer.from('user\0')]);
  prefixesIncomplete(four, 'start');
  assert.deepEqual(parseSocks(four, 'start'), {
    status: 'request',
    consumed: four.length,
    request: { version: 4, host: '127.0.0.1', port: 80 },
  });
  const fourA = s4a('localhost', 8080, '');
  prefixesIncomplete(fourA, 'start');
  assert.deepEqual(parseSocks(fourA, 'start'), {
    status: 'request',
    consumed: fourA.length,
    request: { version: 4, host: 'localhost', port: 8080 },
  });
});

test('bad SOCKS 5 input gets its reply: no acceptable method 0xFF, command 0x07, address type 0x08', () => {
  expectFailure(hex('05 01 02'), 'start', hex('05 ff'), /no acceptable/);
  expectFailure(hex('05 00'), 'start', hex('05 ff'));
  const reply = (code: number) => Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
  expectFailure(hex('05 02 00 01 7f000001 0050'), 'socks5-request', reply(7), /command 2/); // BIND
  expectFailure(hex('05 03 00 01'), 'socks5-request', reply(7)); // UDP ASSOCIATE, before the address
  expectFailure(hex('05 01 00 05'), 'socks5-request', reply(8), /address type 5/);
  expectFailure(hex('04 01 00 01'), 'socks5-request', reply(1)); // version change mid-way
  expectFailure(hex('05 01 01 01'), 'socks5-request', reply(1)); // reserved byte
  expectFailure(hex('05 01 00 03 00 0050'), 'socks5-request', reply(1)); // empty name
  expectFailure(Buffer.concat([hex('05 01 00 03 03'), Buffer.from('a\nb'), hex('0050')]), 'socks5-request', reply(1));
  expectFailure(hex('05 01 00 03 02 c3 28 0050'), 'socks5-request', reply(1)); // not UTF-8
  expectFailure(hex('05 01 00 01 7f000001 0000'), 'socks5-request', reply(1)); // port 0
});

test('bad SOCKS 4 input gets 0x5B; not SOCKS at all gets no reply', () => {
  const rejected = hex('00 5b 0000 00000000');
  expectFailure(hex('04 02'), 'start', rejected, /command 2/); // BIND
  expectFailure(Buffer.concat([hex('04 01 0050 00000000'), Buffer.from('u\0')]), 'start', rejected); // 0.0.0.0
  expectFailure(Buffer.concat([hex('04 01 0000 7f000001'), Buffer.from('u\0')]), 'start', rejected); // port 0
  expectFailure(s4a('', 80), 'start', rejected); // 4a with an empty name
  expectFailure(Buffer.from('GET / HTTP/1.1\r\n'), 'start', undefined, /unknown version 71/);
  expectFailure(hex('16 03 01'), 'start', undefined);
});

test('over-long SOCKS 4 fields are refused once past the limit, never buffered without end', () => {
  const longUser = Buffer.concat([hex('04 01 0050 7f000001'), Buffer.alloc(255, 0x61)]);
  assert.deepEqual(parseSocks(longUser, 'start'), { status: 'incomplete' }); // 255 bytes: a NUL may still come
  assert.equal(
    (parseSocks(Buffer.concat([longUser, hex('00')]), 'start') as { status: string }).status,
    'request',
    '255 bytes of user id are accepted',
  );
  expectFailure(Buffer.concat([longUser, hex('61')]), 'start', hex('00 5b 0000 00000000'), /user id too long/);
  const longName = Buffer.concat([hex('04 01 0050 00000001'), Buffer.from('u\0'), Buffer.alloc(300, 0x62)]);
  expectFailure(longName, 'start', hex('00 5b 0000 00000000'), /host name too long/);
  // The largest valid request fits the driver's limit.
  const largest = Buffer.concat([
    hex('04 01 0050 00000001'),
    Buffer.alloc(255, 0x61),
    hex('00'),
    Buffer.alloc(255, 0x62),
    hex('00'),
  ]);
  assert.equal(largest.length, SOCKS_MAX_REQUEST);
  assert.equal(parseSocks(largest, 'start').status, 'request');
});

test("a failed channel open maps to the SOCKS reply by the server's reason", () => {
  const r5 = (e: unknown) => socksFailureReply(5, e)[1];
  assert.equal(r5(new ChannelOpenError(2, 'Connection refused')), 0x05);
  assert.equal(r5(new ChannelOpenError(2, 'getaddrinfo: Name or service not known')), 0x04);
  assert.equal(r5(new ChannelOpenError(1, 'administratively prohibited')), 0x02);
  assert.equal(r5(new ChannelOpenError(4, 'too many channels')), 0x01);
  assert.equal(r5(new Error('connection lost')), 0x01);
  assert.deepEqual(socksFailureReply(4, new ChannelOpenError(2, 'Connection refused')), hex('00 5b 0000 00000000'));
});
