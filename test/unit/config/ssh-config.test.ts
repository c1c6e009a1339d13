import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  applyAlgorithmEdit,
  loadIdentityFiles,
  matchPattern,
  matchPatternList,
  parseJumpHost,
  resolveSshConfig,
  sshConfigConnectSettings,
  supportedAlgorithmOption,
} from '../../../src/config/index.js';
import { generatePrivateKey } from '../../../src/keys/index.js';

const local = { localUser: 'me', homeDir: '/home/me', localHostname: 'box.lan' };

test('matchPattern / matchPatternList', () => {
  assert.ok(matchPattern('abc', 'a*c'));
  assert.ok(matchPattern('abc', '*'));
  assert.ok(matchPattern('a', 'a*'));
  assert.ok(matchPattern('axbxc', 'a*b*c'));
  assert.ok(!matchPattern('abcd', 'a?c'));
  assert.ok(matchPattern('abc', 'a?c'));
  assert.ok(!matchPattern('ab', 'a?c'));
  assert.ok(!matchPattern(`${'a'.repeat(5000)}`, '*b'));
  assert.equal(matchPatternList('Host.Example', '*.example'), 1);
  assert.equal(matchPatternList('x.example', '*.example,!x.example'), -1);
  assert.equal(matchPatternList('y', '!x'), 0);
  assert.equal(matchPatternList('User', 'user', false), 0);
});

test('tokens: %h %p %r %u %d %n %l %L %C %% and ~ in paths', () => {
  const r = resolveSshConfig('alias', {
    ...local,
    text: 'Host alias\n  HostName Real.Example\n  Port 2200\n  User bob\n  IdentityFile ~/.ssh/%h-%p-%r-%u-%n-%l-%L-%%\n  UserKnownHostsFile %d/kh/%C\n',
  });
  assert.equal(r.hostname, 'real.example');
  assert.deepEqual(r.identityFile, ['/home/me/.ssh/real.example-2200-bob-me-alias-box.lan-box-%']);
  const c = createHash('sha1').update('box.lanreal.example2200bob').digest('hex');
  assert.deepEqual(r.userKnownHostsFile, [`/home/me/kh/${c}`]);
  assert.throws(() => resolveSshConfig('x', { ...local, text: 'IdentityFile ~/%z\n' }), /unknown token %z/);
  assert.throws(() => resolveSshConfig('x', { ...local, text: 'HostName %p.example\n' }), /unknown token %p/);
});

test('Include: relative to ~/.ssh, globbed and sorted, depth-limited', () => {
  const home = mkdtempSync(join(tmpdir(), 'secsh-cfg-'));
  try {
    mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'conf.d', '20-b.conf'), 'Host h\n  User second\n');
    writeFileSync(join(home, '.ssh', 'conf.d', '10-a.conf'), 'Host h\n  Port 1234\n');
    writeFileSync(join(home, '.ssh', 'loop'), 'Include loop\n');
    const r = resolveSshConfig('h', {
      ...local,
      homeDir: home,
      text: 'Include conf.d/*.conf\nUser first-would-lose\n',
    });
    assert.equal(r.port, 1234);
    assert.equal(r.user, 'second');
    assert.throws(() => resolveSshConfig('h', { ...local, homeDir: home, text: 'Include loop\n' }), /too deeply/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('Match exec runs only with allowExec; otherwise the block is skipped with a warning', () => {
  const text = 'Match exec "test %h = target"\n  Port 1111\nMatch exec false\n  Port 2222\n';
  const off = resolveSshConfig('target', { ...local, text });
  assert.equal(off.port, 22);
  assert.equal(off.warnings.length, 2);
  const on = resolveSshConfig('target', { ...local, text, allowExec: true });
  assert.equal(on.port, 1111);
  assert.equal(on.warnings.length, 0);
  const other = resolveSshConfig('elsewhere', {
    ...local,
    text: `${text}Match exec true\n  Port 3333\n`,
    allowExec: true,
  });
  assert.equal(other.port, 3333);
});

test('bad values are errors with the file and line; unknown keywords are ignored', () => {
  assert.throws(() => resolveSshConfig('x', { ...local, text: 'Port 99999\n' }), /invalid port/);
  assert.throws(
    () => resolveSshConfig('x', { ...local, path: 'cfg', text: '\nCompression maybe\n' }),
    /cfg line 2: expected yes or no/,
  );
  assert.throws(() => resolveSshConfig('x', { ...local, text: 'Match bogus x\n' }), /unsupported Match criterion/);
  assert.throws(() => resolveSshConfig('x', { ...local, text: 'User "unterminated\n' }), /unterminated quote/);
  assert.throws(() => resolveSshConfig('x', { ...local, text: 'x'.repeat(1024 * 1024 + 1) }), /too large/);
  assert.equal(resolveSshConfig('x', { ...local, text: 'SomeFutureOption yes\nPort 7\n' }).port, 7);
  assert.equal(resolveSshConfig('x', { ...local, text: 'ConnectTimeout 1h2m3s\n' }).connectTimeout, 3723);
  const t0 = Date.now();
  assert.throws(() => resolveSshConfig('x', { ...local, text: `ConnectTimeout ${'1'.repeat(40)}x\n` }), /invalid time/);
  assert.ok(Date.now() - t0 < 500);
});

test('connect settings: agent, algorithms restricted to what secsh implements, auth methods, policy', () => {
  const r = resolveSshConfig('h', {
    ...local,
    text: [
      'Ciphers aes256-ctr,umac-64@openssh.com',
      'MACs umac-64@openssh.com',
      'KexAlgorithms +diffie-hellman-group14-sha1',
      'HostKeyAlgorithms ssh-ed25519-cert-v01@openssh.com,ssh-ed25519',
      'IdentityAgent $MY_AGENT',
      'StrictHostKeyChecking no',
      'PasswordAuthentication no',
      'ConnectTimeout 5',
      'ServerAliveInterval 10',
      'RekeyLimit 1G',
      'ProxyJump a,b',
      '',
    ].join('\n'),
  });
  const s = sshConfigConnectSettings(r, { MY_AGENT: '/tmp/agent.sock' });
  assert.equal(s.agent, '/tmp/agent.sock');
  assert.deepEqual(s.algorithms, {
    cipher: 'aes256-ctr',
    kex: '+diffie-hellman-group14-sha1',
    hostKey: 'ssh-ed25519-cert-v01@openssh.com,ssh-ed25519',
    compression: 'none',
  });
  assert.deepEqual(s.authMethods, ['hostbased', 'publickey', 'keyboard-interactive']);
  assert.equal(s.hostbased, false);
  const hb = resolveSshConfig('h', {
    ...local,
    text: 'HostbasedAuthentication yes\nPreferredAuthentications hostbased,password\n',
  });
  assert.equal(sshConfigConnectSettings(hb, {}).hostbased, true);
  assert.deepEqual(sshConfigConnectSettings(hb, {}).authMethods, ['hostbased', 'password']);
  assert.equal(s.strictHostKeyChecking, 'off');
  assert.equal(s.readyTimeout, 5000);
  assert.equal(s.keepaliveInterval, 10000);
  assert.deepEqual(s.rekeyLimit, { bytes: 1024 ** 3 });
  assert.deepEqual(s.proxyJump, ['a', 'b']);
  assert.equal(
    sshConfigConnectSettings(resolveSshConfig('h', { ...local, text: 'IdentityAgent none\n' }), { SSH_AUTH_SOCK: '/s' })
      .agent,
    false,
  );
  assert.equal(
    sshConfigConnectSettings(resolveSshConfig('h', { ...local, text: '' }), { SSH_AUTH_SOCK: '/s' }).agent,
    true,
  );
  assert.equal(supportedAlgorithmOption('cipher', '-aes*'), '-aes*');
  assert.equal(supportedAlgorithmOption('cipher', 'nope'), undefined);
});

test('applyAlgorithmEdit and parseJumpHost', () => {
  assert.deepEqual(applyAlgorithmEdit(['a', 'b', 'c'], '+d,a'), ['a', 'b', 'c', 'd']);
  assert.deepEqual(applyAlgorithmEdit(['a1', 'b', 'a2'], '-a*'), ['b']);
  assert.deepEqual(applyAlgorithmEdit(['a', 'b', 'c'], '^c'), ['c', 'a', 'b']);
  assert.deepEqual(applyAlgorithmEdit(['a', 'b'], 'x,y'), ['x', 'y']);
  assert.deepEqual(parseJumpHost('me@jump:2200'), { host: 'jump', port: 2200, user: 'me' });
  assert.deepEqual(parseJumpHost('ssh://[::1]:22'), { host: '::1', port: 22 });
  assert.deepEqual(parseJumpHost('plain'), { host: 'plain' });
  assert.throws(() => parseJumpHost('h:99999'), /invalid jump host/);
});

test('loadIdentityFiles skips missing, encrypted-without-passphrase and garbage files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'secsh-id-'));
  try {
    const key = generatePrivateKey('ed25519');
    writeFileSync(join(dir, 'plain'), key.toOpenSSH());
    writeFileSync(
      join(dir, 'enc'),
      key.toKeyObject().export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string,
    );
    writeFileSync(join(dir, 'junk'), 'not a key');
    const paths = ['missing', 'plain', 'enc', 'junk'].map((n) => join(dir, n));
    const logs: string[] = [];
    const keys = await loadIdentityFiles(paths, undefined, (m) => logs.push(m));
    assert.equal(keys.length, 1);
    assert.equal(logs.length, 2);
    assert.equal((await loadIdentityFiles(paths, 'pw')).length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('forwards: Local/Remote/DynamicForward parsed; ExitOnForwardFailure and GatewayPorts read; ClearAllForwardings drops them all', () => {
  const text = [
    'Host db',
    '  LocalForward 127.0.0.1:15432 db.internal:5432',
    '  LocalForward /tmp/%r.sock /run/app.sock',
    '  RemoteForward 0 localhost:3000',
    '  DynamicForward 1080',
    '  ExitOnForwardFailure yes',
    '  GatewayPorts yes',
  ].join('\n');
  const r = resolveSshConfig('db', { ...local, text, user: 'alice' });
  assert.deepEqual(r.localForward, [
    { listen: { host: '127.0.0.1', port: 15432 }, connect: { host: 'db.internal', port: 5432 } },
    { listen: { path: '/tmp/alice.sock' }, connect: { path: '/run/app.sock' } },
  ]);
  assert.deepEqual(r.remoteForward, [{ listen: { port: 0 }, connect: { host: 'localhost', port: 3000 } }]);
  assert.deepEqual(r.dynamicForward, [{ listen: { port: 1080 } }]);
  assert.equal(r.exitOnForwardFailure, true);
  assert.equal(r.gatewayPorts, true);
  assert.equal(r.clearAllForwardings, false);
  const cleared = resolveSshConfig('db', { ...local, text: `${text}\n  ClearAllForwardings yes`, user: 'alice' });
  assert.equal(cleared.clearAllForwardings, true);
  assert.deepEqual([cleared.localForward, cleared.remoteForward, cleared.dynamicForward], [[], [], []]);
  const plain = resolveSshConfig('other', { ...local, text });
  assert.deepEqual([plain.exitOnForwardFailure, plain.gatewayPorts, plain.clearAllForwardings], [false, false, false]);
});

test('command-line options come before the file (first value wins), then the system file; other keywords are kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secsh-syscfg-'));
  try {
    const system = join(dir, 'ssh_config');
    writeFileSync(system, 'Host *\n  SendEnv LANG LC_*\n  HashKnownHosts yes\n  Port 2200\n  EscapeChar %\n');
    const r = resolveSshConfig('web', {
      ...local,
      text: 'Host web\n  Port 2022\n  User deploy\n  RequestTTY force\n',
      options: ['User=cli', 'VisualHostKey yes', 'BatchMode yes'],
      systemPath: system,
    });
    assert.equal(r.user, 'cli');
    assert.equal(r.port, 2022);
    assert.deepEqual(r.sendEnv, ['LANG', 'LC_*']);
    assert.equal(r.hashKnownHosts, true);
    assert.equal(r.batchMode, true);
    assert.equal(r.other.visualhostkey, 'yes');
    assert.equal(r.other.requesttty, 'force');
    assert.equal(r.other.escapechar, '%');
    // Without systemPath the system file is not read.
    const plain = resolveSshConfig('web', { ...local, text: 'Host web\n  Port 2022\n' });
    assert.equal(plain.hashKnownHosts, false);
    assert.deepEqual(plain.other, {});
    assert.throws(() => resolveSshConfig('web', { ...local, text: '', options: ['Port'] }), /needs a value/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
