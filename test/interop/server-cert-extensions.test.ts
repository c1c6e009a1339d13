/**
 * OpenSSH's `ssh -tt` against the secsh server with a secsh-issued user certificate: without
 * `permit-pty` the pty request fails ("PTY allocation request failed") and the server still starts
 * the command, without a terminal — as a real sshd does with the same certificate (ssh itself treats
 * the refusal as fatal under -t/-tt: it closes the channel and exits 255 on both);
 * with the default extensions the pty is granted.
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Certificate } from '../../src/keys/index.js';
import { generatePrivateKey, issueCertificate } from '../../src/keys/index.js';
import { findScript, localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import { runSsh, sshArgs } from '../helpers/openssh.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import type { Sshd } from '../helpers/sshd.js';
import { startSshd } from '../helpers/sshd.js';

const hostKey = generatePrivateKey('ed25519');
const ca = generatePrivateKey('ed25519');
const userKey = generatePrivateKey('ed25519');
let dir = '';
let server: Server | undefined;
let port = 0;
let keyPath = '';
let knownHosts = '';
let sshd: Sshd | undefined;
const sessions: Session[] = [];
const username = userInfo().username;

before(async () => {
  if (!hasPeer('ssh')) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-cert-ext-interop-'));
  keyPath = join(dir, 'id_ed25519');
  await writeFile(keyPath, userKey.toOpenSSH(), { mode: 0o600 });
  server = new Server({
    hostKeys: [hostKey],
    authMethods: ['publickey'],
    trustedUserCAKeys: [ca.publicKey],
    authenticate: (ctx) => ctx.certificate !== undefined && ctx.username === username,
  });
  server.on('session', (s: Session) => sessions.push(s));
  server.on('session', localProcessHandler({ shell: '/bin/sh' }));
  port = (await server.listen({ port: 0, host: '127.0.0.1' })).port;
  knownHosts = join(dir, 'known_hosts');
  const lines = [`[127.0.0.1]:${port} ${hostKey.publicKey.toString()}`];
  if (hasPeer('sshd')) {
    const caFile = join(dir, 'user_ca.pub');
    await writeFile(caFile, `${ca.publicKey.toString()}\n`);
    sshd = await startSshd({ hostKeyTypes: ['ed25519'], extraConfig: [`TrustedUserCAKeys ${caFile}`] });
    lines.push(`[127.0.0.1]:${sshd.port} ${sshd.hostKeys[0]?.publicKeyLine ?? ''}`);
  }
  await writeFile(knownHosts, `${lines.join('\n')}\n`);
});

after(async () => {
  await sshd?.stop();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs `ssh -tt` with `cert` as the only identity's certificate. */
async function sshTT(cert: Certificate, name: string, command: string, targetPort = port) {
  const certPath = join(dir, `${name}-cert.pub`);
  await writeFile(certPath, `${cert.toString()}\n`);
  return runSsh(
    sshArgs(
      { port: targetPort, keyPath, user: username, knownHosts },
      ['-tt', '-o', 'IdentityAgent=none', '-o', `CertificateFile=${certPath}`],
      command,
    ),
  );
}

/** Polls for `path` (the command runs on sshd after ssh has already given up on the channel). */
async function appears(path: string, ms = 5000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; ) {
    if (existsSync(path)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return existsSync(path);
}

test('ssh -tt: a certificate without permit-pty gets no pty, and the command still runs (as with sshd)', async (t) => {
  if (!requirePeer(t, 'ssh')) return;
  const cert = await issueCertificate(ca, userKey.publicKey, {
    type: 'user',
    keyId: 'no-pty',
    principals: [username],
    extensions: { 'permit-port-forwarding': '' },
  });
  const before = sessions.length;
  const command = 'tty; echo ran';
  const r = await sshTT(cert, 'nopty', command);
  assert.match(r.stderr, /PTY allocation request failed/);
  // ssh gives up on the channel at once under -tt, so the process may be cut short; what matters is
  // that the server refused only the pty and started the command without one.
  const s = sessions[before];
  assert.equal(s?.pty, undefined);
  assert.deepEqual(s?.started, { type: 'exec', command });
  assert.equal(s?.permissions.pty, false);
  assert.equal(s?.permissions.portForwarding, true);

  // The reference: the same certificate and the same ssh against OpenSSH's sshd.
  if (!requirePeer(t, 'sshd') || !sshd) return;
  const ref = join(dir, 'ran-sshd');
  const rs = await sshTT(cert, 'nopty', `tty > ${ref}.tmp; mv ${ref}.tmp ${ref}`, sshd.port);
  assert.match(rs.stderr, /PTY allocation request failed/, rs.stderr);
  assert.equal(r.code, rs.code, `ssh exits alike: secsh ${r.code}, sshd ${rs.code}`);
  // Without a pty, sshd lets the command finish after the client closed the channel.
  assert.ok(await appears(ref), 'the command ran on sshd');
  assert.equal(await readFile(ref, 'utf8'), 'not a tty\n');
});

test('ssh -tt: a certificate with the default extensions gets its pty', async (t) => {
  if (!requirePeer(t, 'ssh')) return;
  const cert = await issueCertificate(ca, userKey.publicKey, { type: 'user', keyId: 'pty', principals: [username] });
  const before = sessions.length;
  const r = await sshTT(cert, 'pty', 'echo ran-$((6*7))');
  assert.doesNotMatch(r.stderr, /PTY allocation request failed/);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ran-42\r?\n/);
  assert.ok(sessions[before]?.pty, 'the server recorded the pty');
  if (findScript()) {
    // With util-linux `script` the command really runs on a terminal.
    const r2 = await sshTT(cert, 'pty', 'tty');
    assert.match(r2.stdout, /^\/dev\/pts\/\d+\r?\n$/);
  }
});
