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
    .tuple(fc.constantFrom(94, 95), fc.integer({ min: 0, max: 3 }), fc.uint8Array({ maxLength: 48 }))
    .map(([msg, id, tail]) => {
      const w = new SshWriter().byte(msg).uint32(id);
      if (msg === 95) w.uint32(tail.length % 3);
      return w
        .string(tail)
        .raw(tail.subarray(0, tail.length % 4 === 0 ? 1 : 0))
        .toBuffer();
    }),
  fc
    .tuple(
      fc.integer({ min: 0, max: 3 }),
      fc.constantFrom('exit-status', 'exit-signal', 'pty-req', 'env', 'exec', 'subsystem', 'x', 'window-change'),
      fc.boolean(),
      fc.array(
        fc.oneof(
          fc.nat({ max: 0xffffffff }).map((n) => new SshWriter().uint32(n).toBuffer()),
          fc.uint8Array({ maxLength: 12 }).map((b) => new SshWriter().string(b).toBuffer()),
          fc.uint8Array({ maxLength: 3 }).map((b) => Buffer.from(b)),
        ),
        { maxLength: 6 },
      ),
    )
    .map(([id, name, wantReply, parts]) =>
      new SshWriter().byte(98).uint32(id).string(name).bool(wantReply).raw(Buffer.concat(parts)).toBuffer(),
    ),
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
