/**
 * The server's forwarding (`ServerOptions.forwarding`) driven by a secsh Client: 1,000 direct-tcpip
 * connections (100 at a time) byte-identical with every count back to zero; remote forwards with
 * their listeners and socket files gone on cancel and on disconnect; and hostile requests (malformed
 * data, cancels of nothing, forwarded-* opens from the client, the listener cap, binds the policy
 * forbids, stale sockets) refused cleanly with the connection still working.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import type { Channel } from '../../src/connection/index.js';
import { encodeTcpipOpen } from '../../src/connection/index.js';
import { ChannelOpenError, ChannelOpenFailure } from '../../src/errors.js';
import type { ServerForwardingOptions } from '../../src/forward/policy.js';
import { serverForwardStats } from '../../src/forward/server-forwarding.js';
import { generatePrivateKey, issueCertificate } from '../../src/keys/index.js';
import type { ServerConnection } from '../../src/server/server.js';
import { Server } from '../../src/server/server.js';
import { SshWriter } from '../../src/wire/index.js';
import { echoServer, roundTrip } from '../interop/server-forward-helpers.js';

let dir = '';
let echo: Awaited<ReturnType<typeof echoServer>> | undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-e2e-server-forward-'));
  echo = await echoServer();
});

after(async () => {
  await echo?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Setup {
  server: Server;
  port: number;
  client: Client;
  conn: ServerConnection;
  done(): Promise<void>;
}

async function setup(forwarding: ServerForwardingOptions | undefined, maxChannels = 64): Promise<Setup> {
  const hostKey = generatePrivateKey('ed25519');
  const server = new Server({
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'pw',
    maxChannels,
    ...(forwarding ? { forwarding } : {}),
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
  return {
    server,
    port,
    client,
    conn,
    done: async () => {
      await client.close();
      await server.close();
    },
  };
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function fdCount(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

function tcpip(host: string, port: number): Buffer {
  return new SshWriter().string(host).uint32(port).toBuffer();
}

function path(p: string): Buffer {
  return new SshWriter().string(p).toBuffer();
}

/** Writes `data` into the channel, ends it, and resolves with everything read back. */
function channelRoundTrip(ch: Channel, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    ch.on('data', (c: Buffer) => got.push(c));
    ch.once('end', () => resolve(Buffer.concat(got)));
    ch.once('error', reject);
    ch.end(data);
  });
}

async function openRefusal(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ChannelOpenError, `expected a ChannelOpenError, got ${String(e)}`);
    return e.reasonCode;
  }
  assert.fail('the open succeeded');
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s: NetServer = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

test('1,000 direct-tcpip connections, 100 at a time, are byte-identical and every count returns to baseline', async () => {
  const fdsBefore = await fdCount();
  const s = await setup({ allowTcp: true }, 256);
  try {
    const stats = serverForwardStats(s.conn.connection);
    assert.ok(stats);
    let next = 0;
    let ok = 0;
    const worker = async (): Promise<void> => {
      while (next < 1000) {
        next++;
        const data = randomBytes(1024 + Math.floor(Math.random() * 32 * 1024));
        const ch = await s.client.forwardOut('127.0.0.1', echo?.port as number);
        const back = await channelRoundTrip(ch, data);
        assert.ok(back.equals(data), 'bytes differ');
        ok++;
      }
    };
    await Promise.all(Array.from({ length: 100 }, worker));
    assert.equal(ok, 1000);
    await until(() => stats.open === 0, 'the forwarded connections to be counted closed');
    await until(() => s.conn.connection.stats.channels === 0, 'every channel released');
    assert.equal(stats.refused, 0);
  } finally {
    await s.done();
  }
  await until(async () => (await fdCount()) <= fdsBefore + 2, `descriptors back to ${fdsBefore}`);
});

test('without the forwarding option nothing is served: direct-tcpip is refused and tcpip-forward fails, as before', async () => {
  const s = await setup(undefined);
  try {
    const code = await openRefusal(s.client.forwardOut('127.0.0.1', echo?.port as number));
    assert.equal(code, ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED);
    assert.equal(await s.client.connection.globalRequest('tcpip-forward', tcpip('127.0.0.1', 0)), false);
    assert.equal(serverForwardStats(s.conn.connection), undefined);
  } finally {
    await s.done();
  }
});

test('direct-tcpip to a closed port fails CONNECT_FAILED; a refused destination ADMINISTRATIVELY_PROHIBITED', async () => {
  const s = await setup({ allowTcp: true, permitOpen: [`127.0.0.1:${echo?.port}`] });
  try {
    const closed = await new Promise<number>((resolve) => {
      const t = createServer().listen(0, '127.0.0.1', () => {
        const a = t.address();
        t.close(() => resolve(a && typeof a === 'object' ? a.port : 0));
      });
    });
    const s2 = await setup({ allowTcp: true });
    try {
      assert.equal(await openRefusal(s2.client.forwardOut('127.0.0.1', closed)), ChannelOpenFailure.CONNECT_FAILED);
    } finally {
      await s2.done();
    }
    assert.equal(
      await openRefusal(s.client.forwardOut('127.0.0.1', closed)),
      ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED,
    );
    const ch = await s.client.forwardOut('127.0.0.1', echo?.port as number);
    assert.equal((await channelRoundTrip(ch, Buffer.from('still fine'))).toString(), 'still fine');
  } finally {
    await s.done();
  }
});

test('a remote forward with port 0: the allocated port is answered, reaches the client, and is closed on cancel', async () => {
  const s = await setup({ allowTcp: true });
  try {
    const stats = serverForwardStats(s.conn.connection);
    const fwd = await s.client.forwardRemote({
      bindHost: '127.0.0.1',
      bindPort: 0,
      host: '127.0.0.1',
      port: echo?.port as number,
    });
    assert.ok('port' in fwd.address && fwd.address.port > 0);
    const port = fwd.address.port;
    assert.equal(stats?.listeners, 1);
    const data = randomBytes(100_000);
    assert.ok((await roundTrip({ port, host: '127.0.0.1' }, data)).equals(data));
    await fwd.close();
    await until(() => stats?.listeners === 0, 'the listener to be cancelled');
    await until(() => portIsFree(port), 'the port to be free again');
  } finally {
    await s.done();
  }
});

test('listeners and socket files of remote forwards are gone when the connection ends; the socket mode follows StreamLocalBindMask', async () => {
  const s = await setup({ allowTcp: true, allowStreamLocal: true });
  const sock = join(dir, 'remote.sock');
  let port = 0;
  try {
    const r = await s.client.connection.globalRequest('tcpip-forward', tcpip('localhost', 0));
    assert.ok(Buffer.isBuffer(r) && r.length === 4);
    port = r.readUInt32BE(0);
    assert.equal(await s.client.connection.globalRequest('streamlocal-forward@openssh.com', path(sock)), true);
    const st = await stat(sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600, 'StreamLocalBindMask 0177 leaves 0600');
    assert.equal(serverForwardStats(s.conn.connection)?.listeners, 2);
  } finally {
    await s.done();
  }
  await until(() => portIsFree(port), 'the TCP listener to close');
  await until(
    () =>
      lstat(sock).then(
        () => false,
        () => true,
      ),
    'the socket file to be removed',
  );
});

test('hostile forward requests are refused and the connection keeps working', async () => {
  const s = await setup({ allowTcp: true, allowStreamLocal: true, maxListeners: 2 });
  const g = (name: string, data: Buffer) => s.client.connection.globalRequest(name, data);
  try {
    // Malformed: short, trailing bytes, a port past 65535, an empty path.
    assert.equal(await g('tcpip-forward', Buffer.from([0, 0, 0])), false);
    assert.equal(await g('tcpip-forward', Buffer.concat([tcpip('127.0.0.1', 0), Buffer.from([1])])), false);
    assert.equal(await g('tcpip-forward', tcpip('127.0.0.1', 70000)), false);
    assert.equal(await g('streamlocal-forward@openssh.com', path('')), false);
    assert.equal(await g('cancel-tcpip-forward', Buffer.alloc(0)), false);
    // Cancels of what was never forwarded.
    assert.equal(await g('cancel-tcpip-forward', tcpip('127.0.0.1', 4242)), false);
    assert.equal(await g('cancel-streamlocal-forward@openssh.com', path(join(dir, 'never.sock'))), false);
    // forwarded-* channels are the server's to open.
    const fwdOpen = s.client.connection.openChannel(
      'forwarded-tcpip',
      encodeTcpipOpen({ host: '127.0.0.1', port: 1, originHost: '127.0.0.1', originPort: 2 }),
    );
    assert.equal(await openRefusal(fwdOpen), ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED);
    const fwdUnix = s.client.connection.openChannel('forwarded-streamlocal@openssh.com', path('/x'));
    assert.equal(await openRefusal(fwdUnix), ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED);
    // Malformed direct opens.
    const bad = s.client.connection.openChannel('direct-tcpip', Buffer.from([0, 0, 0, 9, 1]));
    assert.equal(await openRefusal(bad), ChannelOpenFailure.CONNECT_FAILED);
    const emptyHost = s.client.connection.openChannel(
      'direct-tcpip',
      encodeTcpipOpen({ host: '', port: echo?.port as number, originHost: '127.0.0.1', originPort: 1 }),
    );
    assert.equal(await openRefusal(emptyHost), ChannelOpenFailure.CONNECT_FAILED, 'an empty host is not localhost');
    const badUnix = s.client.connection.openChannel('direct-streamlocal@openssh.com', Buffer.alloc(2));
    assert.equal(await openRefusal(badUnix), ChannelOpenFailure.CONNECT_FAILED);
    // The cap: two listeners, the third refused; a cancel makes room.
    const a = await g('tcpip-forward', tcpip('127.0.0.1', 0));
    const b = await g('tcpip-forward', tcpip('127.0.0.1', 0));
    assert.ok(Buffer.isBuffer(a) && Buffer.isBuffer(b));
    assert.equal(await g('tcpip-forward', tcpip('127.0.0.1', 0)), false);
    assert.equal(await g('cancel-tcpip-forward', tcpip('127.0.0.1', a.readUInt32BE(0))), true);
    assert.ok(Buffer.isBuffer(await g('tcpip-forward', tcpip('127.0.0.1', 0))));
    const stats = serverForwardStats(s.conn.connection);
    assert.equal(stats?.listeners, 2);
    assert.ok((stats?.refused ?? 0) >= 10);
    // Still serving.
    const ch = await s.client.forwardOut('127.0.0.1', echo?.port as number);
    assert.equal((await channelRoundTrip(ch, Buffer.from('alive'))).toString(), 'alive');
  } finally {
    await s.done();
  }
});

test('a forwarded connection the client refuses is closed, and the listener lives on', async () => {
  const s = await setup({ allowTcp: true });
  try {
    // A raw tcpip-forward: the client has no forward to match what comes back, so it refuses.
    const r = await s.client.connection.globalRequest('tcpip-forward', tcpip('127.0.0.1', 0));
    assert.ok(Buffer.isBuffer(r));
    const port = r.readUInt32BE(0);
    const stats = serverForwardStats(s.conn.connection);
    for (let i = 0; i < 3; i++) {
      const back = await roundTrip({ port, host: '127.0.0.1' }, Buffer.from('refused')).catch(
        (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? Buffer.alloc(0) : Promise.reject(e)),
      );
      assert.equal(back.length, 0);
    }
    await until(() => stats?.refused === 3, 'three refusals counted');
    assert.equal(stats?.listeners, 1);
    assert.equal(stats?.open, 0);
    assert.equal(s.conn.connection.stats.channels, 0);
  } finally {
    await s.done();
  }
});

test('a bind the policy forbids is refused before any socket exists', async () => {
  const seen: string[] = [];
  const port = await new Promise<number>((resolve) => {
    const t = createServer().listen(0, '127.0.0.1', () => {
      const a = t.address();
      t.close(() => resolve(a && typeof a === 'object' ? a.port : 0));
    });
  });
  const s = await setup({
    permitListen: [`localhost:${port}`],
    policy: async (req) => {
      if (req.kind === 'tcpip-forward') {
        seen.push(`${req.bindHost}:${req.bindPort}`);
        // The policy runs before the bind: the port must still be free here.
        assert.equal(await portIsFree(req.bindPort), true);
      }
      return req.kind === 'tcpip-forward' && req.bindHost === 'localhost';
    },
  });
  try {
    // PermitListen refuses 127.0.0.1 before the policy is asked; the policy refuses nothing else here.
    assert.equal(await s.client.connection.globalRequest('tcpip-forward', tcpip('127.0.0.1', port)), false);
    assert.deepEqual(seen, []);
    assert.equal(await s.client.connection.globalRequest('tcpip-forward', tcpip('localhost', port)), true);
    assert.deepEqual(seen, [`localhost:${port}`]);
    assert.equal(await portIsFree(port), false);
  } finally {
    await s.done();
  }
});

test('StreamLocalBindUnlink: a stale socket file blocks the forward unless unlinking is on; a regular file is never removed', async () => {
  const stale = join(dir, 'stale.sock');
  // A socket file left behind by a process that bound it and died (Node removes its own on close).
  await new Promise<void>((resolve, reject) =>
    execFile(
      '/usr/bin/python3',
      ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', stale],
      (e) => (e ? reject(e) : resolve()),
    ),
  );
  assert.ok((await lstat(stale)).isSocket());
  const regular = join(dir, 'regular-file');
  await writeFile(regular, 'keep me');
  const keep = await setup({ allowStreamLocal: true });
  try {
    assert.equal(await keep.client.connection.globalRequest('streamlocal-forward@openssh.com', path(stale)), false);
  } finally {
    await keep.done();
  }
  const unlink = await setup({ allowStreamLocal: true, streamLocalBindUnlink: true });
  try {
    assert.equal(await unlink.client.connection.globalRequest('streamlocal-forward@openssh.com', path(stale)), true);
    const c = connect(stale);
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => {
        c.destroy();
        resolve();
      });
      c.once('error', reject);
    });
    assert.equal(await unlink.client.connection.globalRequest('streamlocal-forward@openssh.com', path(regular)), false);
    assert.equal(await readFile(regular, 'utf8'), 'keep me');
  } finally {
    await unlink.done();
  }
});

test('a user certificate without permit-port-forwarding refuses every forward; with it the policy sees the certificate', async () => {
  const hostKey = generatePrivateKey('ed25519');
  const ca = generatePrivateKey('ed25519');
  const userKey = generatePrivateKey('ed25519');
  const certs: string[] = [];
  const server = new Server({
    hostKeys: [hostKey],
    authMethods: ['publickey'],
    trustedUserCAKeys: [ca.publicKey],
    authenticate: (ctx) => ctx.certificate !== undefined,
    forwarding: {
      allowTcp: true,
      allowStreamLocal: true,
      policy: (req) => {
        certs.push(req.certificate?.keyId ?? 'none');
        return true;
      },
    },
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const login = async (extensions: Record<string, string>) => {
    const cert = await issueCertificate(ca, userKey.publicKey, {
      type: 'user',
      keyId: Object.keys(extensions).join(',') || 'bare',
      principals: ['alice'],
      extensions,
    });
    return Client.connect({
      host: '127.0.0.1',
      port,
      username: 'alice',
      privateKey: userKey,
      certificate: cert.toString(),
      hostKeyFingerprint: hostKey.publicKey.fingerprint(),
    });
  };
  try {
    const bare = await login({ 'permit-pty': '' });
    try {
      assert.equal(
        await openRefusal(bare.forwardOut('127.0.0.1', echo?.port as number)),
        ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED,
      );
      assert.equal(await bare.connection.globalRequest('tcpip-forward', tcpip('127.0.0.1', 0)), false);
      const sock = join(dir, 'cert.sock');
      assert.equal(await bare.connection.globalRequest('streamlocal-forward@openssh.com', path(sock)), false);
      await assert.rejects(lstat(sock));
    } finally {
      await bare.close();
    }
    assert.deepEqual(certs, [], 'refused before the policy');
    const permitted = await login({ 'permit-port-forwarding': '' });
    try {
      const ch = await permitted.forwardOut('127.0.0.1', echo?.port as number);
      assert.equal((await channelRoundTrip(ch, Buffer.from('cert ok'))).toString(), 'cert ok');
      assert.ok(Buffer.isBuffer(await permitted.connection.globalRequest('tcpip-forward', tcpip('127.0.0.1', 0))));
    } finally {
      await permitted.close();
    }
    assert.deepEqual(certs, ['permit-port-forwarding', 'permit-port-forwarding']);
  } finally {
    await server.close();
  }
});

test('a policy that accepts with restrictions: permitopen and permitlisten narrow the forwards, the auth event says accepted', async () => {
  const hostKey = generatePrivateKey('ed25519');
  const results: string[] = [];
  const server = new Server({
    hostKeys: [hostKey],
    authenticate: (ctx) =>
      ctx.method === 'password' && ctx.password === 'pw'
        ? {
            accept: true,
            restrict: { pty: false, permitOpen: [`127.0.0.1:${echo?.port}`], permitListen: ['localhost:*'] },
          }
        : false,
    forwarding: { allowTcp: true, allowStreamLocal: true },
  });
  server.on('auth', (a: { result: string }) => results.push(a.result));
  const connected = new Promise<ServerConnection>((r) => server.once('connection', r));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'pw',
    hostKeyFingerprint: hostKey.publicKey.fingerprint(),
  });
  try {
    const conn = await connected;
    assert.equal(conn.permissions?.pty, false);
    assert.equal(conn.permissions?.portForwarding, true);
    assert.deepEqual(conn.permissions?.permitOpen, [`127.0.0.1:${echo?.port}`]);
    const ch = await client.forwardOut('127.0.0.1', echo?.port as number);
    assert.equal((await channelRoundTrip(ch, Buffer.from('listed'))).toString(), 'listed');
    assert.equal(
      await openRefusal(client.forwardOut('localhost', echo?.port as number)),
      ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED,
    );
    assert.equal(
      await openRefusal(client.connection.openChannel('direct-streamlocal@openssh.com', path('/tmp/x.sock'))),
      ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED,
    );
    assert.equal(await client.connection.globalRequest('tcpip-forward', tcpip('127.0.0.1', 0)), false);
    assert.ok(Buffer.isBuffer(await client.connection.globalRequest('tcpip-forward', tcpip('localhost', 0))));
    assert.ok(results.includes('accepted'));
  } finally {
    await client.close();
    await server.close();
  }
});
