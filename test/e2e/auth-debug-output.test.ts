/**
 * Debugging authentication (issue 11, item 9): the `secsh:auth` diagnostics channel publishes each step
 * of the client's authentication (it was declared but never published), and NODE_DEBUG=secsh prints
 * them — method, key type and fingerprint offered, pk-ok, accepted, refused, partial success — and the
 * channel opens.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import diagnostics_channel from 'node:diagnostics_channel';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ClientAuthEvent } from '../../src/auth/client.js';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey, type PrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Lets in `good` by publickey, then asks for the password 'secret-pw' too (AuthenticationMethods publickey,password). */
async function twoStepServer(good: PrivateKey): Promise<{ server: Server; port: number }> {
  const server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authFailureDelay: 0,
    authenticate: (ctx) => {
      if (ctx.method === 'publickey') return ctx.key?.equals(good.publicKey) === true ? ['password'] : false;
      if (ctx.method === 'password') return ctx.previous.length > 0 && ctx.password === 'secret-pw';
      return false;
    },
  });
  server.on('session', (s: Session) =>
    s.on('exec', (req) => {
      if (!req.accept()) return;
      s.channel.end('ok');
      s.exit(0);
    }),
  );
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, port };
}

/** `bad` (refused), then `good` from a file (accepted for the first step), then the password. */
async function scenario(dir: string) {
  const bad = generatePrivateKey('ed25519');
  const good = generatePrivateKey('ecdsa');
  const goodPath = join(dir, 'id_ecdsa');
  await writeFile(goodPath, good.toOpenSSH(), { mode: 0o600 });
  return { bad, good, goodPath };
}

test('secsh:auth publishes none, each key offered (refused, pk-ok, partial) and the password step, without secrets', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-auth-diag-'));
  const { bad, good, goodPath } = await scenario(dir);
  const { server, port } = await twoStepServer(good);
  const events: ClientAuthEvent[] = [];
  const listener = (m: unknown) => events.push(m as ClientAuthEvent);
  diagnostics_channel.subscribe('secsh:auth', listener);
  try {
    const client = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'alice',
      privateKey: bad,
      privateKeyPath: goodPath,
      password: 'secret-pw',
      insecureAcceptAnyHostKey: true,
    });
    await client.close();
  } finally {
    diagnostics_channel.unsubscribe('secsh:auth', listener);
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
  assert.deepEqual(
    events.map((e) => [e.method, e.result, e.key?.type ?? '', e.key?.fingerprint ?? '']),
    [
      ['none', 'refused', '', ''],
      ['publickey', 'refused', 'ssh-ed25519', bad.publicKey.fingerprint()],
      ['publickey', 'pk-ok', 'ecdsa-sha2-nistp256', good.publicKey.fingerprint()],
      ['publickey', 'partial', 'ecdsa-sha2-nistp256', good.publicKey.fingerprint()],
      ['password', 'accepted', '', ''],
    ],
  );
  assert.deepEqual(events[3]?.methodsLeft, ['password']);
  assert.ok(events.every((e) => e.role === 'client' && e.username === 'alice'));
  assert.equal(JSON.stringify(events).includes('secret-pw'), false, 'the password was published');
});

test('NODE_DEBUG=secsh prints the auth steps with key types and fingerprints, and the channel opens', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-auth-debug-'));
  try {
    const { bad, good, goodPath } = await scenario(dir);
    const { server, port } = await twoStepServer(good);
    try {
      const script = join(ROOT, 'test/e2e/auth-debug-client.fixture.ts');
      const env = {
        ...process.env,
        NODE_DEBUG: 'secsh',
        PORT: String(port),
        BAD_KEY: bad.toOpenSSH(),
        GOOD_KEY_PATH: goodPath,
      };
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((res, rej) => {
        const p = spawn(process.execPath, ['--import', 'tsx', script], {
          cwd: ROOT,
          env,
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
        p.on('error', rej);
        p.on('close', (code) => res({ code, stdout, stderr }));
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'ok');
      const lines = r.stderr;
      const badFp = bad.publicKey.fingerprint();
      const goodFp = good.publicKey.fingerprint();
      const has = (re: RegExp) => assert.match(lines, re, lines);
      const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      has(/SECSH \d+: auth: none for "alice": refused; server allows: publickey,keyboard-interactive,password/);
      has(new RegExp(`auth: offering publickey ssh-ed25519 ${esc(badFp)} \\(ssh-ed25519\\)`));
      has(new RegExp(`auth: publickey ssh-ed25519 ${esc(badFp)} \\(ssh-ed25519\\) for "alice": refused`));
      has(new RegExp(`auth: publickey ecdsa-sha2-nistp256 ${esc(goodFp)} .* for "alice": pk-ok`));
      has(
        new RegExp(
          `auth: publickey ecdsa-sha2-nistp256 ${esc(goodFp)} .* for "alice": partial; server allows: password`,
        ),
      );
      has(/auth: password for "alice": accepted/);
      has(/channel: session \d+ open/);
      assert.equal(lines.includes('secret-pw'), false, 'the password was printed');
    } finally {
      await server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
