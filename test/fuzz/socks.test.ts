/**
 * The SOCKS parser of forwardDynamic on random and mutated input: nothing but SocksError, bounded
 * buffering, answers that do not depend on how the bytes were split; and the listener itself fed
 * the same bytes over real sockets: each connection ends (no hang) and the counters balance.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Connection } from '../../src/connection/index.js';
import { ChannelOpenError } from '../../src/errors.js';
import { parseSocks, SOCKS_MAX_REQUEST, SocksError, type SocksPhase } from '../../src/forward/socks.js';
import { startDynamicForward } from '../../src/forward/socks-forward.js';
import { bytesFrom, fuzz, fuzzAsync, only, runs, seed } from './harness.js';

const SEEDS_START: Buffer[] = [
  Buffer.from('05020002', 'hex'),
  Buffer.from('050100', 'hex'),
  Buffer.concat([Buffer.from('040100507f000001', 'hex'), Buffer.from('user\0')]),
  Buffer.concat([Buffer.from('0401005000000001', 'hex'), Buffer.from('u\0example.org\0extra')]),
  Buffer.concat([Buffer.from('05010005010003096c6f63616c686f73740050', 'hex'), Buffer.from('GET /')]),
];
const SEEDS_REQUEST: Buffer[] = [
  Buffer.from('050100030b64622e696e7465726e616c1538', 'hex'),
  Buffer.from('050100017f0000010050', 'hex'),
  Buffer.from('0501000420010db80000000000000000000000010050', 'hex'),
  Buffer.from('05020001000000000000', 'hex'),
];

const phaseArb = fc.constantFrom<SocksPhase>('start', 'socks5-request');

/** The parse of `data`, as a comparable value (an error becomes its reply). */
function outcome(data: Buffer, phase: SocksPhase): unknown {
  try {
    return parseSocks(data, phase);
  } catch (e) {
    if (!(e instanceof SocksError)) throw e;
    return { status: 'error', reply: e.reply?.toString('hex') };
  }
}

test('fuzz parseSocks: nothing but SocksError, and what is incomplete stays within the limit', () => {
  const input = fc.tuple(phaseArb, fc.oneof(bytesFrom(SEEDS_START), bytesFrom(SEEDS_REQUEST)));
  fuzz(
    'parseSocks',
    input,
    ([phase, data]) => {
      const r = parseSocks(data, phase);
      if (r.status === 'incomplete') assert.ok(data.length <= SOCKS_MAX_REQUEST, `${data.length} bytes incomplete`);
      else assert.ok(r.consumed > 0 && r.consumed <= data.length);
    },
    { numRuns: runs(3000), allowed: only(SocksError), size: ([, d]) => d.length },
  );
});

test('fuzz parseSocks: a prefix is incomplete or answers as the whole does (data split anywhere)', () => {
  const input = fc.tuple(phaseArb, fc.oneof(bytesFrom(SEEDS_START), bytesFrom(SEEDS_REQUEST)), fc.nat());
  fc.assert(
    fc.property(input, ([phase, data, cut]) => {
      const whole = outcome(data, phase) as { status: string; consumed?: number };
      const k = data.length === 0 ? 0 : cut % (data.length + 1);
      const part = outcome(data.subarray(0, k), phase) as { status: string };
      if (part.status === 'incomplete') {
        // only a request not yet complete may look incomplete
        if (whole.status !== 'error' && whole.status !== 'incomplete') assert.ok((whole.consumed ?? 0) > k);
        return;
      }
      assert.deepEqual(part, whole, `prefix of ${k} of ${data.length} bytes`);
    }),
    { numRuns: runs(2000), seed: seed() },
  );
});

/** A connection whose every channel open is refused, as sshd refuses an unreachable target. */
function refusingConnection(): Connection {
  const fake = {
    closeReason: undefined,
    opens: 0,
    openChannel(): Promise<never> {
      fake.opens++;
      return Promise.reject(new ChannelOpenError(2, 'Connection refused'));
    },
    once() {
      return fake;
    },
    off() {
      return fake;
    },
  };
  return fake as unknown as Connection;
}

test('fuzz forwardDynamic: any bytes, then EOF, end the connection promptly and the counters balance', async () => {
  const fwd = await startDynamicForward(refusingConnection(), { bindPort: 0, handshakeTimeout: 2000 });
  const port = (fwd.address as { port: number }).port;
  try {
    const input = fc.tuple(
      fc.oneof(bytesFrom(SEEDS_START)),
      fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 4 }),
    );
    await fuzzAsync(
      'forwardDynamic',
      input,
      async ([data, cuts]) => {
        const sock = netConnect(port, '127.0.0.1');
        sock.on('error', () => {});
        sock.resume();
        await once(sock, 'connect');
        let at = 0;
        for (const n of cuts) {
          sock.write(data.subarray(at, at + n));
          at += n;
          await new Promise((r) => setImmediate(r));
        }
        sock.end(data.subarray(at));
        if (!sock.destroyed) await once(sock, 'close');
      },
      { numRuns: runs(150, 50), allowed: () => false, maxMs: 5000 },
    );
    const end = Date.now() + 5000;
    while (fwd.stats.open !== 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const s = fwd.stats;
    assert.equal(s.open, 0);
    assert.equal(s.failed, s.accepted, 'every connection failed (bad input, or the open was refused)');
  } finally {
    await fwd.close({ endConnections: true });
  }
});
