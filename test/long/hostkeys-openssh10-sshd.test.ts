/**
 * secsh's client with updateHostKeys against OpenSSH 10's sshd (trixie's, fetched by
 * scripts/fetch-openssh10.sh) with five host keys, one of them on file: sshd 10's proofs verify and
 * known_hosts ends with all five; ping() gets its PONG. (In test/long: starting sshd 10 with five
 * fresh keys takes ~10 s.)
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import type { HostKeysUpdateResult } from '../../src/client/options.js';
import { KnownHosts } from '../../src/config/index.js';
import { ping } from '../../src/transport/ping.js';
import { startOpenSshd } from '../helpers/native-peers-openssh.js';
import { requirePeer } from '../helpers/peers.js';

test("secsh learns OpenSSH 10 sshd's five host keys from one on file (its proofs verify), and ping() gets sshd 10's PONG", async (t) => {
  if (!requirePeer(t, 'openssh10-sshd')) return;
  const d = await startOpenSshd('10');
  try {
    const ed = d.hostKeys.find((k) => k.type === 'ed25519')?.publicKeyLine as string;
    const path = join(d.dir, 'known_hosts-secsh');
    await writeFile(path, `[127.0.0.1]:${d.port} ${ed}\n`);
    const c = await Client.connect({
      host: '127.0.0.1',
      port: d.port,
      username: d.user.name,
      privateKeyPath: d.userKeys.ed25519.privatePath,
      knownHosts: path,
      updateHostKeys: true,
    });
    const r = await new Promise<HostKeysUpdateResult>((resolve) => c.once('hostkeys', resolve));
    // sshd 10 announces ping@openssh.com: ping() gets its PONG.
    const ms = await ping(c.transport);
    t.diagnostic(`ping round trip to sshd 10: ${ms.toFixed(2)} ms`);
    await c.close();
    assert.equal(r.status, 'updated', r.reason);
    assert.equal(r.added.length, d.hostKeys.length - 1);
    const kh = new KnownHosts(await readFile(path, 'utf8'));
    assert.deepEqual(
      kh
        .find('127.0.0.1', d.port)
        .map((e) => e.key.fingerprint())
        .sort(),
      d.hostKeys.map((k) => k.fingerprint).sort(),
    );
  } finally {
    await d.stop();
  }
});
