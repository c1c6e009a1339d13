/**
 * A client asking the secsh server to prove its host keys over and over on one connection: signing
 * runs on the event loop every connection shares, so only the first MAX_PROOF_REQUESTS proper
 * requests of a connection are signed; the rest get REQUEST_FAILURE with no signature made, and the
 * connection stays usable. Another connection has its own allowance.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { encodeStrings } from '../../src/connection/hostkeys.js';
import { generatePrivateKey, type SignatureAlgorithm } from '../../src/keys/index.js';
import { HOSTKEYS_PROVE_REQUEST, MAX_PROOF_REQUESTS } from '../../src/server/hostkeys.js';
import { Server } from '../../src/server/server.js';

const hostKeys = [generatePrivateKey('ed25519'), generatePrivateKey('rsa')];
let signatures = 0;
for (const k of hostKeys) {
  const sign = k.sign.bind(k);
  k.sign = (data: Uint8Array, alg: SignatureAlgorithm) => {
    signatures++;
    return sign(data, alg);
  };
}
let server: Server;
let port = 0;

before(async () => {
  server = new Server({ hostKeys, authenticate: (c) => c.method === 'password' && c.password === 'pw' });
  ({ port } = await server.listen({ port: 0, host: '127.0.0.1' }));
});

after(async () => {
  await server?.close();
});

const connect = () =>
  Client.connect({ host: '127.0.0.1', port, username: 'u', password: 'pw', insecureAcceptAnyHostKey: true });

test('200 proof requests on one connection: the first few are signed, the rest refused unsigned; the connection goes on', async () => {
  const c = await connect();
  try {
    const data = encodeStrings(hostKeys.map((k) => k.publicKey.blob));
    const before = signatures;
    const replies = await Promise.all(
      Array.from({ length: 200 }, () => c.connection.globalRequest(HOSTKEYS_PROVE_REQUEST, data)),
    );
    assert.ok(MAX_PROOF_REQUESTS >= 1 && MAX_PROOF_REQUESTS <= 8);
    assert.equal(replies.filter((r) => Buffer.isBuffer(r)).length, MAX_PROOF_REQUESTS);
    assert.ok(replies.slice(MAX_PROOF_REQUESTS).every((r) => r === false));
    assert.equal(signatures - before, MAX_PROOF_REQUESTS * hostKeys.length);
    assert.equal(await c.connection.globalRequest('keepalive@openssh.com'), true);
  } finally {
    await c.close();
  }
  // A new connection is answered again.
  const d = await connect();
  try {
    const r = await d.connection.globalRequest(
      HOSTKEYS_PROVE_REQUEST,
      encodeStrings([hostKeys[0]?.publicKey.blob as Buffer]),
    );
    assert.ok(Buffer.isBuffer(r));
  } finally {
    await d.close();
  }
});
