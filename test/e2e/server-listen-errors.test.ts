/**
 * A server that cannot start says so (issue 11, item 5): Server.listen() on a busy port rejects with a
 * ListenError (it never settled, and EADDRINUSE crashed the process); `secsh server` on a busy port or
 * with an unreadable --authorized-keys / --password-file exits non-zero with one line on stderr.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InvalidArgumentError, ListenError, SshError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';

/** A plain TCP listener holding a loopback port. */
async function busyPort(): Promise<{ port: number; close(): Promise<void> }> {
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
  const addr = holder.address();
  assert.ok(addr && typeof addr === 'object');
  return { port: addr.port, close: () => new Promise<void>((r) => holder.close(() => r())) };
}

function newServer(): Server {
  return new Server({ hostKeys: [generatePrivateKey('ed25519')], authenticate: () => false });
}

/** Resolves with the outcome of `p`, or 'pending' if it has not settled after `ms`. */
function settledWithin<T>(p: Promise<T>, ms: number): Promise<{ ok: T } | { err: unknown } | 'pending'> {
  return Promise.race([
    p.then(
      (ok) => ({ ok }),
      (err: unknown) => ({ err }),
    ),
    new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms)),
  ]);
}

test('Server.listen on a busy port rejects with a ListenError (EADDRINUSE), and the server can listen elsewhere after', async () => {
  const busy = await busyPort();
  const server = newServer();
  try {
    const r = await settledWithin(server.listen({ port: busy.port, host: '127.0.0.1' }), 5000);
    assert.notEqual(r, 'pending', 'listen never settled');
    assert.ok(typeof r === 'object' && 'err' in r, 'listen resolved on a busy port');
    const err = r.err;
    assert.ok(err instanceof ListenError, String(err));
    assert.ok(err instanceof SshError);
    assert.equal(err.code, 'ERR_SSH_LISTEN');
    assert.equal(err.nodeCode, 'EADDRINUSE');
    assert.equal(err.port, busy.port);
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${busy.port}.*in use`));
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    assert.ok(port > 0);
  } finally {
    await server.close();
    await busy.close();
  }
});

test('Server.listen with port 99999 rejects with an InvalidArgumentError', async () => {
  const server = newServer();
  await assert.rejects(server.listen({ port: 99999 }), InvalidArgumentError);
  await server.close();
});

/** Runs `secsh server …`; resolves with its exit code and output once it exits (or fails after 20 s). */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'server', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    p.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`secsh server did not exit; stdout ${stdout} stderr ${stderr}`));
    }, 20_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('secsh server --authorized-keys /nonexistent refuses to start: one line on stderr, non-zero exit', async () => {
  const r = await runCli(['--port', '0', '--authorized-keys', '/nonexistent/authorized_keys']);
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(
    r.stderr,
    /^secsh server: cannot read --authorized-keys \/nonexistent\/authorized_keys: no such file\n$/,
  );
  assert.doesNotMatch(r.stdout, /listening/);
});

test('secsh server on a busy port: one line on stderr (no stack), non-zero exit', async () => {
  const busy = await busyPort();
  const dir = await mkdtemp(join(tmpdir(), 'secsh-cli-busy-'));
  try {
    await writeFile(join(dir, 'passwords'), 'pw\n');
    const r = await runCli(['--port', String(busy.port), '--password-file', join(dir, 'passwords'), '--quiet']);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^secsh server: cannot listen on 127\.0\.0\.1:\d+: the address is already in use\n$/);
  } finally {
    await busy.close();
    await rm(dir, { recursive: true, force: true });
  }
});
