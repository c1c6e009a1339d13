/** `secsh ssh` argument parsing: ssh's getopt rules, forward specifications and escape characters. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEscapeChar, parseForwardSpec, parseSshArgs, SshUsageError } from '../../../src/cli/ssh-options.js';

test('ssh flags: clustered, counted and with attached or separate values', () => {
  const o = parseSshArgs(['-tt', '-NnqCA', '-vvv', '-p22', '-oUser=bob', '-o', 'Port 23', '-i', 'k1', '-ik2', 'host']);
  assert.equal(o.tty, 2);
  assert.equal(o.verbose, 3);
  assert.equal(o.port, 22);
  assert.deepEqual(o.options, ['User=bob', 'Port 23']);
  assert.equal(o.noCommand, true);
  assert.equal(o.stdinNull, true);
  assert.equal(o.quiet, false, '-v after -q');
  const q = parseSshArgs(['-vv', '-q', '-e', 'x', '-e', 'none', 'h']);
  assert.equal(q.verbose, 0, '-q after -v');
  assert.equal(q.quiet, true);
  assert.equal(q.escapeChar, 'none', 'the last -e');
  assert.equal(o.compression, true);
  assert.equal(o.forwardAgent, true);
  assert.deepEqual(o.identityFiles, ['k1', 'k2']);
  assert.equal(o.destination, 'host');
  assert.deepEqual(o.command, []);
});

test('ssh flags: options after the destination are parsed until the command starts; the rest is the command', () => {
  const o = parseSshArgs(['host', '-p', '2222', '-T', 'ls', '-l', '-p', '/tmp']);
  assert.equal(o.destination, 'host');
  assert.equal(o.port, 2222);
  assert.equal(o.noTty, true);
  assert.deepEqual(o.command, ['ls', '-l', '-p', '/tmp']);
  const t = parseSshArgs(['--', 'host', '-p', '1']);
  assert.equal(t.destination, 'host');
  assert.equal(t.port, undefined);
  assert.deepEqual(t.command, ['-p', '1']);
});

test('ssh flags: -L/-R/-D/-W/-J/-e/-E/-F/-G/-c/-m/-4/-6/-l are collected', () => {
  const o = parseSshArgs([
    '-L8080:localhost:80',
    '-R',
    '0:127.0.0.1:22',
    '-D1080',
    '-W',
    'h:22',
    '-J',
    'a,b',
    '-e^]',
    '-E',
    'log',
    '-F',
    'none',
    '-G',
    '-c',
    'aes128-ctr',
    '-m',
    'hmac-sha2-256',
    '-6',
    '-l',
    'me',
    'h',
  ]);
  assert.deepEqual(o.localForwards, ['8080:localhost:80']);
  assert.deepEqual(o.remoteForwards, ['0:127.0.0.1:22']);
  assert.deepEqual(o.dynamicForwards, ['1080']);
  assert.equal(o.stdioForward, 'h:22');
  assert.equal(o.jump, 'a,b');
  assert.equal(o.escapeChar, '^]');
  assert.equal(o.logFile, 'log');
  assert.equal(o.configFile, 'none');
  assert.equal(o.printConfig, true);
  assert.equal(o.ciphers, 'aes128-ctr');
  assert.equal(o.macs, 'hmac-sha2-256');
  assert.equal(o.family, 6);
  assert.equal(o.user, 'me');
});

test('ssh flags: an unknown flag or a missing value is ssh usage with exit 255; -V stops parsing', () => {
  assert.throws(
    () => parseSshArgs(['-Z', 'h']),
    (e: unknown) =>
      e instanceof SshUsageError && e.exitCode === 255 && /^unknown option -- Z\nusage: ssh /.test(e.message),
  );
  assert.throws(() => parseSshArgs(['h', '-p']), /option requires an argument -- p/);
  assert.throws(() => parseSshArgs(['-p', '70000', 'h']), /Bad port '70000'/);
  assert.throws(() => parseSshArgs(['-e', 'xy', 'h']), /Bad escape character 'xy'/);
  assert.equal(parseSshArgs(['-V', '-Z']).version, true);
});

test('forward specifications: ssh syntax with bind addresses, IPv6 brackets and socket paths', () => {
  assert.deepEqual(parseForwardSpec('8080:localhost:80', 'L'), {
    listen: { port: 8080 },
    connect: { host: 'localhost', port: 80 },
  });
  assert.deepEqual(parseForwardSpec('*:8080:db:5432', 'L'), {
    listen: { host: '*', port: 8080 },
    connect: { host: 'db', port: 5432 },
  });
  assert.deepEqual(parseForwardSpec('[::1]:8080:[2001:db8::5]:22', 'L'), {
    listen: { host: '::1', port: 8080 },
    connect: { host: '2001:db8::5', port: 22 },
  });
  assert.deepEqual(parseForwardSpec('/tmp/l.sock:/run/r.sock', 'L'), {
    listen: { path: '/tmp/l.sock' },
    connect: { path: '/run/r.sock' },
  });
  assert.deepEqual(parseForwardSpec('9000:/run/r.sock', 'R'), {
    listen: { port: 9000 },
    connect: { path: '/run/r.sock' },
  });
  assert.deepEqual(parseForwardSpec('/tmp/x.sock:host:22', 'R'), {
    listen: { path: '/tmp/x.sock' },
    connect: { host: 'host', port: 22 },
  });
  assert.deepEqual(parseForwardSpec('127.0.0.1:1080', 'D'), { listen: { host: '127.0.0.1', port: 1080 } });
  assert.deepEqual(parseForwardSpec('1080', 'D'), { listen: { port: 1080 } });
  for (const bad of ['8080', '8080:host', 'x:host:80', '8080:host:99999', '[::1:80:h:1', '1:2:3:4:5'])
    assert.equal(parseForwardSpec(bad, 'L'), undefined, bad);
  assert.equal(parseForwardSpec('port', 'D'), undefined);
});

test('escape characters: none, one character, ^X', () => {
  assert.equal(parseEscapeChar('none'), null);
  assert.equal(parseEscapeChar('~'), 0x7e);
  assert.equal(parseEscapeChar('^]'), 0x1d);
  assert.equal(parseEscapeChar('ab'), undefined);
});
