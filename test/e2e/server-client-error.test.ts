/**
 * 'client-error' is for connections that end in an error: a client that disconnects "by
 * application" (as `ssh` and secsh's own client do on close) is a normal end, while a client that
 * breaks the protocol is reported.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { DisconnectReason } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';

async function start() {
  const server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authMethods: ['password'],
    authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'pw',
  });
  const errors: Error[] = [];
  server.on('client-error', (e: Error) => errors.push(e));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const connect = () =>
    Client.connect({ host: '127.0.0.1', port, username: 'u', password: 'pw', insecureAcceptAnyHostKey: true });
  return { server, errors, connect };
}

test('a client that closes normally is not a client-error', async () => {
  const { server, errors, connect } = await start();
  try {
    const closed = once(server, 'connection').then(([conn]) => once(conn as NodeJS.EventEmitter, 'close'));
    const c = await connect();
    await c.close();
    await closed;
    assert.deepEqual(errors, []);
  } finally {
    await server.close();
  }
});

test('a client that disconnects with a protocol error is a client-error', async () => {
  const { server, errors, connect } = await start();
  try {
    const closed = once(server, 'connection').then(([conn]) => once(conn as NodeJS.EventEmitter, 'close'));
    const c = await connect();
    // The client's transport sends DISCONNECT with PROTOCOL_ERROR, as it does on a bad packet.
    c.transport.disconnect(DisconnectReason.PROTOCOL_ERROR, 'protocol error');
    await closed;
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /reason 2/);
  } finally {
    await server.close();
  }
});
