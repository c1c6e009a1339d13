/**
 * OpenSSH certificates against a real sshd: a host certificate (HostCertificate) accepted by the secsh
 * client through a known_hosts `@cert-authority` line (and refused for another CA or when @revoked),
 * and a user certificate signed by secsh accepted through TrustedUserCAKeys.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { HostKeyError } from '../../src/errors.js';
import { generatePrivateKey, issueCertificate, parsePrivateKey } from '../../src/keys/index.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

let sshd: Sshd | undefined;
let dir = '';
let caLine = '';
const userCa = generatePrivateKey('ed25519');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'secsh-certs-'));
  if (!hasPeer('sshd') || !hasPeer('ssh-keygen')) return;
  const keygen = (...args: string[]) => execFileSync('ssh-keygen', ['-q', ...args], { stdio: 'pipe' });
  keygen('-t', 'ed25519', '-N', '', '-f', join(dir, 'host_ca'));
  keygen('-t', 'ecdsa', '-b', '256', '-N', '', '-f', join(dir, 'host_cert_key'));
  keygen('-s', join(dir, 'host_ca'), '-I', 'test-host', '-h', '-n', '127.0.0.1', join(dir, 'host_cert_key.pub'));
  caLine = readFileSync(join(dir, 'host_ca.pub'), 'utf8').trim();
  writeFileSync(join(dir, 'user_ca.pub'), `${userCa.publicKey.toString()}\n`);
  sshd = await startSshd({
    hostKeyTypes: ['ed25519'],
    extraConfig: [
      `HostKey ${join(dir, 'host_cert_key')}`,
      `HostCertificate ${join(dir, 'host_cert_key-cert.pub')}`,
      `TrustedUserCAKeys ${join(dir, 'user_ca.pub')}`,
    ],
  });
});
after(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function connectWith(s: Sshd, knownHosts: string): Promise<Client> {
  const path = join(dir, `kh-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, knownHosts);
  return Client.connect({
    host: s.host,
    port: s.port,
    username: s.username,
    privateKey: readFileSync(s.userKeys.ed25519.privatePath, 'utf8'),
    knownHosts: path,
  });
}

test('host certificate accepted through @cert-authority', async (t) => {
  if (!requirePeer(t, 'sshd') || !sshd) return;
  const client = await connectWith(sshd, `@cert-authority [127.0.0.1]:${sshd.port} ${caLine}\n`);
  try {
    assert.equal(client.algorithms.hostKey, 'ecdsa-sha2-nistp256-cert-v01@openssh.com');
    assert.equal(client.hostKey.type, 'ecdsa-sha2-nistp256');
    assert.equal((await client.exec('echo ok')).stdout, 'ok\n');
  } finally {
    await client.close();
  }
});

test('host certificate refused for another CA, or when the CA is @revoked', async (t) => {
  if (!requirePeer(t, 'sshd') || !sshd) return;
  const other = generatePrivateKey('ed25519').publicKey.toString();
  for (const kh of [
    `@cert-authority [127.0.0.1]:${sshd.port} ${other}\n`,
    `@cert-authority [127.0.0.1]:${sshd.port} ${caLine}\n@revoked * ${caLine}\n`,
  ]) {
    await assert.rejects(connectWith(sshd, kh), HostKeyError);
  }
});

test('user certificate issued by secsh is accepted by sshd TrustedUserCAKeys; wrong principal refused', async (t) => {
  if (!requirePeer(t, 'sshd') || !sshd) return;
  const s = sshd;
  const user = generatePrivateKey('ed25519');
  const good = await issueCertificate(userCa, user.publicKey, { type: 'user', keyId: 'k', principals: [s.username] });
  const client = await Client.connect({
    host: s.host,
    port: s.port,
    username: s.username,
    privateKey: user,
    certificate: good.toString(),
    hostKeyFingerprint: s.hostKeys[0]?.fingerprint ?? '',
    algorithms: { hostKey: ['ssh-ed25519'] },
  });
  try {
    assert.equal((await client.exec('echo ok')).stdout, 'ok\n');
  } finally {
    await client.close();
  }
  const bad = await issueCertificate(userCa, user.publicKey, { type: 'user', keyId: 'k', principals: ['nobody-x'] });
  await assert.rejects(
    Client.connect({
      host: s.host,
      port: s.port,
      username: s.username,
      privateKey: parsePrivateKey(user.toOpenSSH()),
      certificate: bad.toString(),
      hostKeyFingerprint: s.hostKeys[0]?.fingerprint ?? '',
      algorithms: { hostKey: ['ssh-ed25519'] },
    }),
  );
});
