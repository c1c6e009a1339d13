/**
 * paramiko's exec_command pattern against the secsh server: 100 commands in turn on one Transport,
 * each session closed by paramiko with CHANNEL_CLOSE and no EOF first (RFC 4254 §5.3 allows it).
 * Every one must run — the server frees the session slot when the channel closes, EOF or not — and
 * the server's session and channel counts are back to zero while the connection is still up.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generatePrivateKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import type { ServerConnection } from '../../src/server/server.js';
import { Server } from '../../src/server/server.js';
import { startPyProcess } from '../helpers/asyncssh.js';
import { installTripwire } from '../helpers/interop.js';
import { requirePeer } from '../helpers/peers.js';

installTripwire();

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'interop', 'fixtures', 'paramiko_exec.py');
const COUNT = 100;

interface ExecReport {
  ok: number;
  failed: number;
  failures: string[];
  outputs_ok: boolean;
  statuses_ok: boolean;
}

test('paramiko: 100 sequential exec_command on one Transport all run (sessions closed without EOF)', async (t) => {
  if (!requirePeer(t, 'paramiko')) return;
  const hostKey = generatePrivateKey('ed25519');
  const server = new Server({
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.method === 'password' && ctx.username === 'alice' && ctx.password === 'secret',
    maxSessions: 10,
  });
  server.on('session', localProcessHandler({ shell: '/bin/sh' }));
  const conns: ServerConnection[] = [];
  server.on('connection', (c: ServerConnection) => conns.push(c));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const keyB64 = hostKey.publicKey.blob.toString('base64');
  try {
    const py = await startPyProcess<ExecReport>(
      [SCRIPT, String(port), keyB64, 'alice', 'secret', String(COUNT)],
      'paramiko exec client',
      2000,
    );
    try {
      assert.deepEqual(
        { ok: py.ok, failed: py.failed, failures: py.failures },
        { ok: COUNT, failed: 0, failures: [] },
        `paramiko log: ${py.logs()}`,
      );
      assert.equal(py.outputs_ok, true, 'every command printed its own output');
      assert.equal(py.statuses_ok, true, 'every exit status arrived');
      const [conn] = conns;
      assert.ok(conn && conns.length === 1, 'one connection');
      assert.equal(conn.closed, false, 'paramiko is still connected');
      // paramiko's last CLOSE may still be in flight when it prints: give it a moment.
      for (let i = 0; i < 100 && conn.sessionCount !== 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(conn.sessionCount, 0, 'no session slot held');
      assert.equal(conn.connection.channelCount, 0, 'no channel held');
    } finally {
      await py.stop();
    }
  } finally {
    await server.close();
  }
});
