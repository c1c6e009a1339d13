/**
 * AgentServer over its socket, message by message: sign flags (rsa-sha2-256 first, SHA-1 only without a
 * flag), constraint parsing (unknown extension and unknown types refused, repeats refused), query,
 * session-bind (signature checked, a bind for authentication ends binding), destination checks on the data
 * signed, lock with a growing delay, the key limit, the socket's permissions and refusal of existing paths,
 * and 1,000 parallel sign requests (10,000 keys: test/long/agent-many-keys.test.ts).
 */
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { AgentServer } from '../../../src/agent/index.js';
import { AgentError } from '../../../src/errors.js';
import { generatePrivateKey, type PrivateKey, type SignatureAlgorithm } from '../../../src/keys/index.js';
import { SshReader, SshWriter } from '../../../src/wire/index.js';
import { agentServers, M, RawAgent } from '../../helpers/agent-wire.js';

const ed = generatePrivateKey('ed25519', { comment: 'ed' });
const rsa = generatePrivateKey('rsa', { bits: 2048, comment: 'rsa' });
const hostA = generatePrivateKey('ed25519');
const hostB = generatePrivateKey('ed25519');

const agents = agentServers('secsh-agent-unit-');
const { start } = agents;

const addMsg = (key: PrivateKey, comment = key.comment, constraints: Buffer = Buffer.alloc(0)) =>
  new SshWriter()
    .byte(constraints.length ? M.ADD_ID_CONSTRAINED : M.ADD_IDENTITY)
    .raw(key.toPrivateBlob())
    .string(comment)
    .raw(constraints)
    .toBuffer();
const signMsg = (key: PrivateKey, data: Uint8Array, flags = 0) =>
  new SshWriter().byte(M.SIGN_REQUEST).string(key.publicKey.blob).string(data).uint32(flags).toBuffer();
const bindMsg = (host: PrivateKey, sid: Buffer, fwd: boolean, sig = host.signSync(sid, 'ssh-ed25519')) =>
  new SshWriter()
    .byte(M.EXTENSION)
    .string('session-bind@openssh.com')
    .string(host.publicKey.blob)
    .string(sid)
    .string(sig)
    .byte(fwd ? 1 : 0)
    .toBuffer();
const hop = (user: string, host: string, keys: PrivateKey[]) => {
  const w = new SshWriter().string(user).string(host).string('');
  for (const k of keys) w.string(k.publicKey.blob).byte(0);
  return Buffer.from(w.toBuffer());
};
const destConstraint = (pairs: [Buffer, Buffer][]) => {
  const inner = new SshWriter();
  for (const [from, to] of pairs) inner.string(new SshWriter().string(from).string(to).string('').toBuffer());
  return Buffer.from(
    new SshWriter().byte(255).string('restrict-destination-v00@openssh.com').string(inner.toBuffer()).toBuffer(),
  );
};
const userauth = (sid: Buffer, user: string, key: PrivateKey, alg: string, host?: PrivateKey) => {
  const w = new SshWriter()
    .string(sid)
    .byte(50)
    .string(user)
    .string('ssh-connection')
    .string(host ? 'publickey-hostbound-v00@openssh.com' : 'publickey')
    .bool(true)
    .string(alg)
    .string(key.publicKey.blob);
  if (host) w.string(host.publicKey.blob);
  return Buffer.from(w.toBuffer());
};
const isStatus = (b: Buffer | null, code: number) => b !== null && b.length === 1 && b[0] === code;

function sigOf(reply: Buffer | null): { alg: string; blob: Buffer } {
  assert.ok(reply && reply[0] === M.SIGN_RESPONSE, `not a sign response: ${reply?.toString('hex')}`);
  const blob = new SshReader(reply, 1).string();
  return { alg: new SshReader(blob).ascii(), blob };
}

test('RSA sign flags: 2 → rsa-sha2-256 (also with 4 set), 4 → rsa-sha2-512, none → ssh-rsa; each verifies', async () => {
  const { path } = await start();
  const c = await RawAgent.open(path);
  assert.ok(isStatus(await c.request(addMsg(rsa)), M.SUCCESS));
  const data = Buffer.from('data to sign');
  for (const [flags, want] of [
    [2, 'rsa-sha2-256'],
    [4, 'rsa-sha2-512'],
    [6, 'rsa-sha2-256'],
    [0, 'ssh-rsa'],
  ] as const) {
    const { alg, blob } = sigOf(await c.request(signMsg(rsa, data, flags)));
    assert.equal(alg, want, `flags ${flags}`);
    assert.ok(rsa.publicKey.verify(data, blob, alg as SignatureAlgorithm));
  }
  assert.ok(isStatus(await c.request(signMsg(ed, data)), M.FAILURE), 'signed with a key it does not hold');
  c.close();
});

test('constraints: an unknown extension constraint, an unknown type and a repeated lifetime are refused', async () => {
  const { server, path } = await start();
  const c = await RawAgent.open(path);
  const ext = Buffer.from(new SshWriter().byte(255).string('sk-provider@openssh.com').string('x').toBuffer());
  assert.ok(isStatus(await c.request(addMsg(ed, 'c', ext)), M.FAILURE));
  assert.ok(isStatus(await c.request(addMsg(ed, 'c', Buffer.from([9]))), M.FAILURE));
  const twice = Buffer.from(new SshWriter().byte(1).uint32(5).byte(1).uint32(6).toBuffer());
  assert.ok(isStatus(await c.request(addMsg(ed, 'c', twice)), M.FAILURE));
  assert.equal(server.size, 0);
  const ok = Buffer.from(new SshWriter().byte(1).uint32(60).byte(2).toBuffer());
  assert.ok(isStatus(await c.request(addMsg(ed, 'c', ok)), M.SUCCESS));
  assert.equal(server.size, 1);
  c.close();
});

test('query lists query and session-bind@openssh.com; an unknown extension fails', async () => {
  const { path } = await start();
  const c = await RawAgent.open(path);
  const r = await c.request(new SshWriter().byte(M.EXTENSION).string('query').toBuffer());
  assert.ok(r && r[0] === M.SUCCESS);
  const rd = new SshReader(r, 1);
  const names: string[] = [];
  while (rd.remaining > 0) names.push(rd.ascii());
  assert.deepEqual(names, ['query', 'session-bind@openssh.com']);
  assert.ok(isStatus(await c.request(new SshWriter().byte(M.EXTENSION).string('nope@x').toBuffer()), M.FAILURE));
  c.close();
});

test('session-bind: a bad host signature fails; after an authentication bind, further binds fail', async () => {
  const { path } = await start();
  const c = await RawAgent.open(path);
  const sid = Buffer.alloc(32, 1);
  assert.ok(isStatus(await c.request(bindMsg(hostA, sid, true, hostB.signSync(sid, 'ssh-ed25519'))), M.FAILURE));
  assert.ok(isStatus(await c.request(bindMsg(hostA, sid, true)), M.SUCCESS));
  assert.ok(isStatus(await c.request(bindMsg(hostA, sid, true)), M.SUCCESS), 'repeating a forwarding bind');
  const sid2 = Buffer.alloc(32, 2);
  assert.ok(isStatus(await c.request(bindMsg(hostB, sid2, false)), M.SUCCESS));
  assert.ok(isStatus(await c.request(bindMsg(hostB, Buffer.alloc(32, 3), false)), M.FAILURE));
  c.close();
});

test('a destination-constrained key signs only a user-auth request for the last bound session to a listed host', async () => {
  const { path } = await start();
  const admin = await RawAgent.open(path);
  const only = destConstraint([[hop('', '', []), hop('alice', 'host_a', [hostA])]]);
  assert.ok(isStatus(await admin.request(addMsg(ed, 'r', only)), M.SUCCESS));
  const sid = Buffer.alloc(32, 7);
  const data = userauth(sid, 'alice', ed, 'ssh-ed25519', hostA);
  // Unbound connection: refused.
  assert.ok(isStatus(await admin.request(signMsg(ed, data)), M.FAILURE));
  const c = await RawAgent.open(path);
  assert.ok(isStatus(await c.request(bindMsg(hostA, sid, false)), M.SUCCESS));
  sigOf(await c.request(signMsg(ed, data)));
  assert.ok(isStatus(await c.request(signMsg(ed, Buffer.from('not user-auth'))), M.FAILURE));
  assert.ok(isStatus(await c.request(signMsg(ed, userauth(sid, 'bob', ed, 'ssh-ed25519', hostA))), M.FAILURE));
  const otherSid = userauth(Buffer.alloc(32, 8), 'alice', ed, 'ssh-ed25519', hostA);
  assert.ok(isStatus(await c.request(signMsg(ed, otherSid)), M.FAILURE));
  assert.ok(isStatus(await c.request(signMsg(ed, userauth(sid, 'alice', ed, 'ssh-ed25519', hostB))), M.FAILURE));
  const c2 = await RawAgent.open(path);
  const sidB = Buffer.alloc(32, 9);
  assert.ok(isStatus(await c2.request(bindMsg(hostB, sidB, false)), M.SUCCESS));
  assert.ok(isStatus(await c2.request(signMsg(ed, userauth(sidB, 'alice', ed, 'ssh-ed25519', hostB))), M.FAILURE));
  const list = await c2.request(Buffer.from([M.REQUEST_IDENTITIES]));
  assert.deepEqual(
    list,
    Buffer.from([M.IDENTITIES_ANSWER, 0, 0, 0, 0]),
    'a key for host_a listed on a host_b connection',
  );
  for (const x of [admin, c, c2]) x.close();
});

test('lock: no keys listed, no signing, an empty passphrase refused; wrong unlocks wait longer each time', async () => {
  const { server, path } = await start();
  const c = await RawAgent.open(path);
  assert.ok(isStatus(await c.request(addMsg(ed)), M.SUCCESS));
  assert.ok(isStatus(await c.request(new SshWriter().byte(M.LOCK).string('').toBuffer()), M.FAILURE));
  assert.ok(isStatus(await c.request(new SshWriter().byte(M.LOCK).string('pw').toBuffer()), M.SUCCESS));
  assert.equal(server.locked, true);
  assert.deepEqual(
    await c.request(Buffer.from([M.REQUEST_IDENTITIES])),
    Buffer.from([M.IDENTITIES_ANSWER, 0, 0, 0, 0]),
  );
  assert.ok(isStatus(await c.request(signMsg(ed, Buffer.from('x'))), M.FAILURE));
  assert.ok(isStatus(await c.request(addMsg(rsa)), M.FAILURE));
  // Delays of 0.1 s, 0.2 s, 0.3 s, 0.4 s: the fourth wrong attempt takes at least 0.4 s.
  let last = 0;
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    assert.ok(isStatus(await c.request(new SshWriter().byte(M.UNLOCK).string('bad').toBuffer()), M.FAILURE));
    last = performance.now() - t0;
  }
  assert.ok(last >= 390, `fourth wrong unlock took ${last} ms`);
  assert.ok(isStatus(await c.request(new SshWriter().byte(M.UNLOCK).string('pw').toBuffer()), M.SUCCESS));
  sigOf(await c.request(signMsg(ed, Buffer.from('x'))));
  c.close();
});

test('the socket is 0600; listen refuses a path that exists and leaves it alone', async () => {
  const { path } = await start();
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const taken = join(agents.dir(), 'taken');
  await writeFile(taken, 'keep');
  await assert.rejects(new AgentServer().listen(taken), AgentError);
  assert.equal((await stat(taken)).size, 4);
});

test('the key limit: adds past maxKeys fail, the others stay', async () => {
  const { server, path } = await start({ maxKeys: 3 });
  const c = await RawAgent.open(path);
  const keys = Array.from({ length: 5 }, () => generatePrivateKey('ed25519'));
  const replies = await Promise.all(keys.map((k) => c.request(addMsg(k))));
  assert.deepEqual(
    replies.map((r) => r?.[0]),
    [M.SUCCESS, M.SUCCESS, M.SUCCESS, M.FAILURE, M.FAILURE],
  );
  assert.ok(isStatus(await c.request(addMsg(keys[0] as PrivateKey, 'renamed')), M.SUCCESS), 'replacing at the limit');
  assert.equal(server.size, 3);
  assert.throws(() => server.add(keys[4] as PrivateKey), AgentError);
  c.close();
});

test('1,000 sign requests in parallel (40 connections, 25 pipelined each) all succeed and verify', async () => {
  const { path } = await start();
  const admin = await RawAgent.open(path);
  assert.ok(isStatus(await admin.request(addMsg(ed)), M.SUCCESS));
  const conns = await Promise.all(Array.from({ length: 40 }, () => RawAgent.open(path)));
  const jobs = conns.flatMap((c, i) =>
    Array.from({ length: 25 }, (_, j) => {
      const data = Buffer.from(`request ${i}/${j}`);
      return c.request(signMsg(ed, data)).then((r) => ed.publicKey.verify(data, sigOf(r).blob, 'ssh-ed25519'));
    }),
  );
  const ok = await Promise.all(jobs);
  assert.equal(ok.filter(Boolean).length, 1000);
  for (const c of [admin, ...conns]) c.close();
});

test('1,000 requests pipelined on one connection (past the pending bound) are all answered in order', async () => {
  const { path } = await start({ maxPending: 16 });
  const c = await RawAgent.open(path);
  assert.ok(isStatus(await c.request(addMsg(ed)), M.SUCCESS));
  const datas = Array.from({ length: 1000 }, (_, i) => Buffer.from(`n${i}`));
  const replies = await Promise.all(datas.map((d) => c.request(signMsg(ed, d))));
  replies.forEach((r, i) => {
    assert.ok(ed.publicKey.verify(datas[i] as Buffer, sigOf(r).blob, 'ssh-ed25519'), `reply ${i}`);
  });
  c.close();
});

test('connections past maxConnections are closed at once; the others are served', async () => {
  const { path } = await start({ maxConnections: 2 });
  const a = await RawAgent.open(path);
  const b = await RawAgent.open(path);
  const extra = await RawAgent.open(path);
  assert.equal(await extra.request(Buffer.from([M.REQUEST_IDENTITIES])), null);
  for (const c of [a, b]) {
    assert.deepEqual(
      await c.request(Buffer.from([M.REQUEST_IDENTITIES])),
      Buffer.from([M.IDENTITIES_ANSWER, 0, 0, 0, 0]),
    );
    c.close();
  }
});

test('a relative socket path is made absolute (the agent may change directory later)', async () => {
  const server = new AgentServer();
  agents.track(server);
  const cwd = process.cwd();
  process.chdir(agents.dir());
  let got: string;
  try {
    got = await server.listen('rel.sock');
  } finally {
    process.chdir(cwd);
  }
  assert.equal(got, join(agents.dir(), 'rel.sock'));
  assert.equal((await stat(got)).mode & 0o777, 0o600);
});
