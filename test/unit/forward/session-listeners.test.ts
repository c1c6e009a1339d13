/**
 * The server's agent and X11 listeners (src/forward/agent-listen.ts, x11-server.ts) over an in-memory
 * connection pair: each local connection opens the right channel type to the client and is relayed
 * both ways, a refused open closes that one socket only, the counters balance, and close() removes
 * what was made.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { test } from 'node:test';
import type { Channel, ChannelOpenRequest } from '../../../src/connection/index.js';
import { listenAgentForward } from '../../../src/forward/agent-listen.js';
import { listenX11Forward } from '../../../src/forward/x11-server.js';
import { SshReader } from '../../../src/wire/index.js';
import { pair, settle } from '../connection/link.js';

function connectUnix(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.once('error', reject);
  });
}

function connectTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Everything `s` sends until it ends (or closes). */
function readAll(s: Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (b: Buffer) => parts.push(b));
  return new Promise((resolve) => s.once('close', () => resolve(Buffer.concat(parts))));
}

/** The client answers channel opens of `type` with an echo; others refused. */
function echoOpens(client: ReturnType<typeof pair>['client'], type: string, seen: ChannelOpenRequest[] = []): void {
  client.onChannelOpen = (req) => {
    seen.push(req);
    if (req.type !== type) return req.reject(1, 'no');
    const ch: Channel = req.accept();
    ch.pipe(ch);
  };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('agent socket: 0600 in a 0700 directory; 4 MiB echoed byte-identical over auth-agent@openssh.com; close removes both', async () => {
  const { client, server } = pair();
  const seen: ChannelOpenRequest[] = [];
  echoOpens(client, 'auth-agent@openssh.com', seen);
  const l = await listenAgentForward(server);
  assert.equal((await stat(l.path)).mode & 0o777, 0o600);
  assert.equal((await stat(dirname(l.path))).mode & 0o777, 0o700);
  assert.ok((await stat(l.path)).isSocket());
  const s = await connectUnix(l.path);
  const data = randomBytes(4 * 1024 * 1024);
  const got = readAll(s);
  s.end(data);
  const back = await got;
  assert.equal(createHash('sha256').update(back).digest('hex'), createHash('sha256').update(data).digest('hex'));
  assert.equal(seen.length, 1);
  assert.equal(seen[0]?.type, 'auth-agent@openssh.com');
  assert.equal(seen[0]?.data.length, 0);
  await until(() => l.stats.open === 0);
  assert.deepEqual({ ...l.stats }, { accepted: 1, open: 0, failed: 0, bytesOut: data.length, bytesIn: data.length });
  await l.close();
  await l.close();
  assert.ok(!existsSync(dirname(l.path)));
  await until(() => server.stats.channels === 0 && client.stats.channels === 0);
});

test('agent socket: a refused channel open closes that local connection only; the next one is relayed', async () => {
  const { client, server } = pair();
  let refuse = true;
  // Refused first, then a plain echo.
  client.onChannelOpen = (req) => {
    if (refuse) return req.reject(1, 'agent forwarding not requested');
    const ch = req.accept();
    ch.pipe(ch);
  };
  const errors: Error[] = [];
  const l = await listenAgentForward(server, { onError: (e) => errors.push(e) });
  const first = await connectUnix(l.path);
  first.on('error', () => {});
  const firstGot = readAll(first);
  first.write('request');
  assert.equal((await firstGot).length, 0);
  assert.equal(errors.length, 1);
  assert.match(errors[0]?.message ?? '', /agent forwarding not requested/);
  refuse = false;
  const second = await connectUnix(l.path);
  const secondGot = readAll(second);
  second.end('ping');
  assert.equal((await secondGot).toString(), 'ping');
  await until(() => l.stats.open === 0);
  assert.equal(l.stats.accepted, 2);
  assert.equal(l.stats.failed, 1);
  await l.close();
});

test('agent socket: connections past maxConnections are closed at once, counted as failed', async () => {
  const { client, server } = pair();
  const held: Channel[] = [];
  client.onChannelOpen = (req) => {
    held.push(req.accept()); // never answered: the relay stays open
  };
  const l = await listenAgentForward(server, { maxConnections: 1 });
  const a = await connectUnix(l.path);
  await until(() => held.length === 1);
  const b = await connectUnix(l.path);
  b.on('error', () => {});
  await once(b, 'close');
  assert.equal(l.stats.failed, 1);
  assert.equal(l.stats.open, 1);
  // Half-closed from our side; the relay ends when the client closes its channel too.
  a.destroy();
  held[0]?.destroy();
  await until(() => l.stats.open === 0);
  await l.close();
});

test('x11 display: the channel names the X client (address, port) and carries its bytes both ways', async () => {
  const { client, server } = pair();
  const seen: ChannelOpenRequest[] = [];
  echoOpens(client, 'x11', seen);
  const l = await listenX11Forward(server, { displayOffset: 3510, maxDisplays: 50 });
  assert.equal(l.port, 6000 + l.display);
  assert.ok(l.display >= 3510);
  const s = await connectTcp(l.port);
  const localPort = s.localPort;
  const got = readAll(s);
  s.end('x11 setup bytes');
  assert.equal((await got).toString(), 'x11 setup bytes');
  const r = new SshReader(seen[0]?.data ?? Buffer.alloc(0));
  assert.equal(r.string().toString(), '127.0.0.1');
  assert.equal(r.uint32(), localPort);
  r.ensureEnd('x11 open');
  l.close();
  l.close();
  await assert.rejects(connectTcp(l.port));
});

test('x11 display: a display in use is skipped for the next one', async () => {
  const { server } = pair();
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 6000 + 3570 }, resolve));
  try {
    const l = await listenX11Forward(server, { displayOffset: 3570, maxDisplays: 5 });
    assert.equal(l.display, 3571);
    l.close();
  } finally {
    blocker.close();
  }
});

test('x11 display: no free display in the range rejects with ListenError', async () => {
  const { server } = pair();
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 6000 + 3580 }, resolve));
  try {
    await assert.rejects(listenX11Forward(server, { displayOffset: 3580, maxDisplays: 1 }), {
      name: 'ListenError',
      code: 'ERR_SSH_LISTEN',
    });
  } finally {
    blocker.close();
  }
});

test('x11 display with singleConnection: the first connection is carried, then the listener is gone', async () => {
  const { client, server } = pair();
  echoOpens(client, 'x11');
  const l = await listenX11Forward(server, { displayOffset: 3590, maxDisplays: 50, singleConnection: true });
  const s = await connectTcp(l.port);
  const got = readAll(s);
  await settle();
  await assert.rejects(connectTcp(l.port));
  s.end('only one');
  assert.equal((await got).toString(), 'only one');
  await until(() => l.stats.open === 0);
  assert.equal(l.stats.accepted, 1);
});

test('agent socket: a client that does not read stops reading the local socket (backpressure), then all arrives', async () => {
  const { client, server } = pair();
  let held: Channel | undefined;
  client.onChannelOpen = (req) => {
    held = req.accept(); // not read yet
  };
  const l = await listenAgentForward(server);
  const s = await connectUnix(l.path);
  const total = 48 * 1024 * 1024;
  const chunk = randomBytes(64 * 1024);
  let written = 0;
  const writeMore = () => {
    while (written < total) {
      written += chunk.length;
      if (!s.write(chunk)) return;
    }
    s.end();
  };
  s.on('drain', writeMore);
  writeMore();
  await until(() => held !== undefined);
  await new Promise((r) => setTimeout(r, 300));
  // What the relay took from the socket is bounded by the channel window and the stream buffers.
  assert.ok(l.stats.bytesOut < 16 * 1024 * 1024, `relay read ${l.stats.bytesOut} bytes from an unread channel`);
  let received = 0;
  held?.on('data', (b: Buffer) => {
    received += b.length;
  });
  await until(() => received === total, 20_000);
  held?.end();
  s.destroy();
  await l.close();
});

test('connection death ends the open agent and X11 relays (local sockets closed, counters back to 0)', async () => {
  const { client, server } = pair();
  client.onChannelOpen = (req) => {
    req.accept(); // held open, never answered
  };
  const agent = await listenAgentForward(server);
  const x11 = await listenX11Forward(server, { displayOffset: 3600, maxDisplays: 50 });
  const a = await connectUnix(agent.path);
  const x = await connectTcp(x11.port);
  a.on('error', () => {});
  x.on('error', () => {});
  await until(() => client.stats.channels === 2);
  const closed = Promise.all([once(a, 'close'), once(x, 'close')]);
  server.destroy(new Error('link lost'));
  await closed;
  await until(() => agent.stats.open === 0 && x11.stats.open === 0);
  await agent.close();
  x11.close();
  assert.ok(!existsSync(dirname(agent.path)));
});
