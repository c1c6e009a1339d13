/**
 * OpenSSH 10's `ssh` (Debian trixie, fetched by scripts/fetch-openssh10.sh) against the in-process secsh
 * server with the post-quantum hybrid mlkem768x25519-sha256: forced, chosen by default, and through
 * client-initiated rekeys.
 */

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generatePrivateKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import { type RunSshResult, runSsh, sshArgs } from '../helpers/openssh.js';
import { hasPeer, openssh10Path, requirePeer } from '../helpers/peers.js';

const KEX = 'mlkem768x25519-sha256';
const userKey = generatePrivateKey('ed25519');
const hostKey = generatePrivateKey('ed25519');
let dir = '';
let server: Server | undefined;
let port = 0;
let keyPath = '';
let knownHosts = '';

before(async () => {
  if (!hasPeer('openssh10-ssh')) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-mlkem-interop-'));
  keyPath = join(dir, 'id_ed25519');
  await writeFile(keyPath, userKey.toOpenSSH(), { mode: 0o600 });
  server = new Server({
    hostKeys: [hostKey],
    authMethods: ['publickey'],
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(userKey.publicKey),
  });
  server.on('session', localProcessHandler());
  port = (await server.listen({ port: 0, host: '127.0.0.1' })).port;
  knownHosts = join(dir, 'known_hosts');
  await writeFile(knownHosts, `[127.0.0.1]:${port} ${hostKey.publicKey.toString()}\n`);
});

after(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs OpenSSH 10's ssh with -vv, strict host key checking against our known_hosts, and no user config. */
function ssh(extra: string[], command: string, targetPort = port): Promise<RunSshResult<string>> {
  return runSsh(sshArgs({ port: targetPort, keyPath, knownHosts }, ['-vv', ...extra], command), {
    bin: openssh10Path(),
  });
}

const KEX_LINE = /kex: algorithm: (\S+)/g;

function kexAlgorithms(stderr: string): string[] {
  return [...stderr.matchAll(KEX_LINE)].map((m) => m[1] as string);
}

test('OpenSSH 10 ssh with KexAlgorithms=mlkem768x25519-sha256 runs an exec on the secsh server', async (t) => {
  if (!requirePeer(t, 'openssh10-ssh')) return;
  const r = await ssh(['-o', `KexAlgorithms=${KEX}`], 'echo mlkem-ok; echo "$((6 * 7))"');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'mlkem-ok\n42\n');
  assert.match(r.stderr, /debug1: OpenSSH_10\./);
  assert.deepEqual(kexAlgorithms(r.stderr), [KEX]);
  assert.match(r.stderr, /Host '\[127\.0\.0\.1\]:\d+' is known and matches the ED25519 host key/);
});

test('OpenSSH 10 ssh with its default KexAlgorithms negotiates mlkem768x25519-sha256 with the secsh server', async (t) => {
  if (!requirePeer(t, 'openssh10-ssh')) return;
  const r = await ssh([], 'echo default-ok');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'default-ok\n');
  assert.deepEqual(kexAlgorithms(r.stderr), [KEX]);
});

test('OpenSSH 10 ssh rekeys with mlkem768x25519-sha256 (RekeyLimit) while 3 MB flow from the secsh server', async (t) => {
  if (!requirePeer(t, 'openssh10-ssh')) return;
  const r = await ssh(['-o', `KexAlgorithms=${KEX}`, '-o', 'RekeyLimit=1M'], 'head -c 3000000 /dev/zero | tr "\\0" x');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.length, 3_000_000);
  assert.match(r.stdout, /^x+$/);
  const kexes = kexAlgorithms(r.stderr);
  assert.ok(kexes.length >= 2, `expected rekeys, saw ${kexes.length} key exchange(s)`);
  for (const k of kexes) assert.equal(k, KEX);
});

for (const [removed, expected] of [
  [KEX, 'sntrup761x25519-sha512'],
  [`${KEX},sntrup761x25519-sha512*`, 'curve25519-sha256'],
] as const) {
  test(`a secsh server with ${removed} removed: OpenSSH 10 falls back to ${expected}`, async (t) => {
    if (!requirePeer(t, 'openssh10-ssh')) return;
    const classic = new Server({
      hostKeys: [hostKey],
      algorithms: { kex: `-${removed}` },
      authMethods: ['publickey'],
      authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(userKey.publicKey),
    });
    classic.on('session', localProcessHandler());
    const classicPort = (await classic.listen({ port: 0, host: '127.0.0.1' })).port;
    try {
      await writeFile(knownHosts, `[127.0.0.1]:${classicPort} ${hostKey.publicKey.toString()}\n`, { flag: 'a' });
      const r = await ssh([], 'echo classic-ok', classicPort);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'classic-ok\n');
      assert.deepEqual(kexAlgorithms(r.stderr), [expected]);
    } finally {
      await classic.close();
    }
  });
}
