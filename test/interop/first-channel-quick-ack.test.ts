/**
 * Right after authentication sshd writes small packets one by one (hostkeys-00, SSH_MSG_DEBUG lines)
 * with Nagle's algorithm still on, so its CHANNEL_OPEN_CONFIRMATION waits for our ACK of the one
 * before. The client answers such input with an SSH_MSG_IGNORE while it waits for a reply (the ACK
 * rides on it), and only a bounded number of times per connection.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import type { ServerConnection } from '../../src/server/connection.js';
import { Server } from '../../src/server/server.js';
import type { ExecRequest } from '../../src/server/session.js';
import { connectSshd, sharedSshd } from '../helpers/interop.js';
import { requirePeer } from '../helpers/peers.js';

const shared = sharedSshd();

/** Counts the SSH_MSG_IGNORE packets `client` sends from now on. */
function countIgnores(client: Client): { count: number } {
  const seen = { count: 0 };
  const t = client.transport;
  const send = t.send.bind(t);
  t.send = (p: Buffer) => {
    if (p[0] === 2) seen.count++;
    return send(p);
  };
  return seen;
}

test('the first exec after authentication against sshd: sshd’s post-auth packets are answered with an IGNORE while the channel open waits', async (t) => {
  if (!requirePeer(t, 'sshd')) return;
  const client = await connectSshd(await shared.get());
  try {
    const ignores = countIgnores(client);
    const r = await client.exec('echo first');
    assert.equal(r.stdout, 'first\n');
    assert.ok(ignores.count >= 1, 'an IGNORE carried the ACK of sshd’s post-auth packets');
    assert.ok(ignores.count <= 8);
  } finally {
    client.close();
  }
});

test('a server that streams DEBUG messages while an exec waits gets at most 8 IGNOREs back, and none while nothing waits', async () => {
  let serverConn: ServerConnection | undefined;
  const server = new Server({ hostKeys: [generatePrivateKey('ed25519')], authenticate: () => true });
  server.on('connection', (c: ServerConnection) => {
    serverConn = c;
  });
  let answer: (() => void) | undefined;
  server.on('session', (session) =>
    session.on('exec', (req: ExecRequest) => {
      answer = () => {
        if (!req.accept()) return;
        session.channel.end('late\n');
        session.exit(0);
      };
    }),
  );
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'p',
    insecureAcceptAnyHostKey: true,
  });
  try {
    const ignores = countIgnores(client);
    const debug = Buffer.from([4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // DEBUG: display false, "" , ""
    const flood = async (n: number) => {
      for (let i = 0; i < n; i++) {
        serverConn?.transport.send(debug);
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    await flood(20);
    assert.equal(ignores.count, 0, 'nothing awaited a reply: no IGNORE');
    const exec = client.exec('anything');
    while (!answer) await new Promise((r) => setTimeout(r, 5));
    await flood(40);
    answer();
    const r = await exec;
    assert.equal(r.stdout, 'late\n');
    assert.ok(ignores.count >= 1 && ignores.count <= 8, `sent ${ignores.count}`);
  } finally {
    client.close();
    await server.close();
  }
});
