/** secsh client ↔ secsh server: the server presents OpenSSH host certificates, checked through known_hosts @cert-authority. */

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { supportedAlgorithmOption } from '../../src/config/connect-config.js';
import { HostKeyError, InvalidArgumentError, NegotiationError } from '../../src/errors.js';
import type { PrivateKey } from '../../src/keys/index.js';
import { generatePrivateKey, issueCertificate } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';
import { selectServerHostKey, serverHostKeyAlgorithms } from '../../src/transport/kex-exchange.js';
import { startServer } from './server-helpers.js';

const ca = generatePrivateKey('ed25519');
const otherCa = generatePrivateKey('ed25519');
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-hostcert-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function hostCert(key: PrivateKey, principals = ['127.0.0.1'], signer = ca) {
  return issueCertificate(signer, key.publicKey, { type: 'host', keyId: 'secsh-host', principals });
}

async function knownHostsFor(port: number, caKey: PrivateKey, name: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `@cert-authority [127.0.0.1]:${port} ${caKey.publicKey.toString()}\n`);
  return path;
}

function connect(port: number, knownHosts: string, hostKey?: string[]) {
  return Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'pw',
    knownHosts,
    strictHostKeyChecking: 'strict',
    ...(hostKey ? { algorithms: { hostKey } } : {}),
  });
}

const acceptPassword = { authenticate: () => true, authMethods: ['password' as const], authFailureDelay: 0 };

test('host certificate for ed25519, ecdsa and rsa keys accepted through @cert-authority', async () => {
  const keys = [
    generatePrivateKey('ed25519'),
    generatePrivateKey('ecdsa', { bits: 384 }),
    generatePrivateKey('rsa', { bits: 2048 }),
  ];
  const certs = await Promise.all(keys.map((k) => hostCert(k)));
  const { server, port } = await startServer({ hostKeys: keys, hostCertificates: certs, ...acceptPassword });
  try {
    const kh = await knownHostsFor(port, ca, 'kh-ok');
    const cases: [string, PrivateKey][] = [
      ['ssh-ed25519-cert-v01@openssh.com', keys[0] as PrivateKey],
      ['ecdsa-sha2-nistp384-cert-v01@openssh.com', keys[1] as PrivateKey],
      ['rsa-sha2-512-cert-v01@openssh.com', keys[2] as PrivateKey],
      ['rsa-sha2-256-cert-v01@openssh.com', keys[2] as PrivateKey],
    ];
    for (const [alg, key] of cases) {
      const client = await connect(port, kh, [alg]);
      try {
        assert.equal(client.algorithms.hostKey, alg);
        assert.ok(client.hostKey.equals(key.publicKey), `${alg}: hostKey is the certified key`);
        assert.equal((await client.exec('hi')).stdout, 'ran:hi');
      } finally {
        await client.close();
      }
    }
    // With the default algorithm lists the client, seeing a CA line, picks a certificate algorithm.
    const client = await connect(port, kh);
    try {
      assert.match(client.algorithms.hostKey, /-cert-v01@openssh\.com$/);
    } finally {
      await client.close();
    }
  } finally {
    await server.close();
  }
});

test('host certificate refused: other CA, wrong principal; plain keys still served', async () => {
  const key = generatePrivateKey('ed25519');
  const { server, port } = await startServer({
    hostKeys: [key],
    hostCertificates: [await hostCert(key)],
    ...acceptPassword,
  });
  const { server: s2, port: p2 } = await startServer({
    hostKeys: [key],
    hostCertificates: [await hostCert(key, ['other.example'])],
    ...acceptPassword,
  });
  try {
    await assert.rejects(connect(port, await knownHostsFor(port, otherCa, 'kh-other')), HostKeyError);
    await assert.rejects(connect(p2, await knownHostsFor(p2, ca, 'kh-princ')), HostKeyError);
    // A client that does not ask for certificates gets the plain key.
    const client = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      password: 'pw',
      hostKeyFingerprint: key.publicKey.fingerprint(),
    });
    try {
      assert.equal(client.algorithms.hostKey, 'ssh-ed25519');
    } finally {
      await client.close();
    }
  } finally {
    await server.close();
    await s2.close();
  }
});

test('the server never offers a certificate algorithm it cannot serve', async () => {
  const ed = generatePrivateKey('ed25519');
  const rsa = generatePrivateKey('rsa', { bits: 2048 });
  const edCert = await hostCert(ed);
  const rsaCert = await hostCert(rsa);
  const pref = [
    'ssh-ed25519-cert-v01@openssh.com',
    'ecdsa-sha2-nistp256-cert-v01@openssh.com',
    'rsa-sha2-512-cert-v01@openssh.com',
    'rsa-sha2-256-cert-v01@openssh.com',
    'ssh-ed25519',
    'rsa-sha2-512',
    'ssh-rsa',
  ];
  assert.deepEqual(serverHostKeyAlgorithms(pref, [ed], [edCert]), ['ssh-ed25519-cert-v01@openssh.com', 'ssh-ed25519']);
  assert.deepEqual(serverHostKeyAlgorithms(pref, [ed, rsa], [rsaCert]), [
    'rsa-sha2-512-cert-v01@openssh.com',
    'rsa-sha2-256-cert-v01@openssh.com',
    'ssh-ed25519',
    'rsa-sha2-512',
    'ssh-rsa',
  ]);
  // A certificate whose key is not among the host keys serves nothing.
  assert.deepEqual(serverHostKeyAlgorithms(pref, [ed], [rsaCert]), ['ssh-ed25519']);
  const choice = selectServerHostKey('rsa-sha2-256-cert-v01@openssh.com', [ed, rsa], [edCert, rsaCert]);
  assert.equal(choice?.signatureAlgorithm, 'rsa-sha2-256');
  assert.ok(choice?.blob.equals(rsaCert.blob));
  assert.equal(choice?.key, rsa);

  // End to end: an ed25519-only certificate server refuses an ecdsa certificate algorithm.
  const { server, port } = await startServer({ hostKeys: [ed], hostCertificates: [edCert], ...acceptPassword });
  try {
    const kh = await knownHostsFor(port, ca, 'kh-neg');
    await assert.rejects(connect(port, kh, ['ecdsa-sha2-nistp256-cert-v01@openssh.com']), NegotiationError);
  } finally {
    await server.close();
  }
});

test('hostCertificates: a user certificate or one for another key is an error at construction', async () => {
  const key = generatePrivateKey('ed25519');
  const other = generatePrivateKey('ed25519');
  const userCert = await issueCertificate(ca, key.publicKey, { type: 'user', keyId: 'u', principals: ['x'] });
  const base = { hostKeys: [key], authenticate: () => false };
  assert.throws(() => new Server({ ...base, hostCertificates: [userCert] }), InvalidArgumentError);
  const otherCert = (await hostCert(other)).toString();
  assert.throws(() => new Server({ ...base, hostCertificates: [otherCert] }), InvalidArgumentError);
  assert.throws(() => new Server({ ...base, hostCertificates: ['not a certificate'] }), InvalidArgumentError);
  // Text form is accepted, and certificate algorithms come first by default.
  const s = new Server({ ...base, hostCertificates: [Buffer.from((await hostCert(key)).toString())] });
  assert.equal(s.hostCertificates.length, 1);
});

test('ssh_config HostKeyAlgorithms with certificate names is honoured', async () => {
  assert.equal(
    supportedAlgorithmOption('hostKey', 'rsa-sha2-256-cert-v01@openssh.com,ssh-foo,ssh-ed25519'),
    'rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519',
  );
  assert.equal(
    supportedAlgorithmOption('hostKey', '^ssh-ed25519-cert-v01@openssh.com'),
    '^ssh-ed25519-cert-v01@openssh.com',
  );
  const ed = generatePrivateKey('ed25519');
  const rsa = generatePrivateKey('rsa', { bits: 2048 });
  const { server, port } = await startServer({
    hostKeys: [ed, rsa],
    hostCertificates: [await hostCert(rsa)],
    ...acceptPassword,
  });
  try {
    const kh = await knownHostsFor(port, ca, 'kh-config');
    const cfg = join(dir, 'ssh_config');
    await writeFile(
      cfg,
      [
        'Host certhost',
        '  HostName 127.0.0.1',
        `  Port ${port}`,
        '  User u',
        '  HostKeyAlgorithms rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519',
        `  UserKnownHostsFile ${kh}`,
        '  StrictHostKeyChecking yes',
        '',
      ].join('\n'),
    );
    const client = await Client.connect({ host: 'certhost', config: cfg, password: 'pw' });
    try {
      assert.equal(client.algorithms.hostKey, 'rsa-sha2-256-cert-v01@openssh.com');
      assert.ok(client.hostKey.equals(rsa.publicKey));
    } finally {
      await client.close();
    }
  } finally {
    await server.close();
  }
});
