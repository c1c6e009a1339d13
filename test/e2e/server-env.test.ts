/** localProcessHandler gives commands sshd's SSH_CONNECTION and SSH_CLIENT for TCP clients. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';

test('SSH_CONNECTION and SSH_CLIENT name both ends of the TCP connection', async () => {
  const hostKey = generatePrivateKey('ed25519');
  const server = new Server({ hostKeys: [hostKey], authenticate: (ctx) => ctx.method === 'password' });
  server.on('session', localProcessHandler({ shell: '/bin/sh' }));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  try {
    const client = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      password: 'p',
      hostKeyFingerprint: hostKey.publicKey.fingerprint(),
    });
    try {
      const r = await client.exec('printf "%s|%s" "$SSH_CONNECTION" "$SSH_CLIENT"', { encoding: 'utf8' });
      const [conn, cl] = String(r.stdout).split('|');
      const m = /^127\.0\.0\.1 (\d+) 127\.0\.0\.1 (\d+)$/.exec(conn ?? '');
      assert.ok(m, `SSH_CONNECTION was ${conn}`);
      assert.equal(Number(m[2]), port);
      assert.notEqual(Number(m[1]), port);
      assert.equal(cl, `127.0.0.1 ${m[1]} ${port}`);
    } finally {
      await client.close();
    }
  } finally {
    await server.close();
  }
});
