/**
 * EXT_INFO is bounded per connection (RFC 8308 §2.4): a server may send it twice (after its first
 * NEWKEYS and before USERAUTH_SUCCESS), a client once. A third message from a server, or a second
 * from a client, ends the connection with a ProtocolError instead of growing the extension map.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { resolveAlgorithms } from '../../../src/crypto/algorithms.js';
import { ProtocolError } from '../../../src/errors.js';
import { generatePrivateKey } from '../../../src/keys/index.js';
import { Transport } from '../../../src/transport/transport.js';
import { MSG, SshWriter } from '../../../src/wire/index.js';

async function socketPair(): Promise<[Socket, Socket]> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  const accepted = once(srv, 'connection');
  const c = connect(port, '127.0.0.1');
  const [s] = (await accepted) as [Socket];
  srv.close();
  return [c, s];
}

async function transports() {
  const [a, b] = await socketPair();
  const algorithms = resolveAlgorithms(undefined);
  const client = new Transport(a, { role: 'client', algorithms, verifyHostKey: () => {} });
  const server = new Transport(b, { role: 'server', algorithms, hostKeys: [generatePrivateKey('ed25519')] });
  client.start();
  server.start();
  await Promise.all([client.ready(), server.ready()]);
  return { client, server };
}

const extInfo = (i: number) =>
  new SshWriter(64).byte(MSG.EXT_INFO).uint32(1).string(`x-${i}@example.com`).string('v').toBuffer();

test('a server sending EXT_INFO a third time is a protocol error at the client', async () => {
  const { client, server } = await transports();
  // The server already sent one with server-sig-algs; one more is allowed, the next is not.
  server.send(extInfo(1));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(client.closed, false, 'the second EXT_INFO is allowed');
  const closed = once(client, 'close');
  server.send(extInfo(2));
  const [err] = (await closed) as [Error];
  assert.ok(err instanceof ProtocolError, String(err));
  assert.match(err.message, /EXT_INFO/);
  server.destroy();
});

test('a client sending EXT_INFO twice is a protocol error at the server', async () => {
  const { client, server } = await transports();
  client.send(extInfo(1));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(server.closed, false, 'one EXT_INFO from a client is allowed');
  const closed = once(server, 'close');
  client.send(extInfo(2));
  const [err] = (await closed) as [Error];
  assert.ok(err instanceof ProtocolError, String(err));
  client.destroy();
});
