/**
 * Bun and Deno lack a few node:crypto primitives; secsh probes for them (src/crypto/runtime.ts) and
 * leaves the algorithms that need them out of that runtime's lists. Run on each runtime
 * (`npm run test:bun`, `npm run test:deno`): what is missing is exactly what is known to be missing,
 * and naming a missing algorithm fails at once with a typed error, on the client and the server.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import {
  type AlgorithmKind,
  DEFAULT_ALGORITHMS,
  INSECURE_ALGORITHMS,
  resolveAlgorithmList,
  supportedAlgorithms,
  unavailableReason,
} from '../../src/crypto/algorithms.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';

const KINDS: AlgorithmKind[] = ['kex', 'hostKey', 'cipher', 'mac', 'compression'];

/** What each runtime is known to lack (pinned versions: Bun 1.4, Deno 2.9). */
const KNOWN_GAPS: Record<'node' | 'bun' | 'deno', string[]> = {
  node: [],
  bun: [
    'kex diffie-hellman-group-exchange-sha256',
    'kex diffie-hellman-group16-sha512',
    'kex diffie-hellman-group18-sha512',
    'kex diffie-hellman-group14-sha256',
    'kex diffie-hellman-group14-sha1',
    'kex diffie-hellman-group1-sha1',
    'kex diffie-hellman-group-exchange-sha1',
    'hostKey ssh-dss',
  ],
  deno: ['cipher aes192-cbc'],
};
const runtime = process.versions.bun ? 'bun' : process.versions.deno ? 'deno' : 'node';

function gaps(): { kind: AlgorithmKind; name: string }[] {
  const out: { kind: AlgorithmKind; name: string }[] = [];
  for (const kind of KINDS) {
    for (const name of [...DEFAULT_ALGORITHMS[kind], ...INSECURE_ALGORITHMS[kind]]) {
      if (unavailableReason(kind, name) !== undefined) out.push({ kind, name });
    }
  }
  return out;
}

test(`${runtime}: the algorithms left out are exactly the primitives this runtime lacks`, (t) => {
  const found = gaps().map((g) => `${g.kind} ${g.name}`);
  t.diagnostic(`left out on ${runtime}: ${found.length ? found.join(', ') : 'nothing'}`);
  assert.deepEqual(found, KNOWN_GAPS[runtime]);
  for (const { kind, name } of gaps()) {
    assert.ok(!supportedAlgorithms(kind).includes(name), name);
    assert.ok(!resolveAlgorithmList(kind, undefined).includes(name), name);
  }
});

test(`${runtime}: naming an algorithm the runtime lacks is an InvalidArgumentError, client and server`, async () => {
  const hostKey = generatePrivateKey('ed25519');
  for (const { kind, name } of gaps()) {
    const refused = (e: unknown) =>
      e instanceof InvalidArgumentError && e.message.includes(name) && /not available here/.test(e.message);
    assert.throws(
      () => new Server({ hostKeys: [hostKey], authenticate: () => false, algorithms: { [kind]: [name] } }),
      refused,
    );
    await assert.rejects(
      Client.connect({
        host: '127.0.0.1',
        port: 1,
        username: 'u',
        password: 'p',
        insecureAcceptAnyHostKey: true,
        algorithms: { [kind]: `+${name}` },
      }),
      refused,
    );
  }
});
