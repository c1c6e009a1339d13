/**
 * Hostbased authentication against asyncssh, both roles (scripts/peers/asyncssh_hostbased.py):
 * asyncssh's server checks the host key against its known_client_hosts for the name in the request
 * and the client user against the login user; asyncssh's client signs with a host key file.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '../../src/client/client.js';
import { KnownHosts } from '../../src/config/index.js';
import { AuthError } from '../../src/errors.js';
import { generatePrivateKey, type PrivateKey } from '../../src/keys/index.js';
import { startPyProcess } from '../helpers/asyncssh.js';
import { startHostbasedServer } from '../helpers/hostbased-server.js';
import { PYTHON, requirePeer } from '../helpers/peers.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'peers', 'asyncssh_hostbased.py');
const hostKeys = {
  ed25519: generatePrivateKey('ed25519'),
  ecdsa: generatePrivateKey('ecdsa', { bits: 256 }),
  rsa: generatePrivateKey('rsa', { bits: 2048 }),
};
const stranger = generatePrivateKey('ed25519');

test('secsh client logs in to asyncssh by hostbased (ed25519, ecdsa, rsa); unknown key or other client user refused', async (t) => {
  if (!requirePeer(t, 'asyncssh')) return;
  const dir = await mkdtemp(join(tmpdir(), 'secsh-hb-asyncssh-'));
  const known = join(dir, 'known_client_hosts');
  await writeFile(
    known,
    Object.values(hostKeys)
      .map((k) => `client.example ${k.publicKey.toString()}\n`)
      .join(''),
  );
  const peer = await startPyProcess<{ port: number; fingerprint: string }>(
    [SCRIPT, 'server', '--known-client-hosts', known],
    'asyncssh hostbased server',
    2000,
  );
  const connect = (key: PrivateKey, localUsername = 'alice') =>
    Client.connect({
      host: '127.0.0.1',
      port: peer.port,
      username: 'alice',
      hostKeyFingerprint: peer.fingerprint,
      hostbased: { key, localHostname: 'client.example', localUsername },
    });
  try {
    for (const [name, key] of Object.entries(hostKeys)) {
      const c = await connect(key);
      try {
        assert.equal((await c.exec('hb')).stdout, 'ok hb\n', name);
      } finally {
        await c.close();
      }
    }
    await assert.rejects(connect(stranger), AuthError);
    await assert.rejects(connect(hostKeys.ed25519, 'bob'), AuthError);
  } finally {
    await peer.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

/** Runs the asyncssh hostbased client once; resolves with its JSON line. */
function asyncsshClient(args: string[]): Promise<{ ok: boolean; stdout?: string; error?: string }> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['-W', 'ignore', SCRIPT, 'client', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`asyncssh client failed: ${err.message} ${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}'));
    });
  });
}

test('asyncssh client logs in to the secsh server by hostbased; an unknown host key is refused', async (t) => {
  if (!requirePeer(t, 'asyncssh')) return;
  const dir = await mkdtemp(join(tmpdir(), 'secsh-hb-asyncssh-'));
  const known = new KnownHosts();
  known.add('client.example', 22, hostKeys.rsa.publicKey);
  known.add('client.example', 22, hostKeys.ed25519.publicKey);
  const { server, port, seen } = await startHostbasedServer(known);
  const run = async (key: PrivateKey) => {
    const path = join(dir, `key-${seen.length}`);
    await writeFile(path, key.toOpenSSH(), { mode: 0o600 });
    const common = ['--port', String(port), '--client-host', 'client.example', '--client-user', 'alice'];
    return asyncsshClient([...common, '--user', 'alice', '--host-key', path, '--command', 'hb']);
  };
  try {
    for (const key of [hostKeys.ed25519, hostKeys.rsa]) {
      const r = await run(key);
      assert.deepEqual(r, { ok: true, stdout: 'ran:hb' });
      const ctx = seen.at(-1);
      assert.equal(ctx?.clientHostname, 'client.example');
      assert.equal(ctx?.clientUsername, 'alice');
      assert.ok(ctx?.key?.equals(key.publicKey));
    }
    assert.match(seen.at(-1)?.signatureAlgorithm ?? '', /^rsa-sha2-(256|512)$/, 'an RSA host key signs with SHA-2');
    const refused = await run(stranger);
    assert.equal(refused.ok, false);
    assert.match(refused.error ?? '', /PermissionDenied/);
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
