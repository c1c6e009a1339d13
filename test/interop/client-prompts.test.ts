/**
 * The hooks a command line prompts through — onUnknownHostKey (StrictHostKeyChecking ask), onPassphrase,
 * BatchMode, HostKeyError.changed, ssh_config from -o options and -F none — against a real sshd.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import type { UnknownHostKeyQuestion } from '../../src/config/index.js';
import { KnownHosts } from '../../src/config/index.js';
import { AuthError, HostKeyError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { startAsyncSsh } from '../helpers/asyncssh.js';
import { binPath, hasPeer, requirePeer } from '../helpers/peers.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

let sshd: Sshd | undefined;
let dir = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'secsh-prompts-'));
  if (hasPeer('sshd') && hasPeer('ssh-keygen')) sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
});
after(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A config that logs in to the private sshd with its ed25519 user key and `kh` as known_hosts. */
function configFor(s: Sshd, kh: string, extra: string[] = []): string {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}`);
  writeFileSync(
    path,
    [
      'Host target',
      '  HostName 127.0.0.1',
      `  Port ${s.port}`,
      `  User ${s.username}`,
      `  IdentityFile ${s.userKeys.ed25519.privatePath}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${kh}`,
      ...extra.map((l) => `  ${l}`),
      '',
    ].join('\n'),
  );
  return path;
}

async function hostKeyError(p: Promise<Client>): Promise<HostKeyError> {
  try {
    const c = await p;
    await c.close();
  } catch (e) {
    assert.ok(e instanceof HostKeyError, `expected HostKeyError, got ${String(e)}`);
    return e;
  }
  assert.fail('connect should have failed');
}

test('StrictHostKeyChecking ask: a yes from onUnknownHostKey records the key (hashed under HashKnownHosts) and connects', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sshd) return;
  const kh = join(dir, 'kh-yes');
  const asked: UnknownHostKeyQuestion[] = [];
  const c = await Client.connect({
    host: 'target',
    config: { path: configFor(sshd, kh), options: ['HashKnownHosts yes'] },
    agent: false,
    onUnknownHostKey: (q) => {
      asked.push(q);
      return true;
    },
  });
  await c.close();
  assert.equal(asked.length, 1);
  assert.equal(asked[0]?.name, `[127.0.0.1]:${sshd.port}`);
  assert.equal(asked[0]?.key.fingerprint(), sshd.hostKeys[0]?.fingerprint);
  const text = readFileSync(kh, 'utf8');
  assert.match(text, /^\|1\|/);
  // OpenSSH finds the hashed name the library wrote.
  const found = spawnSync(binPath('ssh-keygen'), ['-F', `[127.0.0.1]:${sshd.port}`, '-f', kh], { encoding: 'utf8' });
  assert.equal(found.status, 0);
  // Known now: the next connect asks nothing.
  const again = await Client.connect({
    host: 'target',
    config: configFor(sshd, kh),
    agent: false,
    onUnknownHostKey: () => assert.fail('asked about a known key'),
  });
  await again.close();
});

test('StrictHostKeyChecking ask: a no refuses with HostKeyError and writes nothing', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sshd) return;
  const kh = join(dir, 'kh-no');
  let asked = 0;
  await hostKeyError(
    Client.connect({
      host: 'target',
      config: configFor(sshd, kh),
      agent: false,
      onUnknownHostKey: () => {
        asked++;
        return false;
      },
    }),
  );
  assert.equal(asked, 1);
  assert.equal((await KnownHosts.load(kh)).find('127.0.0.1', sshd.port).length, 0);
});

test('BatchMode yes from a command-line option: onUnknownHostKey is not called and the unknown key is refused', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sshd) return;
  const kh = join(dir, 'kh-batch');
  await hostKeyError(
    Client.connect({
      host: 'target',
      config: { path: configFor(sshd, kh), options: ['BatchMode=yes'] },
      agent: false,
      onUnknownHostKey: () => assert.fail('asked under BatchMode'),
    }),
  );
});

test('a changed host key: HostKeyError.changed names the known_hosts file and line, and nobody is asked', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sshd) return;
  const kh = join(dir, 'kh-changed');
  const other = generatePrivateKey('ed25519').publicKey.toString();
  writeFileSync(kh, `# first line\n[127.0.0.1]:${sshd.port} ${other}\n`);
  const e = await hostKeyError(
    Client.connect({
      host: 'target',
      config: configFor(sshd, kh),
      agent: false,
      onUnknownHostKey: () => assert.fail('asked about a changed key'),
    }),
  );
  assert.deepEqual(e.changed, { path: kh, line: 2, keyType: 'ssh-ed25519' });
  assert.equal(e.fingerprint, sshd.hostKeys[0]?.fingerprint);
});

test('onPassphrase opens an encrypted IdentityFile given as a command-line option, after a wrong try', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sshd) return;
  const kh = join(dir, 'kh-pass');
  const key = join(dir, 'enc_ed25519');
  // A copy of the authorized user key, encrypted by ssh-keygen -p.
  writeFileSync(key, readFileSync(sshd.userKeys.ed25519.privatePath), { mode: 0o600 });
  const p = spawnSync(binPath('ssh-keygen'), ['-q', '-p', '-N', 'right horse', '-f', key], { encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr);
  const tries: [string, number][] = [];
  const path = configFor(sshd, kh, ['StrictHostKeyChecking accept-new']).toString();
  const cfg = readFileSync(path, 'utf8').replace(/ {2}IdentityFile .*\n/, '');
  writeFileSync(path, cfg);
  const c = await Client.connect({
    host: 'target',
    config: { path, options: [`IdentityFile ${key}`] },
    agent: false,
    onPassphrase: (file, attempt) => {
      tries.push([file, attempt]);
      return attempt === 0 ? 'wrong' : 'right horse';
    },
  });
  await c.close();
  assert.deepEqual(tries, [
    [key, 0],
    [key, 1],
  ]);
});

test('-o options win over the file, and config path false reads no file (ssh -F none)', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sshd) return;
  const kh = join(dir, 'kh-opts');
  const path = configFor(sshd, kh, ['StrictHostKeyChecking accept-new']).toString();
  // The file's Port is wrong; -o Port fixes it.
  writeFileSync(path, readFileSync(path, 'utf8').replace(/Port \d+/, 'Port 1'));
  const c = await Client.connect({
    host: 'target',
    config: { path, options: [`Port=${sshd.port}`] },
    agent: false,
  });
  await c.close();
  // With no file, 'target' is not an alias: HostName comes from -o only.
  const c2 = await Client.connect({
    host: 'target',
    config: {
      path: false,
      options: [
        'HostName 127.0.0.1',
        `Port ${sshd.port}`,
        `User ${sshd.username}`,
        `IdentityFile ${sshd.userKeys.ed25519.privatePath}`,
        `UserKnownHostsFile ${kh}`,
      ],
    },
    agent: false,
  });
  await c2.close();
});

test('onPassword: asyncssh refuses the first password, the second logs in; three refusals end in AuthError', async (t) => {
  if (!requirePeer(t, 'asyncssh')) return;
  const peer = await startAsyncSsh({ mode: 'password' });
  try {
    const attempts: number[] = [];
    const c = await Client.connect({
      host: peer.host,
      port: peer.port,
      username: peer.username,
      hostKeyFingerprint: peer.hostKeyFingerprint,
      agent: false,
      onPassword: (attempt) => {
        attempts.push(attempt);
        return attempt === 0 ? 'wrong' : peer.password;
      },
    });
    await c.close();
    assert.deepEqual(attempts, [0, 1]);
    let tries = 0;
    await assert.rejects(
      Client.connect({
        host: peer.host,
        port: peer.port,
        username: peer.username,
        hostKeyFingerprint: peer.hostKeyFingerprint,
        agent: false,
        onPassword: () => {
          tries++;
          return 'wrong';
        },
      }),
      AuthError,
    );
    assert.equal(tries, 3);
  } finally {
    await peer.stop();
  }
});
