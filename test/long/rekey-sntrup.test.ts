/**
 * Re-keying with sntrup761x25519-sha512 every 1 MiB while 64 MiB go through `cat` both ways (sent and
 * echoed back): against OpenSSH 9.2's sshd with its `@openssh.com` name (RekeyLimit 1M on both sides),
 * and secsh client ↔ secsh server with the IETF name. Bytes back equal bytes sent; every key exchange on
 * the connection used sntrup761.
 */
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import { connectSshd, drain, installTripwire, randomSource, sharedSshd } from '../helpers/interop.js';
import { requirePeer } from '../helpers/peers.js';

installTripwire();
const OPENSSH_NAME = 'sntrup761x25519-sha512@openssh.com';
const IETF_NAME = 'sntrup761x25519-sha512';
const shared = sharedSshd({
  extraConfig: ['RekeyLimit 1M', 'LogLevel DEBUG1', `KexAlgorithms ${OPENSSH_NAME}`],
  hostKeyTypes: ['ed25519'],
});
const MiB = 1024 * 1024;
const TOTAL = 64 * MiB;

/** Key exchanges the client side completes while `fn` runs, with the method each used. */
async function countClientKex<T>(fn: () => Promise<T>): Promise<{ result: T; methods: string[] }> {
  const methods: string[] = [];
  const onKex = (m: unknown) => {
    const e = m as { role: string; first: boolean; algorithms: { kex: string } };
    if (e.role === 'client' && !e.first) methods.push(e.algorithms.kex);
  };
  diagnostics_channel.subscribe('secsh:transport:kex', onKex);
  try {
    return { result: await fn(), methods };
  } finally {
    diagnostics_channel.unsubscribe('secsh:transport:kex', onKex);
  }
}

async function catRoundTrip(client: Client, total: number) {
  const proc = await client.spawn('cat');
  const src = randomSource(total);
  const back = drain(proc.stdout);
  await pipeline(src.stream, proc.stdin);
  const got = await back;
  const exit = await proc.exit;
  return { got, sent: src.digest(), exit };
}

test('64 MiB through cat on OpenSSH 9.2 sshd, sntrup761x25519-sha512@openssh.com re-keying every 1 MiB', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const client = await connectSshd(sshd, { rekeyLimit: { bytes: MiB } });
  try {
    assert.equal(client.algorithms.kex, OPENSSH_NAME);
    const { result: r, methods } = await countClientKex(() => catRoundTrip(client, TOTAL));
    assert.equal(r.got.bytes, TOTAL);
    assert.equal(r.got.sha256, r.sent, 'bytes back are the bytes sent');
    assert.deepEqual(r.exit, { code: 0, signal: null });
    assert.ok(methods.length >= TOTAL / (2 * MiB), `only ${methods.length} re-keys for ${TOTAL} bytes each way`);
    assert.deepEqual([...new Set(methods)], [OPENSSH_NAME]);
    assert.equal((await client.exec('echo after')).stdout, 'after\n');
  } finally {
    await client.close();
  }
  const sshdKex = [...sshd.logs().matchAll(/kex: algorithm: (\S+)/g)].map((m) => m[1]);
  assert.ok(sshdKex.length >= TOTAL / (2 * MiB), `sshd logged ${sshdKex.length} key exchanges`);
  assert.deepEqual([...new Set(sshdKex)], [OPENSSH_NAME]);
});

test('64 MiB through cat, secsh client ↔ secsh server, sntrup761x25519-sha512 re-keying every 1 MiB on both sides', async () => {
  const user = generatePrivateKey('ed25519');
  const server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    algorithms: { kex: [IETF_NAME] },
    rekeyLimit: { bytes: MiB },
    authenticate: (ctx) => ctx.method === 'publickey' && !!ctx.key?.equals(user.publicKey),
  });
  server.on('session', localProcessHandler());
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  try {
    const client = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      privateKey: user,
      insecureAcceptAnyHostKey: true,
      algorithms: { kex: [IETF_NAME] },
      rekeyLimit: { bytes: MiB },
    });
    try {
      const { result: r, methods } = await countClientKex(() => catRoundTrip(client, TOTAL));
      assert.equal(r.got.bytes, TOTAL);
      assert.equal(r.got.sha256, r.sent, 'bytes back are the bytes sent');
      assert.ok(methods.length >= TOTAL / (2 * MiB), `only ${methods.length} re-keys for ${TOTAL} bytes each way`);
      assert.deepEqual([...new Set(methods)], [IETF_NAME]);
    } finally {
      await client.close();
    }
  } finally {
    await server.close();
  }
});
