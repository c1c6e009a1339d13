/**
 * One key, one encoding: a public key blob with a needless leading zero byte on an mpint (RFC 4251
 * §5 forbids it) is refused, so a key cannot be presented in a second encoding that blob compares
 * (known_hosts matches and `@revoked`, KRLs, authorized keys) would take for another key. Before,
 * such a blob of a `@revoked` host key was 'unknown' and accept-new took it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { knownHostsVerifier } from '../../../src/config/host-key-policy.js';
import { KnownHosts } from '../../../src/config/index.js';
import { HostKeyError, KeyError } from '../../../src/errors.js';
import { generatePrivateKey, PublicKey } from '../../../src/keys/index.js';
import { SshReader, SshWriter } from '../../../src/wire/index.js';

/** `key`'s blob with a zero byte put before mpint number `which` (0-based, after the type name). */
function padded(key: PublicKey, which: number): Buffer {
  const r = new SshReader(key.blob);
  const w = new SshWriter(key.blob.length + 8).string(r.ascii());
  for (let i = 0; r.remaining > 0; i++) {
    const m = r.string();
    w.string(i === which ? Buffer.concat([Buffer.alloc(1), m]) : m);
  }
  return w.toBuffer();
}

test('RSA and DSA blobs with a needless leading zero are refused; a zero that the sign needs is kept', () => {
  const rsa = generatePrivateKey('rsa').publicKey;
  const dsa = generatePrivateKey('dsa').publicKey;
  for (const [key, count] of [
    [rsa, 2],
    [dsa, 4],
  ] as const) {
    for (let i = 0; i < count; i++) {
      assert.throws(() => PublicKey.fromBlob(padded(key, i)), KeyError, `${key.type} mpint ${i}`);
    }
    // Canonical blobs (the modulus carries the zero its top bit needs) still parse and round-trip.
    assert.ok(PublicKey.fromBlob(key.blob).equals(key));
  }
});

test('@revoked cannot be sidestepped by presenting the revoked host key in another encoding', async () => {
  const rsa = generatePrivateKey('rsa').publicKey;
  const revoked = new KnownHosts(`@revoked * ${rsa.toString()}\n`);
  for (const mode of ['accept-new', 'off'] as const) {
    const check = knownHostsVerifier({ files: [revoked], mode, host: 'h.example', port: 22 });
    await assert.rejects(check(rsa), (e: unknown) => e instanceof HostKeyError && /revoked/.test(e.message), mode);
    // The same key in another encoding: refused when parsed, or else refused by the check.
    let odd: PublicKey | undefined;
    try {
      odd = PublicKey.fromBlob(padded(rsa, 0));
    } catch (e) {
      assert.ok(e instanceof KeyError);
    }
    if (odd) {
      await assert.rejects(check(odd), (e: unknown) => e instanceof HostKeyError && /revoked/.test(e.message), mode);
    }
  }
});
