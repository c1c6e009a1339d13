/**
 * The client side of every key exchange method: mutated server replies (and GEX groups, and host
 * certificates) throw only ProtocolError (KEY_EXCHANGE_FAILED and wire errors) or HostKeyError; an
 * honest exchange agrees on K and H.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { KEX_METHODS } from '../../src/crypto/kex.js';
import { HostKeyError, ProtocolError } from '../../src/errors.js';
import { generatePrivateKey, issueCertificate } from '../../src/keys/index.js';
import { ClientKex } from '../../src/transport/kex-exchange.js';
import { bytesFrom, fuzz, mutated, only, runs } from './harness.js';
import { honest, hostKey, prefix, quickRuns } from './kex-seeds.js';

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
