/**
 * The runtime probe (src/crypto/runtime.ts) and what a missing primitive means: a fallback (ChaCha20
 * payloads, NIST ECDH through KeyObjects) or the algorithm left out of this runtime's lists with a
 * typed error when forced. Node.js has every primitive, so the other runtimes' answers are set with
 * overrideProbe; `npm run test:bun` and `test:deno` run the e2e suite where they are real.
 */
import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Client } from '../../../src/client/client.js';
import { supportedAlgorithmOption } from '../../../src/config/connect-config.js';
import {
  DEFAULT_ALGORITHMS,
  resolveAlgorithmList,
  supportedAlgorithms,
  unavailableReason,
} from '../../../src/crypto/algorithms.js';
import { createOpener, createSealer } from '../../../src/crypto/cipher.js';
import { DH_GROUPS } from '../../../src/crypto/dh-groups.js';
import { dhKeyPair } from '../../../src/crypto/kex-dh.js';
import { NIST_CURVES, type NistCurve, nistKeyPair, nistKeyPairFromKeyObjects } from '../../../src/crypto/kex-ecdh.js';
import { overrideProbe, probe } from '../../../src/crypto/runtime.js';
import type { DirectionKeys } from '../../../src/crypto/types.js';
import { InvalidArgumentError } from '../../../src/errors.js';
import { generatePrivateKey } from '../../../src/keys/index.js';
import { Server } from '../../../src/server/server.js';

/** Runs `f` with the probe `key` answering `value`, then lets it probe again. */
async function withProbe(key: string, value: boolean, f: () => unknown): Promise<void> {
  overrideProbe(key, value);
  try {
    await f();
  } finally {
    overrideProbe(key, undefined);
  }
}

const NOT_HERE = (what: RegExp) => (e: unknown) =>
  e instanceof InvalidArgumentError && e.code === 'ERR_SSH_INVALID_ARGUMENT' && what.test(e.message);

test('a probe runs its attempt once and caches the answer; an override wins until forgotten', () => {
  let runs = 0;
  const key = `test:${randomBytes(4).toString('hex')}`;
  assert.equal(
    probe(key, () => runs++),
    true,
  );
  assert.equal(
    probe(key, () => runs++),
    true,
  );
  assert.equal(runs, 1);
  const failing = `${key}:throws`;
  assert.equal(
    probe(failing, () => {
      runs++;
      throw new Error('no such primitive');
    }),
    false,
  );
  assert.equal(
    probe(failing, () => runs++),
    false,
  );
  assert.equal(runs, 2);
  overrideProbe(key, false);
  assert.equal(
    probe(key, () => runs++),
    false,
  );
  overrideProbe(key, undefined);
  assert.equal(
    probe(key, () => runs++),
    true,
  );
  assert.equal(runs, 3);
});

test('on Node.js every implemented algorithm is available', () => {
  for (const kind of ['kex', 'hostKey', 'cipher', 'mac', 'compression'] as const) {
    for (const name of supportedAlgorithms(kind)) assert.equal(unavailableReason(kind, name), undefined, name);
    assert.deepEqual(resolveAlgorithmList(kind, undefined), DEFAULT_ALGORITHMS[kind]);
  }
});

for (const curve of Object.keys(NIST_CURVES) as NistCurve[]) {
  const spec = NIST_CURVES[curve];
  test(`${curve} through KeyObjects (for a createECDH without the curve) agrees with createECDH`, () => {
    for (let i = 0; i < 10; i++) {
      const a = nistKeyPairFromKeyObjects(curve);
      const b = nistKeyPair(curve);
      assert.equal(a.publicValue.length, 1 + 2 * spec.fieldBytes);
      assert.deepEqual(a.agree(b.publicValue), b.agree(a.publicValue));
      const ref = createECDH(spec.openssl);
      ref.generateKeys();
      // A given scalar (leading zero bytes stripped, as getPrivateKey may return it) gives its point.
      const scalar = ref.getPrivateKey();
      assert.deepEqual(nistKeyPairFromKeyObjects(curve, scalar).publicValue, ref.getPublicKey());
    }
  });

  test(`${curve} through KeyObjects refuses off-curve, compressed and short points`, () => {
    const me = nistKeyPairFromKeyObjects(curve);
    const peer = Buffer.from(nistKeyPair(curve).publicValue);
    const kexFailed = { code: 'ERR_SSH_PROTOCOL', reason: 3 };
    const off = Buffer.from(peer);
    off[off.length - 1] = (off[off.length - 1] as number) ^ 1;
    assert.throws(() => me.agree(off), kexFailed);
    assert.throws(() => me.agree(peer.subarray(0, peer.length - 1)), kexFailed);
    const compressed = Buffer.from(peer);
    compressed[0] = 2;
    assert.throws(() => me.agree(compressed), kexFailed);
    assert.throws(() => me.agree(Buffer.alloc(peer.length)), kexFailed);
  });
}

function chachaKeys(key: Buffer): DirectionKeys {
  return { cipher: 'chacha20-poly1305@openssh.com', mac: '', key, iv: Buffer.alloc(0), macKey: Buffer.alloc(0) };
}

test('without node:crypto chacha20 (Bun) packets of every size seal and open exactly as with it', async () => {
  const key = randomBytes(64);
  const withNode = { s: createSealer(chachaKeys(key)), o: createOpener(chachaKeys(key)) };
  let without = withNode;
  await withProbe('cipher:chacha20', false, () => {
    without = { s: createSealer(chachaKeys(key)), o: createOpener(chachaKeys(key)) };
  });
  const sizes = [4, 12, 700, 768, 772, 776, 1000, 4096, 32_768, 262_144];
  for (const [i, size] of sizes.entries()) {
    const seq = 0xfffffff0 + i;
    const packet = randomBytes(4 + size);
    const a = withNode.s.seal(seq, packet);
    const b = without.s.seal(seq, packet);
    assert.deepEqual(b, a, `size ${size}`);
    assert.deepEqual(without.o.open(seq, a), packet.subarray(4), `size ${size}`);
    assert.deepEqual(withNode.o.open(seq, b), packet.subarray(4), `size ${size}`);
    const parts = [packet.subarray(0, 9), packet.subarray(9, 200), packet.subarray(200)];
    assert.deepEqual(Buffer.concat(without.s.sealParts?.(seq, parts) ?? []), a, `parts ${size}`);
  }
});

test('without finite-field DH (Bun): diffie-hellman-* leave the defaults; forcing one is a typed error', async () => {
  await withProbe('ffdh', false, async () => {
    const isDh = (n: string) => n.startsWith('diffie-hellman-');
    assert.deepEqual(
      resolveAlgorithmList('kex', undefined),
      DEFAULT_ALGORITHMS.kex.filter((n) => !isDh(n)),
    );
    assert.ok(!supportedAlgorithms('kex').some(isDh));
    assert.ok(!resolveAlgorithmList('kex', '-ecdh-*').some(isDh));
    const why = /kex algorithm diffie-hellman-group14-sha\d+ is not available here: .*finite-field Diffie-Hellman/;
    assert.throws(() => resolveAlgorithmList('kex', ['diffie-hellman-group14-sha256']), NOT_HERE(why));
    assert.throws(() => resolveAlgorithmList('kex', '+diffie-hellman-group14-sha1'), NOT_HERE(why));
    assert.throws(() => resolveAlgorithmList('kex', '^diffie-hellman-group14-sha256'), NOT_HERE(why));
    // Patterns and ssh_config lists skip what the runtime lacks, as they skip unknown names.
    assert.deepEqual(resolveAlgorithmList('kex', 'curve25519-sha256,diffie-hellman-*'), ['curve25519-sha256']);
    assert.equal(
      supportedAlgorithmOption('kex', 'diffie-hellman-group14-sha256,curve25519-sha256'),
      'curve25519-sha256',
    );
    const group = DH_GROUPS[2048];
    assert.ok(group);
    assert.throws(() => dhKeyPair(group), InvalidArgumentError);
    const hostKey = generatePrivateKey('ed25519');
    assert.throws(
      () =>
        new Server({
          hostKeys: [hostKey],
          authenticate: () => false,
          algorithms: { kex: ['diffie-hellman-group16-sha512'] },
        }),
      NOT_HERE(/finite-field/),
    );
    await assert.rejects(
      Client.connect({
        host: '127.0.0.1',
        port: 1,
        username: 'u',
        insecureAcceptAnyHostKey: true,
        algorithms: { kex: ['diffie-hellman-group-exchange-sha256'] },
      }),
      NOT_HERE(/finite-field/),
    );
  });
});

test('without DSA keys (Bun) ssh-dss, and without AES-192-CBC (Deno) aes192-cbc, are refused by name', async () => {
  await withProbe('dsa', false, () => {
    assert.ok(!supportedAlgorithms('hostKey').includes('ssh-dss'));
    assert.throws(() => resolveAlgorithmList('hostKey', '+ssh-dss'), NOT_HERE(/ssh-dss .*no DSA keys/));
  });
  await withProbe('cipher:aes-192-cbc', false, () => {
    assert.ok(!supportedAlgorithms('cipher').includes('aes192-cbc'));
    assert.ok(supportedAlgorithms('cipher').includes('aes192-ctr'));
    assert.throws(() => resolveAlgorithmList('cipher', ['aes192-cbc']), NOT_HERE(/aes192-cbc .*aes-192-cbc/));
    assert.deepEqual(resolveAlgorithmList('cipher', 'aes*-cbc'), ['aes128-cbc', 'aes256-cbc']);
  });
});
