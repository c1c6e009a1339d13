/**
 * `secsh server`'s sshd_config reader (src/cli/sshd-config.ts): how lines are split, which value
 * wins, sshd's defaults for forwarding, and the errors sshd would give.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseListenAddress,
  parseSshdConfig,
  parseSshdLine,
  parseTime,
  SshdConfigError,
  sshdSettings,
} from '../../../src/cli/sshd-config.js';

const settings = (text: string, opts: string[] = []) =>
  sshdSettings([
    ...opts.map((o) => parseSshdLine(o, 'command-line')).filter((l) => l !== undefined),
    ...parseSshdConfig(text, 'sshd_config'),
  ]);

test('defaults are sshd’s: TCP, Unix-socket and agent forwarding on, GatewayPorts no, X11 off, PermitOpen any', () => {
  const s = settings('');
  assert.deepEqual(s.forwarding, { allowTcp: true, allowStreamLocal: true, gatewayPorts: false });
  assert.equal(s.agentForwarding, true);
  assert.equal(s.x11Forwarding, false);
});

test('lines: case-insensitive keywords, Keyword=value and Keyword value, comments, quotes', () => {
  const s = settings(
    [
      '# a comment',
      '',
      'allowtcpforwarding LOCAL',
      'GatewayPorts=clientspecified',
      'PermitOpen db:5432 "web:80"   # trailing comment',
      '  PermitListen = 8080',
      'X11FORWARDING yes',
      'StreamLocalBindMask 0077',
      'streamlocalbindunlink yes',
    ].join('\n'),
  );
  assert.equal(s.forwarding.allowTcp, 'local');
  assert.equal(s.forwarding.gatewayPorts, 'clientspecified');
  assert.deepEqual(s.forwarding.permitOpen, ['db:5432', 'web:80']);
  assert.deepEqual(s.forwarding.permitListen, ['8080']);
  assert.equal(s.x11Forwarding, true);
  assert.equal(s.forwarding.streamLocalBindMask, 0o77);
  assert.equal(s.forwarding.streamLocalBindUnlink, true);
});

test('the first value of a keyword wins, and -o lines come before the file', () => {
  const s = settings('AllowTcpForwarding yes\nAllowTcpForwarding no\nPort 2200\nPort 2201\n', [
    'AllowTcpForwarding=remote',
  ]);
  assert.equal(s.forwarding.allowTcp, 'remote');
  assert.deepEqual(s.ports, [2200, 2201], 'Port accumulates');
});

test('DisableForwarding yes turns every forwarding off whatever comes before or after', () => {
  const s = settings('AllowTcpForwarding yes\nDisableForwarding yes\nAllowAgentForwarding yes\n');
  assert.equal(s.forwarding.allowTcp, false);
  assert.equal(s.forwarding.allowStreamLocal, false);
  assert.equal(s.agentForwarding, false);
  assert.equal(s.x11Forwarding, false);
});

test('unknown keywords, Match, Include and bad values are errors naming the place', () => {
  const cases: [string, RegExp][] = [
    ['Frobnicate yes', /sshd_config: line 1: Bad configuration option: Frobnicate/],
    ['Port 22\nMatch User bob\n  AllowTcpForwarding no', /line 2: Match is not supported/],
    ['Include /etc/ssh/sshd_config.d/*.conf', /Include is not supported/],
    ['AllowTcpForwarding maybe', /unsupported option "maybe" for AllowTcpForwarding/],
    ['GatewayPorts sometimes', /unsupported option/],
    ['MaxSessions lots', /invalid integer/],
    ['LoginGraceTime 2x', /invalid time value/],
    ['StreamLocalBindMask 999', /StreamLocalBindMask/],
    ['PermitOpen', /missing argument/],
    ['Banner "unterminated', /unterminated quote/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => settings(text),
      (e: unknown) => e instanceof SshdConfigError && re.test(e.message),
      text,
    );
  }
  assert.throws(() => settings('', ['Nope=1']), /command-line: Bad configuration option: Nope/);
});

test('keywords without an effect here are accepted with a warning', () => {
  const s = settings('UsePAM yes\nPrintMotd no\n');
  assert.equal(s.warnings.length, 2);
  assert.match(s.warnings[0] ?? '', /UsePAM has no effect/);
});

test('times as sshd writes them, ListenAddress forms, algorithms and auth switches', () => {
  assert.equal(parseTime('90', 'x', 'k'), 90_000);
  assert.equal(parseTime('2m', 'x', 'k'), 120_000);
  assert.equal(parseTime('1h30m', 'x', 'k'), 5_400_000);
  assert.deepEqual(parseListenAddress('127.0.0.1'), { host: '127.0.0.1', port: undefined });
  assert.deepEqual(parseListenAddress('127.0.0.1:2222'), { host: '127.0.0.1', port: 2222 });
  assert.deepEqual(parseListenAddress('[::1]:2222'), { host: '::1', port: 2222 });
  assert.deepEqual(parseListenAddress('::1'), { host: '::1', port: undefined });
  const s = settings(
    'Ciphers aes256-gcm@openssh.com\nKexAlgorithms -mlkem768x25519-sha256\nPasswordAuthentication no\n',
  );
  assert.deepEqual(s.algorithms, { cipher: 'aes256-gcm@openssh.com', kex: '-mlkem768x25519-sha256' });
  assert.equal(s.passwordAuthentication, false);
  assert.equal(s.pubkeyAuthentication, true);
});
