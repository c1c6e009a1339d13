/**
 * SessionSlots' slot reuse: a closed session's slot is freed by the reply to a keepalive round trip,
 * or by a 5 s fallback timer. A reply arriving after the timer must not also end the next probe.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mock, test } from 'node:test';
import { SessionSlots } from '../../src/client/sessions.js';
import type { Connection } from '../../src/connection/index.js';

class FakeChannel extends EventEmitter {
  isReleased = false;
  localId = 0;
  remoteId = 0;
  over(): void {
    this.isReleased = true;
    this.emit('released');
  }
}

function fakeConnection() {
  const replies: Array<() => void> = [];
  const conn = {
    openSession: async () => new FakeChannel(),
    globalRequest: () =>
      new Promise<boolean>((resolve) => {
        replies.push(() => resolve(true));
      }),
  };
  return { conn: conn as unknown as Connection, replies };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

test('a keepalive reply arriving after the 5 s fallback neither frees its slots again nor ends the next probe', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { conn, replies } = fakeConnection();
    const slots = new SessionSlots(2);
    const a = (await slots.openSession(conn)) as unknown as FakeChannel;
    const b = (await slots.openSession(conn)) as unknown as FakeChannel;
    assert.equal(slots.open, 2);

    a.over(); // probe 1 (frees a's slot)
    assert.equal(replies.length, 1);
    mock.timers.tick(5000); // no reply: the fallback frees it
    await tick();
    assert.equal(slots.open, 1);

    b.over(); // probe 2 (frees b's slot)
    assert.equal(replies.length, 2);
    replies[0]?.(); // probe 1's late reply
    await tick();
    assert.equal(slots.open, 1, "probe 1's late reply must not free b's slot before probe 2 ends");

    replies[1]?.(); // probe 2's reply
    await tick();
    assert.equal(slots.open, 0);
    mock.timers.tick(5000); // probe 2's fallback was cleared: nothing more is freed
    await tick();
    assert.equal(slots.open, 0);
  } finally {
    mock.timers.reset();
  }
});
