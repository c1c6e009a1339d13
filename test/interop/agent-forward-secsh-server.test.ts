/**
 * The whole agent forwarding chain in secsh: a secsh client with agentForward against the secsh
 * server's localProcessHandler({ agentForwarding }) — `ssh-add -l` run by the server reaches an
 * OpenSSH ssh-agent on the client side through the server's per-session socket and the client's relay.
 * (The OpenSSH sshd proof is agent-forward.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { agentRelayStats } from '../../src/forward/agent-relay.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import { installTripwire } from '../helpers/interop.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import { type Agent, keygen, startAgent } from '../helpers/sshd.js';

installTripwire();
let agent: Agent | undefined;
let fingerprint = '';
let dir = '';

before(async () => {
  if (!hasPeer('ssh-agent') || !hasPeer('ssh-add') || !hasPeer('ssh-keygen')) return;
  agent = await startAgent();
  dir = await mkdtemp(join(tmpdir(), 'secsh-agent-fwd-'));
  const key = await keygen(join(dir, 'id_ed25519'), ['-t', 'ed25519'], 'forwarded-key');
  fingerprint = key.fingerprint;
  await agent.add(key.privatePath);
});
after(async () => {
  await agent?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function start(agentForwarding: boolean, warnings: string[] = []) {
  const hostKey = generatePrivateKey('ed25519');
  const server = new Server({
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'pw',
  });
  const env = { ...process.env };
  delete env.SSH_AUTH_SOCK;
  server.on('session', localProcessHandler({ agentForwarding, env, shell: '/bin/sh' }));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'pw',
    hostKeyFingerprint: hostKey.publicKey.fingerprint(),
    agentForward: (agent as Agent).sock,
    logger: { warn: (m: string) => warnings.push(m) },
  });
  return {
    client,
    done: async () => {
      await client.close();
      await server.close();
    },
  };
}

test('secsh client agentForward through the secsh server: ssh-add -l in the session lists the client agent key', async (t) => {
  if (!requirePeer(t, 'ssh-agent', 'ssh-add', 'ssh-keygen')) return;
  const { client, done } = await start(true);
  try {
    const r = await client.exec('ssh-add -l');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(fingerprint), r.stdout);
    assert.equal(agentRelayStats(client.connection)?.failed, 0);
  } finally {
    await done();
  }
});

test('a secsh server without agentForwarding refuses the request: the client warns and the session runs without an agent', async (t) => {
  if (!requirePeer(t, 'ssh-agent', 'ssh-add', 'ssh-keygen')) return;
  const warnings: string[] = [];
  const { client, done } = await start(false, warnings);
  try {
    const r = await client.exec('echo "sock=$SSH_AUTH_SOCK"');
    assert.equal(r.stdout, 'sock=\n');
    assert.deepEqual(warnings, ['secsh: the server refused agent forwarding']);
    assert.equal(agentRelayStats(client.connection)?.accepted, 0);
  } finally {
    await done();
  }
});
