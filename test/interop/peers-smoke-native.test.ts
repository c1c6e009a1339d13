/**
 * Smoke test of the native peers (the full matrix is test/matrix/matrix-native.test.ts): one
 * handshake and one exec per peer and role — secsh's client against dropbear, libssh, tinysshd and
 * OpenSSH 10's sshd; dbclient, PuTTY's plink, libssh and OpenSSH 10's ssh against secsh's server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { installTripwire } from '../helpers/interop.js';
import { CLIENT_PEERS, clientDir } from '../helpers/native-peers-clients.js';
import { clientSmoke, serverSmoke } from '../helpers/native-peers-matrix.js';
import { SERVER_PEERS } from '../helpers/native-peers-servers.js';
import { requirePeer } from '../helpers/peers.js';

installTripwire();
let base: string | undefined;
after(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

// OpenSSH 9.2 has its own interop suite; the smoke covers the peers only the matrix reaches otherwise
const skip = new Set(['openssh9']);

for (const entry of SERVER_PEERS.filter((e) => !skip.has(e.name))) {
  test(`secsh client logs in to ${entry.name} and runs a command`, async (t) => {
    if (!requirePeer(t, ...entry.needs)) return;
    const peer = await entry.start();
    try {
      await serverSmoke(peer);
    } finally {
      await peer.stop();
    }
  });
}

for (const entry of CLIENT_PEERS.filter((e) => !skip.has(e.name))) {
  test(`${entry.name} logs in to the secsh server and runs a command`, async (t) => {
    if (!requirePeer(t, ...entry.needs)) return;
    base ??= await mkdtemp(join(tmpdir(), 'secsh-smoke-'));
    const peer = await entry.start(await clientDir(base, entry.name));
    try {
      await clientSmoke(peer);
    } finally {
      await peer.stop();
    }
  });
}
