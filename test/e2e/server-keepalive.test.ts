/**
 * Server keepalive (sshd's ClientAliveInterval / ClientAliveCountMax): probes a silent client with
 * keepalive@openssh.com, keeps a client that answers, closes one that stops answering or reading.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { TimeoutError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';
import { MSG, SshReader, SshWriter } from '../../src/wire/index.js';
import { runSsh, sshArgs } from '../helpers/openssh.js';
import { requirePeer } from '../helpers/peers.js';
import { keygen } from '../helpers/sshd.js';
import {
  closedWithin,
  type RawClient,
  rawClient,
  requestUserauth,
  skipHostKeysAnnouncement,
  startServer,
} from './server-helpers.js';

const hostKeys = [generatePrivateKey('ed25519')];
const acceptAll = () => true;

/** Completes `none` authentication on a raw client (the server accepts everyone). */
async function authNone(c: RawClient): Promise<void> {
  await requestUserauth(c);
  c.t.send(new SshWriter(64).byte(MSG.USERAUTH_REQUEST).string('u').string('ssh-connection').string('none').toBuffer());
  const p = await c.queue.next();
  assert.equal(p[0], MSG.USERAUTH_SUCCESS);
  await skipHostKeysAnnouncement(c);
}

/** Reads one GLOBAL_REQUEST from the raw client's queue and returns its name and want_reply. */
async function nextGlobal(c: RawClient): Promise<{ name: string; wantReply: boolean }> {
  const p = await c.queue.next();
  assert.equal(p[0], MSG.GLOBAL_REQUEST);
  const r = new SshReader(p);
  r.byte();
  const name = r.string(1024).toString('latin1');
  const wantReply = r.bool();
  r.ensureEnd('GLOBAL_REQUEST');
  return { name, wantReply };
}

test('keepalive options are validated', () => {
  assert.throws(() => new Server({ hostKeys, authenticate: acceptAll, keepaliveInterval: -1 }), /keepaliveInterval/);
  assert.throws(() => new Server({ hostKeys, authenticate: acceptAll, keepaliveInterval: 1.5 }), /keepaliveInterval/);
  assert.throws(() => new Server({ hostKeys, authenticate: acceptAll, keepaliveCountMax: 0 }), /keepaliveCountMax/);
});

test('a silent client that never answers gets countMax probes, then is disconnected', async () => {
  const { server, port } = await startServer({
    hostKeys,
    authenticate: acceptAll,
    keepaliveInterval: 150,
    keepaliveCountMax: 2,
  });
  try {
    const timeouts: Error[] = [];
    server.on('connection', (sc) => sc.on('timeout', (e: Error) => timeouts.push(e)));
    const errors: Error[] = [];
    server.on('client-error', (e: Error) => errors.push(e));
    const c = await rawClient(port);
    await authNone(c);
    const start = Date.now();
    for (let i = 0; i < 2; i++)
      assert.deepEqual(await nextGlobal(c), { name: 'keepalive@openssh.com', wantReply: true });
    // The third tick finds two probes unanswered and closes the connection.
    const closed = await closedWithin(c, 2000);
    assert.notEqual(closed, 'open');
    const elapsed = Date.now() - start;
    assert.ok(elapsed >= 250 && elapsed < 1500, `closed after ${elapsed} ms`);
    assert.equal(timeouts.length, 1);
    assert.ok(timeouts[0] instanceof TimeoutError);
    assert.ok(errors.some((e) => e instanceof TimeoutError));
    assert.equal(server.connectionCount, 0);
  } finally {
    await server.close();
  }
});

test('a client that answers probes (even with REQUEST_FAILURE, like OpenSSH) stays connected', async () => {
  const { server, port } = await startServer({
    hostKeys,
    authenticate: acceptAll,
    keepaliveInterval: 100,
    keepaliveCountMax: 1,
  });
  try {
    const c = await rawClient(port);
    await authNone(c);
    let probes = 0;
    const deadline = Date.now() + 900;
    while (Date.now() < deadline) {
      const got = await Promise.race([
        nextGlobal(c),
        new Promise<'idle'>((r) => setTimeout(() => r('idle'), deadline - Date.now())),
      ]);
      if (got === 'idle') break;
      assert.equal(got.name, 'keepalive@openssh.com');
      probes++;
      c.t.send(Buffer.from([MSG.REQUEST_FAILURE]));
    }
    assert.ok(probes >= 3, `only ${probes} probes in 900 ms`);
    assert.equal(c.t.closed, false);
    assert.equal(server.connectionCount, 1);
    c.t.disconnect();
  } finally {
    await server.close();
  }
});

test('keepalive is off by default: an idle connection gets no probe', async () => {
  const { server, port } = await startServer({ hostKeys, authenticate: acceptAll });
  try {
    const c = await rawClient(port);
    await authNone(c);
    const got = await Promise.race([c.queue.next(), new Promise<'none'>((r) => setTimeout(() => r('none'), 400))]);
    assert.equal(got, 'none');
    assert.equal(c.t.closed, false);
    c.t.disconnect();
  } finally {
    await server.close();
  }
});

test('secsh client: kept while it reads, closed once its socket is paused', async () => {
  const { server, port } = await startServer({
    hostKeys,
    authenticate: acceptAll,
    authMethods: ['password'],
    keepaliveInterval: 100,
    keepaliveCountMax: 2,
  });
  try {
    const sock = connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const client = await Client.connect({ sock, username: 'u', password: 'pw', hostVerifier: () => true });
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(client.closed, false, 'a client that answers must stay connected');
    const r = await client.exec('x');
    assert.equal(r.stdout, 'ran:x');
    // Stop reading: the probes go unanswered and the server gives up after ~3 intervals.
    sock.pause();
    const start = Date.now();
    while (server.connectionCount > 0 && Date.now() - start < 3000) await new Promise((res) => setTimeout(res, 20));
    assert.equal(server.connectionCount, 0);
    const elapsed = Date.now() - start;
    assert.ok(elapsed >= 150 && elapsed < 2000, `closed after ${elapsed} ms`);
    sock.resume();
    await client.close().catch(() => {});
  } finally {
    await server.close();
  }
});

test('OpenSSH ssh answers the probes: a 1.5 s command with 100 ms keepalives completes', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const dir = await mkdtemp(join(tmpdir(), 'secsh-keepalive-'));
  const server = new Server({
    hostKeys,
    authenticate: (ctx) => ctx.method === 'publickey',
    authMethods: ['publickey'],
    keepaliveInterval: 100,
    keepaliveCountMax: 1,
  });
  try {
    const keyPath = join(dir, 'id');
    await keygen(keyPath, ['-t', 'ed25519']);
    const { localProcessHandler } = await import('../../src/server/local.js');
    server.on('session', localProcessHandler());
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    const res = await runSsh(sshArgs({ port, keyPath, user: 'u', logLevel: 'ERROR' }, [], 'sleep 1.5; echo done'));
    assert.equal(res.code, 0);
    assert.equal(res.stdout, 'done\n');
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
