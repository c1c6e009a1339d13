/** secsh SFTP client against the secsh server's sftp subsystem, over a real SSH connection. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../../src/client.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { sftpSubsystemHandler } from '../../src/sftp/server.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('Client.sftp() against Server + sftpSubsystemHandler: transfers of every boundary size, ops, close', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-sftp-e2e-'));
  const root = join(dir, 'root');
  await mkdir(root);
  const server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: () => true,
    authMethods: ['password'],
  });
  server.on('session', sftpSubsystemHandler(new LocalFsBackend(root)));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'p',
    insecureAcceptAnyHostKey: true,
  });
  try {
    const sftp = await client.sftp();
    assert.equal(sftp.readChunk, 261120);
    for (const n of [0, 1, 32767, 32768, 32769, 262143, 262144, 262145, 5 * 1024 * 1024 + 7]) {
      const data = randomBytes(n);
      const src = join(dir, `src${n}`);
      writeFileSync(src, data);
      await sftp.upload(src, `/f${n}`);
      assert.equal(sha(readFileSync(join(root, `f${n}`))), sha(data), `upload ${n}`);
      const dst = join(dir, `dst${n}`);
      await sftp.download(`/f${n}`, dst);
      assert.equal(sha(readFileSync(dst)), sha(data), `download ${n}`);
    }
    await sftp.mkdir('/d/e', { recursive: true });
    await sftp.rename('/f1', '/d/e/one');
    assert.deepEqual(
      (await sftp.readdir('/d/e')).map((e) => e.filename),
      ['one'],
    );
    // Two sessions at once on one connection.
    const second = await client.sftp();
    assert.equal((await second.stat('/d/e/one')).size, 1);
    second.end();
    sftp.end();
  } finally {
    client.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('sftp subsystem refused when no handler serves it', async () => {
  const server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: () => true,
    authMethods: ['password'],
  });
  server.on('session', (s) => s.on('subsystem', (req: { reject(): void }) => req.reject()));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'p',
    insecureAcceptAnyHostKey: true,
  });
  try {
    await assert.rejects(client.sftp());
  } finally {
    client.close();
    await server.close();
  }
});
