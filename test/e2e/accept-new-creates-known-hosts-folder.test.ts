/**
 * `strictHostKeyChecking: 'accept-new'` with a known_hosts file whose folder does not exist (a fresh
 * container's missing `~/.ssh`): the folder is created with mode 0700 and the key recorded, as `ssh`
 * does (issue 11, item 2: the connection failed with ENOENT).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { KnownHosts } from '../../src/config/known-hosts.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';

test('accept-new with a known_hosts file in a missing folder: connects, creates the folder 0700 and the file 0600', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-accept-new-folder-'));
  const hostKey = generatePrivateKey('ed25519');
  const server = new Server({ hostKeys: [hostKey], authenticate: () => true, authMethods: ['password'] });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const file = join(dir, 'home', '.ssh', 'known_hosts');
  try {
    const client = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      password: 'p',
      knownHosts: file,
      strictHostKeyChecking: 'accept-new',
    });
    client.close();
    assert.equal((await stat(join(dir, 'home', '.ssh'))).mode & 0o777, 0o700);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const kh = new KnownHosts(await readFile(file, 'utf8'));
    assert.equal(kh.lookup('127.0.0.1', port, hostKey.publicKey).status, 'match');
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('KnownHosts.save into a folder that does not exist creates it (0700)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-known-hosts-save-'));
  try {
    const kh = await KnownHosts.load(join(dir, 'a', 'b', 'known_hosts'));
    kh.add('example.com', 22, generatePrivateKey('ed25519').publicKey);
    await kh.save();
    assert.equal((await stat(join(dir, 'a', 'b'))).mode & 0o777, 0o700);
    assert.match(await readFile(join(dir, 'a', 'b', 'known_hosts'), 'utf8'), /^example\.com ssh-ed25519 /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
