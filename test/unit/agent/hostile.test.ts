/**
 * AgentClient against hostile fake agents on a Unix socket: huge lengths, truncated replies, unknown
 * reply types, no reply at all, a reply spread over bytes. Every request settles with an AgentError
 * quickly (no hang), and the socket's one-shot exchange used before agent forwarding behaves the same.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AgentClient, exchangeOnce } from '../../../src/agent/index.js';
import { AgentError } from '../../../src/errors.js';
import { generatePrivateKey } from '../../../src/keys/index.js';

const dir = mkdtempSync(join(tmpdir(), 'secsh-hostile-agent-'));
const servers: Server[] = [];
let n = 0;

after(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A fake agent that runs `onRequest` for each request it receives (the raw bytes of the first chunk). */
async function fakeAgent(onRequest: (sock: Socket, req: Buffer) => void): Promise<string> {
  const path = join(dir, `a${n++}.sock`);
  const server = createServer((sock) => {
    sock.on('error', () => {});
    sock.on('data', (req) => onRequest(sock, req));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(path, r));
  return path;
}

const key = generatePrivateKey('ed25519');

async function settlesWithAgentError(p: Promise<unknown>, re: RegExp, withinMs = 3000): Promise<void> {
  const t0 = Date.now();
  await assert.rejects(p, (e: unknown) => e instanceof AgentError && re.test(e.message));
  assert.ok(Date.now() - t0 < withinMs, 'settled quickly');
}

test('an agent that never answers: the request fails after the timeout with an AgentError', async () => {
  const path = await fakeAgent(() => {});
  const c = new AgentClient(path, { timeout: 300 });
  try {
    await settlesWithAgentError(c.list(), /did not answer within 300 ms/);
    // the next request uses a new socket and fails the same way (no stuck queue)
    await settlesWithAgentError(c.sign(key.publicKey, Buffer.from('x'), 'ssh-ed25519'), /did not answer/);
  } finally {
    c.close();
  }
});

test('a huge length is refused before buffering; 0 too', async () => {
  for (const head of [Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from([0, 0x10, 0, 1]), Buffer.from([0, 0, 0, 0])]) {
    const path = await fakeAgent((sock) => sock.write(head));
    const c = new AgentClient(path, { timeout: 2000 });
    try {
      await settlesWithAgentError(c.list(), /out of range/);
    } finally {
      c.close();
    }
  }
});

test('a truncated reply followed by close is an AgentError, not a hang', async () => {
  const path = await fakeAgent((sock) => sock.end(Buffer.from([0, 0, 0, 9, 12, 0, 0])));
  const c = new AgentClient(path, { timeout: 0 });
  try {
    await settlesWithAgentError(c.list(), /closed the connection/);
  } finally {
    c.close();
  }
});

test('unknown reply types are AgentErrors for every request kind', async () => {
  const path = await fakeAgent((sock) => sock.write(Buffer.from([0, 0, 0, 1, 99])));
  const c = new AgentClient(path, { timeout: 2000 });
  try {
    await settlesWithAgentError(c.list(), /unexpected agent reply 99/);
    await settlesWithAgentError(c.sign(key.publicKey, Buffer.from('x'), 'ssh-ed25519'), /unexpected agent reply 99/);
    await settlesWithAgentError(c.add(key), /unexpected agent reply/);
    await settlesWithAgentError(c.lock('p'), /unexpected agent reply/);
    await settlesWithAgentError(c.query(), /unexpected agent reply 99/);
    await settlesWithAgentError(
      c.bindSession({
        hostKey: key.publicKey.blob,
        sessionId: Buffer.alloc(32),
        signature: Buffer.alloc(8),
        forwarding: false,
      }),
      /unexpected agent reply 99/,
    );
  } finally {
    c.close();
  }
});

test('a reply sent one byte at a time is reassembled', async () => {
  const path = await fakeAgent((sock) => {
    const reply = Buffer.from([0, 0, 0, 5, 12, 0, 0, 0, 0]);
    let i = 0;
    const tick = () => {
      if (i < reply.length) sock.write(reply.subarray(i, ++i), () => setTimeout(tick, 2));
    };
    tick();
  });
  const c = new AgentClient(path, { timeout: 5000 });
  try {
    assert.deepEqual(await c.list(), []);
  } finally {
    c.close();
  }
});

test('requests larger than an agent accepts are refused locally', async () => {
  const path = await fakeAgent(() => {});
  const c = new AgentClient(path, { timeout: 1000 });
  try {
    await settlesWithAgentError(c.sign(key.publicKey, Buffer.alloc(300 * 1024), 'ssh-ed25519'), /too much data/);
  } finally {
    c.close();
  }
});

test('the one-shot exchange reads exactly its reply and leaves later bytes on the socket', async () => {
  const path = await fakeAgent((sock) => sock.write(Buffer.from([0, 0, 0, 1, 6, 0xaa, 0xbb])));
  const sock = connect({ path });
  await new Promise<void>((r) => sock.once('connect', r));
  try {
    const reply = await exchangeOnce(sock, Buffer.from([27]), 2000);
    assert.deepEqual(reply, Buffer.from([6]));
    const rest = await new Promise<Buffer>((r) => {
      sock.once('data', r);
      sock.resume(); // left paused for whoever takes the socket over (pipe resumes it)
    });
    assert.deepEqual(rest, Buffer.from([0xaa, 0xbb]));
  } finally {
    sock.destroy();
  }
  const silent = await fakeAgent(() => {});
  const s2 = connect({ path: silent });
  await new Promise<void>((r) => s2.once('connect', r));
  try {
    await settlesWithAgentError(exchangeOnce(s2, Buffer.from([27]), 200), /did not answer/);
  } finally {
    s2.destroy();
  }
});
