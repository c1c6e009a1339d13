import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Channel } from '../../src/connection/index.js';
import { Connection } from '../../src/connection/index.js';
import { SshError } from '../../src/errors.js';
import { SshWriter } from '../../src/wire/index.js';
import { CaptureLink } from '../unit/connection/link.js';

/** A connection with channels 0..2 open (one per role-relevant type) plus handlers installed. */
function setup(role: 'client' | 'server'): Connection {
  const conn = new Connection(new CaptureLink(), { role, windowSize: 4096, maxPacket: 1024, maxChannels: 8 });
  conn.onChannelOpen = (req) => {
    const ch = req.accept();
    ch.on('error', () => {});
    ch.on('request', (ev) => ev.accept());
  };
  conn.onGlobalRequest = () => true;
  for (const type of ['session', 'direct-tcpip', 'session']) {
    void conn.openChannel(type).then(
      (ch: Channel) => ch.on('error', () => {}),
      () => {},
    );
  }
  for (let id = 0; id < 3; id++) {
    conn.handlePacket(
      new SshWriter()
        .byte(91)
        .uint32(id)
        .uint32(id + 10)
        .uint32(10_000)
        .uint32(500)
        .toBuffer(),
    );
  }
  void conn.globalRequest('g').catch(() => {});
  return conn;
}

/** Messages 80..127 with a small channel id and a random tail, or fully random bytes. */
const message = fc.oneof(
  fc
    .tuple(fc.integer({ min: 80, max: 127 }), fc.integer({ min: 0, max: 4 }), fc.uint8Array({ maxLength: 64 }))
    .map(([msg, id, tail]) => new SshWriter().byte(msg).uint32(id).raw(tail).toBuffer()),
  fc
    .tuple(
      fc.constantFrom(94, 95, 98),
      fc.integer({ min: 0, max: 3 }),
      fc.constantFrom('exit-status', 'exit-signal', 'pty-req', 'env', 'exec', 'x', 'window-change'),
      fc.uint8Array({ maxLength: 48 }),
    )
    .map(([msg, id, name, tail]) => {
      const w = new SshWriter().byte(msg).uint32(id);
      if (msg === 98) w.string(name).bool(true);
      else if (msg === 95) w.uint32(1);
      return w
        .string(tail)
        .raw(tail.subarray(0, tail.length % 3))
        .toBuffer();
    }),
  fc.uint8Array({ minLength: 0, maxLength: 80 }).map((b) => Buffer.from(b)),
);

test('random payloads to handlePacket throw only SshError subclasses', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<'client' | 'server'>('client', 'server'),
      fc.array(message, { maxLength: 20 }),
      (role, msgs) => {
        const conn = setup(role);
        for (const m of msgs) {
          try {
            conn.handlePacket(m);
          } catch (e) {
            assert.ok(e instanceof SshError, `non-SshError thrown: ${String(e)}`);
          }
        }
        conn.destroy();
      },
    ),
    { numRuns: 2000 },
  );
});
