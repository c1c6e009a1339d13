/**
 * A session the client closed before its command could start (pty-req, exec and CLOSE in one burst:
 * the pty path looks up `script` asynchronously) starts no command: nobody would hang it up.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generatePrivateKey } from '../../src/keys/index.js';
import { findScript, localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import { MSG, SshWriter } from '../../src/wire/index.js';
import { rawClient, requestUserauth, skipHostKeysAnnouncement } from './server-helpers.js';

test('a pty session closed in the same burst as its exec starts no command', async (t) => {
  if (!findScript()) return t.skip('util-linux script is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'secsh-pty-race-'));
  const marker = join(dir, 'ran');
  const hostKey = generatePrivateKey('ed25519');
  const server = new Server({
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'pw',
  });
  server.on('session', localProcessHandler({ shell: '/bin/sh' }));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const c = await rawClient(port);
  try {
    await requestUserauth(c);
    c.t.send(
      new SshWriter(64)
        .byte(MSG.USERAUTH_REQUEST)
        .string('u')
        .string('ssh-connection')
        .string('password')
        .bool(false)
        .string('pw')
        .toBuffer(),
    );
    for (;;) {
      const p = await c.queue.next();
      if (p[0] === MSG.USERAUTH_SUCCESS) break;
    }
    await skipHostKeysAnnouncement(c);
    c.t.send(
      new SshWriter(32)
        .byte(MSG.CHANNEL_OPEN)
        .string('session')
        .uint32(0)
        .uint32(1 << 20)
        .uint32(32768)
        .toBuffer(),
    );
    const confirm = await c.queue.next();
    assert.equal(confirm[0], MSG.CHANNEL_OPEN_CONFIRMATION);
    const serverId = confirm.readUInt32BE(5);
    const request = (type: string) =>
      new SshWriter(256).byte(MSG.CHANNEL_REQUEST).uint32(serverId).string(type).bool(false);
    // One burst: the server reads all three in one go.
    c.t.send(request('pty-req').string('vt100').uint32(80).uint32(24).uint32(0).uint32(0).string('\0').toBuffer());
    c.t.send(request('exec').string(`sleep 0.3; touch '${marker}'`).toBuffer());
    c.t.send(new SshWriter(8).byte(MSG.CHANNEL_CLOSE).uint32(serverId).toBuffer());
    for (;;) {
      const p = await c.queue.next();
      if (p[0] === MSG.CHANNEL_CLOSE) break;
    }
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(existsSync(marker), false, 'the command ran after the client had closed the session');
  } finally {
    c.t.destroy();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
