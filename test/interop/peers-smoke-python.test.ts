/**
 * Smoke test of the Python peers (the full matrix is test/matrix/matrix-python.test.ts): one
 * handshake and one exec per peer and role, and the two re-key cases only these peers reach — a
 * Twisted Conch client through the secsh server's own re-keys (Conch sends SERVICE_REQUEST after
 * every key exchange) and an asyncssh client that re-keys while it streams (it sends CHANNEL_DATA
 * after its own KEXINIT).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { installTripwire } from '../helpers/interop.js';
import { requirePeer } from '../helpers/peers.js';
import {
  PY_PEERS,
  PY_USER,
  type PyCaseResult,
  pinnedHostVerifier,
  runPyClient,
  startPyPeerServer,
} from '../helpers/python-peers.js';
import {
  assertCatEchoed,
  type MatrixServer,
  pyCase,
  sharedPyEnv,
  startMatrixServer,
} from '../helpers/python-peers-matrix.js';

installTripwire();
const shared = sharedPyEnv('secsh-smoke-python-');
const MiB = 1024 * 1024;
const REKEY = 256 * 1024;

for (const peer of PY_PEERS) {
  test(`secsh client logs in to ${peer}'s server with a key and runs a command`, async (t) => {
    if (!requirePeer(t, peer, 'ssh-keygen')) return;
    const e = await shared.get();
    const root = await mkdtemp(join(e.dir, `${peer}-root-`));
    const srv = await startPyPeerServer(peer, {
      root,
      authorizedKeysPath: e.authorizedKeysPath,
      hostKeys: ['ed25519'],
    });
    try {
      const c = await Client.connect({
        host: '127.0.0.1',
        port: srv.port,
        username: PY_USER,
        privateKey: readFileSync(e.keys.ed25519.privatePath, 'utf8'),
        hostVerifier: pinnedHostVerifier(Object.values(srv.hostKeys)),
        readyTimeout: 30_000,
      });
      try {
        const r = await c.exec('echo hello smoke');
        assert.deepEqual([r.stdout, r.code], ['hello smoke\n', 0]);
      } finally {
        await c.close();
      }
    } finally {
      await srv.stop();
    }
  });
}

/** Runs one case with `peer`'s client against `server` and returns its result, checked to be ok. */
async function runOne(peer: (typeof PY_PEERS)[number], server: MatrixServer, c: ReturnType<typeof pyCase>) {
  const r = (await runPyClient(peer, [c])).get(c.name) as PyCaseResult;
  assert.ok(r, `${peer} reported nothing`);
  const rec = r.localPort === undefined ? undefined : server.byClientPort.get(r.localPort);
  const serverSide = [...server.byClientPort.values()].map((x) => x.error?.message).filter(Boolean);
  assert.ok(r.ok, `${peer}: ${r.error}; secsh server: ${serverSide.join('; ') || '-'}`);
  assert.ok(rec, 'the secsh server knows the connection');
  assert.equal(rec.error, undefined, `the secsh server ended the connection with ${rec.error?.message}`);
  return { r, rec };
}

for (const peer of PY_PEERS) {
  test(`${peer}'s client logs in to the secsh server with a key and runs a command`, async (t) => {
    if (!requirePeer(t, peer, 'ssh-keygen')) return;
    const e = await shared.get();
    const server = await startMatrixServer({ userKeys: [e.keys.ed25519], root: e.dir, hostKeys: ['ed25519'] });
    try {
      const name = 'smoke';
      const { r } = await runOne(
        peer,
        server,
        pyCase(server, e.dir, name, { password: null, keyFile: e.keys.ed25519.privatePath }),
      );
      assert.deepEqual([r.stdout, r.exit], [`hello ${name}\n`, 0]);
    } finally {
      await server.close();
    }
  });
}

test("Twisted Conch's client stays connected through the secsh server's re-keys every 256 KiB of a 1 MiB echo", async (t) => {
  if (!requirePeer(t, 'twisted', 'ssh-keygen')) return;
  const e = await shared.get();
  const server = await startMatrixServer({
    userKeys: [],
    root: e.dir,
    rekeyLimit: { bytes: REKEY },
    hostKeys: ['ed25519'],
  });
  try {
    const { r, rec } = await runOne('twisted', server, pyCase(server, e.dir, 'conch', { action: 'cat', bytes: MiB }));
    assertCatEchoed(r, MiB);
    // each re-key is followed by Conch's SERVICE_REQUEST for ssh-userauth, answered UNIMPLEMENTED
    assert.ok(rec.exchanges.length - 1 >= 2, `only ${rec.exchanges.length - 1} re-keys`);
  } finally {
    await server.close();
  }
});

test('an asyncssh client that re-keys every 256 KiB keeps streaming a 1 MiB echo through its own key exchanges', async (t) => {
  if (!requirePeer(t, 'asyncssh', 'ssh-keygen')) return;
  const e = await shared.get();
  const server = await startMatrixServer({ userKeys: [], root: e.dir, hostKeys: ['ed25519'] });
  try {
    const c = pyCase(server, e.dir, 'asyncssh', { action: 'cat', bytes: MiB, rekeyBytes: REKEY });
    const { r, rec } = await runOne('asyncssh', server, c);
    assertCatEchoed(r, MiB);
    // secsh's own limit is far away: every re-key here was asyncssh's
    assert.ok(rec.exchanges.length - 1 >= 1, 'asyncssh did not re-key');
  } finally {
    await server.close();
  }
});
