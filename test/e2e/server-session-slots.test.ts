/**
 * The server's per-connection counts balance on every path a session can end by: a client CLOSE
 * without EOF (RFC 4254 §5.3, as paramiko's exec_command does), a CLOSE right behind the OPEN, a
 * close while the command runs, connection loss, policy refusal and a throwing handler. After each,
 * `sessionCount` and the connection's `channelCount` are back to zero and `maxSessions` new
 * sessions still open on the same connection.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import type { Channel } from '../../src/connection/index.js';
import { ChannelOpenError, ChannelOpenFailure } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { findScript, localProcessHandler } from '../../src/server/local.js';
import type { ServerConnection, ServerOptions } from '../../src/server/server.js';
import { Server } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import { MSG, SshWriter } from '../../src/wire/index.js';
import { rawClient, requestUserauth, skipHostKeysAnnouncement } from './server-helpers.js';

const MAX_SESSIONS = 3;

interface Setup {
  server: Server;
  port: number;
  client: Client;
  conn: ServerConnection;
  sessions: Session[];
  /** How many Sessions emitted 'close'. */
  closedSessions(): number;
  done(): Promise<void>;
}

/** A server (localProcessHandler unless `handler` is given) and one authenticated client. */
async function setup(
  handler?: (s: Session) => void,
  extra: Partial<ServerOptions> = {},
  onServer?: (server: Server) => void,
): Promise<Setup> {
  const hostKey = generatePrivateKey('ed25519');
  const server = new Server({
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'pw',
    maxSessions: MAX_SESSIONS,
    ...extra,
  });
  const sessions: Session[] = [];
  let closedSessions = 0;
  server.on('session', (s: Session) => {
    sessions.push(s);
    s.once('close', () => closedSessions++);
  });
  server.on('session', handler ?? localProcessHandler({ shell: '/bin/sh' }));
  onServer?.(server);
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
    sessions,
    closedSessions: () => closedSessions,
    done: async () => {
      await client.close();
      await server.close();
    },
  };
}

/** Waits until `cond()` holds, failing with `what` after `ms`. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function counts(conn: ServerConnection): { sessions: number; channels: number } {
  return { sessions: conn.sessionCount, channels: conn.connection.channelCount };
}

/**
 * Resolves once the client's channel has closed (both CLOSEs passed); reads and drops what is left so
 * that 'close' can follow.
 */
function released(ch: Channel): Promise<void> {
  ch.resume();
  ch.stderr.resume();
  if (ch.destroyed) return Promise.resolve();
  return new Promise((r) => ch.once('close', () => r()));
}

/** Runs `command` on a fresh session without ever sending EOF; returns its stdout once the server closed. */
async function execWithoutEof(client: Client, command: string): Promise<string> {
  const ch = await client.connection.openSession();
  ch.on('error', () => {});
  const out: Buffer[] = [];
  ch.on('data', (d: Buffer) => out.push(d));
  const over = released(ch);
  await ch.exec(command);
  await over; // the server's CLOSE is answered by ours: no EOF from this side, ever
  return Buffer.concat(out).toString('utf8');
}

/** Asserts `maxSessions` sessions can be open at once on the connection (the slots are free). */
async function assertAllSlotsFree(s: Setup): Promise<void> {
  const chans = await Promise.all(Array.from({ length: MAX_SESSIONS }, () => s.client.connection.openSession()));
  await until(() => s.conn.sessionCount === MAX_SESSIONS, 'every slot in use');
  for (const ch of chans) {
    ch.on('error', () => {});
    ch.destroy();
  }
  await until(() => s.conn.sessionCount === 0, 'slots freed again');
}

test('sessions closed by the client without EOF free their slot (many more than maxSessions in turn)', async () => {
  const s = await setup();
  try {
    for (let i = 0; i < MAX_SESSIONS * 4; i++) {
      // The next OPEN reaches the server after our CLOSE: the slot must be free by then.
      assert.equal(await execWithoutEof(s.client, `echo run${i}`), `run${i}\n`);
    }
    await until(() => s.conn.sessionCount === 0, 'the last session counted closed');
    assert.deepEqual(counts(s.conn), { sessions: 0, channels: 0 });
    // Each Session reported its end, so handlers can clean up.
    assert.equal(s.closedSessions(), MAX_SESSIONS * 4);
  } finally {
    await s.done();
  }
});

test('a session whose handler never reads the input frees its slot when closed without EOF', async () => {
  // The handler answers and exits without consuming the channel: nothing ever reads its readable side.
  const s = await setup((session) => {
    session.on('exec', (req: { command: string; accept(): void }) => {
      req.accept();
      session.channel.write(`ran:${req.command}`);
      session.exit(0);
    });
  });
  try {
    for (let i = 0; i < MAX_SESSIONS * 2; i++) {
      // Data the handler will never read, then the server's close, then ours.
      const ch = await s.client.connection.openSession();
      ch.on('error', () => {});
      const over = released(ch);
      ch.write('unread input');
      await ch.exec(`c${i}`);
      await over;
    }
    await until(() => s.conn.sessionCount === 0, 'the last session counted closed');
    assert.deepEqual(counts(s.conn), { sessions: 0, channels: 0 });
  } finally {
    await s.done();
  }
});

test('a client CLOSE while the command runs frees the slot and hangs up the command', async () => {
  const s = await setup();
  try {
    const pids: number[] = [];
    for (let i = 0; i < MAX_SESSIONS + 1; i++) {
      const ch = await s.client.connection.openSession();
      ch.on('error', () => {});
      const first = new Promise<Buffer>((r) => ch.once('data', r));
      await ch.exec('echo $$; exec sleep 30');
      pids.push(Number.parseInt((await first).toString('utf8'), 10));
      const over = released(ch);
      ch.destroy(); // CLOSE, no EOF
      await over;
      await until(() => s.conn.sessionCount === 0, `session ${i} counted closed`);
    }
    for (const pid of pids) {
      await until(() => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      }, `command ${pid} to be hung up`);
    }
    assert.deepEqual(counts(s.conn), { sessions: 0, channels: 0 });
    await assertAllSlotsFree(s);
  } finally {
    await s.done();
  }
});

test('a CLOSE sent right behind the OPEN (before the confirmation arrived) frees the slot', async () => {
  const hostKey = generatePrivateKey('ed25519');
  const server = new Server({
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'pw',
    maxSessions: 1,
  });
  const seen: Session[] = [];
  server.on('session', (x: Session) => seen.push(x));
  const connected = new Promise<ServerConnection>((r) => server.once('connection', r));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const c = await rawClient(port);
  try {
    const conn = await connected;
    await requestUserauth(c);
    c.t.send(
      new SshWriter(64)
        .byte(MSG.USERAUTH_REQUEST)
        .string('u')
        .string('ssh-connection')
        .string('password')
        .bool(false)
        .string('pw')
        .toBuffer(),
    );
    for (;;) {
      const p = await c.queue.next();
      if (p[0] === MSG.USERAUTH_SUCCESS) break;
      assert.equal(p[0], MSG.USERAUTH_BANNER, `unexpected message ${p[0]} during auth`);
    }
    await skipHostKeysAnnouncement(c);
    const open = (sender: number) =>
      new SshWriter(32)
        .byte(MSG.CHANNEL_OPEN)
        .string('session')
        .uint32(sender)
        .uint32(1 << 20)
        .uint32(32768)
        .toBuffer();
    for (let round = 0; round < 5; round++) {
      // OPEN and CLOSE in one burst: the CLOSE names the server's channel number it will pick (the
      // lowest free one, 0), before the confirmation has come back.
      c.t.send(open(round));
      c.t.send(new SshWriter(8).byte(MSG.CHANNEL_CLOSE).uint32(0).toBuffer());
      const confirm = await c.queue.next();
      assert.equal(confirm[0], MSG.CHANNEL_OPEN_CONFIRMATION, `round ${round}: open refused`);
      const close = await c.queue.next();
      assert.equal(close[0], MSG.CHANNEL_CLOSE, `round ${round}: expected the server's CLOSE`);
      await until(() => conn.sessionCount === 0, `round ${round}: slot freed`);
      assert.equal(conn.connection.channelCount, 0);
    }
    assert.equal(seen.length, 5);
  } finally {
    c.t.destroy();
    await server.close();
  }
});

test('connection loss frees every session, ends each Session and hangs up its command', async () => {
  let serverConn: ServerConnection | undefined;
  const s = await setup(undefined, {}, (server) => server.on('connection', (x: ServerConnection) => (serverConn = x)));
  try {
    const pids: number[] = [];
    for (let i = 0; i < MAX_SESSIONS; i++) {
      const ch = await s.client.connection.openSession();
      ch.on('error', () => {});
      const first = new Promise<Buffer>((r) => ch.once('data', r));
      await ch.exec('echo $$; exec sleep 30');
      pids.push(Number.parseInt((await first).toString('utf8'), 10));
    }
    assert.equal(s.conn.sessionCount, MAX_SESSIONS);
    s.client.transport.destroy(); // the socket goes away: no CLOSE, no DISCONNECT
    await until(() => s.closedSessions() === MAX_SESSIONS, 'every Session to end');
    assert.equal(serverConn, s.conn);
    await until(() => s.conn.closed, 'server connection closed');
    assert.deepEqual(counts(s.conn), { sessions: 0, channels: 0 });
    for (const pid of pids) {
      await until(() => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      }, `command ${pid} to be hung up`);
    }
  } finally {
    await s.done();
  }
});

test('connection loss hangs up a command running on a pty too', async (t) => {
  if (!findScript()) {
    t.skip('util-linux script is not installed: no pty sessions');
    return;
  }
  const s = await setup();
  try {
    const ch = await s.client.connection.openSession();
    ch.on('error', () => {});
    await ch.requestPty({ cols: 80, rows: 24 });
    const first = new Promise<Buffer>((r) => ch.once('data', r));
    await ch.exec('echo $$; exec sleep 30');
    const pid = Number.parseInt((await first).toString('utf8'), 10);
    assert.ok(pid > 0);
    s.client.transport.destroy();
    await until(() => s.closedSessions() === 1, 'the Session to end');
    await until(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, `command ${pid} on the pty to be hung up`);
    assert.deepEqual(counts(s.conn), { sessions: 0, channels: 0 });
  } finally {
    await s.done();
  }
});

test('refused opens and refused requests hold no slot', async () => {
  // No exec handler: every exec is refused; no 'channel-open' listener: direct-tcpip is refused.
  const s = await setup(() => {});
  try {
    const held = await Promise.all(Array.from({ length: MAX_SESSIONS }, () => s.client.connection.openSession()));
    for (const ch of held) ch.on('error', () => {});
    for (let i = 0; i < 5; i++) {
      await assert.rejects(
        s.client.connection.openSession(),
        (e: unknown) => e instanceof ChannelOpenError && e.reasonCode === ChannelOpenFailure.RESOURCE_SHORTAGE,
      );
      await assert.rejects(s.client.forwardOut('127.0.0.1', 9), ChannelOpenError);
    }
    assert.deepEqual(counts(s.conn), { sessions: MAX_SESSIONS, channels: MAX_SESSIONS });
    for (const ch of held) {
      await assert.rejects(ch.exec('true'));
      const over = released(ch);
      ch.destroy();
      await over;
    }
    await until(() => s.conn.sessionCount === 0, 'refused sessions counted closed');
    assert.deepEqual(counts(s.conn), { sessions: 0, channels: 0 });
    await assertAllSlotsFree(s);
  } finally {
    await s.done();
  }
});

test('a throwing session or request handler closes that session only, and frees its slot', async () => {
  let n = 0;
  const s = await setup((session) => {
    const mine = n++;
    if (mine % 2 === 0) throw new Error('session handler bug');
    session.on('exec', (req: { command: string; accept(): void }) => {
      if (req.command === 'throw') throw new Error('exec handler bug');
      req.accept();
      session.channel.end(`ok ${req.command}`);
      session.exit(0);
    });
  });
  try {
    for (let i = 0; i < MAX_SESSIONS * 2; i++) {
      // Even-numbered sessions: the 'session' listener throws, so the server closes the channel.
      const a = await s.client.connection.openSession();
      a.on('error', () => {});
      const aOver = released(a);
      await aOver;
      // Odd-numbered: the 'exec' listener throws on 'throw' — that request fails and the channel closes.
      const b = await s.client.connection.openSession();
      b.on('error', () => {});
      const bOver = released(b);
      await assert.rejects(b.exec('throw'));
      await bOver;
      await until(() => s.conn.sessionCount === 0, `round ${i}: slots freed`);
    }
    assert.deepEqual(counts(s.conn), { sessions: 0, channels: 0 });
    assert.equal(s.client.closed, false, 'the connection survives handler exceptions');
    n = 1; // the next session gets a working handler
    const r = await s.client.exec('hello', { encoding: 'utf8' });
    assert.equal(r.stdout, 'ok hello');
  } finally {
    await s.done();
  }
});
