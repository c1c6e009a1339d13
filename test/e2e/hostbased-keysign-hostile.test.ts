/**
 * A hostile or hung ssh-keysign (a stand-in at hostbased.keysign): what it writes to stderr reaches the
 * AuthError only as one short line without control characters, and one that never answers is killed
 * as soon as the connection is gone (connect timed out), not left holding the connection's socket;
 * a slow reverse lookup of the socket's local address (the name ssh-keysign expects) stays within readyTimeout.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '../../src/client/client.js';
import { AuthError, TimeoutError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import type { Server } from '../../src/server/server.js';
import { startServer } from './server-helpers.js';

const serverKey = generatePrivateKey('ed25519');
const clientHost = generatePrivateKey('ed25519');

// stderr: 1 MiB on one line with a terminal escape, then exit 1. hang: note the pid, then answer nothing.
const SCRIPT = `
import { readFileSync, writeFileSync } from 'node:fs';
const mode = process.argv[2];
if (mode === 'stderr') {
  process.stderr.write('first line\\n' + 'A'.repeat(1024 * 1024) + '\\x1b]0;owned\\x07\\x1b[2J tail', () => process.exit(1));
} else {
  writeFileSync(process.argv[3], String(process.pid));
  setInterval(() => {}, 1000);
}
`;

let dir: string;
let server: Server;
let port: number;

async function keysign(mode: string): Promise<string> {
  const path = join(dir, `ssh-keysign-${mode}`);
  await writeFile(
    path,
    `#!/bin/sh\nexec '${process.execPath}' '${join(dir, 'k.mjs')}' ${mode} '${join(dir, 'pid')}'\n`,
  );
  await chmod(path, 0o755);
  return path;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-keysign-hostile-'));
  await writeFile(join(dir, 'k.mjs'), SCRIPT);
  ({ server, port } = await startServer({
    hostKeys: [serverKey],
    authMethods: ['hostbased'],
    authFailureDelay: 0,
    authenticate: () => false,
  }));
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function connect(path: string, readyTimeout?: number, localHostname: string | undefined = 'client.example') {
  return Client.connect({
    host: '127.0.0.1',
    port,
    username: userInfo().username,
    hostKeyFingerprint: serverKey.publicKey.fingerprint(),
    hostbased: { keysign: path, key: clientHost.publicKey, ...(localHostname ? { localHostname } : {}) },
    ...(readyTimeout ? { readyTimeout } : {}),
  });
}

test("ssh-keysign's stderr reaches the AuthError as one short line without control characters", async () => {
  const path = await keysign('stderr');
  await assert.rejects(connect(path), (e: unknown) => {
    assert.ok(e instanceof AuthError, String(e));
    assert.match(e.message, /ssh-keysign: A+/);
    assert.ok(e.message.length < 2048, `message of ${e.message.length} characters`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must not pass
    assert.doesNotMatch(e.message, /[\u0000-\u001f\u007f-\u009f]/);
    return true;
  });
});

test('an ssh-keysign that never answers is killed once connect gives up on the connection', async () => {
  const path = await keysign('hang');
  await rm(join(dir, 'pid'), { force: true });
  await assert.rejects(connect(path, 1500), TimeoutError);
  const pid = Number(await readFile(join(dir, 'pid'), 'utf8'));
  assert.ok(pid > 0);
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 40 && alive(); i++) await sleep(50);
  const still = alive();
  if (still) process.kill(pid, 'SIGKILL');
  assert.equal(still, false, 'ssh-keysign still runs (and holds the socket) after the connection closed');
});

test('a reverse lookup of the local address that takes long does not hold connect past readyTimeout', async () => {
  const dns = createRequire(import.meta.url)('node:dns/promises') as typeof import('node:dns/promises');
  const real = dns.lookupService;
  let pending: NodeJS.Timeout | undefined;
  let called = 0;
  dns.lookupService = () =>
    new Promise((resolve) => {
      called++;
      pending = setTimeout(() => resolve({ hostname: 'slow.example', service: 'ssh' }), 8000);
    });
  syncBuiltinESMExports();
  try {
    const started = Date.now();
    await assert.rejects(connect(await keysign('hang'), 1000, ''), TimeoutError);
    const took = Date.now() - started;
    assert.equal(called, 1, 'the lookup was made');
    assert.ok(took < 4000, `connect gave up after ${took} ms`);
  } finally {
    clearTimeout(pending);
    dns.lookupService = real;
    syncBuiltinESMExports();
  }
});
