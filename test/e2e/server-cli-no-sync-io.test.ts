/**
 * `secsh server` reads its password and authorized_keys files again on each attempt (edits apply at
 * once); those reads are a client's doing and must not block the event loop. The server runs with a
 * preload that records synchronous fs calls and synchronous child processes made from src/ once it is
 * listening; failed and successful logins by password and public key and an exec must record none.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { startCliServer } from './server-helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TRIPWIRE = join(ROOT, 'test', 'helpers', 'sync-io-tripwire.ts');

test('secsh server: authentication attempts read the password and key files without blocking', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-cli-nosync-'));
  const good = generatePrivateKey('ed25519');
  const bad = generatePrivateKey('ed25519');
  try {
    await writeFile(join(dir, 'passwords'), 'alice:wonderland\n');
    await writeFile(join(dir, 'authorized_keys'), `${good.publicKey.toString()}\n`);
    const {
      child: p,
      port,
      fingerprint: hostKeyFingerprint,
      exited,
      stderr,
    } = await startCliServer(
      [
        '--import',
        'tsx',
        '--import',
        TRIPWIRE,
        join(ROOT, 'src', 'cli', 'main.ts'),
        'server',
        '--port',
        '0',
        '--password-file',
        join(dir, 'passwords'),
        '--authorized-keys',
        join(dir, 'authorized_keys'),
        '--host-key',
        join(dir, 'host_key'),
        '--no-sftp',
      ],
      ROOT,
    );
    const base = { host: '127.0.0.1', port, username: 'alice', hostKeyFingerprint };
    await assert.rejects(Client.connect({ ...base, password: 'nope', authMethods: ['password'] }));
    await assert.rejects(Client.connect({ ...base, privateKey: bad, authMethods: ['publickey'] }));
    const byKey = await Client.connect({ ...base, privateKey: good });
    assert.equal((await byKey.exec('echo k')).stdout, 'k\n');
    await byKey.close();
    const byPassword = await Client.connect({ ...base, password: 'wonderland', authMethods: ['password'] });
    await byPassword.close();
    process.kill(p.pid as number, 'SIGINT'); // not p.kill: Deno then reports code null
    assert.equal(await exited, 0);
    const err = stderr();
    const line = /SYNC-IO-CALLS (.*)/.exec(err)?.[1];
    assert.ok(line, `the tripwire reported: ${err.slice(-500)}`);
    assert.deepEqual(JSON.parse(line), [], 'synchronous calls made on behalf of a client');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
