/**
 * OpenSSH's transport ping (PROTOCOL §1.8): the secsh server announces ping@openssh.com in EXT_INFO,
 * and both roles answer SSH2_MSG_PING with SSH2_MSG_PONG carrying the same data — only after
 * authentication. A malformed PING ends the connection. A flood from a client that never reads its
 * PONGs leaves the server's unsent output under 256 KiB (later PINGs are dropped).
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import type { Server, ServerConnection } from '../../src/server/server.js';
import { ping as pingServer } from '../../src/transport/ping.js';
import type { Transport } from '../../src/transport/transport.js';
import { MSG, SshWriter } from '../../src/wire/index.js';
import { closedWithin, rawClient, requestUserauth, startServer } from './server-helpers.js';

const PING = MSG.PING;
const PONG = MSG.PONG;

let server: Server;
let port = 0;
const conns: ServerConnection[] = [];

before(async () => {
  ({ server, port } = await startServer({
    hostKeys: [generatePrivateKey('ed25519')],
    authFailureDelay: 0,
    authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'pw',
  }));
  server.on('connection', (c: ServerConnection) => conns.push(c));
});

after(async () => {
  await server.close();
});

/** Records every payload of one message number `t` sends. */
function spySends(t: Transport, n: number): Buffer[] {
  const seen: Buffer[] = [];
  const send = t.send.bind(t);
  t.send = (p: Buffer) => {
    if (p[0] === n) seen.push(Buffer.from(p));
    return send(p);
  };
  return seen;
}

function ping(data: Buffer | string, type: number = PING): Buffer {
  return new SshWriter(64).byte(type).string(data).toBuffer();
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

const connect = () =>
  Client.connect({ host: '127.0.0.1', port, username: 'u', password: 'pw', insecureAcceptAnyHostKey: true });

test('the secsh server announces ping@openssh.com version 0 in EXT_INFO', async () => {
  const c = await connect();
  try {
    assert.equal(c.transport.peerExtensions.get('ping@openssh.com')?.toString(), '0');
    assert.ok(c.transport.peerExtensions.has('server-sig-algs'));
  } finally {
    await c.close();
  }
});

test('after authentication the server answers a PING with a PONG of the same data, and the client answers the server', async () => {
  const c = await connect();
  try {
    const sc = conns.at(-1) as ServerConnection;
    c.transport.send(ping('unanswered', PONG)); // a PONG is read and ignored
    const serverPongs = spySends(sc.transport, PONG);
    const clientPongs = spySends(c.transport, PONG);
    c.transport.send(ping('chaff-1'));
    c.transport.send(ping(''));
    c.transport.send(ping(Buffer.alloc(300, 7)));
    sc.transport.send(ping('from-server'));
    for (let i = 0; i < 50 && (serverPongs.length < 3 || clientPongs.length < 1); i++) await tick(20);
    assert.deepEqual(serverPongs, [ping('chaff-1', PONG), ping('', PONG), ping(Buffer.alloc(300, 7), PONG)]);
    assert.deepEqual(clientPongs, [ping('from-server', PONG)]);
    // The session goes on.
    assert.equal((await c.exec('x')).stdout, 'ran:x');
  } finally {
    await c.close();
  }
});

test('before authentication a PING is read and dropped: no PONG, the connection stays', async () => {
  const rc = await rawClient(port);
  try {
    const sc = conns.at(-1) as ServerConnection;
    const pongs = spySends(sc.transport, PONG);
    await requestUserauth(rc);
    rc.t.send(ping('preauth'));
    assert.equal(await closedWithin(rc, 300), 'open');
    assert.deepEqual(pongs, []);
  } finally {
    rc.t.disconnect();
  }
});

test('a PING with bytes after its string ends the connection with a protocol error', async () => {
  const c = await connect();
  const closed = new Promise<Error | undefined>((r) => c.transport.once('close', r));
  c.on('error', () => {});
  c.transport.send(Buffer.concat([ping('x'), Buffer.from([0])]));
  const err = await closed;
  assert.match(String((err as { message?: string } | undefined)?.message), /protocol error|PING/i);
});

test('ping() measures a round trip to the secsh server; it rejects for a server without ping@openssh.com and on close', async () => {
  const c = await connect();
  try {
    const ms = await pingServer(c.transport);
    assert.ok(ms >= 0 && ms < 5000, String(ms));
    const many = await Promise.all([pingServer(c.transport), pingServer(c.transport), pingServer(c.transport)]);
    assert.equal(many.length, 3);
    c.transport.peerExtensions.delete('ping@openssh.com');
    await assert.rejects(pingServer(c.transport), { code: 'ERR_SSH_INVALID_ARGUMENT' });
    c.transport.peerExtensions.set('ping@openssh.com', Buffer.from('0'));
    const sc = conns.at(-1) as ServerConnection;
    // A server that stops answering: the ping times out.
    const t = sc.transport as unknown as { send(p: Buffer): boolean };
    const send = t.send.bind(t);
    t.send = (p: Buffer) => (p[0] === PONG ? true : send(p));
    await assert.rejects(pingServer(c.transport, 200), { code: 'ERR_SSH_TIMEOUT' });
    const pending = pingServer(c.transport, 5000);
    c.transport.destroy();
    await assert.rejects(pending, { code: 'ERR_SSH_CONNECTION_LOST' });
  } finally {
    await c.close();
  }
});

/** The server transport's socket and its packet count (private; read for the measurement only). */
const outputOf = (c: ServerConnection) => (c.transport as unknown as { stream: Duplex }).stream;
const received = (c: ServerConnection) => (c.transport as unknown as { packetsReceived: number }).packetsReceived;

test("1500 PINGs of 30,000 bytes after authentication from a client that never reads: the server's output stays under 256 KiB + one PONG", async () => {
  const sock = netConnect({ port, host: '127.0.0.1' });
  await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
  const c = await Client.connect({ sock, username: 'u', password: 'pw', insecureAcceptAnyHostKey: true });
  c.on('error', () => {});
  try {
    const sc = conns.at(-1) as ServerConnection;
    const out = outputOf(sc);
    let most = 0;
    const send = sc.transport.send.bind(sc.transport);
    sc.transport.send = (p: Buffer) => {
      const ok = send(p);
      most = Math.max(most, out.writableLength);
      return ok;
    };
    const pongs = spySends(sc.transport, PONG);
    sock.pause();
    const start = received(sc);
    for (let i = 0; i < 1500; i++) c.transport.send(ping(Buffer.alloc(30_000, 0x5a)));
    for (let i = 0; i < 600 && received(sc) - start < 1500; i++) await tick(25);
    assert.equal(received(sc) - start, 1500, 'the server read the whole flood');
    assert.ok(pongs.length > 0 && pongs.length < 1500, `some answered, the rest dropped (${pongs.length} answered)`);
    assert.ok(most <= 256 * 1024 + 31_000, `server output peaked at ${most} bytes`);
    sock.resume();
    assert.equal((await c.exec('x')).stdout, 'ran:x', 'the connection goes on');
  } finally {
    await c.close();
  }
});

test('before authentication a flood of large PINGs is read and dropped; the connection stays', async () => {
  const rc = await rawClient(port);
  try {
    const pongs = spySends((conns.at(-1) as ServerConnection).transport, PONG);
    await requestUserauth(rc);
    for (let i = 0; i < 300; i++) rc.t.send(ping(Buffer.alloc(30_000, 0x5a)));
    assert.equal(await closedWithin(rc, 500), 'open');
    assert.deepEqual(pongs, []);
  } finally {
    rc.t.disconnect();
  }
});
