import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchSourceAddress, parseIp } from '../../../src/auth/cert-options.js';

test('parseIp: IPv4, IPv6 forms, mapped IPv4 becomes IPv4', () => {
  assert.deepEqual([...(parseIp('192.0.2.7') ?? [])], [192, 0, 2, 7]);
  assert.deepEqual([...(parseIp('::ffff:192.0.2.7') ?? [])], [192, 0, 2, 7]);
  assert.deepEqual([...(parseIp('::1') ?? [])], [...Array(15).fill(0), 1]);
  assert.deepEqual(
    [...(parseIp('2001:db8::8:800:200c:417a') ?? [])],
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 8, 8, 0, 0x20, 0x0c, 0x41, 0x7a],
  );
  assert.deepEqual([...(parseIp('::192.0.2.1') ?? [])], [...Array(12).fill(0), 192, 0, 2, 1]);
  assert.deepEqual([...(parseIp('1::') ?? [])], [0, 1, ...Array(14).fill(0)]);
  for (const bad of ['', '1.2.3', '256.1.1.1', '1:2:3', 'fe80::1%eth0', 'x', '127.0.0.1:22']) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

test('matchSourceAddress: CIDR lists as sshd reads them', () => {
  const cases: [string, string | undefined, 'match' | 'no-match' | 'invalid'][] = [
    ['127.0.0.1', '127.0.0.1', 'match'],
    ['127.0.0.0/8', '127.200.3.4', 'match'],
    ['10.0.0.0/8,192.168.0.0/16', '192.168.44.1', 'match'],
    ['10.0.0.0/8,192.168.0.0/16', '192.169.0.1', 'no-match'],
    ['192.0.2.128/25', '192.0.2.127', 'no-match'],
    ['192.0.2.128/25', '192.0.2.255', 'match'],
    ['0.0.0.0/0', '203.0.113.9', 'match'],
    ['0.0.0.0/0', '::1', 'no-match'],
    ['127.0.0.1', '::ffff:127.0.0.1', 'match'],
    ['::1', '::1', 'match'],
    ['2001:db8::/32', '2001:db8:ffff::1', 'match'],
    ['2001:db8::/32', '2001:db9::1', 'no-match'],
    ['::/0', '2001:db8::1', 'match'],
    ['127.0.0.1', undefined, 'no-match'],
    ['127.0.0.1', 'not-an-ip', 'no-match'],
    // malformed lists refuse the certificate whatever the address
    ['127.0.0.1/8', '127.0.0.1', 'invalid'],
    ['10.0.0.0/33', '10.0.0.1', 'invalid'],
    ['2001:db8::/129', '2001:db8::1', 'invalid'],
    ['127.0.0.1, 10.0.0.1', '127.0.0.1', 'invalid'],
    ['127.0.0.1,', '127.0.0.1', 'invalid'],
    ['localhost', '127.0.0.1', 'invalid'],
    ['127.0.0.*', '127.0.0.1', 'invalid'],
    ['10.0.0.0/', '10.0.0.1', 'invalid'],
    ['', '127.0.0.1', 'invalid'],
  ];
  for (const [list, addr, want] of cases) assert.equal(matchSourceAddress(list, addr), want, `${list} vs ${addr}`);
});
