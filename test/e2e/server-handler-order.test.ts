/**
 * Several 'session' handlers on one Server: each request reaches every listener, a reject() only
 * declines it for that listener, the first accept() takes it, and it is refused once all declined;
 * a catch-all (fallback) takes what no listener accepted — so localProcessHandler and
 * sftpSubsystemHandler work in either order.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { SshError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import type { ExecRequest, Session, SubsystemRequest } from '../../src/server/session.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { sftpSubsystemHandler } from '../../src/sftp/server.js';

async function withServer(
  register: (server: Server, root: string) => void,
  body: (client: Client, root: string) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-handler-order-'));
  const root = join(dir, 'root');
  await mkdir(root);
  const server = new Server({ hostKeys: [generatePrivateKey('ed25519')], authenticate: () => true });
  register(server, root);
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'p',
    insecureAcceptAnyHostKey: true,
  });
  try {
    await body(client, root);
  } finally {
    client.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function sftpAndExecWork(client: Client, root: string): Promise<void> {
  await writeFile(join(root, 'hello.txt'), 'hi\n');
  const sftp = await client.sftp();
  assert.equal((await sftp.readFile('/hello.txt')).toString(), 'hi\n');
  sftp.end();
  const r = await client.exec('echo ran');
  assert.equal(r.stdout, 'ran\n');
  assert.equal(r.code, 0);
  await assert.rejects(client.subsystem('no-such-subsystem'), SshError);
}

test('localProcessHandler added before sftpSubsystemHandler (the README order): sftp and exec both work', async () => {
  await withServer((server, root) => {
    server.on('session', localProcessHandler());
    server.on('session', sftpSubsystemHandler(new LocalFsBackend(root)));
  }, sftpAndExecWork);
});

test('sftpSubsystemHandler added before localProcessHandler: sftp and exec both work', async () => {
  await withServer((server, root) => {
    server.on('session', sftpSubsystemHandler(new LocalFsBackend(root)));
    server.on('session', localProcessHandler());
  }, sftpAndExecWork);
});

test('a listener that only observes (never answers) does not stop the catch-all; an accept added after the catch-all wins over it; a second acceptor gets false', async () => {
  const seen: string[] = [];
  const second: boolean[] = [];
  await withServer(
    (server) => {
      server.on('session', (s: Session) => s.on('exec', (req: ExecRequest) => seen.push(req.command)));
      server.on('session', localProcessHandler());
      server.on('session', (s: Session) =>
        s.on('exec', (req: ExecRequest) => {
          if (req.command !== 'mine' || !req.accept()) return;
          s.channel.end('served by the specific handler\n');
          s.exit(0);
        }),
      );
      server.on('session', (s: Session) =>
        s.on('exec', (req: ExecRequest) => {
          if (req.command === 'mine') second.push(req.accept());
        }),
      );
    },
    async (client) => {
      const r = await client.exec('echo one');
      assert.equal(r.stdout, 'one\n');
      const mine = await client.exec('mine');
      assert.equal(mine.stdout, 'served by the specific handler\n');
      assert.deepEqual(seen, ['echo one', 'mine']);
      assert.deepEqual(second, [false]);
    },
  );
});

test('a subsystem every listener declines is refused; one declined by the first and accepted asynchronously by the second works', async () => {
  await withServer(
    (server) => {
      server.on('session', (s: Session) => s.on('subsystem', (req: SubsystemRequest) => req.reject()));
      server.on('session', (s: Session) =>
        s.on('subsystem', (req: SubsystemRequest) => {
          if (req.name !== 'late') return req.reject();
          setTimeout(() => {
            if (!req.accept()) return;
            s.channel.end('late answer\n');
            s.exit(0);
          }, 20);
        }),
      );
    },
    async (client) => {
      await assert.rejects(client.subsystem('nobody'), SshError);
      const ch = await client.subsystem('late');
      const chunks: Buffer[] = [];
      for await (const c of ch) chunks.push(c as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), 'late answer\n');
    },
  );
});
