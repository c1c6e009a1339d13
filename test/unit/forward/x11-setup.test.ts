/** The pure parts of client X11 forwarding: DISPLAY, xauth output, the X11 setup prefix. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../../src/errors.js';
import {
  encodeX11Setup,
  parseDisplay,
  parseX11Setup,
  parseXauthList,
  setupHasCookie,
} from '../../../src/forward/x11-setup.js';

test('parseDisplay: local displays are the Unix socket /tmp/.X11-unix/X<n>, others TCP 6000+n, as ssh connects', () => {
  assert.deepEqual(parseDisplay(':0'), { target: { path: '/tmp/.X11-unix/X0' }, xauthName: ':0', screen: 0 });
  assert.deepEqual(parseDisplay(':12.3'), { target: { path: '/tmp/.X11-unix/X12' }, xauthName: ':12', screen: 3 });
  assert.deepEqual(parseDisplay('unix:4'), { target: { path: '/tmp/.X11-unix/X4' }, xauthName: ':4', screen: 0 });
  assert.deepEqual(parseDisplay('localhost:10.0'), {
    target: { host: 'localhost', port: 6010 },
    xauthName: 'unix:10',
    screen: 0,
  });
  assert.deepEqual(parseDisplay('10.1.2.3:1'), {
    target: { host: '10.1.2.3', port: 6001 },
    xauthName: '10.1.2.3:1',
    screen: 0,
  });
  assert.deepEqual(parseDisplay('/private/tmp/launchd/org.xquartz:0'), {
    target: { path: '/private/tmp/launchd/org.xquartz:0' },
    xauthName: '/private/tmp/launchd/org.xquartz:0',
    screen: 0,
  });
  for (const bad of ['', 'nodisplay', ':', ':x', 'host:1:2', 'h:99999']) {
    assert.throws(() => parseDisplay(bad), InvalidArgumentError, bad);
  }
});

test('parseXauthList: the first MIT-MAGIC-COOKIE-1 line wins; other protocols and malformed hex are skipped', () => {
  const out = [
    'box/unix:5  XDM-AUTHORIZATION-1  00112233445566778899aabbccddeeff',
    'box/unix:5  MIT-MAGIC-COOKIE-1  zz',
    'box/unix:5  MIT-MAGIC-COOKIE-1  0123456789ABCDEF0123456789abcdef',
    'box/unix:5  MIT-MAGIC-COOKIE-1  ffffffffffffffffffffffffffffffff',
  ].join('\n');
  assert.equal(parseXauthList(out)?.toString('hex'), '0123456789abcdef0123456789abcdef');
  assert.equal(parseXauthList(''), undefined);
  assert.equal(parseXauthList('box/unix:5  MIT-MAGIC-COOKIE-1  abc'), undefined, 'odd hex');
});

function setupBytes(order: 'B' | 'l', name: string, data: Buffer): Buffer {
  return encodeX11Setup({ bigEndian: order === 'B', major: 11, minor: 0, authName: Buffer.from(name), authData: data });
}

test('parseX11Setup reads both byte orders, pads name and data to 4 bytes, and asks for more when short', () => {
  const cookie = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  for (const order of ['B', 'l'] as const) {
    const bytes = setupBytes(order, 'MIT-MAGIC-COOKIE-1', cookie);
    assert.equal(bytes.length, 12 + 20 + 16);
    assert.equal(bytes[0], order.charCodeAt(0));
    for (let n = 0; n < bytes.length; n++) assert.equal(parseX11Setup(bytes.subarray(0, n)), 'short', `${order} ${n}`);
    const s = parseX11Setup(Buffer.concat([bytes, Buffer.from('rest')]));
    assert.ok(typeof s === 'object');
    assert.equal(s.bigEndian, order === 'B');
    assert.equal(s.major, 11);
    assert.equal(s.minor, 0);
    assert.equal(s.authName.toString(), 'MIT-MAGIC-COOKIE-1');
    assert.deepEqual(s.authData, cookie);
    assert.equal(s.length, bytes.length);
    assert.ok(setupHasCookie(s, cookie));
    assert.ok(!setupHasCookie(s, Buffer.alloc(16)));
    assert.ok(!setupHasCookie(s, cookie.subarray(0, 8)));
  }
  // a big-endian length read as little-endian would be 0x1200: the byte order matters
  const be = setupBytes('B', 'MIT-MAGIC-COOKIE-1', cookie);
  assert.equal(be.readUInt16BE(6), 18);
});

test('parseX11Setup refuses an unknown byte order and auth fields past the limit; empty fields are fine', () => {
  assert.equal(parseX11Setup(Buffer.from('X')), 'bad');
  const big = Buffer.alloc(12);
  big[0] = 0x6c;
  big.writeUInt16LE(0xffff, 6);
  assert.equal(parseX11Setup(big), 'bad');
  const bigData = Buffer.alloc(12);
  bigData[0] = 0x42;
  bigData.writeUInt16BE(257, 8);
  assert.equal(parseX11Setup(bigData), 'bad');
  const none = setupBytes('l', '', Buffer.alloc(0));
  assert.equal(none.length, 12);
  const s = parseX11Setup(none);
  assert.ok(typeof s === 'object');
  assert.equal(s.authName.length, 0);
  assert.ok(!setupHasCookie(s, Buffer.alloc(16)));
});
