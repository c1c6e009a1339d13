/**
 * A PING flood against the secsh server from a client that never reads its PONGs: the server
 * answers while its unsent output is under 256 KiB and drops PINGs above that, so its output
 * buffer stays bounded and the connection survives; a flood before authentication is read and
 * dropped.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import type { Server, ServerConnection } from '../../src/server/server.js';
import { MSG, SshWriter } from '../../src/wire/index.js';
import { closedWithin, rawClient, requestUserauth, startServer } from '../e2e/server-helpers.js';

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

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ping = (n: number) => new SshWriter(n + 16).byte(MSG.PING).string(Buffer.alloc(n, 0x5a)).toBuffer();
/** The server transport's socket (private; read for the measurement only). */
const outputOf = (c: ServerConnection) => (c.transport as unknown as { stream: Duplex }).stream;
const received = (c: ServerConnection) => (c.transport as unknown as { packetsReceived: number }).packetsReceived;

test("after authentication, 1500 PINGs of 30,000 bytes from a client that never reads: the server's output stays under 256 KiB + one PONG", async () => {
  const sock = netConnect({ port, host: '127.0.0.1' });
  await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
  const c = await Client.connect({ sock, username: 'u', password: 'pw', insecureAcceptAnyHostKey: true });
  c.on('error', () => {});
  try {
    const sc = conns.at(-1) as ServerConnection;
    const out = outputOf(sc);
    let pongs = 0;
    let most = 0;
    const send = sc.transport.send.bind(sc.transport);
    sc.transport.send = (p: Buffer) => {
      const ok = send(p);
      if (p[0] === MSG.PONG) pongs++;
      most = Math.max(most, out.writableLength);
      return ok;
    };
    sock.pause();
    const start = received(sc);
    for (let i = 0; i < 1500; i++) c.transport.send(ping(30_000));
    for (let i = 0; i < 600 && received(sc) - start < 1500; i++) await tick(25);
    assert.equal(received(sc) - start, 1500, 'the server read the whole flood');
    assert.ok(pongs > 0 && pongs < 1500, `some PINGs were answered, the rest dropped (${pongs} answered)`);
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
    const sc = conns.at(-1) as ServerConnection;
    let pongs = 0;
    const send = sc.transport.send.bind(sc.transport);
    sc.transport.send = (p: Buffer) => {
      if (p[0] === MSG.PONG) pongs++;
      return send(p);
    };
    await requestUserauth(rc);
    for (let i = 0; i < 300; i++) rc.t.send(ping(30_000));
    assert.equal(await closedWithin(rc, 500), 'open');
    assert.equal(pongs, 0);
  } finally {
    rc.t.disconnect();
  }
});
