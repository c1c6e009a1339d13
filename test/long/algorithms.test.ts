/**
 * Walks secsh's algorithm tables against a real OpenSSH sshd: every KEX, host key algorithm, cipher
 * and MAC that both support, each with an exec round trip, and every cipher × MAC pair.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AlgorithmOptions } from '../../src/index.js';
import { INSECURE_ALGORITHMS, supportedAlgorithms } from '../../src/index.js';
import { connectSshd, installTripwire, sharedSshd } from '../helpers/interop.js';
import { requirePeer } from '../helpers/peers.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

installTripwire();
const shared = sharedSshd();

/** AEAD ciphers carry their own integrity: the MAC list does not matter for them. */
const AEAD = new Set(['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com']);

/** Which host key file serves a host key algorithm. */
const HOST_KEY_FILE: Record<string, string> = {
  'ssh-ed25519': 'ed25519',
  'ecdsa-sha2-nistp256': 'ecdsa256',
  'ecdsa-sha2-nistp384': 'ecdsa384',
  'ecdsa-sha2-nistp521': 'ecdsa521',
  'rsa-sha2-512': 'rsa',
  'rsa-sha2-256': 'rsa',
  'ssh-rsa': 'rsa',
  'ssh-dss': 'dsa',
};

async function roundTrip(sshd: Sshd, algorithms: AlgorithmOptions) {
  const client = await connectSshd(sshd, { algorithms });
  try {
    const r = await client.exec('echo hi');
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.code, 0);
    return { algorithms: { ...client.algorithms }, hostKey: client.hostKey };
  } finally {
    await client.close();
  }
}

function both(kind: 'kex' | 'cipher' | 'mac', sshd: Sshd): string[] {
  const theirs = new Set(sshd.algorithms[kind]);
  return supportedAlgorithms(kind).filter((n) => theirs.has(n));
}

test('kex: every method both sides support', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const names = both('kex', sshd);
  assert.ok(names.includes('curve25519-sha256'), 'the table and sshd share curve25519-sha256');
  for (const kex of names) {
    await t.test(kex, async () => {
      const r = await roundTrip(sshd, { kex: [kex] });
      assert.equal(r.algorithms.kex, kex);
    });
  }
});

test('host key: every algorithm sshd has a key for, verified against the ssh-keygen fingerprint', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const theirs = new Set(sshd.algorithms.key);
  for (const alg of supportedAlgorithms('hostKey')) {
    const file = sshd.hostKeys.find((k) => k.type === HOST_KEY_FILE[alg]);
    if (!theirs.has(alg) || !file) {
      t.diagnostic(`host key ${alg}: not available in this sshd build`);
      continue;
    }
    await t.test(alg, async () => {
      const r = await roundTrip(sshd, { hostKey: [alg] });
      assert.equal(r.algorithms.hostKey, alg);
      assert.equal(r.hostKey.fingerprint(), file.fingerprint);
    });
  }
});

test('cipher × MAC: every pair both sides support (AEAD ciphers once each)', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const ciphers = both('cipher', sshd);
  const macs = both('mac', sshd);
  assert.ok(ciphers.length >= 6 && macs.length >= 4, `ciphers ${ciphers} macs ${macs}`);
  for (const cipher of ciphers) {
    if (AEAD.has(cipher)) {
      await t.test(cipher, async () => {
        const r = await roundTrip(sshd, { cipher: [cipher] });
        assert.equal(r.algorithms.cipher, cipher);
      });
      continue;
    }
    for (const mac of macs) {
      await t.test(`${cipher} + ${mac}`, async () => {
        const r = await roundTrip(sshd, { cipher: [cipher], mac: [mac] });
        assert.equal(r.algorithms.cipher, cipher);
        assert.equal(r.algorithms.mac, mac);
      });
    }
  }
});

test('compression: zlib@openssh.com (delayed) carries 1 MiB of text both ways', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const client = await connectSshd(sshd, { algorithms: { compression: ['zlib@openssh.com'] } });
  try {
    assert.equal(client.algorithms.compression, 'zlib@openssh.com');
    const text = 'all work and no play makes jack a dull boy\n'.repeat(24_000);
    const r = await client.exec('cat', { stdin: text });
    assert.equal(r.stdout.length, text.length);
    assert.equal(r.stdout, text);
  } finally {
    await client.close();
  }
});

test("legacy algorithms through '+name' edits against an sshd that offers only legacy ones", async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const legacy = await startSshd({
    hostKeyTypes: ['rsa'],
    extraConfig: [
      'KexAlgorithms diffie-hellman-group14-sha1',
      'Ciphers 3des-cbc',
      'MACs hmac-sha1',
      'HostKeyAlgorithms ssh-rsa',
    ],
  });
  try {
    const opts: AlgorithmOptions = {
      kex: '+diffie-hellman-group14-sha1',
      hostKey: '+ssh-rsa',
      cipher: '+3des-cbc',
      mac: '+hmac-sha1',
    };
    // without the edits there is nothing in common
    const err = await connectSshd(legacy).then(
      (c) => c.close().then(() => undefined),
      (e: Error & { code?: string }) => e,
    );
    assert.ok(err, 'default algorithms must not reach a legacy-only server');
    assert.equal(err.code, 'ERR_SSH_NEGOTIATION');
    const r = await roundTrip(legacy, opts);
    assert.deepEqual(
      { kex: r.algorithms.kex, hostKey: r.algorithms.hostKey, cipher: r.algorithms.cipher, mac: r.algorithms.mac },
      { kex: 'diffie-hellman-group14-sha1', hostKey: 'ssh-rsa', cipher: '3des-cbc', mac: 'hmac-sha1' },
    );
  } finally {
    await legacy.stop();
  }
  // every insecure row is in the table walked above, so each one met sshd at least once there
  for (const k of ['kex', 'cipher', 'mac'] as const) {
    for (const n of INSECURE_ALGORITHMS[k]) assert.ok(supportedAlgorithms(k).includes(n));
  }
});

test("'^name' puts a cipher first and it is negotiated", async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const r = await roundTrip(sshd, { cipher: '^chacha20-poly1305@openssh.com' });
  assert.equal(r.algorithms.cipher, 'chacha20-poly1305@openssh.com');
});
