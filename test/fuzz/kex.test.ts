/**
 * The key exchange methods' message handlers, both roles, every method: mutated real messages
 * (replies, group exchange groups, inits) throw only ProtocolError (KEY_EXCHANGE_FAILED and wire
 * errors) or, for the client, HostKeyError; a run of a valid exchange agrees on K and H.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { KEX_METHODS } from '../../src/crypto/kex.js';
import { HostKeyError, ProtocolError } from '../../src/errors.js';
import { generatePrivateKey, issueCertificate, type PrivateKey } from '../../src/keys/index.js';
import type { HashPrefix } from '../../src/transport/kex-exchange.js';
import { ClientKex, ServerKex } from '../../src/transport/kex-exchange.js';
import { bytesFrom, fuzz, mutated, only, runs } from './harness.js';

const prefix: HashPrefix = {
  clientVersion: 'SSH-2.0-fuzz_client',
  serverVersion: 'SSH-2.0-fuzz_server',
  clientKexInit: Buffer.from([20, 1, 2, 3]),
  serverKexInit: Buffer.from([20, 4, 5, 6]),
};

const hostKey: PrivateKey = generatePrivateKey('ed25519');

/** Quick-tier runs per method, by what one execution costs (a keypair per run for DH groups). */
function quickRuns(name: string): { n: number; cost: number } {
  if (name.includes('group18')) return { n: 4, cost: 400 };
  if (name.includes('group16')) return { n: 8, cost: 100 };
  if (name.includes('group-exchange')) return { n: 15, cost: 40 };
  if (name.startsWith('diffie-hellman')) return { n: 20, cost: 20 };
  if (name.startsWith('mlkem')) return { n: 40, cost: 5 };
  if (name.endsWith('nistp521')) return { n: 30, cost: 10 };
  if (name.endsWith('nistp384')) return { n: 60, cost: 5 };
  return { n: 120, cost: 2 };
}

const honestRuns = new Map<string, { fromClient: Buffer[]; fromServer: Buffer[] }>();

/** Runs one honest exchange (once per method); returns the messages each side sent, in order. */
function honest(name: string, blob?: Buffer, hostKeyAlg = 'ssh-ed25519') {
  const key = `${name}/${hostKeyAlg}`;
  const known = honestRuns.get(key);
  if (known) return known;
  const run = exchange(name, blob, hostKeyAlg);
  honestRuns.set(key, run);
  return run;
}

function exchange(name: string, blob: Buffer | undefined, hostKeyAlg: string) {
  const c = new ClientKex(name, hostKeyAlg, prefix);
  const s = new ServerKex(name, hostKey, 'ssh-ed25519', prefix, blob);
  const fromClient: Buffer[] = [c.start()];
  const fromServer: Buffer[] = [];
  for (;;) {
    const out = s.handle(fromClient[fromClient.length - 1] as Buffer);
    fromServer.push(out.send);
    const r = c.handle(out.send);
    if ('send' in r) {
      fromClient.push(r.send);
      continue;
    }
    assert.ok(out.result, `${name}: server did not finish`);
    assert.deepEqual(r.result.k, out.result.k, `${name}: K differs`);
    assert.deepEqual(r.result.h, out.result.h, `${name}: H differs`);
    assert.ok(r.result.hostKey.equals(hostKey.publicKey));
    return { fromClient, fromServer };
  }
}

test('kex: an honest exchange agrees on K and H for every method', () => {
  for (const m of KEX_METHODS) honest(m.name);
});

const allowedClient = only(ProtocolError, HostKeyError);

for (const m of KEX_METHODS) {
  test(`kex client ${m.name}: mutated server replies (and GEX groups) throw only ProtocolError or HostKeyError`, () => {
    const { fromServer } = honest(m.name);
    const q = quickRuns(m.name);
    if (m.type === 'gex') {
      // A fresh client per input: the group, then the reply, each possibly mutated.
      fuzz(
        `kex client ${m.name}`,
        fc.tuple(
          bytesFrom([fromServer[0] as Buffer]),
          fc.oneof(mutated(fromServer), fc.constant(fromServer[1] as Buffer)),
        ),
        ([group, reply]) => {
          const c = new ClientKex(m.name, 'ssh-ed25519', prefix);
          c.start();
          c.handle(group);
          c.handle(reply);
        },
        { numRuns: runs(q.n, q.cost), allowed: allowedClient, maxMs: 5000, maxAlloc: () => 4 * 1024 * 1024 },
      );
      return;
    }
    // The client's keypair is made by start(); a failed handle() leaves it waiting, so one client
    // serves many inputs (not ML-KEM, whose keypair is spent by the first well-sized reply).
    let client: ClientKex | undefined;
    fuzz(
      `kex client ${m.name}`,
      bytesFrom(fromServer, 1400),
      (reply) => {
        if (!client || m.type === 'kem') {
          client = new ClientKex(m.name, 'ssh-ed25519', prefix);
          client.start();
        }
        const c = client;
        client = undefined;
        c.handle(reply);
        // Only a reply the server really made can succeed; then a new client is needed.
      },
      { numRuns: runs(q.n, q.cost), allowed: allowedClient, maxMs: 5000, maxAlloc: () => 4 * 1024 * 1024 },
    );
  });
}

test('kex client: mutated host certificates in the reply throw only ProtocolError or HostKeyError', async () => {
  const ca = generatePrivateKey('ed25519');
  const cert = await issueCertificate(ca, hostKey.publicKey, { type: 'host', keyId: 'h', principals: ['example'] });
  const alg = 'ssh-ed25519-cert-v01@openssh.com';
  const { fromServer } = honest('curve25519-sha256', cert.blob, alg);
  fuzz(
    'kex client host certificate',
    bytesFrom(fromServer, 800),
    (reply) => {
      const c = new ClientKex('curve25519-sha256', alg, prefix);
      c.start();
      c.handle(reply);
    },
    { numRuns: runs(300, 3), allowed: allowedClient },
  );
});

for (const m of KEX_METHODS) {
  test(`kex server ${m.name}: mutated client messages throw only ProtocolError`, () => {
    const { fromClient } = honest(m.name);
    const q = quickRuns(m.name);
    // Each message is kept as sent or mutated, so the fuzz reaches every step (GEX: request, then init).
    const steps = fromClient.map((p) => fc.oneof(fc.constant(p), bytesFrom([p], 1400), mutated(fromClient)));
    fuzz(
      `kex server ${m.name}`,
      fc.tuple(...steps),
      (msgs) => {
        const s = new ServerKex(m.name, hostKey, 'ssh-ed25519', prefix);
        for (const p of msgs) s.handle(p);
      },
      { numRuns: runs(q.n, q.cost), allowed: only(ProtocolError), maxMs: 5000, maxAlloc: () => 4 * 1024 * 1024 },
    );
  });
}
