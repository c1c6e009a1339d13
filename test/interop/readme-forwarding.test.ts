/**
 * The README's "Port forwarding" client example runs as written against OpenSSH's sshd (its agent
 * forwarding lists the local agent's key on the server); test/unit/doc-snippets type-checks it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { requirePeer } from '../helpers/peers.js';
import { startAgent, startSshd } from '../helpers/sshd.js';
import { readmeBlock } from '../helpers/typecheck.js';

test("the README's client forwarding example runs as written against sshd", async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen', 'ssh-agent', 'ssh-add')) return;
  const sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
  const agent = await startAgent();
  const saved = process.env.SSH_AUTH_SOCK;
  try {
    await agent.add(sshd.userKeys.ed25519.privatePath);
    process.env.SSH_AUTH_SOCK = agent.sock;
    const client = await Client.connect({
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      privateKey: readFileSync(sshd.userKeys.ed25519.privatePath, 'utf8'),
      hostKeyFingerprint: sshd.hostKeys[0]?.fingerprint ?? '',
    });
    try {
      const block = await readmeBlock('### Port forwarding');
      const logged: unknown[] = [];
      const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
        ...args: string[]
      ) => (...a: unknown[]) => Promise<unknown>;
      // The block's own `stdout` is returned so the test can look at what the forwarded agent said.
      const run = new AsyncFunction('client', 'console', `${block}\nreturn stdout;`);
      const stdout = await run(client, { log: (v: unknown) => logged.push(v) });
      assert.equal(logged.length, 2);
      assert.equal((logged[0] as { host: string }).host, '127.0.0.1');
      assert.ok((logged[1] as { port: number }).port > 0, 'the server allocated a port');
      assert.match(String(stdout), new RegExp(sshd.userKeys.ed25519.fingerprint.replace(/[+/]/g, '\\$&')));
      assert.deepEqual(client.forwards, []);
    } finally {
      await client.close();
    }
  } finally {
    if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = saved;
    await agent.stop();
    await sshd.stop();
  }
});
