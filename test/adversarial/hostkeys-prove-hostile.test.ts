/**
 * Hostile `hostkeys-prove-00@openssh.com` requests against the secsh server: garbage, a key the server
 * does not hold, a certificate's key blob, and 10,000 keys in one request are each answered
 * REQUEST_FAILURE with no signature made, and the connection stays usable; a proper request is
 * answered with one verifiable signature per key, in order. Signing runs on the event loop every
 * connection shares, so a connection gets only MAX_PROOF_REQUESTS proper requests signed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey, type PrivateKey, PublicKey, type SignatureAlgorithm } from '../../src/keys/index.js';
import { hostKeyProofData, MAX_PROOF_REQUESTS } from '../../src/server/hostkeys.js';
import { Server } from '../../src/server/server.js';
import { MSG, SshReader, SshWriter } from '../../src/wire/index.js';
import { rawClient, requestUserauth } from '../e2e/server-helpers.js';

const PROVE = 'hostkeys-prove-00@openssh.com';
const hostKeys = [generatePrivateKey('ed25519'), generatePrivateKey('ecdsa'), generatePrivateKey('rsa')];
let signatures = 0;
for (const k of hostKeys) {
  const sign = k.sign.bind(k);
  k.sign = (data: Uint8Array, alg: SignatureAlgorithm) => {
    signatures++;
    return sign(data, alg);
  };
}
let server: Server;
let client: Client;
let port = 0;

before(async () => {
  server = new Server({ hostKeys, authenticate: (c) => c.method === 'password' && c.password === 'pw' });
  ({ port } = await server.listen({ port: 0, host: '127.0.0.1' }));
  client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'pw',
    insecureAcceptAnyHostKey: true,
    algorithms: { hostKey: 'ssh-ed25519' },
  });
});

after(async () => {
  await client?.close();
  await server?.close();
});

function blobs(...bs: Buffer[]): Buffer {
  const w = new SshWriter(64);
  for (const b of bs) w.string(b);
  return w.toBuffer();
}

async function refusedWithoutSigning(data: Buffer): Promise<void> {
  const before = signatures;
  const r = await client.connection.globalRequest(PROVE, data);
  assert.equal(r, false);
  assert.equal(signatures, before, 'no signature is made for a refused request');
  // The connection is still usable.
  assert.equal(await client.connection.globalRequest('keepalive@openssh.com'), true);
}

test('a proper request is answered with a signature per key over the session id, in order', async () => {
  const wanted = [hostKeys[2], hostKeys[0]] as PrivateKey[];
  const r = await client.connection.globalRequest(PROVE, blobs(...wanted.map((k) => k.publicKey.blob)));
  assert.ok(Buffer.isBuffer(r));
  const rd = new SshReader(r);
  const sessionId = client.transport.sessionId as Buffer;
  for (const k of wanted) {
    const sig = rd.string();
    const alg = new SshReader(sig).ascii() as SignatureAlgorithm;
    // RSA when the exchange did not use RSA: rsa-sha2-512, never ssh-rsa (SHA-1).
    assert.equal(alg, k.type === 'ssh-rsa' ? 'rsa-sha2-512' : k.publicKey.signatureAlgorithms[0]);
    assert.ok(k.publicKey.verify(hostKeyProofData(sessionId, k.publicKey.blob), sig, alg));
    // Bound to this session: the same signature does not verify for another session id.
    assert.ok(!k.publicKey.verify(hostKeyProofData(Buffer.alloc(32), k.publicKey.blob), sig, alg));
  }
  rd.ensureEnd();
});

test('garbage data is refused', async () => {
  await refusedWithoutSigning(Buffer.from([0, 0, 0, 9, 1, 2]));
  await refusedWithoutSigning(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  await refusedWithoutSigning(Buffer.alloc(0));
  await refusedWithoutSigning(blobs(Buffer.from('not a key')));
});

test('a key the server does not hold is refused, even after keys it holds', async () => {
  const other = generatePrivateKey('ed25519').publicKey.blob;
  await refusedWithoutSigning(blobs(other));
  await refusedWithoutSigning(blobs((hostKeys[0] as PrivateKey).publicKey.blob, other));
});

test('10,000 keys in one request are refused before any signing', async () => {
  const ed = (hostKeys[0] as PrivateKey).publicKey.blob;
  const t0 = performance.now();
  await refusedWithoutSigning(blobs(...Array.from({ length: 4000 }, () => ed)));
  await refusedWithoutSigning(blobs(...Array.from({ length: 10_000 }, () => Buffer.alloc(1))));
  assert.ok(performance.now() - t0 < 2000, 'refused without work per key');
});

test('right after authentication the server announces every host key once, with want-reply false', async () => {
  const rc = await rawClient(server.address()?.port as number);
  try {
    await requestUserauth(rc);
    const w = new SshWriter(64).byte(MSG.USERAUTH_REQUEST).string('u').string('ssh-connection').string('password');
    rc.t.send(w.bool(false).string('pw').toBuffer());
    assert.equal((await rc.queue.next())[0], MSG.USERAUTH_SUCCESS);
    const p = await rc.queue.next();
    const r = new SshReader(p);
    assert.equal(r.byte(), MSG.GLOBAL_REQUEST);
    assert.equal(r.ascii(), 'hostkeys-00@openssh.com');
    assert.equal(r.bool(), false);
    for (const k of hostKeys) assert.ok(PublicKey.fromBlob(r.string()).equals(k.publicKey));
    r.ensureEnd();
  } finally {
    rc.t.disconnect();
  }
});

test('200 proof requests on one connection: the first few are signed, the rest refused unsigned; the connection goes on', async () => {
  const connect = () =>
    Client.connect({ host: '127.0.0.1', port, username: 'u', password: 'pw', insecureAcceptAnyHostKey: true });
  const c = await connect();
  try {
    const data = blobs(...hostKeys.map((k) => k.publicKey.blob));
    const before = signatures;
    const replies = await Promise.all(Array.from({ length: 200 }, () => c.connection.globalRequest(PROVE, data)));
    assert.ok(MAX_PROOF_REQUESTS >= 1 && MAX_PROOF_REQUESTS <= 8);
    assert.equal(replies.filter((r) => Buffer.isBuffer(r)).length, MAX_PROOF_REQUESTS);
    assert.ok(replies.slice(MAX_PROOF_REQUESTS).every((r) => r === false));
    assert.equal(signatures - before, MAX_PROOF_REQUESTS * hostKeys.length);
    assert.equal(await c.connection.globalRequest('keepalive@openssh.com'), true);
  } finally {
    await c.close();
  }
  // Another connection is answered again.
  const d = await connect();
  try {
    assert.ok(Buffer.isBuffer(await d.connection.globalRequest(PROVE, blobs(hostKeys[0]?.publicKey.blob as Buffer))));
  } finally {
    await d.close();
  }
});
