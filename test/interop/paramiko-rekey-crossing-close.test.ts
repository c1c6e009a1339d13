/**
 * A re-key paramiko's client starts while the secsh server is closing the channel: the server's
 * exit-status, EOF and CLOSE go out together when `cat` ends, the exit-status makes paramiko start a
 * re-key, and paramiko's KEXINIT crosses the server's CLOSE on the wire. The secsh server answers the
 * KEXINIT as RFC 4253 §7.1 asks (it sent the CLOSE before it knew of a key exchange, and sends nothing
 * of the connection layer between its own KEXINIT and NEWKEYS). paramiko 2.12 itself then stalls
 * (issue #822: its transport thread waits, inside Channel._handle_close, for the key exchange that
 * only it can advance) and fails with "Key-exchange timed out waiting for key negotiation": this was
 * the intermittent failure of the matrix case "paramiko client … 1 MiB cat, paramiko re-keys every
 * 256 KiB". The paramiko server has the same stall when a channel request with want-reply from the
 * secsh client crosses the server's KEXINIT (in the matrix: the exec of the echo after the 1 MiB cat,
 * "paramiko server … paramiko re-keys every 256 KiB"). The paramiko fixture works around both
 * (kex_safe_replies in paramiko_peer.py); these tests force each crossing, show paramiko's own
 * behaviour, and check that secsh and the worked-around fixture complete the re-key.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server as NetServer, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { Client } from '../../src/client/client.js';
import { requirePeer } from '../helpers/peers.js';
import { PY_PASSWORD, PY_USER, pinnedHostVerifier, runPyClient, startPyPeerServer } from '../helpers/python-peers.js';
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

/**
 * A TCP relay to `port` whose server-to-client direction can be held: `hold()` keeps what the server
 * sends and resolves `serverSent` once some arrives; `release()` passes it on and resumes.
 */
async function gatedRelay(port: number) {
  let held: Buffer[] | undefined;
  let arrived: (() => void) | undefined;
  let down: Socket | undefined;
  const server: NetServer = createServer((client) => {
    const up = tcpConnect(port, '127.0.0.1');
    down = client;
    client.pipe(up);
    up.on('data', (d: Buffer) => {
      if (held) {
        held.push(d);
        arrived?.();
      } else client.write(d);
    });
    up.on('end', () => client.end());
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
    client.on('close', () => up.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    hold(): { serverSent: Promise<void> } {
      held = [];
      return { serverSent: new Promise<void>((r) => (arrived = r)) };
    },
    release(): void {
      const bytes = held ?? [];
      held = undefined;
      for (const b of bytes) down?.write(b);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Against the paramiko server (as shipped, or the fixture): exec "rekey", hold the server's output,
 * send the byte that makes it start a re-key, and once its KEXINIT is on its way (held by the relay)
 * send a channel request with want-reply, then let the KEXINIT through. Returns what happened.
 */
async function crossRequestWithServerRekey(asIs: boolean) {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-paramiko-crossing-'));
  const authorizedKeysPath = join(dir, 'authorized_keys');
  await writeFile(authorizedKeysPath, '');
  const srv = await startPyPeerServer('paramiko', { root: dir, authorizedKeysPath, hostKeys: ['ed25519'], asIs });
  const relay = await gatedRelay(srv.port);
  try {
    const c = await Client.connect({
      host: '127.0.0.1',
      port: relay.port,
      username: PY_USER,
      password: PY_PASSWORD,
      hostVerifier: pinnedHostVerifier(Object.values(srv.hostKeys)),
      readyTimeout: 20_000,
    });
    let rekeys = 0;
    c.transport.on('kex', () => rekeys++);
    const closed = new Promise<Error | undefined>((r) => c.transport.once('close', r));
    try {
      const proc = await c.spawn('rekey');
      const { serverSent } = relay.hold();
      proc.stdin.write('x');
      await serverSent; // the server's KEXINIT, which secsh has not seen
      const reply = proc.channel.request('keepalive@openssh.com');
      await tick(); // the request leaves before secsh reads the KEXINIT
      relay.release();
      const answered = await Promise.race([
        reply.then(
          (ok) => ({ ok }),
          (e: Error) => ({ closed: e.message }),
        ),
        closed.then((err) => ({ closed: err?.message ?? 'closed' })),
      ]);
      if ('closed' in answered) return { answered, rekeys, serverLog: srv.logs() };
      const echo = await c.exec('echo hello crossing');
      proc.channel.destroy();
      return { answered, rekeys, echo: echo.stdout };
    } finally {
      await c.close();
    }
  } finally {
    await relay.close();
    await srv.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

test('paramiko server whose re-key crosses a secsh client channel request with want-reply: secsh completes it; paramiko alone stalls (issue #822), the matrix fixture does not', async (t) => {
  if (!requirePeer(t, 'paramiko')) return;
  // paramiko as shipped: its transport thread waits to answer the request, and gives up after 3 s
  const stalled = await crossRequestWithServerRekey(true);
  assert.ok('closed' in stalled.answered, 'paramiko 2.12 stalls when a request crosses its KEXINIT');
  assert.equal(stalled.rekeys, 0);
  assert.match(stalled.serverLog ?? '', /Key-exchange timed out waiting for key negotiation/);

  const r = await crossRequestWithServerRekey(false);
  assert.deepEqual(r.answered, { ok: false }, 'paramiko refuses keepalive@openssh.com, after the re-key');
  assert.equal(r.rekeys, 1, 'the re-key paramiko started completed');
  assert.equal(r.echo, 'hello crossing\n', 'a new session runs after the re-key');
});
