/**
 * secsh server: user-certificate extensions limit what the sessions may do, as sshd does — no
 * permit-pty refuses pty-req (the command still runs, without a pty), no permit-agent-forwarding
 * refuses auth-agent-req@openssh.com, no permit-X11-forwarding refuses x11-req, no
 * permit-port-forwarding refuses direct-tcpip — all before the application's handlers see them.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthDecision } from '../../src/auth/server.js';
import { Client } from '../../src/client/client.js';
import type { Channel, ChannelOpenRequest } from '../../src/connection/index.js';
import { ChannelError, ChannelOpenFailure } from '../../src/errors.js';
import type { Certificate } from '../../src/keys/index.js';
import { generatePrivateKey, issueCertificate } from '../../src/keys/index.js';
import type { ServerConnection } from '../../src/server/server.js';
import { Server } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import { SshWriter } from '../../src/wire/index.js';

const hostKey = generatePrivateKey('ed25519');
const ca = generatePrivateKey('ed25519');
const user = generatePrivateKey('ed25519');

interface Seen {
  conns: ServerConnection[];
  sessions: Session[];
  /** Sessions whose 'pty' handler ran. */
  ptyEvents: number;
  /** 'request' events by type (x11-req, auth-agent-req@openssh.com). */
  requests: string[];
  /** Channel types that reached the 'channel-open' listener. */
  channelOpens: string[];
}

/**
 * A server whose handlers accept everything they are shown: a pty, x11-req and agent requests, and
 * every non-session channel; exec prints whether the session has a pty.
 */
async function withServer(
  fn: (port: number, seen: Seen) => Promise<void>,
  policy: (ctx: Parameters<ConstructorParameters<typeof Server>[0]['authenticate']>[0]) => AuthDecision = (ctx) =>
    ctx.certificate !== undefined || ctx.key?.equals(user.publicKey) === true,
): Promise<void> {
  const seen: Seen = { conns: [], sessions: [], ptyEvents: 0, requests: [], channelOpens: [] };
  const server = new Server({
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authMethods: ['publickey', 'password'],
    trustedUserCAKeys: [ca.publicKey],
    authenticate: policy,
  });
  server.on('connection', (c: ServerConnection) => {
    seen.conns.push(c);
    c.on('channel-open', (req: ChannelOpenRequest) => {
      seen.channelOpens.push(req.type);
      req.reject(ChannelOpenFailure.CONNECT_FAILED, 'test: reached the handler');
    });
  });
  server.on('session', (s: Session) => {
    seen.sessions.push(s);
    s.on('pty', (req: { accept(): void }) => {
      seen.ptyEvents++;
      req.accept();
    });
    s.on('request', (ev: { type: string; accept(): void }) => {
      seen.requests.push(ev.type);
      ev.accept();
    });
    s.on('exec', (req: { command: string; accept(): void }) => {
      req.accept();
      s.channel.write(`${req.command}:pty=${s.pty ? s.pty.term : 'none'}`);
      s.exit(0);
    });
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  try {
    await fn(port, seen);
  } finally {
    await server.close();
  }
}

function userCert(extensions?: Record<string, string>): Promise<Certificate> {
  return issueCertificate(ca, user.publicKey, {
    type: 'user',
    keyId: 'ext',
    principals: ['alice'],
    ...(extensions ? { extensions } : {}),
  });
}

function connect(port: number, cert?: Certificate, password?: string): Promise<Client> {
  return Client.connect({
    host: '127.0.0.1',
    port,
    username: 'alice',
    privateKey: user,
    ...(cert ? { certificate: cert.toString() } : {}),
    ...(password !== undefined ? { password } : {}),
    insecureAcceptAnyHostKey: true,
  });
}

const x11Data = () => new SshWriter(64).bool(false).string('MIT-MAGIC-COOKIE-1').string('00ff').uint32(0).toBuffer();

async function output(ch: Channel): Promise<string> {
  let out = '';
  ch.on('data', (c: Buffer) => {
    out += c.toString();
  });
  await new Promise((r) => ch.once('close', r));
  return out;
}

/** Asks for a pty, X11 and agent forwarding on one session, then runs `probe`; returns what happened. */
async function probe(client: Client): Promise<{ pty: boolean; x11: boolean; agent: boolean; out: string }> {
  const ch = await client.connection.openSession();
  const pty = await ch.requestPty({ term: 'xterm-test' }).then(
    () => true,
    (e: unknown) => {
      assert.ok(e instanceof ChannelError);
      return false;
    },
  );
  const x11 = await ch.request('x11-req', x11Data(), true);
  const agent = await ch.request('auth-agent-req@openssh.com', undefined, true);
  await ch.exec('probe');
  return { pty, x11, agent, out: await output(ch) };
}

test('a certificate without extensions: pty, X11, agent and port forwarding refused before the handlers', async () => {
  await withServer(async (port, seen) => {
    const client = await connect(port, await userCert({}));
    try {
      const r = await probe(client);
      assert.deepEqual(r, { pty: false, x11: false, agent: false, out: 'probe:pty=none' });
      await assert.rejects(client.forwardOut('127.0.0.1', 9), (e: Error) => /not permitted/.test(e.message));
      // The client's built-in pty path fails as well, and the connection stays usable.
      await assert.rejects(client.shell({ pty: true }), ChannelError);
      assert.equal((await client.exec('again')).stdout, 'again:pty=none');
    } finally {
      await client.close();
    }
    assert.equal(seen.ptyEvents, 0);
    assert.deepEqual(seen.requests, []);
    assert.deepEqual(seen.channelOpens, []);
    const want = { pty: false, agentForwarding: false, portForwarding: false, x11Forwarding: false };
    assert.deepEqual({ ...seen.conns[0]?.permissions }, want);
    assert.deepEqual({ ...seen.sessions[0]?.permissions }, want);
  });
});

test('each extension grants only its own permission', async () => {
  await withServer(async (port, seen) => {
    const client = await connect(port, await userCert({ 'permit-pty': '', 'permit-agent-forwarding': '' }));
    try {
      const r = await probe(client);
      assert.deepEqual(r, { pty: true, x11: false, agent: true, out: 'probe:pty=xterm-test' });
      await assert.rejects(client.forwardOut('127.0.0.1', 9), (e: Error) => /not permitted/.test(e.message));
    } finally {
      await client.close();
    }
    assert.equal(seen.ptyEvents, 1);
    assert.deepEqual(seen.requests, ['auth-agent-req@openssh.com']);
    assert.deepEqual(seen.channelOpens, []);

    const c2 = await connect(port, await userCert({ 'permit-X11-forwarding': '', 'permit-port-forwarding': '' }));
    try {
      const r = await probe(c2);
      assert.deepEqual(r, { pty: false, x11: true, agent: false, out: 'probe:pty=none' });
      await assert.rejects(c2.forwardOut('127.0.0.1', 9), (e: Error) => /reached the handler/.test(e.message));
    } finally {
      await c2.close();
    }
    assert.equal(seen.ptyEvents, 1);
    assert.deepEqual(seen.requests, ['auth-agent-req@openssh.com', 'x11-req']);
    assert.deepEqual(seen.channelOpens, ['direct-tcpip']);
  });
});

test('default user-certificate extensions and a plain key are unrestricted', async () => {
  await withServer(async (port, seen) => {
    for (const cert of [await userCert(), undefined]) {
      const client = await connect(port, cert);
      try {
        const r = await probe(client);
        assert.deepEqual(r, { pty: true, x11: true, agent: true, out: 'probe:pty=xterm-test' });
        await assert.rejects(client.forwardOut('127.0.0.1', 9), (e: Error) => /reached the handler/.test(e.message));
      } finally {
        await client.close();
      }
    }
    assert.equal(seen.ptyEvents, 2);
    assert.deepEqual(seen.channelOpens, ['direct-tcpip', 'direct-tcpip']);
    assert.equal(seen.conns[0]?.certificate?.keyId, 'ext');
    assert.equal(seen.conns[1]?.certificate, undefined);
    for (const c of seen.conns) assert.deepEqual(Object.values(c.permissions ?? {}), [true, true, true, true]);
  });
});

test('a certificate of an earlier step still limits the login (certificate then password)', async () => {
  await withServer(
    async (port, seen) => {
      const client = await connect(port, await userCert({ 'permit-port-forwarding': '' }), 'pw');
      try {
        const r = await probe(client);
        assert.deepEqual(r, { pty: false, x11: false, agent: false, out: 'probe:pty=none' });
      } finally {
        await client.close();
      }
      const auth = seen.conns[0]?.auth;
      assert.deepEqual(
        auth?.steps.map((s) => s.method),
        ['publickey', 'password'],
      );
      assert.equal(auth?.permissions.portForwarding, true);
      assert.equal(auth?.permissions.pty, false);
    },
    (ctx) => {
      if (ctx.method === 'publickey') return ctx.certificate !== undefined ? ['password'] : false;
      return ctx.method === 'password' && ctx.password === 'pw' && ctx.previous.length === 1;
    },
  );
});
