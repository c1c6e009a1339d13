/** The server side of every key exchange method: mutated client messages throw only ProtocolError. */
import { test } from 'node:test';
import fc from 'fast-check';
import { KEX_METHODS } from '../../src/crypto/kex.js';
import { ProtocolError } from '../../src/errors.js';
import { ServerKex } from '../../src/transport/kex-exchange.js';
import { bytesFrom, fuzz, mutated, only, runs } from './harness.js';
import { honest, hostKey, prefix, quickRuns } from './kex-seeds.js';

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
