/** `secsh server` on the command line: prints port and fingerprint, serves a login, stops on SIGINT. */

import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readAuthorizedKeys } from '../../src/cli/server.js';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { startCliServer } from './server-helpers.js';

test('authorized_keys lines with options and comments', () => {
  const a = generatePrivateKey('ed25519').publicKey;
  const b = generatePrivateKey('ecdsa').publicKey;
  const keys = readAuthorizedKeys(`# comment\n\n${a.toString()}\nno-pty,command="x y" ${b.toString()}\ngarbage line\n`);
  assert.equal(keys.length, 2);
  assert.ok(keys[0]?.equals(a));
  assert.ok(keys[1]?.equals(b));
});

test('secsh server: password login, exec, SIGINT stops it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-cli-'));
  try {
    await writeFile(join(dir, 'passwords'), 'alice:wonderland\n');
    const hostKeyPath = join(dir, 'host_key');
    const {
      child: p,
      port,
      fingerprint,
      exited,
      stderr,
    } = await startCliServer([
      '--import',
      'tsx',
      'src/cli/main.ts',
      'server',
      '--port',
      '0',
      '--password-file',
      join(dir, 'passwords'),
      '--host-key',
      hostKeyPath,
    ]);
    assert.equal((await stat(hostKeyPath)).mode & 0o777, 0o600);
    const c = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'alice',
      password: 'wonderland',
      hostKeyFingerprint: fingerprint,
    });
    const r = await c.exec('echo "$USER-side" ; exit 4');
    assert.match(r.stdout, /-side\n$/);
    assert.equal(r.code, 4);
    await c.close();
    await assert.rejects(
      Client.connect({ host: '127.0.0.1', port, username: 'alice', password: 'nope', hostKeyFingerprint: fingerprint }),
      { code: 'ERR_SSH_AUTH' },
    );
    // process.kill, not p.kill: Deno's ChildProcess reports any child it signalled as killed (code null).
    process.kill(p.pid as number, 'SIGINT');
    assert.equal(await exited, 0);
    const err = stderr();
    assert.match(err, /auth accepted for "alice" method/);
    assert.match(err, /exec for alice/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
