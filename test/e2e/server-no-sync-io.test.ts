/**
 * Nothing a client's message triggers on the server may block the event loop with synchronous file
 * system calls or synchronous child processes. Every `*Sync` function of node:fs and the synchronous
 * child_process functions are replaced by recorders (live ESM bindings updated with
 * syncBuiltinESMExports); then a client authenticates (password, a wrong one first), runs commands,
 * opens a pty shell and resizes and signals it, and uses SFTP on a LocalFsBackend, including
 * users-groups-by-id. No call from secsh's own code may be recorded.
 */
import assert from 'node:assert/strict';
import childProcess from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { findScript, localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { sftpSubsystemHandler } from '../../src/sftp/server.js';

type Fn = (...args: unknown[]) => unknown;
const calls: string[] = [];
const restore: Array<() => void> = [];
let recording = false;

/** Wraps `obj[name]` so that a call from secsh's src/ while recording is noted (the call still runs). */
function tripwire(obj: Record<string, unknown>, label: string, name: string): void {
  const orig = obj[name];
  if (typeof orig !== 'function') return;
  const wrapped = function (this: unknown, ...args: unknown[]) {
    if (recording) {
      const stack = new Error().stack ?? '';
      const ours = stack.split('\n').find((l) => /[/\\]src[/\\]/.test(l) && !l.includes('node_modules'));
      if (ours) calls.push(`${label}.${name} ${String(args[0]).slice(0, 80)} at ${ours.trim()}`);
    }
    return (orig as Fn).apply(this, args);
  };
  obj[name] = wrapped;
  restore.push(() => {
    obj[name] = orig;
  });
}

before(() => {
  const fsObj = fs as unknown as Record<string, unknown>;
  for (const name of Object.keys(fs)) if (name.endsWith('Sync')) tripwire(fsObj, 'fs', name);
  const cpObj = childProcess as unknown as Record<string, unknown>;
  for (const name of ['spawnSync', 'execSync', 'execFileSync']) tripwire(cpObj, 'child_process', name);
  syncBuiltinESMExports();
});

after(() => {
  for (const r of restore) r();
  syncBuiltinESMExports();
});

test('no synchronous fs call or child process runs on any path a client message triggers', async () => {
  const root = await mkdtemp(join(tmpdir(), 'secsh-nosync-'));
  await writeFile(join(root, 'f.txt'), 'hello');
  const hostKey = generatePrivateKey('ed25519');
  const server = new Server({
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'right',
  });
  server.on('session', sftpSubsystemHandler(new LocalFsBackend(root))); // first: it answers 'sftp'
  server.on('session', localProcessHandler({ shell: '/bin/sh' }));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const hasPty = findScript() !== null; // looked up here, by the test, before recording
  recording = true;
  let client: Client | undefined;
  try {
    await assert.rejects(
      Client.connect({
        host: '127.0.0.1',
        port,
        username: 'u',
        password: 'wrong',
        authMethods: ['password'],
        hostKeyFingerprint: hostKey.publicKey.fingerprint(),
      }),
    );
    client = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      password: 'right',
      hostKeyFingerprint: hostKey.publicKey.fingerprint(),
    });
    assert.equal((await client.exec('echo hi')).stdout, 'hi\n');

    if (hasPty) {
      const shell = await client.shell({ pty: { cols: 80, rows: 24 } });
      shell.setEncoding('utf8');
      let out = '';
      shell.on('data', (d: string) => {
        out += d;
      });
      for (let i = 0; i < 50; i++) shell.windowChange(90 + i, 30);
      shell.signal('WINCH');
      shell.write('echo D:$(stty size):D\n');
      const end = Date.now() + 10_000;
      while (!/D:\d+ \d+:D/.test(out) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      assert.match(out, /D:\d+ \d+:D/);
      const closed = new Promise<void>((r) => shell.once('close', () => r()));
      shell.end('exit\n');
      await closed;
    }

    const s = await client.sftp();
    assert.equal((await s.readFile('/f.txt')).toString(), 'hello');
    await s.writeFile('/g.txt', Buffer.from('world'));
    assert.ok((await s.readdir('/')).length >= 2);
    const names = await s.usersGroupsById([process.getuid?.() ?? 0], [process.getgid?.() ?? 0]);
    assert.equal(names.users.length, 1);
    s.end();
  } finally {
    recording = false;
    await client?.close();
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
  assert.deepEqual(calls, [], 'synchronous calls made on behalf of a client');
});
