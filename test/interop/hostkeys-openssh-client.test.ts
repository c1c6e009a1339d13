/**
 * OpenSSH's `ssh -o UpdateHostKeys=yes` (9.2, and 10 when fetched) against the secsh server with three
 * host keys, when known_hosts holds only the one the key exchange uses: ssh asks the server to prove
 * the other two (hostkeys-prove-00@openssh.com), verifies, and adds them — plain or hashed as
 * HashKnownHosts says.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KnownHosts } from '../../src/config/index.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server, type ServerConnection } from '../../src/server/server.js';
import { runSsh, sshArgs } from '../helpers/openssh.js';
import { binPath, hasPeer, openssh10Path, requirePeer } from '../helpers/peers.js';

const userKey = generatePrivateKey('ed25519');
const hostKeys = [generatePrivateKey('ed25519'), generatePrivateKey('ecdsa'), generatePrivateKey('rsa')];
let dir = '';
let server: Server | undefined;
let port = 0;
let keyPath = '';
let proofs = 0;

before(async () => {
  if (!hasPeer('ssh')) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-hostkeys-ssh-'));
  keyPath = join(dir, 'id_ed25519');
  await writeFile(keyPath, userKey.toOpenSSH(), { mode: 0o600 });
  server = new Server({
    hostKeys,
    authMethods: ['publickey'],
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(userKey.publicKey),
  });
  server.on('session', localProcessHandler());
  server.on('connection', (c: ServerConnection) => {
    c.on('authenticated', () => {
      const handler = c.connection.onGlobalRequest;
      c.connection.onGlobalRequest = (name, data) => {
        if (name === 'hostkeys-prove-00@openssh.com') proofs++;
        return handler ? handler(name, data) : false;
      };
    });
  });
  port = (await server.listen({ port: 0, host: '127.0.0.1' })).port;
});

after(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs `bin` with UpdateHostKeys=yes and strict checking against `knownHosts` only; returns its stderr. */
async function sshUpdating(bin: string, knownHosts: string, extra: string[] = []): Promise<string> {
  const r = await runSsh(
    sshArgs({ port, keyPath, knownHosts }, ['-o', 'UpdateHostKeys=yes', '-v', ...extra], 'echo updated-ok'),
    { bin, timeoutMs: 30_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'updated-ok\n');
  return r.stderr;
}

/** The keys listed for the server in `path`, as sorted fingerprints, and whether each line is hashed. */
async function listed(path: string): Promise<{ fps: string[]; hashed: boolean[] }> {
  const kh = new KnownHosts(await readFile(path, 'utf8'));
  const found = kh.find('127.0.0.1', port);
  return { fps: found.map((e) => e.key.fingerprint()).sort(), hashed: found.map((e) => e.hashed) };
}

const all = () => hostKeys.map((k) => k.fingerprint()).sort();

for (const [label, peer] of [
  ['9.2', 'ssh'],
  ['10', 'openssh10-ssh'],
] as const) {
  test(`OpenSSH ${label} ssh -o UpdateHostKeys=yes learns the secsh server's other two host keys`, async (t) => {
    if (!requirePeer(t, peer)) return;
    const bin = peer === 'ssh' ? binPath('ssh') : openssh10Path();
    const kh = join(dir, `known_hosts-${label}`);
    await writeFile(
      kh,
      `# kept\n[127.0.0.1]:${port} ${hostKeys[0]?.publicKey.toString()}\nother.example ${generatePrivateKey('ed25519').publicKey.toString()}\n`,
    );
    const before = proofs;
    const stderr = await sshUpdating(bin, kh);
    assert.equal(proofs, before + 1, 'ssh asked for one proof');
    assert.match(stderr, /Learned new hostkey: ECDSA/);
    assert.match(stderr, /Learned new hostkey: RSA/);
    const after = await listed(kh);
    assert.deepEqual(after.fps, all());
    assert.deepEqual(after.hashed, [false, false, false]);
    const text = await readFile(kh, 'utf8');
    assert.match(text, /^# kept\n/);
    assert.match(text, /^other\.example ssh-ed25519 /m);
    // A second run finds nothing new: no proof asked for, the file unchanged.
    await sshUpdating(bin, kh);
    assert.equal(proofs, before + 1);
    assert.equal(await readFile(kh, 'utf8'), text);
  });
}

test('OpenSSH 9.2 ssh with HashKnownHosts=yes writes the learned keys hashed', async (t) => {
  if (!requirePeer(t, 'ssh')) return;
  const kh = join(dir, 'known_hosts-hashed');
  await writeFile(kh, `[127.0.0.1]:${port} ${hostKeys[1]?.publicKey.toString()}\n`);
  await sshUpdating(binPath('ssh'), kh, ['-o', 'HashKnownHosts=yes']);
  const after = await listed(kh);
  assert.deepEqual(after.fps, all());
  assert.deepEqual(after.hashed, [false, true, true]);
});
