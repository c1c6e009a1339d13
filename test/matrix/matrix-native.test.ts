/**
 * The native peers' interop matrix (npm run test:matrix, not npm test): secsh's client against
 * dropbear, libssh, tinysshd and OpenSSH 9.2/10 servers, and dbclient, PuTTY, libssh and OpenSSH
 * 9.2/10 clients against secsh's server — every algorithm both support (from the peer's KEXINIT),
 * each auth kind, SFTP, and 1 MiB through cat with a re-key every 256 KiB by either side, with and
 * without compression. Prints one `matrix <peer> <client|server>: …` line per peer and role.
 * (OpenSSH 9.2's algorithm walk lives in test/long/algorithms.test.ts and server-openssh.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { installTripwire } from '../helpers/interop.js';
import { CLIENT_PEERS, clientDir } from '../helpers/native-peers-clients.js';
import { clientPeerMatrix, serverPeerMatrix, type Tally } from '../helpers/native-peers-matrix.js';
import { SERVER_PEERS } from '../helpers/native-peers-servers.js';
import { requirePeer } from '../helpers/peers.js';

installTripwire();
const lines: string[] = [];
let base: string | undefined;
after(async () => {
  if (lines.length) console.log(`\n${lines.join('\n')}`);
  if (base) await rm(base, { recursive: true, force: true });
});

function report(tally: Tally, logs: () => string): void {
  lines.push(tally.line());
  console.log(tally.line());
  if (tally.failed > 0) console.log(`${tally.peer} ${tally.role} log (tail):\n${logs().slice(-3000)}`);
  assert.equal(tally.failed, 0, tally.line());
  assert.ok(tally.tried > 0);
}

for (const entry of SERVER_PEERS) {
  test(`matrix: secsh client against the ${entry.name} server`, async (t) => {
    if (!requirePeer(t, ...entry.needs)) return;
    const peer = await entry.start();
    try {
      report(await serverPeerMatrix(t, peer), () => peer.logs());
    } finally {
      await peer.stop();
    }
  });
}

for (const entry of CLIENT_PEERS) {
  test(`matrix: the ${entry.name} client against the secsh server`, async (t) => {
    if (!requirePeer(t, ...entry.needs)) return;
    base ??= await mkdtemp(join(tmpdir(), 'secsh-matrix-'));
    const dir = await clientDir(base, entry.name);
    const root = join(dir, 'root');
    await mkdir(root);
    const peer = await entry.start(dir);
    try {
      report(await clientPeerMatrix(t, peer, root), () => '');
    } finally {
      await peer.stop();
    }
  });
}
