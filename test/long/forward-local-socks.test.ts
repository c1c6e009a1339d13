/**
 * `client.forwardDynamic` (ssh -D) against a real OpenSSH sshd: curl through SOCKS 5 and 4a with the
 * name resolved by the server (sshd's log shows the name arrived unresolved), SOCKS 5 and 4 by address,
 * a request pipelined with its data, a refused destination answered by the protocol's reply, and bad
 * SOCKS input answered and closed while the listener goes on.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { after, type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import type { Client } from '../../src/client/client.js';
import { ChannelOpenError } from '../../src/errors.js';
import type { Forward } from '../../src/forward/types.js';
import { connectSshd, installTripwire, sharedSshd } from '../helpers/interop.js';
import { requirePeer } from '../helpers/peers.js';
import { freePort } from '../helpers/sshd.js';

const run = promisify(execFile);
installTripwire();
// DEBUG1: sshd logs each direct-tcpip target as it received it
const shared = sharedSshd({ extraConfig: ['LogLevel DEBUG1'] });
const CURL = '/usr/bin/curl';

/** Like requirePeer, for curl: skip loudly, or fail when CI=true. */
function requireCurl(t: TestContext): boolean {
  try {
    accessSync(CURL, constants.X_OK);
    return true;
  } catch {
    const msg = `${CURL} missing (apt-get install curl)`;
    if (process.env.CI === 'true') throw new Error(`${msg} — required when CI=true`);
    console.warn(`\n${'!'.repeat(72)}\n!! SKIPPING "${t.name}": ${msg}\n${'!'.repeat(72)}\n`);
    t.skip(msg);
    return false;
  }
}

let state: { client: Client; socks: Forward; http: HttpServer; httpPort: number; token: string } | undefined;
after(async () => {
  if (!state) return;
  await state.socks.close({ endConnections: true });
  await state.client.close();
  state.http.closeAllConnections();
  await new Promise((r) => state?.http.close(r));
});

/** One client with a SOCKS listener, and a tiny HTTP server on 127.0.0.1 answering a random token. */
async function setup(): Promise<NonNullable<typeof state>> {
  if (state) return state;
  const token = randomBytes(16).toString('hex');
  const http = createHttpServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`${token} ${req.method} ${req.url}`);
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const httpPort = (http.address() as { port: number }).port;
  const client = await connectSshd(await shared.get());
  const socks = await client.forwardDynamic({ bindPort: 0 });
  state = { client, socks, http, httpPort, token };
  return state;
}

function socksPort(f: Forward): number {
  return (f.address as { port: number }).port;
}

async function curl(args: string[]): Promise<string> {
  const { stdout } = await run(CURL, ['-sS', '--max-time', '20', ...args], { timeout: 30_000 });
  return stdout;
}

/** Connects to the SOCKS port, writes `data`, and collects what comes back until close (or `ms`). */
async function exchange(
  port: number,
  data: Buffer,
  ms = 5000,
): Promise<{ bytes: Buffer; closed: boolean; localPort: number }> {
  const sock: Socket = netConnect(port, '127.0.0.1');
  sock.on('error', () => {});
  const chunks: Buffer[] = [];
  sock.on('data', (c: Buffer) => chunks.push(c));
  await once(sock, 'connect');
  const localPort = sock.localPort ?? 0;
  sock.write(data);
  const closed = await Promise.race([
    once(sock, 'close').then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), ms)),
  ]);
  sock.destroy();
  return { bytes: Buffer.concat(chunks), closed, localPort };
}

test('curl --socks5-hostname and --socks4a through forwardDynamic; the name reaches sshd unresolved', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !requireCurl(t)) return;
  const { socks, httpPort, token } = await setup();
  assert.equal(socks.kind, 'dynamic');
  const p = socksPort(socks);
  const five = await curl(['--socks5-hostname', `127.0.0.1:${p}`, `http://localhost:${httpPort}/five`]);
  assert.equal(five, `${token} GET /five`);
  const fourA = await curl(['--socks4a', `127.0.0.1:${p}`, `http://localhost:${httpPort}/four-a`]);
  assert.equal(fourA, `${token} GET /four-a`);
  const logs = (await shared.get()).logs();
  assert.match(logs, new RegExp(`target localhost port ${httpPort}`), 'sshd received the name, not an address');

  // by address too (curl resolves): SOCKS 5 with an IPv4 address, and plain SOCKS 4
  assert.equal(
    await curl(['--socks5', `127.0.0.1:${p}`, `http://127.0.0.1:${httpPort}/five-ip`]),
    `${token} GET /five-ip`,
  );
  assert.equal(await curl(['--socks4', `127.0.0.1:${p}`, `http://127.0.0.1:${httpPort}/four`]), `${token} GET /four`);
  const s = socks.stats;
  assert.ok(s.accepted >= 4 && s.bytesIn > 0 && s.bytesOut > 0);
});

test('a SOCKS 5 greeting, request and HTTP request in one write: the bytes after the request reach the target; the originator is the client', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const { socks, httpPort, token } = await setup();
  const name = Buffer.from('127.0.0.1');
  const port = Buffer.alloc(2);
  port.writeUInt16BE(httpPort);
  const req = Buffer.concat([
    Buffer.from([5, 1, 0]),
    Buffer.from([5, 1, 0, 3, name.length]),
    name,
    port,
    Buffer.from('GET /pipelined HTTP/1.0\r\n\r\n'),
  ]);
  const { bytes, closed, localPort } = await exchange(socksPort(socks), req);
  assert.ok(closed);
  // the open names the SOCKS client's own address and port as its originator
  assert.match(
    (await shared.get()).logs(),
    new RegExp(`originator 127\\.0\\.0\\.1 port ${localPort}, target 127\\.0\\.0\\.1 port ${httpPort}`),
  );
  assert.deepEqual(bytes.subarray(0, 2), Buffer.from([5, 0]));
  assert.deepEqual(bytes.subarray(2, 12), Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
  assert.match(bytes.subarray(12).toString(), new RegExp(`^HTTP/1.1 200 OK[\\s\\S]*${token} GET /pipelined$`));
});

test('a refused destination: SOCKS 5 reply 0x05, SOCKS 4 reply 0x5B, ChannelOpenError 2 on the forward', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const { socks } = await setup();
  const closedPort = await freePort();
  const errors: unknown[] = [];
  const onError = (e: unknown) => errors.push(e);
  socks.on('error', onError);
  try {
    const port = Buffer.alloc(2);
    port.writeUInt16BE(closedPort);
    const five = await exchange(
      socksPort(socks),
      Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1]), port]),
    );
    assert.ok(five.closed, 'the socket is closed after the reply');
    assert.deepEqual(five.bytes, Buffer.from([5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0]));
    const four = await exchange(
      socksPort(socks),
      Buffer.concat([Buffer.from([4, 1]), port, Buffer.from([127, 0, 0, 1]), Buffer.from('me\0')]),
    );
    assert.ok(four.closed);
    assert.deepEqual(four.bytes, Buffer.from([0, 0x5b, 0, 0, 0, 0, 0, 0]));
    assert.equal(errors.length, 2);
    for (const e of errors) {
      assert.ok(e instanceof ChannelOpenError);
      assert.equal(e.reasonCode, 2);
    }
  } finally {
    socks.off('error', onError);
  }
});

test('bad SOCKS input gets the failure reply and is closed; the listener goes on', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !requireCurl(t)) return;
  const { socks, httpPort, token } = await setup();
  const p = socksPort(socks);
  const failedBefore = socks.stats.failed;
  const cases: Array<[string, Buffer, Buffer]> = [
    ['not SOCKS', Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.alloc(0)],
    ['only username/password offered', Buffer.from([5, 1, 2]), Buffer.from([5, 0xff])],
    [
      'BIND',
      Buffer.from([5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80]),
      Buffer.from([5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0]),
    ],
    ['address type 9', Buffer.from([5, 1, 0, 5, 1, 0, 9]), Buffer.from([5, 0, 5, 8, 0, 1, 0, 0, 0, 0, 0, 0])],
    ['SOCKS 4 BIND', Buffer.from([4, 2, 0, 80, 127, 0, 0, 1, 0]), Buffer.from([0, 0x5b, 0, 0, 0, 0, 0, 0])],
    [
      'an endless user id',
      Buffer.concat([Buffer.from([4, 1, 0, 80, 127, 0, 0, 1]), Buffer.alloc(4000, 0x61)]),
      Buffer.from([0, 0x5b, 0, 0, 0, 0, 0, 0]),
    ],
  ];
  for (const [what, input, reply] of cases) {
    const r = await exchange(p, input);
    assert.ok(r.closed, `${what}: closed`);
    assert.deepEqual(r.bytes, reply, `${what}: reply`);
  }
  assert.equal(socks.stats.failed - failedBefore, cases.length);
  const five = await curl(['--socks5-hostname', `127.0.0.1:${p}`, `http://localhost:${httpPort}/still`]);
  assert.equal(five, `${token} GET /still`);
});
