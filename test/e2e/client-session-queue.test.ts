/**
 * The client's per-connection session limit (issue 11, item 7), against the secsh server: opens beyond
 * `maxSessions` wait for a slot; a server allowing fewer refuses with an error naming the limit; opens
 * still waiting when the connection dies reject with its error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { ChannelOpenError, InvalidArgumentError, SshError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';

/** A server allowing `maxSessions` sessions; `exec` answers after `delay` ms. */
async function withServer(maxSessions: number, delay: number, fn: (port: number) => Promise<void>): Promise<void> {
  const server = new Server({ hostKeys: [generatePrivateKey('ed25519')], authenticate: () => true, maxSessions });
  server.on('session', (s: Session) =>
    s.on('exec', (req) => {
      if (!req.accept()) return;
      setTimeout(() => {
        if (s.channel.destroyed) return;
        s.channel.write(req.command);
        s.exit(0);
      }, delay);
    }),
  );
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  try {
    await fn(port);
  } finally {
    await server.close();
  }
}

const connect = (port: number, maxSessions?: number) =>
  Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'p',
    insecureAcceptAnyHostKey: true,
    ...(maxSessions !== undefined ? { maxSessions } : {}),
  });

test('maxSessions 3 against a server allowing 3: Promise.all of 20 execs all succeed', async () => {
  await withServer(3, 20, async (port) => {
    const client = await connect(port, 3);
    try {
      const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => client.exec(`c${i}`)));
      assert.deepEqual(
        rs.map((r) => r.stdout),
        Array.from({ length: 20 }, (_, i) => `c${i}`),
      );
    } finally {
      await client.close();
    }
  });
});

test('maxSessions 5 against a server allowing 2: the refused opens name maxSessions 5', async () => {
  await withServer(2, 300, async (port) => {
    const client = await connect(port, 5);
    try {
      const rs = await Promise.allSettled(Array.from({ length: 5 }, () => client.exec('x')));
      const refused = rs.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
      assert.equal(refused.length, 3);
      for (const e of refused) {
        assert.ok(e instanceof ChannelOpenError, String(e));
        assert.equal(e.reasonCode, 4);
        assert.match(e.message, /too many sessions .*maxSessions is 5/);
      }
    } finally {
      await client.close();
    }
  });
});

test('opens waiting for a slot reject with the connection error when it closes', async () => {
  await withServer(10, 60_000, async (port) => {
    const client = await connect(port, 1);
    const first = client.exec('held');
    const waiting = client.exec('queued');
    first.catch(() => {});
    while (client.sessions.queued === 0) await new Promise((r) => setTimeout(r, 5));
    await client.close();
    await assert.rejects(waiting, SshError);
    await assert.rejects(first, SshError);
  });
});

test('maxSessions 0 is an InvalidArgumentError before anything connects', async () => {
  await assert.rejects(connect(1, 0), InvalidArgumentError);
});
