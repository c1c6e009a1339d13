/**
 * The DISCONNECT the client sends when an error ends the connection carries a generic description;
 * the detail (known_hosts path and line, fingerprints, which keys were offered) stays in the local
 * error (issue 11, item 6: the full local text reached the server's log).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { AuthError, DisconnectError, HostKeyError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import type { ServerConnection } from '../../src/server/server.js';
import { Server } from '../../src/server/server.js';

/** A server refusing every login; resolves `descriptions` with the DISCONNECT texts clients sent. */
async function recordingServer(hostKey = generatePrivateKey('ed25519')) {
  const descriptions: string[] = [];
  const closed: Promise<void>[] = [];
  const server = new Server({ hostKeys: [hostKey], authenticate: () => false, authFailureDelay: 0 });
  server.on('connection', (c: ServerConnection) => {
    closed.push(
      new Promise<void>((resolve) =>
        c.once('close', (err?: Error) => {
          if (err instanceof DisconnectError) descriptions.push(err.description);
          resolve();
        }),
      ),
    );
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, port, descriptions, settled: () => Promise.all(closed) };
}

test('a changed host key: the local error names the known_hosts file and fingerprints, the server is told only "host key not accepted"', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-disconnect-private-path-'));
  const hostKey = generatePrivateKey('ed25519');
  const { server, port, descriptions, settled } = await recordingServer(hostKey);
  try {
    const knownHosts = join(dir, 'known_hosts');
    const other = generatePrivateKey('ed25519').publicKey;
    await writeFile(knownHosts, `[127.0.0.1]:${port} ${other.toString()}\n`);
    const err = await Client.connect({ host: '127.0.0.1', port, username: 'u', password: 'p', knownHosts }).then(
      () => assert.fail('connected'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof HostKeyError, String(err));
    assert.ok(err.message.includes(knownHosts), err.message);
    assert.ok(err.message.includes(other.fingerprint()), err.message);
    await settled();
    assert.deepEqual(descriptions, ['host key not accepted']);
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('failed authentication: the local AuthError lists the key offered, the server is told a generic text', async () => {
  const { server, port, descriptions, settled } = await recordingServer();
  try {
    const key = generatePrivateKey('ed25519');
    const err = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      privateKey: key,
      password: 'secret-password',
      insecureAcceptAnyHostKey: true,
    }).then(
      () => assert.fail('connected'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AuthError, String(err));
    assert.ok(err.message.includes(key.publicKey.fingerprint()), err.message);
    await settled();
    assert.equal(descriptions.length, 1);
    assert.equal(descriptions[0], 'no more authentication methods to try');
  } finally {
    await server.close();
  }
});
