/**
 * secsh client ↔ secsh server choosing among the post-quantum hybrids and the classic fallback: by
 * default mlkem768x25519-sha256; sntrup761x25519-sha512 when the server lacks ML-KEM; the
 * `@openssh.com` name when that is all one side offers; curve25519-sha256 when neither side has a
 * hybrid in common; and a typed negotiation error when nothing is shared. Each connection runs an exec
 * and a rekey with the method it chose.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import type { AlgorithmOption } from '../../src/crypto/algorithms.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import type { Server } from '../../src/server/server.js';
import { startServer } from './server-helpers.js';

const user = generatePrivateKey('ed25519');
const hostKey = generatePrivateKey('ed25519');
const servers: Server[] = [];

async function serverWith(kex?: AlgorithmOption): Promise<number> {
  const { server, port } = await startServer({
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.method === 'publickey' && !!ctx.key?.equals(user.publicKey),
    ...(kex === undefined ? {} : { algorithms: { kex } }),
  });
  servers.push(server);
  return port;
}

let defaultPort = 0;
let noMlkemPort = 0;
let classicPort = 0;

before(async () => {
  defaultPort = await serverWith();
  noMlkemPort = await serverWith('-mlkem768x25519-sha256');
  classicPort = await serverWith('-mlkem768x25519-sha256,sntrup761x25519-sha512*');
});

after(async () => {
  for (const s of servers) await s.close();
});

async function negotiate(port: number, kex?: AlgorithmOption): Promise<string> {
  const c = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    privateKey: user,
    insecureAcceptAnyHostKey: true,
    ...(kex === undefined ? {} : { algorithms: { kex } }),
  });
  try {
    const chosen = c.algorithms.kex;
    assert.equal((await c.exec('before')).stdout, 'ran:before');
    await c.rekey();
    assert.equal(c.algorithms.kex, chosen, 'the rekey uses the same method');
    assert.equal((await c.exec('after')).stdout, 'ran:after');
    return chosen;
  } finally {
    await c.close();
  }
}

test('defaults on both sides choose mlkem768x25519-sha256', async () => {
  assert.equal(await negotiate(defaultPort), 'mlkem768x25519-sha256');
});

test('a server without ML-KEM: the default client chooses sntrup761x25519-sha512', async () => {
  assert.equal(await negotiate(noMlkemPort), 'sntrup761x25519-sha512');
});

test('a client offering only the @openssh.com name gets sntrup761x25519-sha512@openssh.com', async () => {
  assert.equal(
    await negotiate(defaultPort, ['sntrup761x25519-sha512@openssh.com']),
    'sntrup761x25519-sha512@openssh.com',
  );
});

test('a client preferring sntrup761 over ML-KEM gets it from a default server', async () => {
  assert.equal(await negotiate(defaultPort, '^sntrup761x25519-sha512'), 'sntrup761x25519-sha512');
});

test('a server without either hybrid: the default client falls back to curve25519-sha256', async () => {
  assert.equal(await negotiate(classicPort), 'curve25519-sha256');
});

test('a client offering only sntrup761 to a server without it fails with a kex negotiation error', async () => {
  await assert.rejects(negotiate(classicPort, ['sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com']), {
    code: 'ERR_SSH_NEGOTIATION',
  });
});
