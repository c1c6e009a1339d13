/**
 * A re-key paramiko's client starts while the secsh server is closing the channel: the server's
 * exit-status, EOF and CLOSE go out together when `cat` ends, the exit-status makes paramiko start a
 * re-key, and paramiko's KEXINIT crosses the server's CLOSE on the wire. The secsh server answers the
 * KEXINIT as RFC 4253 §7.1 asks (it sent the CLOSE before it knew of a key exchange, and sends nothing
 * of the connection layer between its own KEXINIT and NEWKEYS). paramiko 2.12 itself then stalls
 * (issue #822: its transport thread waits, inside Channel._handle_close, for the key exchange that
 * only it can advance) and fails with "Key-exchange timed out waiting for key negotiation": this was
 * the intermittent failure of the matrix case "paramiko client … 1 MiB cat, paramiko re-keys every
 * 256 KiB". The paramiko fixture works around it (kex_safe_replies in paramiko_peer.py); this test
 * forces the crossing, shows paramiko's own behaviour, and checks the worked-around client completes
 * the re-key with the secsh server.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { requirePeer } from '../helpers/peers.js';
import { runPyClient } from '../helpers/python-peers.js';
import { pyCase, startMatrixServer } from '../helpers/python-peers-matrix.js';

test('paramiko client whose re-key crosses the secsh server CHANNEL_CLOSE: the secsh server completes it; paramiko alone stalls (issue #822), the matrix fixture does not', async (t) => {
  if (!requirePeer(t, 'paramiko')) return;
  const dir = await mkdtemp(join(tmpdir(), 'secsh-paramiko-crossing-'));
  const srv = await startMatrixServer({ userKeys: [], root: dir, hostKeys: ['ed25519'] });
  try {
    const fixed = pyCase(srv, dir, 'fixture', { action: 'cat-rekey-at-close' });
    const asIs = pyCase(srv, dir, 'paramiko as is', { action: 'cat-rekey-at-close', asIs: true });
    const results = await runPyClient('paramiko', [fixed, asIs]);

    // paramiko as shipped: the crossing happened and paramiko stalled on its own key exchange
    // (with its wait cut from 30 s to 3 s); the secsh server had answered its KEXINIT
    const stalled = results.get(asIs.name);
    assert.ok(stalled, 'paramiko reported the unpatched case');
    assert.equal(stalled.ok, false, 'paramiko 2.12 stalls when its KEXINIT crosses a CHANNEL_CLOSE');
    assert.match(stalled.error ?? '', /Key-exchange timed out waiting for key negotiation/);

    const r = results.get(fixed.name);
    assert.ok(r, 'paramiko reported the case');
    assert.ok(r.ok, `paramiko: ${r.error}\n${r.trace ?? ''}`);
    assert.equal(r.stdout, 'hello fixture\n', 'a new session runs after the re-key');
    assert.equal(r.exit, 0);
    const rec = r.localPort === undefined ? undefined : srv.byClientPort.get(r.localPort);
    assert.ok(rec, 'the secsh server knows the connection');
    assert.equal(rec.error, undefined, `the secsh server ended the connection with ${rec.error?.message}`);
    assert.equal(rec.exchanges.length, 2, 'the first key exchange and the re-key paramiko started');

    const other = [...srv.byClientPort].filter(([port]) => port !== r.localPort);
    assert.equal(other.length, 1, 'one connection for the unpatched case');
    assert.equal(other[0]?.[1].exchanges.length, 1, 'the unpatched paramiko never finished the re-key');
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});
