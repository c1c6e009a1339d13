/**
 * ProxyCommand against OpenSSH: the ProxyJump/ProxyCommand precedence of ssh_config compared with
 * `ssh -G`, and Client.connect to a real sshd through `ssh -W %h:%p` (the bastion pattern).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { resolveSshConfig } from '../../src/config/ssh-config.js';
import { binPath, hasPeer, requirePeer } from '../helpers/peers.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

let sshd: Sshd | undefined;
let dir = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'secsh-pcmd-'));
  if (hasPeer('sshd') && hasPeer('ssh-keygen') && hasPeer('ssh')) sshd = await startSshd();
});
after(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const CONFIGS = [
  'Host alias\n  ProxyCommand sh -c "nc %h %p"  # comment\n',
  'Host alias\n  ProxyJump a@b:2\n  ProxyCommand nc %h %p\n',
  'Host alias\n  ProxyCommand nc %h %p\n  ProxyJump a@b:2\n',
  'Host alias\n  ProxyCommand none\n  ProxyJump a@b:2\n',
  'Host alias\n  ProxyJump none\n  ProxyCommand nc %h %p\n',
  'Host alias\n  ProxyCommand=nc   %h\t%p %k\n',
  'Host other\n  ProxyCommand no\nHost *\n  ProxyJump x,y\n  ProxyCommand z\n',
];

test('ssh_config ProxyCommand/ProxyJump: resolveSshConfig agrees with ssh -G', (t) => {
  if (!requirePeer(t, 'ssh')) return;
  const failures: string[] = [];
  for (const [i, text] of CONFIGS.entries()) {
    const file = join(dir, `c${i}`);
    writeFileSync(file, text);
    const r = spawnSync(binPath('ssh'), ['-G', '-F', file, 'alias'], { encoding: 'utf8', timeout: 20_000 });
    const line = (k: string) =>
      r.stdout
        .split('\n')
        .find((l) => l.startsWith(`${k} `))
        ?.slice(k.length + 1);
    const mine = resolveSshConfig('alias', { path: file });
    const want = { proxycommand: line('proxycommand'), proxyjump: line('proxyjump') };
    const got = { proxycommand: mine.proxyCommand, proxyjump: mine.proxyJump?.join(',') };
    if (JSON.stringify(want) !== JSON.stringify(got))
      failures.push(`${JSON.stringify(text)}: ssh ${JSON.stringify(want)} secsh ${JSON.stringify(got)}`);
  }
  assert.deepEqual(failures, []);
});

test('Client.connect to sshd through ProxyCommand ssh -W %h:%p (from ssh_config)', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen', 'ssh') || !sshd) return;
  const key = sshd.userKeys.ed25519.privatePath;
  const cfg = join(dir, 'config');
  const ssh = `${binPath('ssh')} -F none -i ${key} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`;
  writeFileSync(
    cfg,
    [
      'Host target',
      `  HostName ${sshd.host}`,
      `  Port ${sshd.port}`,
      `  User ${sshd.username}`,
      `  IdentityFile ${key}`,
      '  IdentitiesOnly yes',
      '  IdentityAgent none',
      `  ProxyCommand ${ssh} -p %p -W %h:%p %r@%h`,
      '',
    ].join('\n'),
  );
  const c = await Client.connect({ host: 'target', config: cfg, hostVerifier: () => true });
  try {
    const r = await c.exec('echo via-proxy');
    assert.equal(r.stdout.trim(), 'via-proxy');
    assert.ok(sshd.hostKeys.some((h) => h.fingerprint === c.hostKey.fingerprint()));
  } finally {
    await c.close();
  }
});
