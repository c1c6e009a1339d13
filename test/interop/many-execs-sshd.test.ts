/**
 * More concurrent execs on one connection than sshd's MaxSessions (10): the client queues session
 * opens beyond its limit (default 10), so Promise.all of 30 execs works (issue 11, item 7: the 11th
 * failed with "channel open failed (2)"); a server that allows fewer than the client's limit gets
 * an error naming that limit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChannelOpenError } from '../../src/errors.js';
import { connectSshd, installTripwire, sharedSshd } from '../helpers/interop.js';
import { requirePeer } from '../helpers/peers.js';

installTripwire();
const shared = sharedSshd({ extraConfig: ['MaxSessions 10'] });

test('Promise.all of 30 execs on one connection to sshd (MaxSessions 10) all succeed, at most 10 open at once', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const client = await connectSshd(await shared.get());
  let most = 0;
  let mostQueued = 0;
  const sample = setInterval(() => {
    most = Math.max(most, client.sessions.open);
    mostQueued = Math.max(mostQueued, client.sessions.queued);
  }, 5);
  try {
    const n = Array.from({ length: 30 }, (_, i) => i);
    const rs = await Promise.all(n.map((i) => client.exec(`echo ${i}`)));
    assert.deepEqual(
      rs.map((r) => [r.stdout, r.code]),
      n.map((i) => [`${i}\n`, 0]),
    );
    assert.ok(most <= 10, `${most} sessions open at once`);
    assert.ok(mostQueued > 0, 'no open waited for a slot');
    // The last slots are freed once the server has answered the round trip after their CLOSE.
    const deadline = Date.now() + 10_000;
    while (client.sessions.open > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(client.sessions, { open: 0, queued: 0, max: 10 });
  } finally {
    clearInterval(sample);
    await client.close();
  }
});

test("a client limit above the server's MaxSessions: the refusal names maxSessions", async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const client = await connectSshd(await shared.get(), { maxSessions: 12 });
  try {
    const rs = await Promise.allSettled(Array.from({ length: 12 }, () => client.exec('sleep 5')));
    const refused = rs.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    assert.ok(refused.length >= 1, 'sshd refused none of 12 sessions');
    for (const e of refused) {
      assert.ok(e instanceof ChannelOpenError, String(e));
      assert.match(e.message, /maxSessions is 12/);
      assert.match(e.message, /MaxSessions/);
    }
  } finally {
    await client.close();
  }
});
