/**
 * Hostile uses of the server's forwarding, driven by a secsh Client: a client-sent XAUTHORITY must not
 * steer where xauth writes; concurrent remote forwards of one address must not leak listeners; Unix
 * socket paths too long for sun_path are refused before anything touches the file system; a forwarded
 * socket gets the bind mask's mode.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Client } from '../../src/client/client.js';
import type { Connection } from '../../src/connection/index.js';
import type { ServerForwardingOptions } from '../../src/forward/policy.js';
import { serverForwardStats } from '../../src/forward/server-forwarding.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import type { ServerConnection, ServerOptions } from '../../src/server/server.js';
import { Server } from '../../src/server/server.js';
import { SshWriter } from '../../src/wire/index.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-e2e-sfh-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hostKey = generatePrivateKey('ed25519');

async function start(
  opts: Partial<ServerOptions>,
  forwarding?: ServerForwardingOptions,
): Promise<{ server: Server; client: Client; conn: ServerConnection; raw: Connection }> {
  const server = new Server({
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'pw',
    ...(forwarding ? { forwarding } : {}),
    ...opts,
  });
  const connected = new Promise<ServerConnection>((r) => server.once('connection', r));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'pw',
    hostKeyFingerprint: hostKey.publicKey.fingerprint(),
  });
  const conn = await connected;
  const raw = (client as unknown as { connection: Connection }).connection;
  return { server, client, conn, raw };
}

for (const acceptAll of [false, true]) {
  test(`a forced-command login sending env XAUTHORITY=<path> and x11-req makes xauth write nothing there (acceptEnv ${acceptAll ? 'allowing every name' : 'default'})`, async (t) => {
    if (!existsSync('/usr/bin/xauth')) return t.skip('no /usr/bin/xauth');
    const target = join(dir, `xauth-target-${acceptAll}`);
    const server = new Server({
      hostKeys: [hostKey],
      authenticate: (ctx) =>
        ctx.method === 'password' && ctx.password === 'pw'
          ? { accept: true, restrict: { forceCommand: 'true' } }
          : false,
      ...(acceptAll ? { acceptEnv: () => true } : {}),
    });
    server.on(
      'session',
      localProcessHandler({ x11Forwarding: true, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } }),
    );
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    const client = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      password: 'pw',
      hostKeyFingerprint: hostKey.publicKey.fingerprint(),
    });
    try {
      const r = await client.exec('ignored', { env: { XAUTHORITY: target }, x11: { display: ':77' } });
      assert.equal(r.code, 0);
      assert.equal(existsSync(target), false, 'xauth wrote the file the client named');
    } finally {
      await client.close();
      await server.close();
    }
  });
}

function stats(conn: ServerConnection): { listeners: number } {
  const c = conn.connection;
  assert.ok(c);
  const st = serverForwardStats(c);
  assert.ok(st);
  return st;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const a = srv.address();
  await new Promise((r) => srv.close(r));
  return typeof a === 'object' && a ? a.port : 0;
}

async function fdCount(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

for (const kind of ['streamlocal', 'tcpip'] as const) {
  test(`20 concurrent pairs of ${kind}-forward for one address: one of each pair wins, and after the client goes listeners are 0 and fds back to baseline`, async () => {
    const base = await fdCount();
    const { server, client, conn, raw } = await start(
      {},
      {
        allowStreamLocal: true,
        allowTcp: true,
        streamLocalBindUnlink: true,
        maxListeners: 4,
      },
    );
    try {
      for (let i = 0; i < 20; i++) {
        const p =
          kind === 'streamlocal'
            ? new SshWriter().string(join(dir, `race${i}`)).toBuffer()
            : new SshWriter()
                .string('127.0.0.1')
                .uint32(await freePort())
                .toBuffer();
        const name = kind === 'streamlocal' ? 'streamlocal-forward@openssh.com' : 'tcpip-forward';
        const cancel = kind === 'streamlocal' ? 'cancel-streamlocal-forward@openssh.com' : 'cancel-tcpip-forward';
        const results = await Promise.all([raw.globalRequest(name, p), raw.globalRequest(name, p)]);
        assert.equal(results.filter((r) => r !== false).length, 1, `pair ${i}: ${JSON.stringify(results)}`);
        assert.notEqual(await raw.globalRequest(cancel, p), false);
      }
      assert.equal(stats(conn).listeners, 0);
    } finally {
      await client.close();
    }
    const deadline = Date.now() + 3000;
    while (stats(conn).listeners !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(stats(conn).listeners, 0);
    await server.close();
    await new Promise((r) => setTimeout(r, 100));
    assert.ok((await fdCount()) <= base, `fds ${await fdCount()} > baseline ${base}`);
  });
}

test('a streamlocal-forward or direct-streamlocal path of 108 bytes or more is refused and nothing is bound at its truncation', async () => {
  const { server, client, conn, raw } = await start({}, { allowStreamLocal: true });
  const long = join(dir, 'L'.repeat(150 - dir.length - 1));
  assert.equal(Buffer.byteLength(long), 150);
  const truncated = long.slice(0, 107);
  // A socket at the truncated path, which a silently truncated connect would reach.
  const decoy = createServer((s) => s.end('decoy'));
  const boundary = join(dir, 'b'.repeat(108 - dir.length - 1));
  try {
    assert.equal(
      await raw.globalRequest('streamlocal-forward@openssh.com', new SshWriter().string(long).toBuffer()),
      false,
    );
    assert.equal(
      await raw.globalRequest('streamlocal-forward@openssh.com', new SshWriter().string(boundary).toBuffer()),
      false,
    );
    assert.equal(existsSync(truncated), false);
    assert.equal(existsSync(boundary.slice(0, 107)), false);
    assert.equal(stats(conn).listeners, 0);
    await new Promise<void>((r) => decoy.listen(truncated, r));
    await assert.rejects(
      raw.openChannel('direct-streamlocal@openssh.com', new SshWriter().string(long).string('').uint32(0).toBuffer()),
    );
    // 107 bytes fit.
    const fits = join(dir, 'f'.repeat(107 - dir.length - 1));
    assert.notEqual(
      await raw.globalRequest('streamlocal-forward@openssh.com', new SshWriter().string(fits).toBuffer()),
      false,
    );
    assert.ok((await stat(fits)).isSocket());
  } finally {
    decoy.close();
    await client.close();
    await server.close();
  }
});

test('a forwarded Unix socket has mode 0600 under the default bind mask (0177) and 0660 under 0117', async () => {
  for (const [mask, mode] of [
    [undefined, 0o600],
    [0o117, 0o660],
  ] as const) {
    const { server, client, raw } = await start(
      {},
      { allowStreamLocal: true, ...(mask !== undefined ? { streamLocalBindMask: mask } : {}) },
    );
    try {
      const p = join(dir, `mode-${mode.toString(8)}`);
      assert.notEqual(
        await raw.globalRequest('streamlocal-forward@openssh.com', new SshWriter().string(p).toBuffer()),
        false,
      );
      const st = await stat(p);
      assert.ok(st.isSocket());
      assert.equal(st.mode & 0o777, mode);
      // No temporary name is left beside it.
      assert.deepEqual(
        (await readdir(dir)).filter((n) => n.startsWith('.secsh-')),
        [],
      );
    } finally {
      await client.close();
      await server.close();
    }
  }
});

test('a listener whose path another connection took over (StreamLocalBindUnlink) does not delete the new socket when it closes', async () => {
  const a = await start({}, { allowStreamLocal: true, streamLocalBindUnlink: true });
  const b = await start({}, { allowStreamLocal: true, streamLocalBindUnlink: true });
  const p = join(dir, 'takeover');
  const req = new SshWriter().string(p).toBuffer();
  try {
    assert.notEqual(await a.raw.globalRequest('streamlocal-forward@openssh.com', req), false);
    const inoA = (await stat(p)).ino;
    assert.notEqual(await b.raw.globalRequest('streamlocal-forward@openssh.com', req), false);
    const inoB = (await stat(p)).ino;
    assert.notEqual(inoA, inoB);
    assert.notEqual(await a.raw.globalRequest('cancel-streamlocal-forward@openssh.com', req), false);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(existsSync(p) ? (await stat(p)).ino : undefined, inoB, "B's socket was removed by A's close");
    assert.notEqual(await b.raw.globalRequest('cancel-streamlocal-forward@openssh.com', req), false);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(existsSync(p), false);
  } finally {
    await a.client.close();
    await b.client.close();
    await a.server.close();
    await b.server.close();
  }
});

test('in a worker thread (where process.umask cannot be set) a forwarded Unix socket still gets mode 0600', async () => {
  const root = new URL('../../', import.meta.url);
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { register } = await import(workerData.tsxApi);
      register();
      const { Server } = await import(new URL('src/server/server.ts', workerData.rootUrl).href);
      const { generatePrivateKey } = await import(new URL('src/keys/index.ts', workerData.rootUrl).href);
      const hostKey = generatePrivateKey('ed25519');
      const server = new Server({
        hostKeys: [hostKey],
        authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'pw',
        forwarding: { allowStreamLocal: true },
      });
      const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
      parentPort.postMessage({ port, fingerprint: hostKey.publicKey.fingerprint() });
      parentPort.once('message', () => server.close().then(() => parentPort.postMessage('closed')));
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
  `;
  const worker = new Worker(code, {
    eval: true,
    workerData: { rootUrl: root.href, tsxApi: import.meta.resolve('tsx/esm/api') },
  });
  try {
    const ready = await new Promise<{ port: number; fingerprint: string; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    assert.equal(ready.error, undefined);
    const client = await Client.connect({
      host: '127.0.0.1',
      port: ready.port,
      username: 'u',
      password: 'pw',
      hostKeyFingerprint: ready.fingerprint,
    });
    try {
      const raw = (client as unknown as { connection: Connection }).connection;
      const p = join(dir, 'in-worker');
      assert.notEqual(
        await raw.globalRequest('streamlocal-forward@openssh.com', new SshWriter().string(p).toBuffer()),
        false,
      );
      const st = await stat(p);
      assert.ok(st.isSocket());
      assert.equal((st.mode & 0o777).toString(8), '600');
    } finally {
      await client.close();
    }
    const closed = new Promise((r) => worker.once('message', r));
    worker.postMessage('close');
    await closed;
  } finally {
    await worker.terminate();
  }
});
