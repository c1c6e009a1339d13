/**
 * The server's message-phase matrix: every message number 1–255 sent before KEX, during KEX, after
 * KEX before auth, and during auth. Fatal ones end the connection; UNIMPLEMENTED ones are answered;
 * no authentication success and no session handler ever happens.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { test } from 'node:test';
import { classify } from '../../src/transport/phase.js';
import { MSG, SshWriter } from '../../src/wire/index.js';
import { closedWithin, rawClient, requestUserauth, startServer } from '../e2e/server-helpers.js';
import { kexinitPayload, plainPacket } from '../helpers/fake-server.js';

/** A client KEXINIT (the fake server's helper builds a server one; the lists are the same). */
function clientKexInit(): Buffer {
  return kexinitPayload(false);
}

/** Sends the version line, optionally KEXINIT, then message `n` in plaintext; resolves true if the server closed. */
function rawPhase(port: number, n: number, withKexInit: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(closed);
    };
    const timer = setTimeout(() => finish(false), 1500);
    sock.on('error', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('end', () => finish(true));
    sock.on('data', () => {});
    sock.on('connect', () => {
      sock.write('SSH-2.0-PhaseProbe_1.0\r\n');
      if (withKexInit) sock.write(plainPacket(clientKexInit()));
      sock.write(plainPacket(Buffer.concat([Buffer.from([n]), randomBytes(24)])));
    });
  });
}

test('message-phase matrix of the server', async () => {
  let sessions = 0;
  let successes = 0;
  const { server, port } = await startServer({
    hostKeys: [(await import('../../src/keys/index.js')).generatePrivateKey('ed25519')],
    maxUnauthenticated: 1000,
    authFailureDelay: 0,
    authenticate: () => false,
  });
  server.on('session', () => sessions++);
  server.on('auth', (a) => {
    if (a.result === 'accepted' || a.result === 'partial') successes++;
  });
  try {
    const numbers = Array.from({ length: 255 }, (_, i) => i + 1);
    const batch = async <T>(items: number[], f: (n: number) => Promise<T>): Promise<T[]> => {
      const out: T[] = [];
      for (let i = 0; i < items.length; i += 16) out.push(...(await Promise.all(items.slice(i, i + 16).map(f))));
      return out;
    };

    // Before KEX: the first packet. Only KEXINIT (or a transport generic message) may come first.
    const before = await batch(numbers, (n) => rawPhase(port, n, false));
    for (const n of numbers) {
      const v = classify(n, 'client', 'initial-kex', false);
      if (v === 'fatal') assert.equal(before[n - 1], true, `before KEX: message ${n} should end the connection`);
    }
    // During KEX: after our KEXINIT (no strict KEX offered by this probe), before NEWKEYS.
    const during = await batch(numbers, (n) => rawPhase(port, n, true));
    for (const n of numbers) {
      const v = classify(n, 'client', 'initial-kex', false);
      if (v === 'fatal') assert.equal(during[n - 1], true, `during KEX: message ${n} should end the connection`);
    }
    for (let n = 50; n <= 255; n++) assert.equal(during[n - 1], true, `during KEX: message ${n}`);

    // After KEX, before auth; and during auth (after SERVICE_ACCEPT and one failed attempt).
    for (const phase of ['after-kex', 'during-auth'] as const) {
      const results = await batch(numbers, async (n) => {
        const c = await rawClient(port);
        let unimplemented = false;
        c.t.on('unimplemented', () => {
          unimplemented = true;
        });
        if (phase === 'during-auth') {
          await requestUserauth(c);
          c.t.send(
            new SshWriter(64).byte(MSG.USERAUTH_REQUEST).string('u').string('ssh-connection').string('none').toBuffer(),
          );
          await c.queue.next();
        }
        if (n === MSG.KEXINIT || n === MSG.NEWKEYS || n === MSG.DISCONNECT || (n >= 30 && n <= 49)) {
          c.t.disconnect();
          return { n, closed: undefined, unimplemented };
        }
        c.t.send(Buffer.concat([Buffer.from([n]), randomBytes(24)]));
        const r = await closedWithin(c, 400);
        if (r === 'open') c.t.disconnect();
        return { n, closed: r !== 'open', unimplemented };
      });
      for (const { n, closed, unimplemented } of results) {
        if (closed === undefined) continue;
        const v = classify(n, 'client', 'auth', true);
        if (v === 'fatal') assert.equal(closed, true, `${phase}: message ${n} should end the connection`);
        if (v === 'unimplemented') {
          assert.equal(closed, false, `${phase}: message ${n} should not end the connection`);
          assert.equal(unimplemented, true, `${phase}: message ${n} should be answered UNIMPLEMENTED`);
        }
        if (n === MSG.USERAUTH_SUCCESS || (n >= 80 && n <= 127)) assert.equal(closed, true, `${phase}: message ${n}`);
      }
    }
    assert.equal(successes, 0);
    assert.equal(sessions, 0);
  } finally {
    await server.close();
  }
});
