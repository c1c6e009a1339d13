/**
 * secsh client ↔ secsh server: hostbased authentication (RFC 4252 §9). The client signs with a host
 * key; the server verifies the signature, then its policy checks the key against known_hosts for the
 * client host name (knownClientHost) and the client user. Hostile requests (bad signature, malformed
 * framing, mismatched algorithm) from a raw client; attempt counting as for the other methods.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthResult } from '../../src/auth/server.js';
import { Client } from '../../src/client/client.js';
import { KnownHosts, knownClientHost } from '../../src/config/index.js';
import { AuthError, InvalidArgumentError, KeyError, ProtocolError } from '../../src/errors.js';
import type { PrivateKey } from '../../src/keys/index.js';
import { CertificateSigner, generatePrivateKey, issueCertificate } from '../../src/keys/index.js';
import type { ServerConnection, ServerOptions } from '../../src/server/server.js';
import { MSG, SshReader, SshWriter } from '../../src/wire/index.js';
import { startHostbasedServer } from '../helpers/hostbased-server.js';
import { closedWithin, type RawClient, rawClient, requestUserauth, startServer } from './server-helpers.js';

const serverKey = generatePrivateKey('ed25519');
const clientHosts = {
  ed25519: generatePrivateKey('ed25519'),
  ecdsa: generatePrivateKey('ecdsa', { bits: 256 }),
  rsa: generatePrivateKey('rsa', { bits: 2048 }),
};
const stranger = generatePrivateKey('ed25519');
const ca = generatePrivateKey('ed25519');

/** known_hosts of the server: the three client host keys for client.example, a CA for *.certs.example. */
function knownHosts(): KnownHosts {
  const kh = new KnownHosts();
  for (const k of Object.values(clientHosts)) kh.add('client.example', 22, k.publicKey);
  kh.add('*.certs.example', 22, ca.publicKey, { marker: 'cert-authority' });
  return kh;
}

/** A server whose policy is sshd's with HostbasedUsesNameFromPacketOnly: known host key, same user name. */
function hostbasedServer(extra: Partial<ServerOptions> = {}) {
  return startHostbasedServer(knownHosts(), {
    hostKeys: [serverKey],
    authMethods: ['hostbased', 'publickey'],
    ...extra,
  });
}

function connect(port: number, key: PrivateKey | CertificateSigner, more: { host?: string; user?: string } = {}) {
  return Client.connect({
    host: '127.0.0.1',
    port,
    username: 'alice',
    hostKeyFingerprint: serverKey.publicKey.fingerprint(),
    hostbased: { key, localHostname: more.host ?? 'client.example', localUsername: more.user ?? 'alice' },
  });
}

test('hostbased with a known ed25519, ecdsa or rsa host key logs in; the policy sees the verified claim', async () => {
  const { server, port, seen } = await hostbasedServer();
  const results: string[] = [];
  server.on('auth', (a: { method: string; result: string }) => {
    if (a.method !== 'none') results.push(`${a.method}:${a.result}`);
  });
  const logins: AuthResult[] = [];
  server.on('connection', (conn: ServerConnection) => conn.on('authenticated', (r: AuthResult) => logins.push(r)));
  try {
    for (const key of Object.values(clientHosts)) {
      const c = await connect(port, key);
      assert.equal((await c.exec('id')).stdout, 'ran:id');
      await c.close();
      const ctx = seen.at(-1);
      assert.equal(ctx?.method, 'hostbased');
      assert.equal(ctx?.clientHostname, 'client.example', 'trailing dot removed');
      assert.equal(ctx?.clientUsername, 'alice');
      assert.equal(ctx?.signed, true);
      assert.ok(ctx?.key?.equals(key.publicKey));
    }
    const rsa = seen.find((s) => s.key?.type === 'ssh-rsa');
    assert.equal(rsa?.signatureAlgorithm, 'rsa-sha2-512', 'rsa-sha2-512 chosen from server-sig-algs');
    assert.deepEqual(results, ['hostbased:accepted', 'hostbased:accepted', 'hostbased:accepted']);
    // The login's record: one hostbased step with the host key and the vouched-for user; no user key.
    assert.equal(logins.length, 3);
    for (const r of logins) {
      assert.deepEqual(
        r.steps.map((st) => [st.method, st.clientHost]),
        [['hostbased', { hostname: 'client.example', username: 'alice' }]],
      );
      assert.equal(r.key, undefined);
    }
  } finally {
    await server.close();
  }
});

test('hostbased is refused for an unknown host key, another client user or an unlisted client host', async () => {
  const { server, port, seen } = await hostbasedServer();
  try {
    for (const [key, more] of [
      [stranger, {}],
      [clientHosts.ed25519, { user: 'mallory' }],
      [clientHosts.ed25519, { host: 'elsewhere.example' }],
    ] as const) {
      await assert.rejects(connect(port, key, more), (e: unknown) => {
        assert.ok(e instanceof AuthError, String(e));
        assert.match(e.message, /hostbased \(ssh-ed25519 SHA256:/);
        return true;
      });
    }
    // Each was a verified signature the policy refused (the signature itself was good).
    assert.equal(seen.filter((s) => s.method === 'hostbased' && s.signed).length, 3);
  } finally {
    await server.close();
  }
});

test('a host certificate signed by a @cert-authority CA for the name logs in; for another name it is refused', async () => {
  const { server, port, seen } = await hostbasedServer();
  try {
    const host = generatePrivateKey('ed25519');
    const cert = await issueCertificate(ca, host.publicKey, {
      type: 'host',
      keyId: 'h',
      principals: ['a.certs.example'],
    });
    const c = await connect(port, new CertificateSigner(host, cert), { host: 'a.certs.example.' });
    await c.close();
    const ok = seen.at(-1);
    assert.equal(ok?.signatureAlgorithm, 'ssh-ed25519-cert-v01@openssh.com');
    assert.ok(ok?.hostCertificate && ok.key?.equals(host.publicKey));
    // Valid certificate, but its principal is not the name the client claims.
    await assert.rejects(connect(port, new CertificateSigner(host, cert), { host: 'b.certs.example' }), AuthError);
  } finally {
    await server.close();
  }
});

test('hostbased is not advertised unless configured, and then refused without asking the policy', async () => {
  let asked = 0;
  const { server, port } = await startServer({
    hostKeys: [serverKey],
    authFailureDelay: 0,
    authenticate: (ctx) => {
      if (ctx.method === 'hostbased') asked++;
      return ctx.method === 'hostbased';
    },
  });
  try {
    await assert.rejects(connect(port, clientHosts.ed25519), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.ok(!e.methodsLeft.includes('hostbased'), e.methodsLeft.join(','));
      return true;
    });
    const c = await rawClient(port);
    try {
      await requestUserauth(c);
      c.t.send(await hostbasedRequest(c, clientHosts.ed25519));
      assert.deepEqual(await failureReply(c), { methods: ['publickey', 'keyboard-interactive', 'password'] });
    } finally {
      c.t.destroy();
    }
    assert.equal(asked, 0);
  } finally {
    await server.close();
  }
});

/** A hostbased USERAUTH_REQUEST signed over `sessionId` (or with `tamper` applied). */
async function hostbasedRequest(
  c: RawClient,
  key: PrivateKey,
  o: { alg?: string; chost?: string | Buffer; tamper?: (sig: Buffer) => Buffer; user?: string } = {},
): Promise<Buffer> {
  const alg = o.alg ?? key.publicKey.signatureAlgorithms[0] ?? '';
  const body = new SshWriter(512)
    .byte(MSG.USERAUTH_REQUEST)
    .string(o.user ?? 'alice')
    .string('ssh-connection')
    .string('hostbased')
    .string(alg)
    .string(key.publicKey.blob)
    .string(o.chost ?? 'client.example.')
    .string('alice')
    .toBuffer();
  const sid = c.t.sessionId as Buffer;
  const data = new SshWriter(body.length + 64).string(sid).raw(body).toBuffer();
  const sig = await key.sign(data, key.publicKey.signatureAlgorithms[0] ?? 'ssh-ed25519');
  return new SshWriter(body.length + 128)
    .raw(body)
    .string(o.tamper ? o.tamper(sig) : sig)
    .toBuffer();
}

/** The next USERAUTH_FAILURE (methods, partial false), or the message number that came instead. */
async function failureReply(c: RawClient): Promise<{ methods: string[] } | number | undefined> {
  const p = await c.queue.next();
  if (p[0] !== MSG.USERAUTH_FAILURE) return p[0];
  const r = new SshReader(p, 1);
  const methods = r.nameList();
  assert.equal(r.bool(), false);
  return { methods };
}

test('hostile hostbased requests: bad signature, mismatched algorithm, control characters get FAILURE without the policy', async () => {
  const { server, port, seen } = await hostbasedServer({ maxAuthAttempts: 20 });
  try {
    const c = await rawClient(port);
    try {
      await requestUserauth(c);
      const key = clientHosts.ed25519;
      const flip = (sig: Buffer) => {
        const s = Buffer.from(sig);
        s[s.length - 1] = (s[s.length - 1] ?? 0) ^ 1;
        return s;
      };
      const requests = [
        await hostbasedRequest(c, key, { tamper: flip }), // bad signature
        await hostbasedRequest(c, key, { tamper: () => Buffer.from('not a signature') }), // malformed signature blob
        await hostbasedRequest(c, stranger, { tamper: () => Buffer.alloc(0) }), // empty signature
        await hostbasedRequest(c, key, { alg: 'ecdsa-sha2-nistp256' }), // key is not of the algorithm
        await hostbasedRequest(c, key, { alg: 'ssh-dss' }), // algorithm not accepted
        await hostbasedRequest(c, key, { chost: 'client.example.\nx' }), // control character in the host name
        await hostbasedRequest(c, key, { chost: Buffer.from([0xff, 0xfe]) }), // not UTF-8
        await hostbasedRequest(c, key, { chost: '.' }), // empty host name
      ];
      for (const req of requests) {
        c.t.send(req);
        assert.deepEqual(await failureReply(c), { methods: ['hostbased', 'publickey'] });
      }
      assert.equal(seen.length, 0, 'the policy saw none of them');
    } finally {
      c.t.destroy();
    }
    // The server still serves: a good client logs in.
    await (await connect(port, clientHosts.ecdsa)).close();
  } finally {
    await server.close();
  }
});

test('malformed hostbased framing (short, trailing bytes, over-long host name) ends only that connection', async () => {
  const errors: Error[] = [];
  const { server, port, seen } = await hostbasedServer();
  server.on('client-error', (e: Error) => errors.push(e));
  try {
    const cases: ((good: Buffer) => Buffer)[] = [
      (good) => good.subarray(0, good.length - 3), // signature cut short
      (good) => Buffer.concat([good, Buffer.from([0])]), // a trailing byte
    ];
    for (const make of cases) {
      const c = await rawClient(port);
      await requestUserauth(c);
      c.t.send(make(await hostbasedRequest(c, clientHosts.ed25519)));
      assert.notEqual(await closedWithin(c, 5000), 'open');
    }
    const c = await rawClient(port);
    await requestUserauth(c);
    c.t.send(await hostbasedRequest(c, clientHosts.ed25519, { chost: 'a'.repeat(2000) }));
    assert.notEqual(await closedWithin(c, 5000), 'open');
    assert.equal(seen.length, 0);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(errors.length, 3);
    for (const e of errors) assert.ok(e instanceof ProtocolError, `${e.name}: ${e.message}`);
    await (await connect(port, clientHosts.rsa)).close();
  } finally {
    await server.close();
  }
});

test('failed hostbased attempts count: the attempt after maxAuthAttempts disconnects', async () => {
  const { server, port, seen } = await hostbasedServer({ maxAuthAttempts: 2 });
  try {
    const c = await rawClient(port);
    await requestUserauth(c);
    for (let i = 0; i < 2; i++) {
      c.t.send(await hostbasedRequest(c, stranger));
      assert.deepEqual(await failureReply(c), { methods: ['hostbased', 'publickey'] });
    }
    c.t.send(await hostbasedRequest(c, stranger));
    const closed = await closedWithin(c, 5000);
    assert.notEqual(closed, 'open');
    assert.match(String((closed as Error | undefined)?.message), /too many authentication failures/);
    assert.equal(seen.length, 3, 'each signed attempt reached the policy');
  } finally {
    await server.close();
  }
});

test('hostbased then password: a partial success continues with the next method', async () => {
  const kh = knownHosts();
  const { server, port } = await startServer({
    hostKeys: [serverKey],
    authFailureDelay: 0,
    authMethods: ['hostbased', 'password'],
    authenticate: (ctx) => {
      if (ctx.method === 'hostbased')
        return knownClientHost(kh, ctx) ? { partial: true, methods: ['password'] } : false;
      return ctx.method === 'password' && ctx.previous[0]?.method === 'hostbased' && ctx.password === 'pw';
    },
  });
  try {
    const c = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'alice',
      password: 'pw',
      hostKeyFingerprint: serverKey.publicKey.fingerprint(),
      hostbased: { key: clientHosts.ed25519, localHostname: 'client.example' },
    });
    await c.close();
  } finally {
    await server.close();
  }
});

test('bad hostbased options reject the connect with a typed error: a name with a newline, an empty user, a key that is not one', async () => {
  const { server, port } = await hostbasedServer();
  try {
    const base = { host: '127.0.0.1', port, username: 'alice', hostKeyFingerprint: serverKey.publicKey.fingerprint() };
    const key = clientHosts.ed25519;
    await assert.rejects(
      Client.connect({ ...base, hostbased: { key, localHostname: 'client.example\nx' } }),
      InvalidArgumentError,
    );
    await assert.rejects(Client.connect({ ...base, hostbased: { key, localHostname: '.' } }), InvalidArgumentError);
    await assert.rejects(Client.connect({ ...base, hostbased: { key, localUsername: '' } }), InvalidArgumentError);
    await assert.rejects(Client.connect({ ...base, hostbased: { key: 'not a key' } }), KeyError);
  } finally {
    await server.close();
  }
});
