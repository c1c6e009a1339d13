/**
 * The client's AuthError says what was tried: each key offered (type and fingerprint), whether the
 * server refused it at the query or after its signature, and the other methods. It said
 * `tried: none` when every method tried was publickey.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authenticateClient } from '../../../src/auth/client.js';
import { MessageQueue } from '../../../src/auth/queue.js';
import { AuthError } from '../../../src/errors.js';
import { generatePrivateKey } from '../../../src/keys/index.js';
import { MSG, SshReader, SshWriter } from '../../../src/wire/index.js';

const failure = (methods: string[]) =>
  new SshWriter(64).byte(MSG.USERAUTH_FAILURE).nameList(methods).bool(false).toBuffer();

/**
 * A server that allows `methods`, answers a publickey query with PK_OK only for the key blobs in
 * `pkOk`, and refuses every attempt otherwise.
 */
function fakeServer(methods: string[], pkOk: Buffer[] = []) {
  const queue = new MessageQueue();
  const link = {
    sessionId: Buffer.alloc(32, 1),
    serverSigAlgs: undefined,
    send(p: Buffer): boolean {
      if (p[0] === MSG.SERVICE_REQUEST) {
        queue.push(new SshWriter(32).byte(MSG.SERVICE_ACCEPT).string('ssh-userauth').toBuffer());
        return true;
      }
      const r = new SshReader(p, 1);
      r.string(); // user
      r.string(); // service
      const method = r.string().toString();
      if (method === 'publickey') {
        const signed = r.bool();
        const alg = r.string();
        const blob = r.string();
        if (!signed && pkOk.some((b) => b.equals(blob))) {
          queue.push(new SshWriter(64).byte(MSG.USERAUTH_PK_OK).string(alg).string(blob).toBuffer());
          return true;
        }
      }
      queue.push(failure(methods));
      return true;
    },
  };
  return { queue, link };
}

test('an AuthError lists every key offered (type and fingerprint) and every method tried, not "none"', async () => {
  const refused = generatePrivateKey('ed25519');
  const badSignature = generatePrivateKey('ecdsa', { bits: 256 });
  const { queue, link } = fakeServer(['publickey', 'password'], [badSignature.publicKey.blob]);
  const err = await authenticateClient(link, queue, {
    username: 'u',
    signers: [refused, badSignature],
    password: 'wrong',
  }).then(
    () => assert.fail('authentication succeeded'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AuthError, String(err));
  const m = err.message;
  assert.ok(!/tried: none/.test(m), m);
  assert.ok(m.includes(`publickey (ssh-ed25519 ${refused.publicKey.fingerprint()})`), m);
  assert.ok(m.includes(`publickey (ecdsa-sha2-nistp256 ${badSignature.publicKey.fingerprint()})`), m);
  assert.match(m, /tried: .*password/);
  assert.match(m, /server allows: publickey, password/);
});

test('an AuthError with only keys offered names them (the case that said "tried: none")', async () => {
  const key = generatePrivateKey('ed25519');
  const { queue, link } = fakeServer(['publickey']);
  await assert.rejects(authenticateClient(link, queue, { username: 'u', signers: [key] }), (e: unknown) => {
    assert.ok(e instanceof AuthError);
    assert.match(
      e.message,
      new RegExp(`tried: publickey \\(ssh-ed25519 ${key.publicKey.fingerprint().replace(/[+/]/g, '\\$&')}\\);`),
    );
    return true;
  });
});

test('an AuthError when nothing could be tried still says "tried: none"', async () => {
  const { queue, link } = fakeServer(['publickey']);
  await assert.rejects(
    authenticateClient(link, queue, { username: 'u', password: 'pw' }),
    /tried: none; server allows: publickey/,
  );
});
