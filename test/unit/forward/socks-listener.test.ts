/**
 * forwardDynamic's listener with a stand-in connection: a client that never completes its request is
 * closed after the handshake timeout, options are checked, a dead connection refuses to start, and the
 * connection's close closes the listener.
 */
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { test } from 'node:test';
import type { Connection } from '../../../src/connection/index.js';
import { ConnectionLostError, TimeoutError } from '../../../src/errors.js';
import { startDynamicForward } from '../../../src/forward/socks-forward.js';

/** A connection that refuses every open; `closeReason` and 'close' as a real one has them. */
class FakeConnection extends EventEmitter {
  closeReason: Error | undefined = undefined;
  opens = 0;
  openChannel(): Promise<never> {
    this.opens++;
    return Promise.reject(new ConnectionLostError('no channels here'));
  }
  die(): void {
    this.closeReason = new ConnectionLostError('connection closed');
    this.emit('close');
  }
}

const asConnection = (c: FakeConnection) => c as unknown as Connection;

test('a client that sends half a request is closed after handshakeTimeout, with a TimeoutError on the forward', async () => {
  const conn = new FakeConnection();
  const fwd = await startDynamicForward(asConnection(conn), { bindPort: 0, handshakeTimeout: 150 });
  try {
    const errors: unknown[] = [];
    fwd.on('error', (e) => errors.push(e));
    const sock = netConnect((fwd.address as { port: number }).port, '127.0.0.1');
    sock.on('error', () => {});
    const data: Buffer[] = [];
    sock.on('data', (c: Buffer) => data.push(c));
    await once(sock, 'connect');
    const t0 = Date.now();
    sock.write(Buffer.from([5, 1])); // a greeting missing its method list
    await once(sock, 'close');
    const waited = Date.now() - t0;
    assert.ok(waited >= 100 && waited < 3000, `closed after ${waited} ms`);
    assert.equal(Buffer.concat(data).length, 0);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof TimeoutError);
    assert.equal(conn.opens, 0);
    while (fwd.stats.open !== 0) await new Promise((r) => setTimeout(r, 10)); // our side's close follows
    assert.deepEqual(fwd.stats, { accepted: 1, open: 0, failed: 1, bytesOut: 0, bytesIn: 0 });
  } finally {
    await fwd.close({ endConnections: true });
  }
});

test('forwardDynamic checks its options and does not start on a dead connection', async () => {
  const conn = new FakeConnection();
  await assert.rejects(startDynamicForward(asConnection(conn), {} as { bindPort: number }), {
    code: 'ERR_SSH_INVALID_ARGUMENT',
  });
  await assert.rejects(startDynamicForward(asConnection(conn), { bindPort: 70000 }), {
    code: 'ERR_SSH_INVALID_ARGUMENT',
  });
  await assert.rejects(startDynamicForward(asConnection(conn), { bindPort: 0, handshakeTimeout: 0 }), {
    code: 'ERR_SSH_INVALID_ARGUMENT',
  });
  conn.die();
  await assert.rejects(startDynamicForward(asConnection(conn), { bindPort: 0 }), ConnectionLostError);
});

test("the connection's close closes the listener and its connections", async () => {
  const conn = new FakeConnection();
  const fwd = await startDynamicForward(asConnection(conn), { bindPort: 0 });
  const port = (fwd.address as { port: number }).port;
  const sock = netConnect(port, '127.0.0.1');
  sock.on('error', () => {});
  await once(sock, 'connect');
  const closed = once(fwd, 'close');
  conn.die();
  await closed;
  await once(sock, 'close');
  const again = netConnect(port, '127.0.0.1');
  const [e] = (await once(again, 'error')) as [NodeJS.ErrnoException];
  assert.equal(e.code, 'ECONNREFUSED');
  while (fwd.stats.open !== 0) await new Promise((r) => setTimeout(r, 10));
});
