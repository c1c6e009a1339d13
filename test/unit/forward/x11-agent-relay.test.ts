/**
 * The client's agent and X11 relays over an in-memory pair: channels are accepted only after the
 * session asked, the X11 cookie is checked and replaced (any split of the setup, either byte order),
 * and the local agent or display is reached through a Unix socket.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Channel, Connection } from '../../../src/connection/index.js';
import { decodeSessionRequest } from '../../../src/connection/requests.js';
import { ChannelOpenError } from '../../../src/errors.js';
import { agentRelayStats, agentSocketFor, requestAgentForwarding } from '../../../src/forward/agent-relay.js';
import { ChannelDispatcher } from '../../../src/forward/dispatch.js';
import { requestX11Forwarding, x11Stats } from '../../../src/forward/x11.js';
import { encodeX11Setup, parseX11Setup } from '../../../src/forward/x11-setup.js';
import { SshWriter } from '../../../src/wire/index.js';
import { pair, settle } from '../connection/link.js';

let dir = '';
const REAL = Buffer.from('a1b2c3d4e5f60718', 'hex'); // 8 bytes: the rewrite must fix the lengths
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-x11-unit-'));
  // A stand-in for xauth: prints one cookie line whatever it is asked.
  await writeFile(join(dir, 'xauth'), `#!/bin/sh\necho "box/unix:9  MIT-MAGIC-COOKIE-1  ${REAL.toString('hex')}"\n`);
  await chmod(join(dir, 'xauth'), 0o755);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A local Unix listener that records each connection's bytes and answers `reply` after `after` bytes. */
async function listener(path: string, replyAfter: number, reply: string) {
  const conns: Buffer[][] = [];
  const server: NetServer = createServer((s: Socket) => {
    const got: Buffer[] = [];
    conns.push(got);
    let n = 0;
    s.on('data', (d: Buffer) => {
      got.push(d);
      n += d.length;
      if (n >= replyAfter) s.end(reply);
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { conns, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A session channel whose requests the "server" accepts, recording them. */
async function session(client: Connection, server: Connection) {
  const requests: Array<{ type: string; data: Buffer }> = [];
  server.onChannelOpen = (req) => {
    const ch = req.accept();
    ch.on('request', (r: { type: string; data: Buffer; accept(): void }) => {
      requests.push({ type: r.type, data: r.data });
      r.accept();
    });
  };
  const ch = await client.openSession();
  // As in a client with other forwards: the dispatcher is there, and still refuses what was not asked.
  ChannelDispatcher.for(client);
  return { ch, requests };
}

function readAll(ch: Channel): Promise<string> {
  const parts: Buffer[] = [];
  ch.on('data', (d: Buffer) => parts.push(d));
  return new Promise((r) => ch.once('end', () => r(Buffer.concat(parts).toString())));
}

const x11Open = () => new SshWriter().string('127.0.0.1').uint32(40404).toBuffer();

test('x11: after x11-req, a setup with the fake cookie (sent byte by byte, MSB first) reaches the display with the real cookie; the rest follows untouched', async () => {
  const { client, server } = pair();
  const display = join(dir, 'X9');
  const x = await listener(display, 12 + 20 + 8 + 4, 'X-REPLY');
  const { ch, requests } = await session(client, server);
  await refused(server.openChannel('x11', x11Open()));
  const warnings: string[] = [];
  const ok = await requestX11Forwarding(
    client,
    ch,
    { display, trusted: true, xauthPath: join(dir, 'xauth') },
    {},
    (m) => warnings.push(m),
  );
  assert.equal(ok, true);
  assert.deepEqual(warnings, []);
  const req = decodeSessionRequest('x11-req', (requests[0] as { data: Buffer }).data);
  assert.ok(req?.type === 'x11-req');
  assert.equal(req.singleConnection, false);
  assert.equal(req.authProtocol, 'MIT-MAGIC-COOKIE-1');
  assert.match(req.authCookie, /^[0-9a-f]{32}$/);
  assert.equal(req.screen, 0);
  assert.notEqual(req.authCookie, REAL.toString('hex'));

  const xch = await server.openChannel('x11', x11Open());
  const reply = readAll(xch);
  const setup = encodeX11Setup({
    bigEndian: true,
    major: 11,
    minor: 0,
    authName: Buffer.from('MIT-MAGIC-COOKIE-1'),
    authData: Buffer.from(req.authCookie, 'hex'),
  });
  for (const b of Buffer.concat([setup, Buffer.from('tail')])) {
    xch.write(Buffer.from([b]));
    await settle(2);
  }
  xch.end();
  assert.equal(await reply, 'X-REPLY');
  const got = Buffer.concat(x.conns[0] ?? []);
  const seen = parseX11Setup(got);
  assert.ok(typeof seen === 'object');
  assert.equal(seen.bigEndian, true);
  assert.equal(seen.authName.toString(), 'MIT-MAGIC-COOKIE-1');
  assert.deepEqual(seen.authData, REAL);
  assert.equal(got.subarray(seen.length).toString(), 'tail');
  await settle();
  for (let i = 0; i < 50 && x11Stats(client)?.open !== 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual({ ...x11Stats(client) }, { accepted: 1, open: 0, failed: 0, bytesOut: got.length, bytesIn: 7 });
  await x.close();
});

test('x11: a wrong cookie, a bad byte order or an oversized field closes the channel without touching the display', async () => {
  const { client, server } = pair();
  const display = join(dir, 'X8');
  const x = await listener(display, 1, '');
  const { ch } = await session(client, server);
  await requestX11Forwarding(client, ch, { display, trusted: true, xauthPath: join(dir, 'xauth') }, {}, () => {});
  const attempts = [
    encodeX11Setup({
      bigEndian: false,
      major: 11,
      minor: 0,
      authName: Buffer.from('MIT-MAGIC-COOKIE-1'),
      authData: Buffer.alloc(16),
    }),
    Buffer.from('Qxxxxxxxxxxxxxxx'),
    Buffer.from([0x6c, 0, 11, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]),
  ];
  for (const a of attempts) {
    const xch = await server.openChannel('x11', x11Open());
    xch.resume();
    xch.write(a);
    // Released (closed by the client) — or, were the check missing, a connection at the display.
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => x.conns.length > 0 && done(), 10);
      const done = () => {
        clearInterval(poll);
        resolve();
      };
      xch.once('released', done);
    });
  }
  assert.equal(x.conns.length, 0);
  await settle();
  const stats = x11Stats(client);
  assert.equal(stats?.failed, 3);
  assert.equal(stats?.open, 0);
  assert.equal(client.stats.channels, 1, 'only the session is left');
  await x.close();
});

test('x11 with no cookie from xauth: a warning, and the setup reaches the display with empty authorization', async () => {
  const { client, server } = pair();
  const display = join(dir, 'X7');
  const x = await listener(display, 12 + 5, 'ok');
  const { ch, requests } = await session(client, server);
  const warnings: string[] = [];
  await requestX11Forwarding(client, ch, { display, trusted: true, xauthPath: '/bin/true' }, {}, (m) =>
    warnings.push(m),
  );
  assert.equal(warnings.length, 1);
  const req = decodeSessionRequest('x11-req', (requests[0] as { data: Buffer }).data);
  assert.ok(req?.type === 'x11-req');
  const xch = await server.openChannel('x11', x11Open());
  const reply = readAll(xch);
  xch.end(
    Buffer.concat([
      encodeX11Setup({
        bigEndian: false,
        major: 11,
        minor: 0,
        authName: Buffer.from('MIT-MAGIC-COOKIE-1'),
        authData: Buffer.from(req.authCookie, 'hex'),
      }),
      Buffer.from('after'),
    ]),
  );
  assert.equal(await reply, 'ok');
  const got = Buffer.concat(x.conns[0] ?? []);
  assert.deepEqual(
    got.subarray(0, 12),
    encodeX11Setup({ bigEndian: false, major: 11, minor: 0, authName: Buffer.alloc(0), authData: Buffer.alloc(0) }),
  );
  assert.equal(got.subarray(12).toString(), 'after');
  await x.close();
});

async function refused(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof ChannelOpenError && e.reasonCode === 1);
}

test('agent: auth-agent@openssh.com is refused before auth-agent-req, then relayed to the agent socket; an unreachable agent refuses CONNECT_FAILED', async () => {
  const { client, server } = pair();
  const sock = join(dir, 'agent.sock');
  const agent = await listener(sock, 5, 'agent-answer');
  const { ch, requests } = await session(client, server);
  await refused(server.openChannel('auth-agent@openssh.com'));
  assert.equal(await requestAgentForwarding(client, ch, sock), true);
  assert.deepEqual(
    requests.map((r) => [r.type, r.data.length]),
    [['auth-agent-req@openssh.com', 0]],
  );
  const a = await server.openChannel('auth-agent@openssh.com');
  const reply = readAll(a);
  a.end('hello');
  assert.equal(await reply, 'agent-answer');
  assert.equal(Buffer.concat(agent.conns[0] ?? []).toString(), 'hello');
  // extra data in the open is not an agent open
  await refused(server.openChannel('auth-agent@openssh.com', Buffer.from([0])));
  await agent.close();
  await assert.rejects(
    server.openChannel('auth-agent@openssh.com'),
    (e: unknown) => e instanceof ChannelOpenError && e.reasonCode === 2,
  );
  await settle();
  for (let i = 0; i < 50 && agentRelayStats(client)?.open !== 0; i++) await new Promise((r) => setTimeout(r, 10));
  const stats = agentRelayStats(client);
  assert.equal(stats?.accepted, 2);
  assert.equal(stats?.failed, 1);
  assert.equal(stats?.open, 0);
});

test('agentSocketFor: true is $SSH_AUTH_SOCK (none when unset or empty), a path is taken as given with ~/ expanded, false is none', () => {
  assert.equal(agentSocketFor(true, { SSH_AUTH_SOCK: '/run/a.sock' }), '/run/a.sock');
  assert.equal(agentSocketFor(true, {}), undefined);
  assert.equal(agentSocketFor(true, { SSH_AUTH_SOCK: '' }), undefined);
  assert.equal(agentSocketFor('/x/agent', {}), '/x/agent');
  assert.equal(agentSocketFor('~/agent.sock', {}), join(homedir(), 'agent.sock'));
  assert.equal(agentSocketFor(false, { SSH_AUTH_SOCK: '/run/a.sock' }), undefined);
  assert.equal(agentSocketFor(undefined, { SSH_AUTH_SOCK: '/run/a.sock' }), undefined);
});

test('x11 with a bad display or screen is an InvalidArgumentError before anything is sent', async () => {
  const { client, server } = pair();
  const { ch, requests } = await session(client, server);
  for (const opts of [{ display: 'nodisplay' }, { display: ':1', screen: -1 }, { display: ':1', screen: 1.5 }]) {
    await assert.rejects(
      requestX11Forwarding(client, ch, { ...opts, trusted: true, xauthPath: '/bin/true' }, {}, () => {}),
      {
        code: 'ERR_SSH_INVALID_ARGUMENT',
      },
    );
  }
  await assert.rejects(
    requestX11Forwarding(client, ch, {}, {}, () => {}),
    { code: 'ERR_SSH_INVALID_ARGUMENT' },
  );
  assert.deepEqual(requests, []);
});
