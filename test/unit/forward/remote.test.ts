/**
 * Client remote forwarding and the refusal of channels nobody asked for, over an in-memory pair of
 * connections (the "server" side is driven by hand).
 */
import assert from 'node:assert/strict';
import { createServer, type Server as NetServer } from 'node:net';
import { test } from 'node:test';
import { type Channel, type Connection, encodeTcpipOpen } from '../../../src/connection/index.js';
import { ChannelOpenError, ListenError } from '../../../src/errors.js';
import { forwardRemote } from '../../../src/forward/remote.js';
import { SshReader, SshWriter } from '../../../src/wire/index.js';
import { pair, settle } from '../connection/link.js';

/** A "server" that grants tcpip-forward (allocating `allocate` for port 0) and records requests. */
function grantingServer(server: Connection, allocate = 40000, grant = true): Array<{ name: string; data: Buffer }> {
  const seen: Array<{ name: string; data: Buffer }> = [];
  server.onGlobalRequest = (name, data) => {
    seen.push({ name, data });
    if (!grant) return false;
    if (name === 'tcpip-forward') {
      const r = new SshReader(data);
      r.string();
      const port = r.uint32();
      return port === 0 ? new SshWriter().uint32(allocate).toBuffer() : true;
    }
    return true;
  };
  return seen;
}

const tcpipOpen = (port: number, host = 'localhost') =>
  encodeTcpipOpen({ host, port, originHost: '192.0.2.7', originPort: 5555 });

async function refusedWith(p: Promise<unknown>, code: number): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof ChannelOpenError && e.reasonCode === code);
}

test('forwarded-tcpip, forwarded-streamlocal, auth-agent and x11 opens nobody asked for are refused (administratively prohibited)', async () => {
  const { client, server } = pair();
  grantingServer(server);
  // Without any forward: the dispatcher is not even installed, or refuses.
  await refusedWith(server.openChannel('forwarded-tcpip', tcpipOpen(40000)), 3);
  const fwd = await forwardRemote(client, { bindPort: 0, onConnection: () => {} });
  await refusedWith(server.openChannel('forwarded-tcpip', tcpipOpen(40001)), 1);
  await refusedWith(server.openChannel('forwarded-tcpip', Buffer.from([0, 0, 0, 9, 1])), 1);
  await refusedWith(
    server.openChannel('forwarded-streamlocal@openssh.com', new SshWriter().string('/x').string('').toBuffer()),
    1,
  );
  await refusedWith(server.openChannel('auth-agent@openssh.com'), 1);
  await refusedWith(server.openChannel('x11', new SshWriter().string('127.0.0.1').uint32(1).toBuffer()), 1);
  await fwd.close();
  assert.equal(client.stats.incomingOpens, 0);
  assert.equal(client.stats.channels, 0);
});

test('forwardRemote with port 0: the reply port is the address, opens for it reach onConnection with their origin, close cancels with that port', async () => {
  const { client, server } = pair();
  const seen = grantingServer(server, 40123);
  const got: Array<{ ch: Channel; origin: unknown }> = [];
  const fwd = await forwardRemote(client, {
    bindPort: 0,
    onConnection: (ch, origin) => {
      got.push({ ch, origin });
      ch.on('data', (d: Buffer) => ch.end(Buffer.concat([Buffer.from('re:'), d])));
    },
  });
  assert.deepEqual(fwd.address, { host: 'localhost', port: 40123 });
  const req = new SshReader((seen[0] as { data: Buffer }).data);
  assert.equal(seen[0]?.name, 'tcpip-forward');
  assert.equal(req.string().toString(), 'localhost', 'default bind address as ssh -R sends it');
  assert.equal(req.uint32(), 0);

  const ch = await server.openChannel('forwarded-tcpip', tcpipOpen(40123));
  const reply: Buffer[] = [];
  ch.on('data', (d: Buffer) => reply.push(d));
  ch.end('ping');
  await new Promise((r) => ch.once('end', r));
  assert.equal(Buffer.concat(reply).toString(), 're:ping');
  assert.deepEqual(got[0]?.origin, { originHost: '192.0.2.7', originPort: 5555 });
  await settle();
  assert.equal(fwd.stats.accepted, 1);
  assert.equal(fwd.stats.open, 0);
  assert.equal(fwd.stats.bytesOut, 4);
  assert.equal(fwd.stats.bytesIn, 7);

  let closed = 0;
  fwd.on('close', () => closed++);
  await fwd.close();
  await fwd.close();
  assert.equal(closed, 1);
  const cancel = seen.find((s) => s.name === 'cancel-tcpip-forward');
  assert.ok(cancel);
  const c = new SshReader(cancel.data);
  assert.equal(c.string().toString(), 'localhost');
  assert.equal(c.uint32(), 40123, 'the allocated port is cancelled');
  await refusedWith(server.openChannel('forwarded-tcpip', tcpipOpen(40123)), 1);
});

test('two forwards on one connection: each open goes to the forward whose port (and address) it names', async () => {
  const { client, server } = pair();
  grantingServer(server);
  const hits: string[] = [];
  const a = await forwardRemote(client, {
    bindHost: '127.0.0.1',
    bindPort: 7001,
    onConnection: (ch) => {
      hits.push('a');
      ch.end();
    },
  });
  const b = await forwardRemote(client, {
    bindHost: '',
    bindPort: 7002,
    onConnection: (ch) => {
      hits.push('b');
      ch.end();
    },
  });
  for (const [port, host] of [
    [7002, ''],
    [7001, '127.0.0.1'],
    [7002, '0.0.0.0'],
  ] as const) {
    const ch = await server.openChannel('forwarded-tcpip', tcpipOpen(port, host));
    ch.resume();
    ch.end();
  }
  assert.deepEqual(hits, ['b', 'a', 'b']);
  await a.close();
  await b.close();
});

test('forwardRemote refused by the server rejects with a ListenError and leaves no forward behind', async () => {
  const { client, server } = pair();
  grantingServer(server, 0, false);
  await assert.rejects(
    forwardRemote(client, { bindHost: '0.0.0.0', bindPort: 80, host: '127.0.0.1', port: 8080 }),
    (e: unknown) => e instanceof ListenError && e.port === 80 && e.address === '0.0.0.0',
  );
  await assert.rejects(forwardRemote(client, { bindPath: '/run/x.sock', path: '/tmp/y.sock' }), ListenError);
  await refusedWith(server.openChannel('forwarded-tcpip', tcpipOpen(80, '0.0.0.0')), 1);
});

test('forwardRemote rejects bad options with InvalidArgumentError before sending anything', async () => {
  const { client, server } = pair();
  const seen = grantingServer(server);
  const bad = [
    {},
    { bindPort: 1, bindPath: '/x', host: 'h', port: 1 },
    { bindPort: -1, host: 'h', port: 1 },
    { bindPort: 70000, host: 'h', port: 1 },
    { bindPort: 1 },
    { bindPort: 1, host: 'h' },
    { bindPort: 1, host: 'h', port: 1, path: '/p' },
    { bindPort: 1, host: 'h', port: 0 },
    { bindPath: '', path: '/p' },
  ];
  for (const o of bad) {
    await assert.rejects(forwardRemote(client, o), { code: 'ERR_SSH_INVALID_ARGUMENT' }, JSON.stringify(o));
  }
  assert.equal(seen.length, 0);
});

test('forwardRemote to a local target: connected before the open is confirmed; an unreachable one is refused CONNECT_FAILED and reported as an error event', async () => {
  const { client, server } = pair();
  grantingServer(server, 40500);
  const echo: NetServer = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const port = (echo.address() as { port: number }).port;
  const fwd = await forwardRemote(client, { bindPort: 0, host: '127.0.0.1', port });
  const ch = await server.openChannel('forwarded-tcpip', tcpipOpen(40500));
  const back: Buffer[] = [];
  ch.on('data', (d: Buffer) => back.push(d));
  const data = Buffer.alloc(300_000, 7);
  ch.end(data);
  await new Promise((r) => ch.once('end', r));
  assert.deepEqual(Buffer.concat(back), data);
  await new Promise<void>((r) => echo.close(() => r()));

  const errors: Error[] = [];
  fwd.on('error', (e: Error) => errors.push(e));
  await refusedWith(server.openChannel('forwarded-tcpip', tcpipOpen(40500)), 2);
  await settle();
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof ChannelOpenError);
  assert.equal(fwd.stats.failed, 1);
  assert.equal(fwd.stats.accepted, 2);
  for (let i = 0; i < 50 && fwd.stats.open !== 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(fwd.stats.open, 0);
  await fwd.close({ endConnections: true });
});

test('close({ endConnections }) ends the connections still open; a connection that dies closes the forward', async () => {
  const { client, server } = pair();
  grantingServer(server, 40600);
  const fwd = await forwardRemote(client, { bindPort: 0, onConnection: () => {} });
  const ch = await server.openChannel('forwarded-tcpip', tcpipOpen(40600));
  ch.resume();
  await settle();
  assert.equal(fwd.stats.open, 1);
  await fwd.close({ endConnections: true });
  if (!ch.isReleased) await new Promise((r) => ch.once('released', r));
  await settle();
  assert.equal(fwd.stats.open, 0);

  const fwd2 = await forwardRemote(client, { bindPort: 0, onConnection: () => {} });
  const closed = new Promise((r) => fwd2.once('close', r));
  client.destroy();
  await closed;
  await fwd2.close(); // settles after the connection died
  await assert.rejects(forwardRemote(client, { bindPort: 0, onConnection: () => {} }), {
    code: 'ERR_SSH_CONNECTION_LOST',
  });
});

test('a forwarded connection the server closes is ended locally even when the local target never sends its FIN', async () => {
  const { client, server } = pair();
  grantingServer(server, 40700);
  const got: Buffer[] = [];
  const sockets: Array<{ destroy(): void }> = [];
  const target: NetServer = createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', () => {}); // half-closed by us; it never ends its own side
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const fwd = await forwardRemote(client, {
    bindPort: 0,
    host: '127.0.0.1',
    port: (target.address() as { port: number }).port,
  });
  const ch = await server.openChannel('forwarded-tcpip', tcpipOpen(40700));
  ch.resume();
  ch.end('last words');
  for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  const open = () => fwd.stats.open;
  assert.equal(open(), 1, 'half-closed: still open, as TCP');
  ch.destroy(); // the server's CLOSE
  for (let i = 0; i < 200 && open() !== 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(Buffer.concat(got).toString(), 'last words');
  assert.equal(open(), 0, 'the local socket was closed (open counts until both sides have closed)');
  await fwd.close();
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => target.close(() => r()));
});

test("a 'connection' listener that throws refuses that open and leaves the forward's open count balanced", async () => {
  const { client, server } = pair();
  grantingServer(server, 40200);
  const fwd = await forwardRemote(client, { bindPort: 0, onConnection: () => {} });
  fwd.on('connection', () => {
    throw new Error('listener failed');
  });
  client.on('error', () => {});
  await refusedWith(server.openChannel('forwarded-tcpip', tcpipOpen(40200)), 1);
  assert.equal(fwd.stats.accepted, 1);
  assert.equal(fwd.stats.open, 0);
  await fwd.close();
  await settle();
});
