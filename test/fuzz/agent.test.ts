/**
 * The ssh-agent client's parsing of agent replies: a fake agent on a UNIX socket answers each
 * request (list, sign, add, remove, remove all) with a mutated real reply, framed or not, whole or in
 * pieces, then closes. Every request must settle within a bounded time, resolving or rejecting with
 * AgentError only; a length field of 2^32-1 must be refused before anything is buffered.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { AgentClient } from '../../src/agent/index.js';
import { AGENT_MSG } from '../../src/agent/protocol.js';
import { AgentError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { SshWriter } from '../../src/wire/index.js';
import { fuzzAsync, mutated, only, runs } from './harness.js';

const ed = generatePrivateKey('ed25519', { comment: 'ed' });
const ec = generatePrivateKey('ecdsa', { bits: 256, comment: 'ec' });
const data = Buffer.from('to be signed');

const frame = (body: Buffer) => new SshWriter().string(body).toBuffer();

const bodies: Buffer[] = [
  new SshWriter()
    .byte(AGENT_MSG.IDENTITIES_ANSWER)
    .uint32(2)
    .string(ed.publicKey.blob)
    .string('ed')
    .string(ec.publicKey.blob)
    .string('ec')
    .toBuffer(),
  new SshWriter().byte(AGENT_MSG.SIGN_RESPONSE).string(ed.signSync(data, 'ssh-ed25519')).toBuffer(),
  Buffer.from([AGENT_MSG.SUCCESS]),
  Buffer.from([AGENT_MSG.FAILURE]),
  Buffer.from([AGENT_MSG.EXTENSION_FAILURE]),
];
/** Whole frames (so mutations also hit the length prefix). */
const frames = bodies.map(frame);

let dir = '';
let path = '';
let server: Server;
/** What the fake agent sends for the next request, in pieces. */
let nextReply: Buffer[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'secsh-fuzz-agent-'));
  path = join(dir, 'agent.sock');
  server = createServer((sock: Socket) => {
    sock.on('error', () => {});
    sock.once('data', () => {
      const pieces = nextReply;
      for (const p of pieces) sock.write(p);
      sock.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

test('agent client: mutated replies to every request settle, with AgentError only', async () => {
  const reply = fc.oneof(
    { weight: 3, arbitrary: mutated(frames) },
    { weight: 1, arbitrary: mutated(bodies).map(frame) },
    { weight: 1, arbitrary: fc.constantFrom(...frames) },
  );
  await fuzzAsync(
    'agent client replies',
    fc.tuple(
      fc.constantFrom('list', 'sign-ed', 'sign-rsa-mismatch', 'add', 'remove', 'removeAll'),
      reply,
      fc.array(fc.nat(), { maxLength: 3 }),
    ),
    async ([op, bytes, cuts]) => {
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const pieces: Buffer[] = [];
      let at = 0;
      for (const p of [...points, bytes.length]) {
        pieces.push(bytes.subarray(at, p));
        at = p;
      }
      nextReply = pieces.filter((p) => p.length > 0);
      const client = new AgentClient(path);
      try {
        if (op === 'list') await client.list();
        else if (op === 'sign-ed') await client.sign(ed.publicKey, data, 'ssh-ed25519');
        else if (op === 'sign-rsa-mismatch') await client.sign(ec.publicKey, data, 'ecdsa-sha2-nistp256');
        else if (op === 'add') await client.add(ed);
        else if (op === 'remove') await client.remove(ed.publicKey);
        else await client.removeAll();
      } finally {
        client.close();
      }
    },
    { numRuns: runs(300, 10), allowed: only(AgentError), maxMs: 5000 },
  );
});

test('agent client: a reply length of 2^32-1 is refused from its header, before any body is buffered', async () => {
  nextReply = [Buffer.from([0xff, 0xff, 0xff, 0xff, AGENT_MSG.SUCCESS])];
  const client = new AgentClient(path);
  try {
    await assert.rejects(client.removeAll(), (e: unknown) => e instanceof AgentError && /out of range/.test(e.message));
  } finally {
    client.close();
  }
});
