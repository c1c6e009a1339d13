/**
 * Hostile or broken servers (scripted fake servers): each connect must fail with the right error
 * code within a second, without an unhandled rejection or a crash.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '../../src/index.js';
import { type FakeBehaviour, startFakeServer } from '../helpers/fake-server.js';
import { installTripwire, rejectsWithCode } from '../helpers/interop.js';

const tripwire = installTripwire();

const cases: { behaviour: FakeBehaviour; code: string; readyTimeout?: number; within: number }[] = [
  { behaviour: 'garbage', code: 'ERR_SSH_PROTOCOL', within: 1000 },
  { behaviour: 'oversized-length', code: 'ERR_SSH_PROTOCOL', within: 1000 },
  { behaviour: 'truncated-kexinit', code: 'ERR_SSH_PROTOCOL', within: 1000 },
  { behaviour: 'many-pre-banner-lines', code: 'ERR_SSH_PROTOCOL', within: 1000 },
  { behaviour: 'long-version', code: 'ERR_SSH_PROTOCOL', within: 1000 },
  { behaviour: 'strict-kex-ignore', code: 'ERR_SSH_PROTOCOL', within: 1000 },
  // control: without strict KEX the same IGNORE is legal, so the client just waits for the KEX reply
  { behaviour: 'kex-ignore', code: 'ERR_SSH_TIMEOUT', readyTimeout: 500, within: 1000 },
  { behaviour: 'silent', code: 'ERR_SSH_TIMEOUT', readyTimeout: 500, within: 1000 },
  { behaviour: 'banner-then-silent', code: 'ERR_SSH_TIMEOUT', readyTimeout: 500, within: 1000 },
];

for (const c of cases) {
  test(`${c.behaviour} → ${c.code} within ${c.within} ms`, async (t) => {
    const fake = await startFakeServer(c.behaviour);
    try {
      const started = Date.now();
      const err = await rejectsWithCode(
        Client.connect({
          host: fake.host,
          port: fake.port,
          username: 'nobody',
          password: 'x',
          insecureAcceptAnyHostKey: true,
          readyTimeout: c.readyTimeout ?? 20_000,
        }),
        c.code,
      );
      const elapsed = Date.now() - started;
      t.diagnostic(`${err.message} (${elapsed} ms)`);
      assert.ok(elapsed < c.within, `took ${elapsed} ms`);
      assert.ok(err instanceof Error);
      // the client hung up: the fake server sees the connection close soon after
      const deadline = Date.now() + 1000;
      while (fake.received.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(fake.received.length, 1, 'the client closed its socket');
      assert.match(fake.received[0]?.subarray(0, 8).toString('latin1') ?? '', /^SSH-2\.0-/);
    } finally {
      await fake.stop();
    }
  });
}

test('an aborted connect (AbortSignal) ends quietly with ERR_SSH_ABORTED', async () => {
  const fake = await startFakeServer('silent');
  try {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await rejectsWithCode(
      Client.connect({
        host: fake.host,
        port: fake.port,
        username: 'nobody',
        insecureAcceptAnyHostKey: true,
        signal: ac.signal,
      }),
      'ERR_SSH_ABORTED',
    );
  } finally {
    await fake.stop();
  }
});

test('connection refused → ERR_SSH_CONNECTION_LOST or a socket error, never a hang', async () => {
  const fake = await startFakeServer('silent');
  const port = fake.port;
  await fake.stop(); // nothing listens there now
  const started = Date.now();
  const err = (await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'nobody',
    insecureAcceptAnyHostKey: true,
    readyTimeout: 2000,
  }).then(
    () => undefined,
    (e: unknown) => e,
  )) as (Error & { code?: string }) | undefined;
  assert.ok(err, 'connect must fail');
  assert.ok(Date.now() - started < 1000);
  assert.ok(['ERR_SSH_CONNECTION_LOST', 'ECONNREFUSED'].includes(err.code ?? ''), String(err.code));
  assert.equal(tripwire.errors.length, 0);
});
