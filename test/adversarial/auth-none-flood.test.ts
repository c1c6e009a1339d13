/**
 * A hostile client pipelines USERAUTH_REQUEST "none" by the thousand, in one burst, through secsh's
 * own Transport (the public client would never do it). As sshd does, only a "none" that is the very
 * first request is free and the policy sees "none" once; every other one is a failed attempt, slowed
 * by the failure delay, and the attempt after the limit ends the connection with DISCONNECT (reason
 * 14, no more auth methods available) — long before the login grace time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthMethod } from '../../src/auth/server.js';
import { DisconnectError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import type { AuthAttempt } from '../../src/server/server.js';
import { Server } from '../../src/server/server.js';
import { MSG, SshWriter } from '../../src/wire/index.js';
import { type RawClient, rawClient, requestUserauth } from '../e2e/server-helpers.js';

const hostKey = generatePrivateKey('ed25519');

function userauth(method: string): SshWriter {
  return new SshWriter(64).byte(MSG.USERAUTH_REQUEST).string('mallory').string('ssh-connection').string(method);
}

const none = (): Buffer => userauth('none').toBuffer();
const password = (pw: string): Buffer => userauth('password').bool(false).string(pw).toBuffer();

/**
 * Reads replies until the connection closes (or `ms` passed: then `err` says so and the connection is
 * dropped); returns the message numbers and the close error.
 */
async function drain(c: RawClient, ms = 10_000): Promise<{ replies: number[]; err: Error | undefined }> {
  const replies: number[] = [];
  const timer = setTimeout(() => c.t.destroy(new Error(`still open after ${ms} ms`)), ms);
  try {
    for (;;) {
      try {
        replies.push((await c.queue.next())[0] as number);
      } catch {
        return { replies, err: await c.closed };
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

async function withServer(
  opts: { maxAuthAttempts: number; authFailureDelay: number },
  body: (port: number, policy: { calls: AuthMethod[]; attempts: AuthAttempt[] }) => Promise<void>,
): Promise<void> {
  const calls: AuthMethod[] = [];
  const attempts: AuthAttempt[] = [];
  const server = new Server({
    hostKeys: [hostKey],
    loginGraceTime: 60_000,
    ...opts,
    authenticate: (ctx) => {
      calls.push(ctx.method);
      return false;
    },
  });
  server.on('auth', (a: AuthAttempt) => attempts.push(a));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  try {
    await body(port, { calls, attempts });
  } finally {
    await server.close();
  }
}

test('1,000 pipelined "none" requests: one policy call, maxAuthAttempts failures, each delayed, then DISCONNECT', async () => {
  const maxAuthAttempts = 4;
  const authFailureDelay = 100;
  await withServer({ maxAuthAttempts, authFailureDelay }, async (port, policy) => {
    const c = await rawClient(port);
    await requestUserauth(c);
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) c.t.send(none());
    const { replies, err } = await drain(c);
    const elapsed = performance.now() - t0;

    assert.ok(err instanceof DisconnectError, `ended by ${String(err)} after ${replies.length} replies`);
    assert.equal(err.peerReason, 14, 'NO_MORE_AUTH_METHODS_AVAILABLE');
    // The free first "none", then maxAuthAttempts counted failures; the next one disconnects.
    assert.deepEqual(
      replies,
      Array.from({ length: maxAuthAttempts + 1 }, () => MSG.USERAUTH_FAILURE),
      'one FAILURE per request up to the limit, nothing after',
    );
    assert.deepEqual(policy.calls, ['none'], 'the policy sees "none" once per connection');
    // Every counted failure took at least the failure delay (the free first one did not have to).
    assert.ok(
      elapsed >= maxAuthAttempts * authFailureDelay * 0.9,
      `${maxAuthAttempts} delayed failures took only ${elapsed.toFixed(0)} ms`,
    );
    assert.ok(elapsed < 10_000, `the flood ended after ${elapsed.toFixed(0)} ms, not at the grace time`);
  });
});

test('"none" first is free: a client still has maxAuthAttempts real attempts after it', async () => {
  const maxAuthAttempts = 3;
  await withServer({ maxAuthAttempts, authFailureDelay: 0 }, async (port, policy) => {
    const c = await rawClient(port);
    await requestUserauth(c);
    c.t.send(none());
    assert.equal((await c.queue.next())[0], MSG.USERAUTH_FAILURE);
    for (let i = 1; i <= maxAuthAttempts; i++) {
      c.t.send(password(`guess${i}`));
      assert.equal((await c.queue.next())[0], MSG.USERAUTH_FAILURE, `password attempt ${i}`);
    }
    c.t.send(password('one too many'));
    const { replies, err } = await drain(c);
    assert.deepEqual(replies, []);
    assert.ok(err instanceof DisconnectError && err.peerReason === 14, String(err));
    assert.deepEqual(policy.calls, ['none', 'password', 'password', 'password', 'password']);
  });
});

test('a "none" after the first request counts as a failed attempt and does not ask the policy again', async () => {
  const maxAuthAttempts = 2;
  await withServer({ maxAuthAttempts, authFailureDelay: 0 }, async (port, policy) => {
    const c = await rawClient(port);
    await requestUserauth(c);
    c.t.send(password('a')); // failure 1
    c.t.send(none()); // failure 2: not the first request
    c.t.send(none()); // failure 3: over the limit
    const { replies, err } = await drain(c);
    assert.deepEqual(replies, [MSG.USERAUTH_FAILURE, MSG.USERAUTH_FAILURE]);
    assert.ok(err instanceof DisconnectError && err.peerReason === 14, String(err));
    assert.deepEqual(policy.calls, ['password', 'none']);
    assert.deepEqual(
      policy.attempts.map((a) => a.method),
      ['password', 'none'],
      "the server's 'auth' event reports what the policy decided",
    );
  });
});

test('requests that are no failures (publickey queries answered PK_OK) are capped at 1024 per connection', async () => {
  const key = generatePrivateKey('ed25519').publicKey;
  let queries = 0;
  const server = new Server({
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authenticate: (ctx) => {
      if (ctx.method === 'publickey' && !ctx.signed) queries++;
      return ctx.method === 'publickey' && !ctx.signed; // "I would accept that key" — forever
    },
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  try {
    const c = await rawClient(port);
    await requestUserauth(c);
    const query = userauth('publickey').bool(false).string('ssh-ed25519').string(key.blob).toBuffer();
    for (let i = 0; i < 1500; i++) c.t.send(query);
    const { replies, err } = await drain(c);
    assert.ok(err instanceof DisconnectError && err.peerReason === 14, `ended by ${String(err)}`);
    assert.equal(replies.length, 1024);
    assert.ok(replies.every((n) => n === MSG.USERAUTH_PK_OK));
    assert.equal(queries, 1024);
  } finally {
    await server.close();
  }
});
