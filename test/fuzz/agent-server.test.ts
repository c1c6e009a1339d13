/**
 * Hostile input to the AgentServer: mutated requests of every kind (adds with constraints, signs, binds,
 * removes, lock, extensions), framed or as raw bytes, over a stream handed to serve(). Every reply must be a
 * well-formed frame of a reply type, the connection may be closed, nothing may throw or hang, and the server
 * must still answer a fresh connection afterwards. Huge and out-of-range length prefixes close the
 * connection without a reply; truncated requests get none; unknown types get SSH_AGENT_FAILURE.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AgentServer } from '../../src/agent/index.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { SshReader, SshWriter } from '../../src/wire/index.js';
import { M } from '../helpers/agent-wire.js';
import { duplexPair } from '../helpers/duplex-pair.js';
import { fuzzAsync, mutated, runs } from './harness.js';

const ed = generatePrivateKey('ed25519', { comment: 'ed' });
const ec = generatePrivateKey('ecdsa', { bits: 256, comment: 'ec' });
const host = generatePrivateKey('ed25519');
const sid = Buffer.alloc(32, 5);

const w = () => new SshWriter();
const hop = (hostName: string, keys: Buffer[]) => {
  const x = w().string('').string(hostName).string('');
  for (const k of keys) x.string(k).byte(0);
  return x.toBuffer();
};
const dest = w()
  .byte(255)
  .string('restrict-destination-v00@openssh.com')
  .string(
    w()
      .string(
        w()
          .string(hop('', []))
          .string(hop('a', [host.publicKey.blob]))
          .string('')
          .toBuffer(),
      )
      .toBuffer(),
  )
  .toBuffer();
const userauth = w()
  .string(sid)
  .byte(50)
  .string('u')
  .string('ssh-connection')
  .string('publickey-hostbound-v00@openssh.com')
  .bool(true)
  .string('ssh-ed25519')
  .string(ed.publicKey.blob)
  .string(host.publicKey.blob)
  .toBuffer();

const seeds: Buffer[] = [
  Buffer.from([M.REQUEST_IDENTITIES]),
  w().byte(M.ADD_IDENTITY).raw(ec.toPrivateBlob()).string('ec').toBuffer(),
  w().byte(M.ADD_ID_CONSTRAINED).raw(ec.toPrivateBlob()).string('ec').byte(1).uint32(100).byte(2).raw(dest).toBuffer(),
  w().byte(M.SIGN_REQUEST).string(ed.publicKey.blob).string(userauth).uint32(0).toBuffer(),
  w().byte(M.SIGN_REQUEST).string(ed.publicKey.blob).string('data').uint32(2).toBuffer(),
  w().byte(M.REMOVE_IDENTITY).string(ed.publicKey.blob).toBuffer(),
  Buffer.from([M.REMOVE_ALL]),
  w().byte(M.LOCK).string('pw').toBuffer(),
  w().byte(M.EXTENSION).string('query').toBuffer(),
  w()
    .byte(M.EXTENSION)
    .string('session-bind@openssh.com')
    .string(host.publicKey.blob)
    .string(sid)
    .string(host.signSync(sid, 'ssh-ed25519'))
    .byte(0)
    .toBuffer(),
].map((b) => Buffer.from(b));

const REPLY_TYPES = new Set<number>([M.FAILURE, M.SUCCESS, M.IDENTITIES_ANSWER, M.SIGN_RESPONSE]);

/** Sends `bytes`, ends the stream, and collects reply frames until the server side closes (or 2 s pass). */
async function exchange(
  server: AgentServer,
  bytes: Buffer,
  end = true,
): Promise<{ replies: Buffer[]; closed: boolean }> {
  const [mine, theirs] = duplexPair({ destroyTogether: true });
  server.serve(theirs);
  let buf = Buffer.alloc(0);
  const replies: Buffer[] = [];
  let closed = false;
  mine.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const len = buf.readUInt32BE(0);
      replies.push(buf.subarray(4, 4 + len));
      buf = buf.subarray(4 + len);
    }
  });
  const done = new Promise<void>((resolve) => {
    mine.once('close', () => {
      closed = true;
      resolve();
    });
    mine.once('end', () => resolve());
  });
  mine.write(bytes);
  if (end) mine.end();
  await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
  // Let queued work settle before looking.
  await new Promise((r) => setImmediate(r));
  assert.equal(buf.length, 0, 'a partial reply frame');
  mine.destroy();
  return { replies, closed };
}

function checkReply(r: Buffer): void {
  assert.ok(r.length >= 1 && REPLY_TYPES.has(r[0] as number), `unexpected reply ${r.subarray(0, 8).toString('hex')}`);
  if (r[0] === M.IDENTITIES_ANSWER) {
    const rd = new SshReader(r, 1);
    const count = rd.uint32();
    for (let i = 0; i < count; i++) {
      rd.string();
      rd.string();
    }
    rd.ensureEnd();
  }
}

async function stillServes(server: AgentServer): Promise<void> {
  const { replies } = await exchange(
    server,
    Buffer.from(
      w()
        .string(Buffer.from([M.REQUEST_IDENTITIES]))
        .toBuffer(),
    ),
  );
  assert.equal(replies.length, 1, 'no answer on a fresh connection');
  assert.equal(replies[0]?.[0], M.IDENTITIES_ANSWER);
}

function freshServer(): AgentServer {
  const s = new AgentServer({ onConfirm: async () => true });
  s.add(ed);
  return s;
}

test('fuzz agent server: mutated framed requests get well-formed replies or a close; the server keeps serving', async () => {
  await fuzzAsync(
    'agent-server framed',
    fc.array(mutated(seeds), { minLength: 1, maxLength: 3 }),
    async (bodies) => {
      const server = freshServer();
      try {
        const frames = Buffer.concat(bodies.map((b) => Buffer.from(w().string(b).toBuffer())));
        const { replies } = await exchange(server, frames);
        assert.ok(replies.length <= bodies.length);
        for (const r of replies) checkReply(r);
        await stillServes(server);
      } finally {
        await server.close();
      }
    },
    { allowed: () => false, numRuns: runs(300, 20), maxMs: 8000 },
  );
});

test('fuzz agent server: raw mutated bytes (bad framing) never crash or hang it', async () => {
  const framed = seeds.map((b) => Buffer.from(w().string(b).toBuffer()));
  await fuzzAsync(
    'agent-server raw',
    mutated(framed),
    async (bytes) => {
      const server = freshServer();
      try {
        const { replies } = await exchange(server, bytes);
        for (const r of replies) checkReply(r);
        await stillServes(server);
      } finally {
        await server.close();
      }
    },
    { allowed: () => false, numRuns: runs(300, 20), maxMs: 8000 },
  );
});

test('a length prefix of 2^32-1, or one past 256 KiB, closes the connection with no reply', async () => {
  const server = freshServer();
  for (const len of [0xffff_ffff, 256 * 1024 + 1, 0]) {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(len, 0);
    head[4] = M.REQUEST_IDENTITIES;
    const { replies, closed } = await exchange(server, head, false);
    assert.deepEqual(replies, [], `length ${len}`);
    assert.equal(closed, true, `length ${len} left the connection open`);
  }
  await stillServes(server);
  await server.close();
});

test('a truncated request gets no reply; unknown and empty-bodied types get SSH_AGENT_FAILURE', async () => {
  const server = freshServer();
  const trunc = Buffer.alloc(14);
  trunc.writeUInt32BE(100, 0);
  trunc[4] = M.SIGN_REQUEST;
  assert.deepEqual((await exchange(server, trunc)).replies, []);
  for (const body of [[0], [1], [99], [255], [M.SIGN_REQUEST], [M.ADD_IDENTITY], [M.EXTENSION], [M.LOCK]]) {
    const { replies } = await exchange(server, Buffer.from(w().string(Buffer.from(body)).toBuffer()));
    assert.deepEqual(replies, [Buffer.from([M.FAILURE])], `type ${body[0]}`);
  }
  const withTrailing = Buffer.from(
    w()
      .string(Buffer.from([M.REQUEST_IDENTITIES, 0]))
      .toBuffer(),
  );
  assert.deepEqual((await exchange(server, withTrailing)).replies, [Buffer.from([M.FAILURE])]);
  await stillServes(server);
  await server.close();
});
