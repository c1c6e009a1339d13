/** Shared by the KEX fuzz files: an honest exchange per method (its messages are the seeds) and run counts. */
import assert from 'node:assert/strict';
import { generatePrivateKey, type PrivateKey } from '../../src/keys/index.js';
import type { HashPrefix } from '../../src/transport/kex-exchange.js';
import { ClientKex, ServerKex } from '../../src/transport/kex-exchange.js';

export const prefix: HashPrefix = {
  clientVersion: 'SSH-2.0-fuzz_client',
  serverVersion: 'SSH-2.0-fuzz_server',
  clientKexInit: Buffer.from([20, 1, 2, 3]),
  serverKexInit: Buffer.from([20, 4, 5, 6]),
};

export const hostKey: PrivateKey = generatePrivateKey('ed25519');

/** Quick-tier runs per method, by what one execution costs (a keypair per run for DH groups). */
export function quickRuns(name: string): { n: number; cost: number } {
  if (name.includes('group18')) return { n: 4, cost: 1000 };
  if (name.includes('group16')) return { n: 8, cost: 250 };
  if (name.includes('group-exchange')) return { n: 15, cost: 100 };
  if (name.startsWith('diffie-hellman')) return { n: 20, cost: 50 };
  if (name.startsWith('mlkem')) return { n: 40, cost: 10 };
  if (name.endsWith('nistp521')) return { n: 30, cost: 25 };
  if (name.endsWith('nistp384')) return { n: 60, cost: 10 };
  return { n: 120, cost: 4 };
}

const honestRuns = new Map<string, { fromClient: Buffer[]; fromServer: Buffer[] }>();

/** Runs one honest exchange (once per method); returns the messages each side sent, in order. */
export function honest(name: string, blob?: Buffer, hostKeyAlg = 'ssh-ed25519') {
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
