/**
 * A secsh ControlMaster relays a session whose server answers the exec request, sends the output,
 * the exit status, EOF and CLOSE all in one write: the mux client sees the request's reply before
 * the channel closes, and gets the output and the status.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { MuxClient } from '../../src/mux/client.js';
import { Server } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';

const dir = mkdtempSync(join(tmpdir(), 'secsh-mux-order-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('through a secsh master, an exec whose reply, output, exit status and close arrive in one write succeeds', async () => {
  const server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authMethods: ['password'],
    authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'p',
  });
  server.on('session', (s: Session) => {
    s.on('exec', (req) => {
      // All in the same tick, so the server's transport sends them in one write.
      req.accept();
      s.channel.end(`ran ${req.command}\n`);
      s.exit(7);
    });
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'p',
    insecureAcceptAnyHostKey: true,
  });
  const path = join(dir, 'ctl');
  try {
    await client.listenControl(path);
    const mux = await MuxClient.connect({ controlPath: path });
    try {
      for (let i = 0; i < 20; i++) {
        const r = await mux.exec(`x${i}`);
        assert.equal(r.stdout, `ran x${i}\n`);
        assert.equal(r.code, 7);
      }
    } finally {
      await mux.close();
    }
  } finally {
    await client.close();
    await server.close();
  }
});
