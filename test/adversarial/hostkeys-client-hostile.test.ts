/**
 * A hostile server against the client's updateHostKeys: garbage or huge announcements, unknown key
 * types and certificates, a duplicated key, a second announcement, and forged, replayed, mislabelled,
 * refused, SHA-1 or over-long proofs. known_hosts never gains a key that was not proven, the
 * client's 'hostkeys' outcome says why, and nothing hangs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import type { HostKeysUpdateResult } from '../../src/client/options.js';
import { KnownHosts } from '../../src/config/index.js';
import { encodeStrings, hostKeyProofData } from '../../src/connection/hostkeys.js';
import type { GlobalRequestHandler } from '../../src/connection/types.js';
import { generatePrivateKey, type PrivateKey } from '../../src/keys/index.js';
import { Server, type ServerConnection } from '../../src/server/server.js';
import { SshReader, SshWriter } from '../../src/wire/index.js';

const ed = generatePrivateKey('ed25519');
const ecdsa = generatePrivateKey('ecdsa');
const rsa = generatePrivateKey('rsa');
const impostor = generatePrivateKey('ecdsa');
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-hostkeys-hostile-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Hostile {
  /** Replaces the announcement's data (the default is every host key). */
  announce?: (real: Buffer) => Buffer;
  /** Sends the announcement this many times (default 1). */
  times?: number;
  /** Answers hostkeys-prove-00 instead of the server. */
  prove?: (data: Buffer, sessionId: Buffer, real: GlobalRequestHandler) => ReturnType<GlobalRequestHandler>;
}

/** A secsh server holding `keys` that misbehaves as `h` says; the client knows `ed` only. */
async function run(
  keys: PrivateKey[],
  h: Hostile,
): Promise<{ result: HostKeysUpdateResult | undefined; before: string; after: string; closed: Error | undefined }> {
  const server = new Server({ hostKeys: keys, authenticate: (c) => c.method === 'password' && c.password === 'pw' });
  server.on('connection', (conn: ServerConnection) => {
    const send = conn.connection.globalRequest.bind(conn.connection);
    conn.connection.globalRequest = (name, data, wantReply) => {
      if (name !== 'hostkeys-00@openssh.com') return send(name, data, wantReply);
      const body = h.announce ? h.announce(data as Buffer) : (data as Buffer);
      for (let i = 1; i < (h.times ?? 1); i++) void send(name, body, false);
      return send(name, body, false);
    };
    conn.on('authenticated', () => {
      const real = conn.connection.onGlobalRequest as GlobalRequestHandler;
      const prove = h.prove;
      if (!prove) return;
      conn.connection.onGlobalRequest = (name, data) =>
        name === 'hostkeys-prove-00@openssh.com'
          ? prove(data, conn.transport.sessionId as Buffer, real)
          : real(name, data);
    });
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const path = join(dir, `kh-${port}`);
  const before = `[127.0.0.1]:${port} ${ed.publicKey.toString()}\n`;
  await writeFile(path, before);
  let result: HostKeysUpdateResult | undefined;
  let closed: Error | undefined;
  try {
    const c = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      password: 'pw',
      knownHosts: path,
      updateHostKeys: true,
    }).catch((e: Error) => e);
    if (c instanceof Error) return { result, before, after: await readFile(path, 'utf8'), closed: c };
    c.on('error', () => {});
    c.transport.once('close', (e?: Error) => {
      closed = e;
    });
    result = await new Promise<HostKeysUpdateResult | undefined>((resolve) => {
      const t = setTimeout(() => resolve(undefined), 3000);
      c.once('hostkeys', (r: HostKeysUpdateResult) => {
        clearTimeout(t);
        resolve(r);
      });
    });
    // Still usable unless the client closed it.
    if (!c.closed) assert.equal(await c.connection.globalRequest('keepalive@openssh.com'), true);
    await new Promise((r) => setTimeout(r, 50));
    await c.close();
  } finally {
    await server.close();
  }
  return { result, before, after: await readFile(path, 'utf8'), closed };
}

/** A proof reply of the given signatures. */
const proofs = (...sigs: Buffer[]) => encodeStrings(sigs);

test('baseline: a proper server gets its second key added', async () => {
  const r = await run([ed, ecdsa], {});
  assert.equal(r.result?.status, 'updated');
  assert.equal(new KnownHosts(r.after).entries.length, 2);
});

test('a garbage announcement is skipped; the file and the connection are untouched', async () => {
  for (const junk of [Buffer.from([0, 0, 0, 200, 1, 2, 3]), Buffer.from('garbage garbage'), Buffer.alloc(3)]) {
    const r = await run([ed, ecdsa], { announce: () => junk });
    assert.equal(r.result?.status, 'skipped');
    assert.match(r.result?.reason ?? '', /malformed/);
    assert.equal(r.after, r.before);
    assert.equal(r.closed, undefined);
  }
});

test('a huge announcement (300 keys; 10,000 entries) is skipped at once', async () => {
  const many = Array.from({ length: 300 }, () => generatePrivateKey('ed25519').publicKey.blob);
  const t0 = performance.now();
  const a = await run([ed, ecdsa], { announce: () => encodeStrings([ed.publicKey.blob, ...many]) });
  const b = await run([ed, ecdsa], {
    announce: () => encodeStrings(Array.from({ length: 10_000 }, () => Buffer.alloc(1))),
  });
  for (const r of [a, b]) {
    assert.equal(r.result?.status, 'skipped');
    assert.match(r.result?.reason ?? '', /more than 256/);
    assert.equal(r.after, r.before);
  }
  assert.ok(performance.now() - t0 < 5000);
});

test('unknown key types and certificates in the announcement are disregarded, the rest learned', async () => {
  const unknown = new SshWriter(64).string('ssh-future@example.com').string(Buffer.alloc(32, 1)).toBuffer();
  const cert = new SshWriter(64).string('ssh-ed25519-cert-v01@openssh.com').string(Buffer.alloc(32)).toBuffer();
  const r = await run([ed, ecdsa], { announce: (real) => Buffer.concat([real, encodeStrings([unknown, cert])]) });
  assert.equal(r.result?.status, 'updated');
  assert.deepEqual(
    r.result?.added.map((k) => k.type),
    ['ecdsa-sha2-nistp256'],
  );
});

test('a key announced twice skips the update', async () => {
  const r = await run([ed, ecdsa], {
    announce: () => encodeStrings([ed.publicKey.blob, ecdsa.publicKey.blob, ecdsa.publicKey.blob]),
  });
  assert.equal(r.result?.status, 'skipped');
  assert.equal(r.after, r.before);
});

test('a second announcement ends the connection (ssh: fatal)', async () => {
  const r = await run([ed, ecdsa], { times: 2 });
  await new Promise((res) => setTimeout(res, 100));
  assert.match(String(r.closed?.message), /twice/);
});

test("forged proofs never add a key: another key's signature, a replay from another session, a mislabelled one, a refusal, a short or long reply", async () => {
  const forged: Array<[string, Hostile['prove']]> = [
    [
      'signed by another key',
      async (_d, sid) =>
        proofs(await impostor.sign(hostKeyProofData(sid, ecdsa.publicKey.blob), 'ecdsa-sha2-nistp256')),
    ],
    [
      'over another session id',
      async () =>
        proofs(await ecdsa.sign(hostKeyProofData(Buffer.alloc(32, 9), ecdsa.publicKey.blob), 'ecdsa-sha2-nistp256')),
    ],
    [
      'mislabelled',
      async (_d, sid) => {
        const good = await ecdsa.sign(hostKeyProofData(sid, ecdsa.publicKey.blob), 'ecdsa-sha2-nistp256');
        return proofs(Buffer.concat([new SshWriter(16).string('ssh-ed25519').toBuffer(), good.subarray(23)]));
      },
    ],
    ['refused', () => false],
    ['empty success', () => true],
    ['garbage', () => Buffer.from([0, 0, 0, 9])],
    [
      'one signature too many',
      async (_d, sid) => {
        const good = await ecdsa.sign(hostKeyProofData(sid, ecdsa.publicKey.blob), 'ecdsa-sha2-nistp256');
        return proofs(good, good);
      },
    ],
  ];
  for (const [what, prove] of forged) {
    const r = await run([ed, ecdsa], { prove });
    assert.equal(r.result?.status, 'failed', what);
    assert.equal(r.after, r.before, what);
  }
});

test('an RSA key proven with ssh-rsa (SHA-1) after a non-RSA exchange is disregarded, as ssh does', async () => {
  const r = await run([ed, rsa], {
    prove: async (_d, sid) => proofs(await rsa.sign(hostKeyProofData(sid, rsa.publicKey.blob), 'ssh-rsa')),
  });
  assert.equal(r.result?.status, 'unchanged');
  assert.equal(r.after, r.before);
  // The same key proven with rsa-sha2-256 is added.
  const ok = await run([ed, rsa], {
    prove: async (_d, sid) => proofs(await rsa.sign(hostKeyProofData(sid, rsa.publicKey.blob), 'rsa-sha2-256')),
  });
  assert.equal(ok.result?.status, 'updated');
});

test('a key announced in a non-canonical encoding (an RSA exponent with a leading zero byte) is disregarded, even with a valid proof', async () => {
  const r0 = new SshReader(rsa.publicKey.blob);
  r0.ascii();
  const e = r0.string();
  const n = r0.string();
  // The same key as `rsa`, another blob: known_hosts compares blobs, so it must never be written.
  const odd = new SshWriter(n.length + 64)
    .string('ssh-rsa')
    .string(Buffer.concat([Buffer.alloc(1), e]))
    .string(n)
    .toBuffer();
  const r = await run([ed, rsa], {
    announce: () => encodeStrings([ed.publicKey.blob, odd]),
    prove: async (_d, sid) => proofs(await rsa.sign(hostKeyProofData(sid, odd), 'rsa-sha2-512')),
  });
  assert.equal(r.result?.status, 'unchanged');
  assert.equal(r.after, r.before);
});
