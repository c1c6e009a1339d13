/**
 * ProxyCommand pieces without a server: token expansion as `ssh` does it, ssh_config's
 * ProxyJump/ProxyCommand precedence, and ProxyCommandStream's exit reporting and hang-up.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { expandProxyCommand, ProxyCommandStream } from '../../src/client/proxy-command.js';
import { resolveSshConfig } from '../../src/config/ssh-config.js';
import { ConnectionLostError, InvalidArgumentError } from '../../src/errors.js';

const t = { host: 'real.example.com', port: 2222, user: 'bob', originalHost: 'alias' };

test('expandProxyCommand: exec prefix, %h %p %r %n %k %%, ~ and $VAR left to the shell', () => {
  assert.equal(
    expandProxyCommand('nc %h %p # %r@%n %k 100%% ~/x $HOME', t),
    'exec nc real.example.com 2222 # bob@alias alias 100% ~/x $HOME',
  );
  assert.equal(expandProxyCommand('ssh -W [%h]:%p bastion', t), 'exec ssh -W [real.example.com]:2222 bastion');
  for (const bad of ['nc %h %u', 'nc %d', 'nc %C', 'x %j', 'x %']) {
    assert.throws(() => expandProxyCommand(bad, t), InvalidArgumentError, bad);
  }
  assert.throws(() => expandProxyCommand('-', t), /not supported/);
  assert.throws(() => expandProxyCommand('x'.repeat(70000), t), InvalidArgumentError);
});

function resolve(text: string) {
  return resolveSshConfig('alias', { text, localUser: 'me', homeDir: '/home/me', localHostname: 'box' });
}

test('ssh_config: ProxyCommand is the raw rest of the line; first of ProxyJump/ProxyCommand wins', () => {
  // Expected values are what OpenSSH 9.2's `ssh -G` prints for the same lines.
  assert.equal(resolve('Host alias\n ProxyCommand sh -c "nc %h %p"  # c  \n').proxyCommand, 'sh -c "nc %h %p"  # c');
  assert.equal(resolve('ProxyCommand=nc   %h\t%p\n').proxyCommand, 'nc   %h\t%p');
  let r = resolve('ProxyJump a@b:2\nProxyCommand nc %h %p\n');
  assert.deepEqual([r.proxyJump, r.proxyCommand], [['a@b:2'], undefined]);
  r = resolve('ProxyCommand nc %h %p\nProxyJump a@b:2\n');
  assert.deepEqual([r.proxyJump, r.proxyCommand], [undefined, 'nc %h %p']);
  r = resolve('ProxyCommand none\nProxyJump a@b:2\n');
  assert.deepEqual([r.proxyJump, r.proxyCommand], [undefined, undefined]);
  r = resolve('ProxyJump none\nProxyCommand nc %h %p\n');
  assert.deepEqual([r.proxyJump, r.proxyCommand], [undefined, 'nc %h %p']);
  r = resolve('ProxyCommand first\nProxyCommand second\n');
  assert.equal(r.proxyCommand, 'first');
  assert.equal(r.proxyUseFdpass, false);
  assert.equal(resolve('ProxyUseFdpass yes\nProxyCommand x\n').proxyUseFdpass, true);
});

test('ProxyCommandStream: data both ways; a clean exit ends the stream', async () => {
  const s = new ProxyCommandStream('exec tr a-z A-Z', { shell: '/bin/sh' });
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.end('hello proxy');
  await once(s, 'end');
  assert.equal(Buffer.concat(chunks).toString(), 'HELLO PROXY');
});

test('ProxyCommandStream: a failing command is an error naming its status, even after EPIPE', async () => {
  const s = new ProxyCommandStream('exec sh -c "exit 42"', { shell: '/bin/sh' });
  const big = Buffer.alloc(1024 * 1024);
  s.write(big);
  s.write(big);
  const [err] = (await once(s, 'error')) as [Error];
  assert.ok(err instanceof ConnectionLostError);
  assert.match(err.message, /exited with status 42$/);
});

test('ProxyCommandStream: a shell that cannot start is an error', async () => {
  const s = new ProxyCommandStream('exec true', { shell: '/nonexistent/shell' });
  const [err] = (await once(s, 'error')) as [Error];
  assert.ok(err instanceof ConnectionLostError);
  assert.match(err.message, /cannot start proxy command/);
});

test('ProxyCommandStream: destroy hangs up the command (SIGHUP)', async () => {
  const s = new ProxyCommandStream('exec sleep 30', { shell: '/bin/sh' });
  s.on('error', () => {});
  await once(s.child, 'spawn');
  s.destroy();
  const [code, signal] = (await once(s.child, 'exit')) as [number | null, string | null];
  assert.deepEqual([code, signal], [null, 'SIGHUP']);
});
