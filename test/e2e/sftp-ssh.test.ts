/** secsh SFTP client against the secsh server's sftp subsystem, over a real SSH connection. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';
import type { SftpBackendFile } from '../../src/sftp/backend.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { sftpSubsystemHandler } from '../../src/sftp/server.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A secsh Server (password auth, any password) serving SFTP from a fresh temporary root. */
async function sftpServer(prefix: string, rekeyLimit?: { bytes: number }) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const root = join(dir, 'root');
  await mkdir(root);
  const server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: () => true,
    authMethods: ['password'],
    ...(rekeyLimit ? { rekeyLimit } : {}),
  });
  server.on('session', sftpSubsystemHandler(new LocalFsBackend(root)));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { dir, root, server, port };
}

test('Client.sftp() against Server + sftpSubsystemHandler: transfers of every boundary size, ops, close', async () => {
  const { dir, root, server, port } = await sftpServer('secsh-sftp-e2e-');
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

test('concurrent downloads on two connections share the server reply-buffer pool, exact with replies queued and rekeys', async () => {
  const { dir, root, server, port } = await sftpServer('secsh-sftp-e2e-pool-', { bytes: 3 * 1024 * 1024 });
  const files = [randomBytes(12 * 1024 * 1024 + 13), randomBytes(9 * 1024 * 1024 + 1)];
  for (const [i, d] of files.entries()) writeFileSync(join(root, `big${i}`), d);
  // 64 READs of 255 KiB in flight outrun the 4 MiB window: replies wait queued in the server's
  // channel while later READs are served, so a buffer reused too early would show in the bytes.
  const clients = await Promise.all(
    files.map(() =>
      Client.connect({ host: '127.0.0.1', port, username: 'u', password: 'p', insecureAcceptAnyHostKey: true }),
    ),
  );
  try {
    await Promise.all(
      files.map(async (d, i) => {
        const c = clients[i] as Client;
        const sftp = await c.sftp();
        for (let round = 0; round < 2; round++) {
          const dst = join(dir, `out${i}-${round}`);
          const t = sftp.download(`/big${i}`, dst, { concurrency: 64 });
          if (round === 1) await c.rekey();
          await t;
          assert.equal(sha(readFileSync(dst)), sha(d), `file ${i} round ${round}`);
        }
        sftp.end();
      }),
    );
  } finally {
    for (const c of clients) c.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a backend's readInto that reports bytes it did not fill sends zeros, never another session's data", {
  timeout: 60_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-sftp-e2e-lying-'));
  const root = join(dir, 'root');
  await mkdir(root);
  const secret = Buffer.alloc(2 * 1024 * 1024, 0xa5);
  writeFileSync(join(root, 'secret.bin'), secret);
  /** Files whose readInto claims the bytes up to the end of the file and writes nothing. */
  class Lying extends LocalFsBackend {
    override async open(...args: Parameters<LocalFsBackend['open']>): Promise<SftpBackendFile> {
      const f = await super.open(...args);
      return {
        read: (o, l) => f.read(o, l),
        readInto: async (target, offset) => Math.max(0, Math.min(target.length, secret.length - offset)),
        write: (o, d) => f.write(o, d),
        stat: () => f.stat(),
        setstat: (a) => f.setstat(a),
        close: () => f.close(),
      };
    }
  }
  const server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: () => true,
    authMethods: ['password'],
  });
  server.on(
    'session',
    sftpSubsystemHandler((session) => (session.username === 'liar' ? new Lying(root) : new LocalFsBackend(root))),
  );
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const connect = (username: string) =>
    Client.connect({ host: '127.0.0.1', port, username, password: 'p', insecureAcceptAnyHostKey: true });
  const [honest, liar] = await Promise.all([connect('honest'), connect('liar')]);
  try {
    // The honest session fills the server's reply-buffer pool with the secret's bytes first.
    const a = await honest.sftp();
    assert.ok((await a.readFile('/secret.bin')).equals(secret));
    const b = await liar.sftp();
    const got = await b.readFile('/secret.bin');
    assert.equal(got.length, secret.length);
    assert.equal(got.indexOf(0xa5), -1, "no byte of the other session reached the lying backend's replies");
    a.end();
    b.end();
  } finally {
    honest.close();
    liar.close();
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
