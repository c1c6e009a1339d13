/** secsh server: user-certificate critical options (source-address, force-command, unknown options) as sshd applies them. */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthContext } from '../../src/auth/server.js';
import { Client } from '../../src/client/client.js';
import { AuthError } from '../../src/errors.js';
import { generatePrivateKey, issueCertificate } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import type { ServerConnection } from '../../src/server/server.js';
import { Server } from '../../src/server/server.js';

const hostKey = generatePrivateKey('ed25519');
const ca = generatePrivateKey('ed25519');
const user = generatePrivateKey('ed25519');

async function withServer(
  fn: (port: number, seen: AuthContext[], conns: ServerConnection[]) => Promise<void>,
): Promise<void> {
  const seen: AuthContext[] = [];
  const conns: ServerConnection[] = [];
  const server = new Server({
    hostKeys: [hostKey],
    authFailureDelay: 0,
    authMethods: ['publickey'],
    trustedUserCAKeys: [ca.publicKey],
    authenticate: (ctx) => {
      seen.push(ctx);
      return ctx.certificate !== undefined;
    },
  });
  server.on('session', localProcessHandler({ shell: '/bin/sh', subsystems: { sftp: (s) => s.exit(0) } }));
  server.on('connection', (c: ServerConnection) => conns.push(c));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  try {
    await fn(port, seen, conns);
  } finally {
    await server.close();
  }
}

async function certWith(criticalOptions: Record<string, string>) {
  return issueCertificate(ca, user.publicKey, { type: 'user', keyId: 'opts', principals: ['alice'], criticalOptions });
}

function connect(port: number, cert: string) {
  return Client.connect({
    host: '127.0.0.1',
    port,
    username: 'alice',
    privateKey: user,
    certificate: cert,
    insecureAcceptAnyHostKey: true,
  });
}

test('source-address: listed address logs in, others and malformed lists are refused before the policy', async () => {
  await withServer(async (port, seen) => {
    for (const list of ['127.0.0.1', '127.0.0.0/8', '10.0.0.0/8,127.0.0.1/32', '::1,127.0.0.1']) {
      const client = await connect(port, (await certWith({ 'source-address': list })).toString());
      try {
        assert.equal((await client.exec('echo ok')).stdout, 'ok\n', list);
      } finally {
        await client.close();
      }
    }
    const certAttempts = () => seen.filter((c) => c.certificate !== undefined).length;
    const before = certAttempts();
    for (const list of ['10.0.0.0/8', '::1', '127.0.0.1/8', 'localhost', '127.0.0.1, 10.0.0.1']) {
      await assert.rejects(connect(port, (await certWith({ 'source-address': list })).toString()), AuthError, list);
    }
    assert.equal(certAttempts(), before, 'refused certificates never reached the policy');
  });
});

test('an unknown critical option refuses the certificate', async () => {
  await withServer(async (port, seen) => {
    await assert.rejects(connect(port, (await certWith({ 'no-such-option@example.com': '' })).toString()), AuthError);
    assert.equal(seen.filter((c) => c.certificate !== undefined).length, 0);
  });
});

test('force-command replaces exec, shell and subsystem; SSH_ORIGINAL_COMMAND holds the request', async () => {
  await withServer(async (port, seen, conns) => {
    const forced = 'printf "forced:%s" "$SSH_ORIGINAL_COMMAND"';
    const client = await connect(port, (await certWith({ 'force-command': forced })).toString());
    try {
      const r = await client.exec('cat /etc/passwd');
      assert.equal(r.stdout, 'forced:cat /etc/passwd');
      assert.equal(r.code, 0);
      const shell = await client.shell();
      let out = '';
      shell.on('data', (c: Buffer) => {
        out += c.toString();
      });
      shell.end('id\n');
      await new Promise((res) => shell.once('close', res));
      assert.equal(out, 'forced:');
      const sub = await client.subsystem('sftp');
      let subOut = '';
      sub.on('data', (c: Buffer) => {
        subOut += c.toString();
      });
      await new Promise((res) => sub.once('close', res));
      assert.equal(subOut, 'forced:sftp');
    } finally {
      await client.close();
    }
    assert.equal(seen.find((c) => c.signed)?.certificate?.criticalOptions.get('force-command'), forced);
    assert.equal(conns[0]?.auth?.forceCommand, forced);
    assert.equal(conns[0]?.certificate?.keyId, 'opts');
  });
});

test('without force-command, commands run as asked', async () => {
  await withServer(async (port, _seen, conns) => {
    const client = await connect(port, (await certWith({})).toString());
    try {
      assert.equal((await client.exec('env | grep -c ^SSH_ORIGINAL_COMMAND=')).stdout, '0\n');
    } finally {
      await client.close();
    }
    assert.equal(conns[0]?.auth?.forceCommand, undefined);
  });
});
