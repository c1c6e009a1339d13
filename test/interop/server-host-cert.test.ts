/**
 * OpenSSH's `ssh` against the secsh server presenting host certificates issued by secsh: accepted with
 * StrictHostKeyChecking=yes through a known_hosts `@cert-authority` line alone, refused when that line
 * names another CA.
 */

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { PrivateKey } from '../../src/keys/index.js';
import { generatePrivateKey, issueCertificate } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import { type RunSshResult, runSsh, sshArgs } from '../helpers/openssh.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';

const ca = generatePrivateKey('ed25519');
const otherCa = generatePrivateKey('ed25519');
const userKey = generatePrivateKey('ed25519');
const hostKeys: PrivateKey[] = [
  generatePrivateKey('ed25519'),
  generatePrivateKey('ecdsa', { bits: 256 }),
  generatePrivateKey('rsa', { bits: 2048 }),
];
let dir = '';
let server: Server | undefined;
let port = 0;
let keyPath = '';

before(async () => {
  if (!hasPeer('ssh')) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-hostcert-interop-'));
  keyPath = join(dir, 'id_ed25519');
  await writeFile(keyPath, userKey.toOpenSSH(), { mode: 0o600 });
  const hostCertificates = await Promise.all(
    hostKeys.map((k) =>
      issueCertificate(ca, k.publicKey, { type: 'host', keyId: 'secsh-host', principals: ['127.0.0.1'] }),
    ),
  );
  server = new Server({
    hostKeys,
    hostCertificates,
    authMethods: ['publickey'],
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(userKey.publicKey),
  });
  server.on('session', localProcessHandler());
  port = (await server.listen({ port: 0, host: '127.0.0.1' })).port;
});

after(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs `ssh` with only `knownHosts` as its known_hosts and strict checking. */
function ssh(knownHosts: string, extra: string[], command: string): Promise<RunSshResult<string>> {
  return runSsh(sshArgs({ port, keyPath, knownHosts, logLevel: 'DEBUG1' }, extra, command));
}

async function knownHosts(name: string, caKey: PrivateKey): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `@cert-authority [127.0.0.1]:${port} ${caKey.publicKey.toString()}\n`);
  return path;
}

test('ssh accepts a secsh-issued host certificate through @cert-authority (every key type)', async (t) => {
  if (!requirePeer(t, 'ssh')) return;
  const kh = await knownHosts('known_hosts', ca);
  for (const alg of [
    undefined,
    'ssh-ed25519-cert-v01@openssh.com',
    'ecdsa-sha2-nistp256-cert-v01@openssh.com',
    'rsa-sha2-512-cert-v01@openssh.com',
    'rsa-sha2-256-cert-v01@openssh.com',
  ]) {
    const r = await ssh(kh, alg ? ['-o', `HostKeyAlgorithms=${alg}`] : [], 'echo certified-ok');
    assert.equal(r.code, 0, `${alg ?? 'default'}: ${r.stderr}`);
    assert.equal(r.stdout, 'certified-ok\n');
    assert.match(r.stderr, /Server host certificate: \S+-cert-v01@openssh\.com/, alg ?? 'default');
    assert.match(r.stderr, /Host '\[127\.0\.0\.1\]:\d+' is known and matches the \S+-CERT host certificate/);
  }
});

test('ssh refuses the host certificate when known_hosts trusts another CA', async (t) => {
  if (!requirePeer(t, 'ssh')) return;
  const kh = await knownHosts('known_hosts_other', otherCa);
  const r = await ssh(kh, [], 'echo should-not-run');
  assert.equal(r.code, 255);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /Server host certificate: ssh-ed25519-cert-v01@openssh\.com/);
  assert.match(r.stderr, /Host key verification failed/);
});
