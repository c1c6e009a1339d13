/**
 * One rule for `~` (issue 11, item 3): with a temporary $HOME, `config: true`, the config's
 * IdentityFile, UserKnownHostsFile and IdentityAgent, the `knownHosts` option and the default
 * known_hosts all live under that HOME. Before, ssh_config followed the user database's home
 * while known_hosts followed $HOME, so the config under a temporary HOME was silently not read.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { KnownHosts } from '../../src/config/known-hosts.js';
import { resolveSshConfig } from '../../src/config/ssh-config.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';

let home = '';
const savedHome = process.env.HOME;
const userKey = generatePrivateKey('ed25519');
const hostKey = generatePrivateKey('ed25519');
let server: Server | undefined;
let port = 0;

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'secsh-tilde-home-'));
  process.env.HOME = home;
  server = new Server({
    hostKeys: [hostKey],
    authenticate: ({ method, key }) => method === 'publickey' && key !== undefined && key.equals(userKey.publicKey),
    authMethods: ['publickey'],
  });
  ({ port } = await server.listen({ port: 0, host: '127.0.0.1' }));
});

after(async () => {
  process.env.HOME = savedHome;
  await server?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

test('config: true under a temporary $HOME reads $HOME/.ssh/config, its ~ IdentityFile and ~ UserKnownHostsFile', async () => {
  await mkdir(join(home, '.ssh'), { mode: 0o700 });
  await writeFile(join(home, '.ssh', 'id_test'), userKey.toOpenSSH(), { mode: 0o600 });
  await writeFile(
    join(home, '.ssh', 'config'),
    [
      'Host tilde-alias',
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      '  User someone',
      '  IdentityFile ~/.ssh/id_test',
      '  IdentitiesOnly yes',
      '  UserKnownHostsFile ~/kh/known_hosts',
      '  StrictHostKeyChecking accept-new',
      '',
    ].join('\n'),
  );
  const client = await Client.connect({ host: 'tilde-alias', config: true, readyTimeout: 10_000 });
  assert.equal(client.transport.hostKey?.fingerprint(), hostKey.publicKey.fingerprint());
  client.close();
  const kh = new KnownHosts(await readFile(join(home, 'kh', 'known_hosts'), 'utf8'));
  assert.equal(kh.lookup('127.0.0.1', port, hostKey.publicKey).status, 'match');
});

test('resolveSshConfig: ~ and %d in IdentityFile, IdentityAgent, UserKnownHostsFile and the defaults are $HOME', () => {
  const r = resolveSshConfig('h', {
    text: 'Host h\n  IdentityFile ~/.ssh/k1\n  IdentityFile %d/k2\n  IdentityAgent ~/agent.sock\n',
  });
  assert.deepEqual(r.identityFile, [join(home, '.ssh/k1'), join(home, 'k2')]);
  assert.equal(r.identityAgent, join(home, 'agent.sock'));
  assert.deepEqual(r.userKnownHostsFile, [join(home, '.ssh/known_hosts'), join(home, '.ssh/known_hosts2')]);
  assert.deepEqual(resolveSshConfig('other', { text: '' }).identityFile[0]?.startsWith(join(home, '.ssh')), true);
  assert.equal(KnownHosts.defaultPath(), join(home, '.ssh', 'known_hosts'));
});

test("the knownHosts option '~/…' is expanded to $HOME too (accept-new writes there)", async () => {
  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    privateKey: userKey,
    knownHosts: '~/other/known_hosts',
    strictHostKeyChecking: 'accept-new',
  });
  client.close();
  assert.ok((await stat(join(home, 'other', 'known_hosts'))).isFile());
});
