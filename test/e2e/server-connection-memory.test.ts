/**
 * What a held connection keeps has memory of its own: its session id, the host key proof and the user's
 * key are not slices of Node's shared 8 KiB Buffer pool, whose slab (with the short-lived bytes around
 * them) they would otherwise keep alive for the connection's life (bench/server.ts, idle connections).
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey, PublicKey } from '../../src/keys/index.js';
import type { ServerConnection } from '../../src/server/connection.js';
import { ownCopy } from '../../src/wire/index.js';
import { startServer } from './server-helpers.js';

/** True when `b` is the whole of its ArrayBuffer (no pool slab behind it). */
function own(b: Buffer | undefined): boolean {
  return b !== undefined && b.byteOffset === 0 && b.buffer.byteLength === b.length;
}

test('ownCopy returns equal bytes in an ArrayBuffer of their own; PublicKey.fromBlob keeps such a copy', () => {
  const small = Buffer.from('0123456789abcdef0123456789abcdef');
  // Node's Buffer.from takes small copies from its pool (Bun's and Deno's need not).
  const onNode = process.versions.bun === undefined && process.versions.deno === undefined;
  if (onNode) assert.ok(!own(small), 'a small Buffer.from copy sits in the shared pool (the premise)');
  const c = ownCopy(small);
  assert.deepEqual(c, small);
  assert.ok(own(c));
  c[0] = 0;
  assert.equal(small[0], 0x30, 'a copy, not a view');
  const pub = generatePrivateKey('ed25519').publicKey;
  const parsed = PublicKey.fromBlob(Buffer.from(pub.blob));
  assert.ok(parsed.equals(pub));
  assert.ok(own(parsed.blob));
});

test('a held connection keeps its session id and the user key in memory of their own, on both sides', async () => {
  const user = generatePrivateKey('ed25519');
  const { server, port } = await startServer({
    hostKeys: [generatePrivateKey('ed25519')],
    authFailureDelay: 0,
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.key?.equals(user.publicKey) === true,
  });
  const conns: ServerConnection[] = [];
  server.on('connection', (c: ServerConnection) => conns.push(c));
  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    privateKey: user,
    insecureAcceptAnyHostKey: true,
  });
  try {
    const conn = conns[0];
    assert.ok(conn);
    const sid = conn.transport.sessionId;
    assert.equal(sid?.length, 32);
    assert.ok(own(sid), 'server session id');
    assert.ok(own(client.transport.sessionId), 'client session id');
    assert.deepEqual(client.transport.sessionId, sid);
    const hk = client.transport.sessionHostKey;
    assert.ok(hk && own(hk.blob) && own(hk.signature), 'client host key proof');
    assert.ok(conn.key?.equals(user.publicKey));
    assert.ok(own(conn.key?.blob), 'the key that authenticated the user');
  } finally {
    await client.close();
    await server.close();
  }
});
