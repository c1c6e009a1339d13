/**
 * The client's forwardRemote against the secsh Server's tcpip-forward / streamlocal-forward (the
 * OpenSSH proof is test/interop/forward-remote.test.ts): the server's listener reaches the client's
 * local target, byte-identical, and close() takes the listener away.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { ListenError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';

async function setup(allow: boolean) {
  const hostKey = generatePrivateKey('ed25519');
  const server = new Server({
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'pw',
    forwarding: { allowTcp: allow ? 'remote' : false, allowStreamLocal: allow ? 'remote' : false },
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'pw',
    hostKeyFingerprint: hostKey.publicKey.fingerprint(),
  });
  return {
    client,
    done: async () => {
      await client.close();
      await server.close();
    },
  };
}

function echo(path?: string): Promise<NetServer> {
  const s = createServer({ allowHalfOpen: true }, (c: Socket) => c.pipe(c));
  return new Promise((r) => (path ? s.listen(path, () => r(s)) : s.listen(0, '127.0.0.1', () => r(s))));
}

function roundTrip(target: { port: number } | { path: string }, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = 'port' in target ? connect(target.port, '127.0.0.1') : connect(target.path);
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', () => resolve(Buffer.concat(got)));
    s.on('error', reject);
    s.end(data);
  });
}

test('forwardRemote against the secsh server: port 0 allocated, connections carried byte-identical, close() stops the listener', async () => {
  const { client, done } = await setup(true);
  const target = await echo();
  try {
    const fwd = await client.forwardRemote({
      bindHost: '127.0.0.1',
      bindPort: 0,
      host: '127.0.0.1',
      port: (target.address() as { port: number }).port,
    });
    const port = (fwd.address as { port: number }).port;
    assert.ok(port > 0);
    const datas = [randomBytes(1 << 20), randomBytes(10), randomBytes(70_000)];
    const back = await Promise.all(datas.map((d) => roundTrip({ port }, d)));
    for (const [i, b] of back.entries()) assert.ok(b.equals(datas[i] as Buffer), `connection ${i} byte-identical`);
    assert.equal(fwd.stats.accepted, 3);
    await fwd.close();
    await assert.rejects(roundTrip({ port }, Buffer.from('x')), { code: 'ECONNREFUSED' });
  } finally {
    target.close();
    await done();
  }
});

test('forwardRemote of a Unix socket against the secsh server, and a refusal by its policy as a ListenError', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-e2e-fwd-remote-'));
  const { client, done } = await setup(true);
  const target = await echo(join(dir, 'target.sock'));
  try {
    const bindPath = join(dir, 'remote.sock');
    const fwd = await client.forwardRemote({ bindPath, path: join(dir, 'target.sock') });
    const data = randomBytes(300_000);
    assert.ok((await roundTrip({ path: bindPath }, data)).equals(data));
    await fwd.close();
  } finally {
    target.close();
    await done();
  }
  const refused = await setup(false);
  try {
    await assert.rejects(
      refused.client.forwardRemote({ bindPort: 0, host: '127.0.0.1', port: 1 }),
      (e: unknown) => e instanceof ListenError,
    );
  } finally {
    await refused.done();
    await rm(dir, { recursive: true, force: true });
  }
});
