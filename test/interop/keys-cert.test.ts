/** User certificates against a real sshd with TrustedUserCAKeys: secsh-issued and ssh-keygen-issued. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  CertificateSigner,
  generatePrivateKey,
  issueCertificate,
  parseCertificate,
  parsePrivateKey,
} from '../../src/keys/index.js';
import { connectSshd, installTripwire, rejectsWithCode, sharedSshd } from '../helpers/interop.js';
import { binPath, requirePeer } from '../helpers/peers.js';

installTripwire();
const dir = mkdtempSync(join(tmpdir(), 'secsh-cert-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ca = generatePrivateKey('ed25519', { comment: 'secsh-ca' });
const caFile = join(dir, 'trusted_ca');
writeFileSync(caFile, '');

const shared = sharedSshd({
  hostKeyTypes: ['ed25519'],
  extraConfig: [`TrustedUserCAKeys ${caFile}`, 'LogLevel DEBUG1'],
});

function keygen(args: string[]): void {
  const r = spawnSync(binPath('ssh-keygen'), args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}

async function loginWorks(signer: CertificateSigner): Promise<string> {
  const sshd = await shared.get();
  const c = await connectSshd(sshd, { privateKey: signer });
  try {
    return (await c.exec('echo cert-ok')).stdout;
  } finally {
    await c.close();
  }
}

for (const kind of ['ed25519', 'ecdsa', 'rsa'] as const) {
  test(`a ${kind} key with a secsh-issued user certificate logs in (the key itself is not authorized)`, async (t) => {
    if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
    const sshd = await shared.get();
    writeFileSync(caFile, `${ca.publicKey.toString()}\n`);
    const key = generatePrivateKey(kind, kind === 'rsa' ? { bits: 2048 } : {});
    const cert = await issueCertificate(ca, key.publicKey, {
      type: 'user',
      keyId: `secsh-${kind}`,
      principals: [sshd.username],
      serial: 99n,
      validAfter: new Date(Date.now() - 60_000),
      validBefore: new Date(Date.now() + 3600_000),
    });
    assert.equal(await loginWorks(new CertificateSigner(key, cert)), 'cert-ok\n');
    await new Promise((r) => setTimeout(r, 100));
    assert.match(
      sshd.logs(),
      new RegExp(`Accepted publickey for ${sshd.username} .* ID secsh-${kind} \\(serial 99\\) CA ED25519`),
    );
    // Without the certificate the bare key is refused.
    await rejectsWithCode(connectSshd(sshd, { privateKey: key }), 'ERR_SSH_AUTH');
  });
}

test('an ssh-keygen -s certificate file is accepted; wrong principal and expired certificates are refused', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const caPath = join(dir, 'kg_ca');
  keygen(['-q', '-t', 'ecdsa', '-N', '', '-f', caPath]);
  writeFileSync(caFile, `${ca.publicKey.toString()}\n${readFileSync(`${caPath}.pub`, 'utf8')}`);
  const userPath = join(dir, 'id_user');
  keygen(['-q', '-t', 'ed25519', '-N', '', '-f', userPath]);
  const user = parsePrivateKey(readFileSync(userPath));
  keygen(['-s', caPath, '-I', 'kg', '-n', sshd.username, '-V', '-5m:+1h', userPath]);
  const cert = parseCertificate(readFileSync(`${userPath}-cert.pub`, 'utf8'));
  assert.equal(await loginWorks(new CertificateSigner(user, cert)), 'cert-ok\n');

  const wrong = await issueCertificate(ca, user.publicKey, {
    type: 'user',
    keyId: 'wrong',
    principals: ['nobody-else'],
  });
  await rejectsWithCode(connectSshd(sshd, { privateKey: new CertificateSigner(user, wrong) }), 'ERR_SSH_AUTH');
  const expired = await issueCertificate(ca, user.publicKey, {
    type: 'user',
    keyId: 'expired',
    principals: [sshd.username],
    validBefore: new Date(Date.now() - 60_000),
  });
  await rejectsWithCode(connectSshd(sshd, { privateKey: new CertificateSigner(user, expired) }), 'ERR_SSH_AUTH');
});
