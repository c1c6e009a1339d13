/** AgentClient against a real ssh-agent (keys added by ssh-add) and against a fake, hostile agent. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentClient } from '../../../src/agent/index.js';
import { AgentError } from '../../../src/errors.js';
import { generatePrivateKey, type PrivateKey, type SignatureAlgorithm } from '../../../src/keys/index.js';
import { SshWriter } from '../../../src/wire/index.js';
import { binPath, hasPeer, requirePeer } from '../../helpers/peers.js';

const data = Buffer.from('session id || userauth request');

describe('AgentClient with a real ssh-agent', () => {
  let dir = '';
  let sock = '';
  let agent: ChildProcess | undefined;
  const keys: PrivateKey[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'secsh-agent-'));
    if (!hasPeer('ssh-agent') || !hasPeer('ssh-add')) return;
    sock = join(dir, 'agent.sock');
    agent = spawn(binPath('ssh-agent'), ['-a', sock, '-D'], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(50);
    assert.ok(existsSync(sock), 'ssh-agent did not create its socket');
    keys.push(
      generatePrivateKey('ed25519', { comment: 'ed' }),
      generatePrivateKey('ecdsa', { bits: 384, comment: 'ec384' }),
      generatePrivateKey('rsa', { bits: 2048, comment: 'rsa' }),
    );
    keys.forEach((k, i) => {
      const path = join(dir, `id_${i}`);
      writeFileSync(path, k.toOpenSSH(), { mode: 0o600 });
      const r = spawnSync(binPath('ssh-add'), ['-q', path], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
      assert.equal(r.status, 0, `ssh-add failed: ${r.stderr?.toString()}`);
    });
  });

  after(() => {
    if (agent?.pid !== undefined) process.kill(agent.pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  test('lists the added identities with their comments', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const client = new AgentClient(sock);
    try {
      const ids = await client.list();
      assert.equal(ids.length, keys.length);
      for (const k of keys) {
        const id = ids.find((i) => i.key.equals(k.publicKey));
        assert.ok(id, `${k.type} missing`);
        assert.equal(id.comment, k.comment);
        assert.equal(id.key.comment, k.comment);
      }
    } finally {
      client.close();
    }
  });

  test('signs with every algorithm of every key, verified by PublicKey.verify', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const client = new AgentClient(sock);
    try {
      const signers = await client.signers();
      assert.equal(signers.length, keys.length);
      for (const s of signers) {
        for (const alg of s.publicKey.signatureAlgorithms) {
          const sig = await s.sign(data, alg);
          const name = sig.subarray(4, 4 + sig.readUInt32BE(0)).toString();
          assert.equal(name, alg);
          assert.ok(s.publicKey.verify(data, sig, alg), alg);
          assert.ok(!s.publicKey.verify(Buffer.from('other'), sig, alg), alg);
        }
      }
    } finally {
      client.close();
    }
  });

  test('concurrent requests are queued and each gets its own answer', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const client = new AgentClient(sock);
    try {
      const pub = keys[0]!.publicKey;
      const msgs = Array.from({ length: 20 }, (_, i) => Buffer.from(`message ${i}`));
      const sigs = await Promise.all(msgs.map((m) => client.sign(pub, m, 'ssh-ed25519')));
      for (const [i, sig] of sigs.entries()) assert.ok(pub.verify(msgs[i]!, sig, 'ssh-ed25519'));
      const [ids] = await Promise.all([client.list(), client.sign(pub, data, 'ssh-ed25519')]);
      assert.equal(ids.length, keys.length);
    } finally {
      client.close();
    }
  });

  test('a key the agent does not hold gives AgentError; closed client refuses', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const client = new AgentClient(sock);
    const stranger = generatePrivateKey('ed25519').publicKey;
    await assert.rejects(
      client.sign(stranger, data, 'ssh-ed25519'),
      (e: unknown) => e instanceof AgentError && e.code === 'ERR_SSH_AGENT',
    );
    // The connection survives a FAILURE reply.
    assert.equal((await client.list()).length, keys.length);
    await assert.rejects(client.sign(keys[0]!.publicKey, data, 'rsa-sha2-256' as SignatureAlgorithm), AgentError);
    client.close();
    await assert.rejects(client.list(), AgentError);
  });
});

test('add, remove and removeAll manage identities in a real agent', async (t) => {
  if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
  const dir = mkdtempSync(join(tmpdir(), 'secsh-agent-add-'));
  const sock = join(dir, 'agent.sock');
  const agent = spawn(binPath('ssh-agent'), ['-a', sock, '-D'], { stdio: 'ignore' });
  const client = new AgentClient(sock);
  try {
    for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(50);
    const added = [
      generatePrivateKey('ed25519', { comment: 'one' }),
      generatePrivateKey('ecdsa', { bits: 521, comment: 'two' }),
      generatePrivateKey('rsa', { bits: 2048, comment: 'three' }),
    ];
    for (const k of added) await client.add(k);
    await client.add(generatePrivateKey('ecdsa', { bits: 256 }), 'renamed');
    const ids = await client.list();
    assert.deepEqual(
      ids.map((i) => i.comment),
      ['one', 'two', 'three', 'renamed'],
    );
    // ssh-add sees the same keys (fingerprints as OpenSSH computes them).
    const listed = spawnSync(binPath('ssh-add'), ['-l'], {
      env: { ...process.env, SSH_AUTH_SOCK: sock },
    }).stdout.toString();
    for (const k of added) assert.ok(listed.includes(k.publicKey.fingerprint()), listed);
    for (const k of added) {
      for (const alg of k.publicKey.signatureAlgorithms) {
        assert.ok(k.publicKey.verify(data, await client.sign(k.publicKey, data, alg), alg));
      }
    }
    await client.remove(added[0]!.publicKey);
    assert.equal((await client.list()).length, 3);
    await assert.rejects(client.remove(added[0]!.publicKey), AgentError);
    await client.removeAll();
    assert.equal((await client.list()).length, 0);
  } finally {
    client.close();
    if (agent.pid !== undefined) process.kill(agent.pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('AgentClient with a fake agent', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'secsh-fake-agent-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function fake(name: string, reply: (req: Buffer) => Buffer): Promise<{ path: string; server: Server }> {
    const path = join(dir, name);
    const server = createServer((s) => s.on('data', (d) => s.write(reply(d))));
    await new Promise<void>((res) => server.listen(path, res));
    return { path, server };
  }

  function frame(body: Buffer): Buffer {
    const b = Buffer.alloc(4 + body.length);
    b.writeUInt32BE(body.length, 0);
    body.copy(b, 4);
    return b;
  }

  test('an oversized response length is refused before buffering', async () => {
    const { path, server } = await fake('big', () => Buffer.from([0x7f, 0xff, 0xff, 0xff, 12]));
    const client = new AgentClient(path);
    await assert.rejects(client.list(), (e: unknown) => e instanceof AgentError && /out of range/.test(e.message));
    client.close();
    server.close();
  });

  test('unparseable identities (certificates, unknown types) are skipped; malformed answers rejected', async () => {
    const ed = generatePrivateKey('ed25519').publicKey;
    const answer = new SshWriter()
      .byte(12)
      .uint32(3)
      .string(new SshWriter().string('ssh-ed25519-cert-v01@openssh.com').string(Buffer.alloc(40)).toBuffer())
      .string('cert')
      .string(ed.blob)
      .string('good')
      .string(new SshWriter().string('ssh-unknown').toBuffer())
      .string('unknown')
      .toBuffer();
    const { path, server } = await fake('skip', () => frame(Buffer.from(answer)));
    const client = new AgentClient(path);
    const ids = await client.list();
    assert.equal(ids.length, 1);
    assert.ok(ids[0]!.key.equals(ed));
    assert.equal(ids[0]!.comment, 'good');
    client.close();
    server.close();

    const trailing = await fake('trailing', () => frame(Buffer.concat([Buffer.from(answer), Buffer.from([0])])));
    const c2 = new AgentClient(trailing.path);
    await assert.rejects(c2.list(), AgentError);
    c2.close();
    trailing.server.close();
  });

  test('a signature with a different algorithm than asked is refused', async () => {
    const key = generatePrivateKey('rsa', { bits: 1024 });
    const { path, server } = await fake('downgrade', () =>
      frame(Buffer.from(new SshWriter().byte(14).string(key.signSync(data, 'ssh-rsa')).toBuffer())),
    );
    const client = new AgentClient(path);
    await assert.rejects(
      client.sign(key.publicKey, data, 'rsa-sha2-512'),
      (e: unknown) => e instanceof AgentError && /ssh-rsa/.test(e.message),
    );
    client.close();
    server.close();
  });

  test('no socket path, or a missing socket, is an AgentError', async () => {
    await assert.rejects(new AgentClient('').list(), AgentError);
    await assert.rejects(new AgentClient(join(dir, 'nope.sock')).list(), AgentError);
  });
});
