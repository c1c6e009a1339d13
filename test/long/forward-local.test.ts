/**
 * `client.forwardLocal` (ssh -L) against a real OpenSSH sshd: 64 MiB both ways byte-identical, Unix
 * sockets on both ends, a refused destination failing just its connection, bind errors, the client's
 * close ending its forwards, and 1,000 connections (100 at a time) with every count back to baseline.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, Server as NetServer, connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ChannelOpenError, ListenError } from '../../src/errors.js';
import type { Forward } from '../../src/forward/types.js';
import { connectSshd, drain, installTripwire, randomSource, sharedSshd } from '../helpers/interop.js';
import { requirePeer } from '../helpers/peers.js';
import { freePort } from '../helpers/sshd.js';

installTripwire();
const shared = sharedSshd();

const cleanups: Array<() => Promise<unknown> | unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** An echo server (half-close passed back) on 127.0.0.1 or a Unix socket. */
async function echoServer(where: { port?: number; path?: string } = {}): Promise<NetServer> {
  const open = new Set<Socket>();
  const srv = createServer({ allowHalfOpen: true }, (s) => {
    open.add(s);
    s.once('close', () => open.delete(s));
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  if (where.path !== undefined) srv.listen(where.path);
  else srv.listen(where.port ?? 0, '127.0.0.1');
  await once(srv, 'listening');
  cleanups.push(() => {
    for (const s of open) s.destroy();
    return new Promise((r) => srv.close(r));
  });
  return srv;
}

function portOf(x: NetServer | Forward): number {
  const a = x instanceof NetServer ? x.address() : x.address;
  assert.ok(a && typeof a === 'object' && 'port' in a, 'a TCP address');
  return a.port;
}

/** Sends `data` (ending our side) and resolves with everything received until the peer's end. */
async function roundTrip(sock: Socket, data: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  sock.on('data', (c: Buffer) => chunks.push(c));
  sock.end(data);
  await once(sock, 'end');
  return Buffer.concat(chunks);
}

function connectTo(where: { port: number } | { path: string }, allowHalfOpen = false): Promise<Socket> {
  const s = netConnect({ ...where, ...('port' in where ? { host: '127.0.0.1' } : {}), allowHalfOpen });
  return once(s, 'connect').then(() => s);
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('forwardLocal carries 64 MiB both ways byte-identical to an echo server, half-close passed through', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const client = await connectSshd(await shared.get());
  try {
    const echo = await echoServer();
    const fwd = await client.forwardLocal({ bindPort: 0, host: '127.0.0.1', port: portOf(echo) });
    assert.equal(fwd.kind, 'local');
    assert.equal((fwd.address as { host: string }).host, '127.0.0.1');
    assert.ok(portOf(fwd) > 0, 'the port actually bound is reported');
    const sock = await connectTo({ port: portOf(fwd) });
    const total = 64 * 1024 * 1024;
    const src = randomSource(total);
    const received = drain(sock);
    src.stream.pipe(sock); // ends our side after the last byte: the echo's end comes back as ours
    const got = await received;
    assert.equal(got.bytes, total);
    assert.equal(got.sha256, src.digest());
    await until('the connection to settle', () => fwd.stats.open === 0);
    assert.deepEqual(fwd.stats, { accepted: 1, open: 0, failed: 0, bytesOut: total, bytesIn: total });
    await fwd.close();
  } finally {
    await client.close();
  }
});

test('half-close from the far side: the target ends first, the client still sends and the target gets it all', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const client = await connectSshd(await shared.get());
  try {
    const upload = randomBytes(3 * 1024 * 1024);
    let resolveGot: (b: Buffer) => void = () => {};
    const got = new Promise<Buffer>((r) => {
      resolveGot = r;
    });
    const target = createServer({ allowHalfOpen: true }, (s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => resolveGot(Buffer.concat(chunks)));
      s.end('bye first\n'); // our side is done before the client has sent anything
    });
    target.listen(0, '127.0.0.1');
    await once(target, 'listening');
    cleanups.push(() => new Promise((r) => target.close(r)));
    const fwd = await client.forwardLocal({ bindPort: 0, host: '127.0.0.1', port: portOf(target) });
    const sock = await connectTo({ port: portOf(fwd) }, true);
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    await once(sock, 'end'); // the target's EOF arrived as ours
    assert.equal(Buffer.concat(chunks).toString(), 'bye first\n');
    const closed = once(sock, 'close');
    sock.end(upload); // and the other direction is still open
    assert.equal(sha(await got), sha(upload));
    await closed;
    await until('the connection to settle', () => fwd.stats.open === 0);
    await fwd.close();
  } finally {
    await client.close();
  }
});

test('backpressure end to end: a client that does not read stops the target; all of it arrives once it reads', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const client = await connectSshd(await shared.get());
  try {
    const total = 128 * 1024 * 1024;
    const block = randomBytes(256 * 1024);
    let written = 0;
    const source = createServer((s) => {
      s.on('error', () => s.destroy());
      const pump = () => {
        while (written < total) {
          written += block.length;
          if (!s.write(block)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
    source.listen(0, '127.0.0.1');
    await once(source, 'listening');
    cleanups.push(() => new Promise((r) => source.close(r)));
    const fwd = await client.forwardLocal({ bindPort: 0, host: '127.0.0.1', port: portOf(source) });
    const sock = await connectTo({ port: portOf(fwd) });
    sock.pause();
    await new Promise((r) => setTimeout(r, 1500));
    const held = written;
    console.log(`unread client: the target got ${(held / 1048576).toFixed(1)} MiB out of ${total / 1048576} MiB`);
    assert.ok(held < 48 * 1024 * 1024, `the target was stopped (it wrote ${held} bytes)`);
    const got = await drain(sock);
    assert.equal(got.bytes, total);
    await fwd.close();
  } finally {
    await client.close();
  }
});

test('forwardLocal from a Unix socket (mode 0600, removed on close) to a Unix socket on the server', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const dir = await mkdtemp(join(tmpdir(), 'secsh-fwd-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const client = await connectSshd(await shared.get());
  try {
    const target = join(dir, 'echo.sock');
    await echoServer({ path: target });
    const bindPath = join(dir, 'local.sock');
    const fwd = await client.forwardLocal({ bindPath, path: target });
    assert.deepEqual(fwd.address, { path: bindPath });
    const st = await stat(bindPath);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    const data = randomBytes(300_000);
    const back = await roundTrip(await connectTo({ path: bindPath }), data);
    assert.equal(sha(back), sha(data));

    // A Unix listener to a TCP destination, and forwardOutStreamLocal straight to the socket.
    const echo = await echoServer();
    const tcpPath = join(dir, 'to-tcp.sock');
    const fwd2 = await client.forwardLocal({ bindPath: tcpPath, host: '127.0.0.1', port: portOf(echo) });
    assert.equal((await roundTrip(await connectTo({ path: tcpPath }), Buffer.from('via tcp'))).toString(), 'via tcp');
    const ch = await client.forwardOutStreamLocal(target);
    ch.end('direct');
    assert.equal((await drain(ch)).sha256, sha(Buffer.from('direct')));

    // A path that exists is not ours: ListenError, and the file is left alone.
    const taken = join(dir, 'taken');
    await writeFile(taken, 'keep me');
    await assert.rejects(client.forwardLocal({ bindPath: taken, path: target }), (e: unknown) => {
      assert.ok(e instanceof ListenError);
      assert.equal(e.nodeCode, 'EADDRINUSE');
      return true;
    });
    assert.equal((await stat(taken)).size, 7);

    await fwd.close();
    await fwd2.close();
    await assert.rejects(stat(bindPath), { code: 'ENOENT' });
    await assert.rejects(stat(tcpPath), { code: 'ENOENT' });
  } finally {
    await client.close();
  }
});

test('a refused destination fails only that connection (ChannelOpenError 2 on error); the listener goes on', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const client = await connectSshd(await shared.get());
  try {
    const closedPort = await freePort();
    const fwd = await client.forwardLocal({ bindPort: 0, host: '127.0.0.1', port: closedPort });
    const errors: unknown[] = [];
    fwd.on('error', (e) => errors.push(e));
    const sock = await connectTo({ port: portOf(fwd) });
    sock.on('error', () => {});
    await once(sock, 'close');
    assert.equal(errors.length, 1);
    const err = errors[0];
    assert.ok(err instanceof ChannelOpenError, `got ${String(err)}`);
    assert.equal(err.reasonCode, 2);
    assert.equal(err.code, 'ERR_SSH_CHANNEL_OPEN');

    // The same listener carries the next connection once the destination is up.
    await echoServer({ port: closedPort });
    const back = await roundTrip(await connectTo({ port: portOf(fwd) }), Buffer.from('after a refusal'));
    assert.equal(back.toString(), 'after a refusal');
    await until('the connection to settle', () => fwd.stats.open === 0);
    assert.equal(fwd.stats.accepted, 2);
    assert.equal(fwd.stats.failed, 1);
    await fwd.close();
  } finally {
    await client.close();
  }
});

test('a bind error rejects forwardLocal with ListenError; bad options with InvalidArgumentError', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const client = await connectSshd(await shared.get());
  try {
    const busy = await echoServer();
    await assert.rejects(
      client.forwardLocal({ bindPort: portOf(busy), host: '127.0.0.1', port: 9 }),
      (e: unknown) => e instanceof ListenError && e.nodeCode === 'EADDRINUSE' && e.port === portOf(busy),
    );
    await assert.rejects(client.forwardLocal({ bindPort: 0, host: '127.0.0.1', port: 0 }), {
      code: 'ERR_SSH_INVALID_ARGUMENT',
    });
    await assert.rejects(client.forwardLocal({ host: '127.0.0.1', port: 80 }), { code: 'ERR_SSH_INVALID_ARGUMENT' });
    await assert.rejects(client.forwardLocal({ bindPort: 0, bindPath: '/x', host: 'h', port: 1 }), {
      code: 'ERR_SSH_INVALID_ARGUMENT',
    });
  } finally {
    await client.close();
  }
});

test("the client's close closes its forwards (listeners gone, 'close' emitted), however many", async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const client = await connectSshd(await shared.get());
  const echo = await echoServer();
  const others = await Promise.all(
    Array.from({ length: 12 }, () => client.forwardLocal({ bindPort: 0, host: '127.0.0.1', port: portOf(echo) })),
  );
  const othersClosed = Promise.all(others.map((f) => once(f, 'close')));
  const fwd = await client.forwardLocal({ bindPort: 0, host: '127.0.0.1', port: portOf(echo) });
  const sock = await connectTo({ port: portOf(fwd) });
  sock.on('error', () => {});
  await until('the channel to open', () => client.connection.stats.channels === 1);
  const closed = once(fwd, 'close');
  await client.close();
  await closed;
  await once(sock, 'close'); // the open connection ends with it
  const again = netConnect(portOf(fwd), '127.0.0.1');
  const [e] = (await once(again, 'error')) as [NodeJS.ErrnoException];
  assert.equal(e.code, 'ECONNREFUSED');
  await until('the connection to settle', () => fwd.stats.open === 0);
  await othersClosed;
  await assert.rejects(client.forwardLocal({ bindPort: 0, host: '127.0.0.1', port: 1 }));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    warnings.map((w) => w.name),
    [],
    'no MaxListenersExceededWarning for 13 forwards on one connection',
  );
});

test('1,000 connections, 100 at a time, all byte-identical; stats, channels and descriptors back to baseline', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const client = await connectSshd(await shared.get());
  try {
    const echo = await echoServer();
    const baseChannels = client.connection.stats.channels;
    const baseFds = openFds();
    const fwd = await client.forwardLocal({ bindPort: 0, host: '127.0.0.1', port: portOf(echo) });
    const port = portOf(fwd);
    const N = 1000;
    const payloadBase = randomBytes(24 * 1024);
    let next = 0;
    let identical = 0;
    let peak = 0;
    // The first 100 all connect before any sends: 100 forwarded connections open at once.
    let connected = 0;
    let allIn: () => void = () => {};
    const barrier = new Promise<void>((r) => {
      allIn = r;
    });
    const worker = async () => {
      let first = true;
      while (next < N) {
        const i = next++;
        // distinct content and length per connection
        const data = Buffer.concat([Buffer.from(`#${i}:`), payloadBase.subarray(0, 1000 + ((i * 7919) % 23000))]);
        const sock = await connectTo({ port });
        if (first) {
          first = false;
          if (++connected === 100) void until('100 accepted', () => fwd.stats.open === 100).then(allIn);
          await barrier;
        }
        const back = await roundTrip(sock, data);
        if (back.equals(data)) identical++;
      }
    };
    fwd.on('connection', () => {
      peak = Math.max(peak, fwd.stats.open);
    });
    const started = Date.now();
    await Promise.all(Array.from({ length: 100 }, worker));
    const ms = Date.now() - started;
    console.log(`1000 forwarded connections in ${ms} ms (peak ${peak} open at once)`);
    assert.equal(identical, N);
    assert.equal(peak, 100, 'the first 100 connections were open at once');
    await fwd.close({ endConnections: true });
    const s = fwd.stats;
    assert.equal(s.accepted, N);
    assert.equal(s.open, 0);
    assert.equal(s.failed, 0);
    assert.equal(s.bytesOut, s.bytesIn);
    await until('channels back to baseline', () => client.connection.stats.channels === baseChannels);
    assert.deepEqual(
      { ...client.connection.stats, channels: 0 },
      {
        channels: 0,
        pendingOpens: 0,
        incomingOpens: 0,
        pendingGlobalRequests: 0,
        unansweredGlobalRequests: 0,
        pendingChannelRequests: 0,
      },
    );
    await until(`descriptors back near baseline (${baseFds})`, () => openFds() <= baseFds + 2);
  } finally {
    await client.close();
  }
});
