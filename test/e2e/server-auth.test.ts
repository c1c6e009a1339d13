/**
 * secsh client ↔ secsh server: authentication methods and policies, and the adversarial cases
 * (offered vs signed keys, attempt limit, grace time, unauthenticated connection cap).
 */

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import type { AuthContext } from '../../src/auth/server.js';
import { Client } from '../../src/client/client.js';
import { DisconnectError } from '../../src/errors.js';
import type { PrivateKey, PublicKey } from '../../src/keys/index.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { MSG, SshReader, SshWriter } from '../../src/wire/index.js';
import { closedWithin, rawClient, requestUserauth, startServer } from './server-helpers.js';

const hostKey = generatePrivateKey('ed25519');

function userauth(user: string, method: string): SshWriter {
  return new SshWriter(512).byte(MSG.USERAUTH_REQUEST).string(user).string('ssh-connection').string(method);
}

test('publickey (ed25519, ecdsa, rsa), password and keyboard-interactive log in', async () => {
  const keys: PrivateKey[] = [
    generatePrivateKey('ed25519'),
    generatePrivateKey('ecdsa', { bits: 384 }),
    generatePrivateKey('rsa', { bits: 2048 }),
  ];
  const seen: AuthContext[] = [];
  const { server, port } = await startServer({
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authenticate: async (ctx) => {
      seen.push(ctx);
      if (ctx.method === 'publickey') return keys.some((k) => ctx.key?.equals(k.publicKey));
      if (ctx.method === 'password') return ctx.username === 'pw' && ctx.password === 'sesame';
      if (ctx.method === 'keyboard-interactive') {
        const [a, b] = await ctx.prompt(
          [
            { prompt: 'Password: ', echo: false },
            { prompt: 'Code: ', echo: true },
          ],
          { name: 'two', instructions: 'answer both' },
        );
        return a === 'sesame' && b === '42';
      }
      return false;
    },
  });
  try {
    for (const key of keys) {
      const c = await Client.connect({
        host: '127.0.0.1',
        port,
        username: 'k',
        privateKey: key,
        hostKeyFingerprint: hostKey.publicKey.fingerprint(),
      });
      assert.equal((await c.exec('hi')).stdout, 'ran:hi');
      await c.close();
      const signed = seen.filter((s) => s.method === 'publickey' && s.signed && s.key?.equals(key.publicKey));
      assert.equal(signed.length, 1, key.publicKey.type);
    }
    const rsaSigned = seen.find((s) => s.signed && s.key?.type === 'ssh-rsa');
    assert.equal(rsaSigned?.signatureAlgorithm, 'rsa-sha2-512');

    const c2 = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'pw',
      password: 'sesame',
      insecureAcceptAnyHostKey: true,
      authMethods: ['password'],
    });
    await c2.close();
    let prompts: unknown;
    const c3 = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'ki',
      insecureAcceptAnyHostKey: true,
      onKeyboardInteractive: (req) => {
        prompts = req;
        return ['sesame', '42'];
      },
    });
    await c3.close();
    assert.deepEqual(prompts, {
      name: 'two',
      instructions: 'answer both',
      prompts: [
        { prompt: 'Password: ', echo: false },
        { prompt: 'Code: ', echo: true },
      ],
    });
    await assert.rejects(
      Client.connect({
        host: '127.0.0.1',
        port,
        username: 'pw',
        password: 'wrong',
        insecureAcceptAnyHostKey: true,
        authMethods: ['password'],
      }),
      { code: 'ERR_SSH_AUTH' },
    );
  } finally {
    await server.close();
  }
});

test('a failed attempt takes at least the failure delay', async () => {
  const { server, port } = await startServer({ hostKeys: [hostKey], authFailureDelay: 300, authenticate: () => false });
  try {
    const c = await rawClient(port);
    await requestUserauth(c);
    const t0 = performance.now();
    c.t.send(userauth('nobody', 'password').bool(false).string('x').toBuffer());
    const p = await c.queue.next();
    assert.equal(p[0], MSG.USERAUTH_FAILURE);
    assert.ok(performance.now() - t0 >= 290, `failure came after ${performance.now() - t0} ms`);
    c.t.disconnect();
  } finally {
    await server.close();
  }
});

test('multi-step policy: publickey then password (partial success)', async () => {
  const key = generatePrivateKey('ed25519');
  let final: AuthContext | undefined;
  const { server, port } = await startServer({
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authenticate: (ctx) => {
      if (ctx.previous.length === 0) {
        if (ctx.method === 'publickey' && ctx.key?.equals(key.publicKey)) return ctx.signed ? ['password'] : true;
        return false;
      }
      final = ctx;
      return ctx.method === 'password' && ctx.password === 'pw';
    },
  });
  try {
    await assert.rejects(
      Client.connect({ host: '127.0.0.1', port, username: 'u', privateKey: key, insecureAcceptAnyHostKey: true }),
      { code: 'ERR_SSH_AUTH' },
    );
    const c = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      privateKey: key,
      password: 'pw',
      insecureAcceptAnyHostKey: true,
    });
    assert.equal((await c.exec('x')).stdout, 'ran:x');
    await c.close();
    assert.equal(final?.previous.length, 1);
    assert.ok(final?.previous[0]?.key?.equals(key.publicKey));
  } finally {
    await server.close();
  }
});

test('key A offered, key B offered, A signed: the identity is A; a signature by the wrong key is refused', async () => {
  const a = generatePrivateKey('ed25519');
  const b = generatePrivateKey('ecdsa');
  const signedKeys: PublicKey[] = [];
  const { server, port } = await startServer({
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authenticate: (ctx) => {
      if (ctx.method !== 'publickey' || !ctx.key) return false;
      if (ctx.signed) signedKeys.push(ctx.key);
      return true; // every key is acceptable: the point is which one the server records
    },
  });
  const identities: (PublicKey | undefined)[] = [];
  server.on('connection', (conn) => conn.on('authenticated', () => identities.push(conn.key)));
  try {
    const c = await rawClient(port);
    await requestUserauth(c);
    const sid = c.t.sessionId as Buffer;
    for (const k of [a, b]) {
      const alg = k.publicKey.signatureAlgorithms[0] as string;
      c.t.send(userauth('u', 'publickey').bool(false).string(alg).string(k.publicKey.blob).toBuffer());
      const p = await c.queue.next();
      assert.equal(p[0], MSG.USERAUTH_PK_OK);
      const r = new SshReader(p, 1);
      assert.equal(r.ascii(), alg);
      assert.ok(r.string().equals(k.publicKey.blob));
    }
    assert.equal(signedKeys.length, 0, 'queries are not signatures');

    // B's blob with a signature made by A: refused without asking the policy.
    const bAlg = b.publicKey.signatureAlgorithms[0] as 'ecdsa-sha2-nistp256';
    const forgedTail = userauth('u', 'publickey').bool(true).string(bAlg).string(b.publicKey.blob).toBuffer();
    const forged = await a.sign(new SshWriter().string(sid).raw(forgedTail).toBuffer(), 'ssh-ed25519');
    c.t.send(new SshWriter().raw(forgedTail).string(forged).toBuffer());
    assert.equal((await c.queue.next())[0], MSG.USERAUTH_FAILURE);
    assert.equal(signedKeys.length, 0);

    const tail = userauth('u', 'publickey').bool(true).string('ssh-ed25519').string(a.publicKey.blob).toBuffer();
    const sig = await a.sign(new SshWriter().string(sid).raw(tail).toBuffer(), 'ssh-ed25519');
    c.t.send(new SshWriter().raw(tail).string(sig).toBuffer());
    assert.equal((await c.queue.next())[0], MSG.USERAUTH_SUCCESS);
    assert.equal(signedKeys.length, 1);
    assert.ok(signedKeys[0]?.equals(a.publicKey));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(identities.length, 1);
    assert.ok(identities[0]?.equals(a.publicKey));
    c.t.disconnect();
  } finally {
    await server.close();
  }
});

test('the 7th failed attempt disconnects', async () => {
  let calls = 0;
  const { server, port } = await startServer({
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authenticate: () => {
      calls++;
      return false;
    },
  });
  try {
    const c = await rawClient(port);
    await requestUserauth(c);
    for (let i = 1; i <= 6; i++) {
      c.t.send(userauth('u', 'password').bool(false).string(`guess${i}`).toBuffer());
      const p = await c.queue.next();
      assert.equal(p[0], MSG.USERAUTH_FAILURE, `attempt ${i}`);
    }
    c.t.send(userauth('u', 'password').bool(false).string('guess7').toBuffer());
    const err = await c.closed;
    assert.ok(err instanceof DisconnectError, String(err));
    assert.equal(err.peerReason, 14);
    assert.equal(calls, 7);
  } finally {
    await server.close();
  }
});

test('an over-long password ends the connection; a user name change is refused', async () => {
  const { server, port } = await startServer({ hostKeys: [hostKey], authFailureDelay: 0, authenticate: () => false });
  try {
    const c = await rawClient(port);
    await requestUserauth(c);
    c.t.send(userauth('u', 'password').bool(false).string('p'.repeat(1025)).toBuffer());
    assert.notEqual(await closedWithin(c, 2000), 'open');

    const d = await rawClient(port);
    await requestUserauth(d);
    d.t.send(userauth('u', 'none').toBuffer());
    assert.equal((await d.queue.next())[0], MSG.USERAUTH_FAILURE);
    d.t.send(userauth('root', 'none').toBuffer());
    assert.notEqual(await closedWithin(d, 2000), 'open');
  } finally {
    await server.close();
  }
});

test('an idle unauthenticated connection is closed at the login grace time', async () => {
  const { server, port } = await startServer({ hostKeys: [hostKey], loginGraceTime: 400, authenticate: () => false });
  try {
    const t0 = performance.now();
    const c = await rawClient(port);
    await requestUserauth(c);
    const err = await closedWithin(c, 3000);
    const elapsed = performance.now() - t0;
    assert.ok(err instanceof DisconnectError, String(err));
    assert.ok(elapsed >= 350 && elapsed < 2500, `closed after ${elapsed} ms`);
    // A socket that never even sends its version is closed too.
    const sock = connect({ port, host: '127.0.0.1' });
    sock.on('data', () => {});
    await new Promise<void>((resolve) => sock.once('close', () => resolve()));
  } finally {
    await server.close();
  }
});

test('connections beyond maxUnauthenticated are dropped; an authenticated one frees its slot', async () => {
  const { server, port } = await startServer({
    hostKeys: [hostKey],
    maxUnauthenticated: 2,
    authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'ok',
  });
  try {
    const a = await rawClient(port);
    const b = await rawClient(port);
    const sock = connect({ port, host: '127.0.0.1' });
    sock.on('error', () => {});
    sock.on('data', () => assert.fail('the third connection got data'));
    await new Promise<void>((resolve) => sock.once('close', () => resolve()));
    a.t.disconnect();
    await a.closed;
    await new Promise((r) => setTimeout(r, 50));
    const c = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      password: 'ok',
      insecureAcceptAnyHostKey: true,
    });
    await new Promise((r) => setTimeout(r, 20));
    const d = await rawClient(port); // c is authenticated: b and d are the two unauthenticated ones
    await c.close();
    b.t.disconnect();
    d.t.disconnect();
  } finally {
    await server.close();
  }
});
