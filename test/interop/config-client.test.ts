/** Client.connect with known_hosts policies and ssh_config (HostName, Port, User, IdentityFile, ProxyJump) against a real sshd. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { KnownHosts } from '../../src/config/index.js';
import { HostKeyError } from '../../src/errors.js';
import { generatePrivateKey, parsePublicKey } from '../../src/keys/index.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

let sshd: Sshd | undefined;
let dir = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'secsh-cfgc-'));
  if (hasPeer('sshd') && hasPeer('ssh-keygen')) sshd = await startSshd({ extraConfig: ['LogLevel DEBUG1'] });
});
after(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function base(s: Sshd) {
  return {
    host: s.host,
    port: s.port,
    username: s.username,
    privateKey: readFileSync(s.userKeys.ed25519.privatePath, 'utf8'),
  };
}

async function rejectsHostKey(p: Promise<Client>, re: RegExp): Promise<HostKeyError> {
  try {
    const c = await p;
    await c.close();
  } catch (e) {
    assert.ok(e instanceof HostKeyError, `expected HostKeyError, got ${String(e)}`);
    assert.match(e.message, re);
    return e;
  }
  assert.fail('connect should have failed');
}

test('known_hosts: strict refuses an unknown host with its fingerprint; accept-new adds it (0600); then strict accepts', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sshd) return;
  const kh = join(dir, 'kh1');
  const err = await rejectsHostKey(Client.connect({ ...base(sshd), knownHosts: kh }), /not in known_hosts/);
  assert.ok(sshd.hostKeys.some((h) => h.fingerprint === err.fingerprint));
  assert.match(err.message, new RegExp(err.fingerprint?.replace(/[+/]/g, '\\$&') ?? 'x'));
  const c = await Client.connect({
    ...base(sshd),
    knownHosts: kh,
    strictHostKeyChecking: 'accept-new',
    hashKnownHosts: true,
  });
  const fp = c.hostKey.fingerprint();
  await c.close();
  assert.equal(statSync(kh).mode & 0o777, 0o600);
  const file = await KnownHosts.load(kh);
  assert.equal(file.entries.length, 1);
  assert.ok(file.entries[0]?.hashed);
  assert.equal(file.entries[0]?.key.fingerprint(), fp);
  const again = await Client.connect({ ...base(sshd), knownHosts: kh });
  assert.equal(again.hostKey.fingerprint(), fp);
  await again.close();
});

test('known_hosts: a changed key fails even with accept-new; @revoked fails; off accepts', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sshd) return;
  const other = generatePrivateKey('ed25519').publicKey;
  const kh = join(dir, 'kh2');
  const file = new KnownHosts('', kh);
  file.add(sshd.host, sshd.port, other);
  await file.save();
  for (const mode of ['strict', 'accept-new'] as const) {
    const e = await rejectsHostKey(
      Client.connect({ ...base(sshd), knownHosts: kh, strictHostKeyChecking: mode }),
      /HOST KEY CHANGED/,
    );
    assert.ok(e.message.includes(other.fingerprint()));
  }
  const c = await Client.connect({ ...base(sshd), knownHosts: kh, strictHostKeyChecking: 'off' });
  await c.close();
  assert.equal((await KnownHosts.load(kh)).entries.length, 1, 'off never writes');
  const ed = sshd.hostKeys.find((h) => h.type === 'ed25519');
  assert.ok(ed);
  writeFileSync(kh, `[${sshd.host}]:${sshd.port} ${ed.publicKeyLine}\n@revoked * ${ed.publicKeyLine}\n`);
  await rejectsHostKey(Client.connect({ ...base(sshd), knownHosts: kh, strictHostKeyChecking: 'off' }), /@revoked/);
});

test('known_hosts: a host known only by its ECDSA key is reached with that key (algorithm order follows known_hosts)', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sshd) return;
  const ec = sshd.hostKeys.find((h) => h.type === 'ecdsa256');
  assert.ok(ec);
  const kh = join(dir, 'kh3');
  writeFileSync(kh, `# only ecdsa\n[${sshd.host}]:${sshd.port} ${ec.publicKeyLine}\n`);
  const c = await Client.connect({ ...base(sshd), knownHosts: kh });
  assert.equal(c.algorithms.hostKey, 'ecdsa-sha2-nistp256');
  assert.equal(c.hostKey.fingerprint(), parsePublicKey(ec.publicKeyLine).fingerprint());
  await c.close();
});

test('ssh_config: alias with HostName, Port, User, IdentityFile, UserKnownHostsFile, StrictHostKeyChecking; explicit options win', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sshd) return;
  const cfg = join(dir, 'config');
  const kh = join(dir, 'kh-config');
  writeFileSync(
    cfg,
    [
      'Host myalias',
      `  HostName ${sshd.host}`,
      `  Port ${sshd.port}`,
      `  User ${sshd.username}`,
      `  IdentityFile ${join(dir, 'missing-key')}`,
      `  IdentityFile ${sshd.userKeys.ecdsa.privatePath}`,
      `  UserKnownHostsFile ${kh}`,
      '  StrictHostKeyChecking accept-new',
      '  IdentityAgent none',
      '  ServerAliveInterval 30',
      '  Ciphers aes256-ctr,umac-unsupported@openssh.com',
      'Host *',
      '  User nobody-wins-here',
      '',
    ].join('\n'),
  );
  const c = await Client.connect({ host: 'myalias', config: cfg });
  assert.equal(c.algorithms.cipher, 'aes256-ctr');
  assert.equal((await c.exec('echo $USER')).stdout.trim(), sshd.username);
  await c.close();
  assert.match(
    sshd.logs(),
    new RegExp(`Accepted publickey .*ECDSA ${sshd.userKeys.ecdsa.fingerprint.replace(/[+/]/g, '\\$&')}`),
  );
  assert.equal((await KnownHosts.load(kh)).find(sshd.host, sshd.port).length, 1);
  const c2 = await Client.connect({ host: 'myalias', config: cfg, algorithms: { cipher: 'aes128-ctr' } });
  assert.equal(c2.algorithms.cipher, 'aes128-ctr');
  await c2.close();
});

test('ssh_config: ProxyJump reaches the target through the jump host (direct-tcpip)', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sshd) return;
  const cfg = join(dir, 'config-jump');
  const kh = join(dir, 'kh-jump');
  writeFileSync(
    cfg,
    [
      'Host target',
      '  HostName localhost',
      '  ProxyJump jumpbox',
      'Host jumpbox',
      `  HostName ${sshd.host}`,
      'Host *',
      `  Port ${sshd.port}`,
      `  User ${sshd.username}`,
      `  IdentityFile ${sshd.userKeys.ed25519.privatePath}`,
      `  UserKnownHostsFile ${kh}`,
      '  StrictHostKeyChecking accept-new',
      '  IdentityAgent none',
      '',
    ].join('\n'),
  );
  const before = sshd.logs().split('direct-tcpip').length;
  const c = await Client.connect({ host: 'target', config: cfg });
  assert.equal((await c.exec('echo via-jump')).stdout, 'via-jump\n');
  assert.ok(sshd.logs().split('direct-tcpip').length > before, 'sshd saw a direct-tcpip channel');
  await c.close();
  const names = (await KnownHosts.load(kh)).entries.map((e) => e.hosts).sort();
  assert.deepEqual(names, [`[${sshd.host}]:${sshd.port}`, `[localhost]:${sshd.port}`]);
});
