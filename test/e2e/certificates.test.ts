/** secsh client ↔ secsh server: OpenSSH user certificates (TrustedUserCAKeys-style server option, client `certificate`). */

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AuthContext } from '../../src/auth/server.js';
import { Client } from '../../src/client/client.js';
import { AuthError } from '../../src/errors.js';
import { generatePrivateKey, issueCertificate } from '../../src/keys/index.js';
import { startServer } from './server-helpers.js';

const hostKey = generatePrivateKey('ed25519');
const ca = generatePrivateKey('ed25519');
const otherCa = generatePrivateKey('ed25519');

async function certServer(seen: AuthContext[]) {
  return startServer({
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authMethods: ['publickey'],
    trustedUserCAKeys: [ca.publicKey],
    authenticate: (ctx) => {
      seen.push(ctx);
      // Accept only certificate logins: a plain key is not authorized here.
      return ctx.method === 'publickey' && ctx.certificate !== undefined;
    },
  });
}

test('a user certificate from a trusted CA logs in; ctx.key is the certified key', async () => {
  const seen: AuthContext[] = [];
  const { server, port } = await certServer(seen);
  try {
    for (const type of ['ed25519', 'rsa'] as const) {
      const user = generatePrivateKey(type, type === 'rsa' ? { bits: 2048 } : {});
      const cert = await issueCertificate(ca, user.publicKey, {
        type: 'user',
        keyId: 'alice@test',
        principals: ['alice'],
      });
      const client = await Client.connect({
        host: '127.0.0.1',
        port,
        username: 'alice',
        privateKey: user,
        certificate: cert.toString(),
        insecureAcceptAnyHostKey: true,
      });
      try {
        assert.equal((await client.exec('x')).stdout, 'ran:x');
      } finally {
        await client.close();
      }
      const signed = seen.find((c) => c.signed && c.key?.equals(user.publicKey));
      assert.ok(signed, `${type}: signed certificate attempt reached the policy`);
      assert.equal(signed.certificate?.keyId, 'alice@test');
      assert.match(signed.signatureAlgorithm ?? '', /-cert-v01@openssh\.com$/);
    }
  } finally {
    await server.close();
  }
});

test('certificate refused: wrong principal, untrusted CA, expired, host type', async () => {
  const seen: AuthContext[] = [];
  const { server, port } = await certServer(seen);
  const user = generatePrivateKey('ed25519');
  const cases = [
    await issueCertificate(ca, user.publicKey, { type: 'user', keyId: 'k', principals: ['bob'] }),
    await issueCertificate(otherCa, user.publicKey, { type: 'user', keyId: 'k', principals: ['alice'] }),
    await issueCertificate(ca, user.publicKey, {
      type: 'user',
      keyId: 'k',
      principals: ['alice'],
      validBefore: new Date(Date.now() - 60_000),
    }),
    await issueCertificate(ca, user.publicKey, { type: 'host', keyId: 'k', principals: ['alice'] }),
  ];
  try {
    for (const cert of cases) {
      await assert.rejects(
        Client.connect({
          host: '127.0.0.1',
          port,
          username: 'alice',
          privateKey: user,
          certificate: Buffer.from(cert.toString()),
          insecureAcceptAnyHostKey: true,
        }),
        AuthError,
      );
    }
    // None of them reached the policy as a certificate.
    assert.equal(seen.filter((c) => c.certificate !== undefined).length, 0);
  } finally {
    await server.close();
  }
});

test('ssh_config identity with <file>-cert.pub authenticates with the certificate', async () => {
  const seen: AuthContext[] = [];
  const { server, port } = await certServer(seen);
  const dir = await mkdtemp(join(tmpdir(), 'secsh-cert-'));
  try {
    const user = generatePrivateKey('ed25519');
    const cert = await issueCertificate(ca, user.publicKey, { type: 'user', keyId: 'cfg', principals: ['carol'] });
    const idPath = join(dir, 'id_ed25519');
    await writeFile(idPath, user.toOpenSSH(), { mode: 0o600 });
    await writeFile(`${idPath}-cert.pub`, `${cert.toString()}\n`);
    const cfg = join(dir, 'config');
    await writeFile(
      cfg,
      `Host certhost\n  HostName 127.0.0.1\n  Port ${port}\n  User carol\n  IdentityFile ${idPath}\n  IdentitiesOnly yes\n`,
    );
    const client = await Client.connect({ host: 'certhost', config: cfg, insecureAcceptAnyHostKey: true });
    try {
      assert.equal((await client.exec('y')).stdout, 'ran:y');
    } finally {
      await client.close();
    }
    assert.equal(seen.find((c) => c.signed)?.certificate?.keyId, 'cfg');
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
