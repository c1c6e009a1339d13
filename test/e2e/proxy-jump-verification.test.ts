/**
 * Jump hosts can be verified (issue 11, item 4): a hop given as an object in `proxyJump` has its own
 * hostKeyFingerprint/hostVerifier; the connection's hostVerifier is asked about every hop, told the host
 * and port it checks; and a hop refused by known_hosts says it is a jump host without advising the
 * destination's hostKeyFingerprint (it said "pass hostKeyFingerprint", which had been passed).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { HostKeyTarget } from '../../src/client/client.js';
import { Client } from '../../src/client/client.js';
import type { ChannelOpenRequest } from '../../src/connection/index.js';
import { decodeTcpipOpen } from '../../src/connection/requests.js';
import { HostKeyError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import type { ServerConnection } from '../../src/server/server.js';
import { Server } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';

const jumpKey = generatePrivateKey('ed25519');
const destKey = generatePrivateKey('ed25519');
const jumpFp = jumpKey.publicKey.fingerprint();
const destFp = destKey.publicKey.fingerprint();
let jump: Server;
let dest: Server;
let jumpPort = 0;
let destPort = 0;
let dir = '';
let emptyKnownHosts = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-jump-verify-'));
  emptyKnownHosts = join(dir, 'known_hosts');
  await writeFile(emptyKnownHosts, '');
  jump = new Server({ hostKeys: [jumpKey], authenticate: () => true, authMethods: ['password'] });
  jump.on('connection', (c: ServerConnection) => {
    c.on('channel-open', (req: ChannelOpenRequest) => {
      if (req.type !== 'direct-tcpip') return req.reject(1, 'no');
      const { host, port } = decodeTcpipOpen(req.data);
      const sock = netConnect({ host, port });
      sock.once('connect', () => {
        const ch = req.accept();
        ch.on('error', () => {});
        sock.pipe(ch).pipe(sock);
      });
      sock.once('error', () => req.reject(2, 'connect failed'));
    });
  });
  dest = new Server({ hostKeys: [destKey], authenticate: () => true, authMethods: ['password'] });
  dest.on('session', (s: Session) =>
    s.on('exec', (req) => {
      if (!req.accept()) return;
      s.channel.end('at destination\n');
      s.exit(0);
    }),
  );
  ({ port: jumpPort } = await jump.listen({ port: 0, host: '127.0.0.1' }));
  ({ port: destPort } = await dest.listen({ port: 0, host: '127.0.0.1' }));
});

after(async () => {
  await jump.close();
  await dest.close();
  await rm(dir, { recursive: true, force: true });
});

const base = () => ({ host: '127.0.0.1', port: destPort, username: 'u', password: 'p', knownHosts: emptyKnownHosts });

test('a hop given as an object is checked by its own hostKeyFingerprint; the destination by its own', async () => {
  const client = await Client.connect({
    ...base(),
    hostKeyFingerprint: destFp,
    proxyJump: [{ host: '127.0.0.1', port: jumpPort, password: 'p', hostKeyFingerprint: jumpFp }],
  });
  try {
    assert.equal((await client.exec('x')).stdout, 'at destination\n');
    assert.equal(client.hostKey.fingerprint(), destFp);
  } finally {
    await client.close();
  }
});

test("a hop's own wrong fingerprint refuses the hop, naming it a jump host", async () => {
  const err = await Client.connect({
    ...base(),
    hostKeyFingerprint: destFp,
    proxyJump: [{ host: '127.0.0.1', port: jumpPort, hostKeyFingerprint: destFp }],
  }).then(
    () => assert.fail('connected'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof HostKeyError, String(err));
  assert.equal(err.fingerprint, jumpFp);
  assert.match(err.message, new RegExp(`jump host 127\\.0\\.0\\.1:${jumpPort}`));
});

test("the connection's hostVerifier is asked about every hop and the destination, told the host and port", async () => {
  const asked: HostKeyTarget[] = [];
  const client = await Client.connect({
    ...base(),
    proxyJump: `127.0.0.1:${jumpPort}`,
    hostVerifier: (key, _cert, target) => {
      asked.push(target);
      return key.fingerprint() === (target.jumpHost ? jumpFp : destFp);
    },
  });
  await client.close();
  assert.deepEqual(asked, [
    { host: '127.0.0.1', port: jumpPort, jumpHost: true },
    { host: '127.0.0.1', port: destPort, jumpHost: false },
  ]);
});

test('a hop refused by known_hosts says it is a jump host and gives advice a hop can use (not hostKeyFingerprint)', async () => {
  const err = await Client.connect({ ...base(), hostKeyFingerprint: destFp, proxyJump: `127.0.0.1:${jumpPort}` }).then(
    () => assert.fail('connected'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof HostKeyError, String(err));
  assert.equal(err.fingerprint, jumpFp);
  assert.match(err.message, /of jump host/);
  assert.match(err.message, /proxyJump: \[\{ host, hostKeyFingerprint \}\]/);
  assert.doesNotMatch(err.message, /pass hostKeyFingerprint/);
});
