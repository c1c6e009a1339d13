/**
 * sntrup761 on inputs a hostile peer chooses: public keys (the client's C_INIT, encapsulated to by the
 * server) and ciphertexts (the server's S_REPLY, decapsulated by the client) that are not encodings
 * the KEM would produce — every byte 0xff or 0x00, top-level values above their range, a non-canonical
 * encoding of a valid ciphertext's polynomial, arbitrary bytes. Every such string of the right length
 * must decode (out-of-range values reduced), and decapsulation must end in implicit rejection, giving
 * the bytes OpenSSH gives.
 *
 * The expected values come from OpenSSH's sntrup761.c (openssh-portable, the SUPERCOP code it carries),
 * compiled with a randombytes that reads the same deterministic stream as `stream()` below and fed the
 * same inputs; it is not part of this repository.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { sntrup761Decapsulate, sntrup761Encapsulate, sntrup761KeyPair } from '../../../src/crypto/sntrup761.js';
import { roundedDecode } from '../../../src/crypto/sntrup761-encode.js';
import { setSntrup761Fallback } from '../../../src/crypto/sntrup761-poly.js';

/** n bytes of SHA-512(label || uint32 counter) blocks: the random stream both implementations read. */
function stream(label: string, n: number): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 64 < n; i++) {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(i);
    blocks.push(createHash('sha512').update(label).update(counter).digest());
  }
  return Buffer.concat(blocks).subarray(0, n);
}

function source(bytes: Uint8Array): (n: number) => Uint8Array {
  let at = 0;
  return (n) => {
    const out = bytes.slice(at, at + n);
    at += n;
    return out;
  };
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function hashPrefix(b: number, ...parts: Uint8Array[]): Buffer {
  const h = createHash('sha512').update(Uint8Array.of(b));
  for (const p of parts) h.update(p);
  return h.digest().subarray(0, 32);
}

const KEYPAIR = {
  pk: 'e7b6db709a078ef2581f3c782df336beb3e2c20d65e99b779e75a08539ec444c',
  sk: 'c17cd2d3edbd37ae82dd12fc33edf048f3b41ed33351e52fce1390caac5ac166',
};

/** SHA-256(ciphertext || key) of OpenSSH's encapsulation to each public key, randomness stream('encaps'). */
const ENCAPSULATIONS: ReadonlyArray<[string, Buffer, string]> = [
  ['every byte 0xff', Buffer.alloc(1158, 0xff), 'f20ac4033fdfa6af7fd64d4c9c7d301578efc2015eb79c516e4ce7b0e9f8f410'],
  ['every byte 0x00', Buffer.alloc(1158, 0), 'f4100a0cb53a485efee458c6d293a4a342a1a1a939fe90c555d0120cca3c19e3'],
  ['arbitrary bytes', stream('pk', 1158), 'a34ee1ca1bd335457ad4768118597e04aa63eb27b3dc0ae88dd70a1a8f430188'],
];

const topRounded = Buffer.alloc(1039, 0);
topRounded.fill(0xff, 0, 1007);

/** OpenSSH's decapsulation of each ciphertext with the keypair above. */
const DECAPSULATIONS: ReadonlyArray<[string, Buffer, string]> = [
  ['every byte 0xff', Buffer.alloc(1039, 0xff), 'c5a2b7afdae15ab844e4e5d62772f78c5760cc82dbcb71b5a795dbb2d3d2bc43'],
  ['every byte 0x00', Buffer.alloc(1039, 0), '4a05872d3c79a875d959b8781b040a6944e4df4919df0cde4f0a06f22e7f1d63'],
  ['rounded part all 0xff', topRounded, 'c53227a4d1546c2c4d35f12c1b3aebdc8c9423c348dfd7e869bdb9a50c0e9583'],
  ['arbitrary bytes', stream('ct', 1039), '30a7e430956adbc708e328cf428d10a74b22695016565d4379f0bb94658553db'],
];

/** OpenSSH's key for the valid ciphertext with its top-level value (bytes 1005-1006, range 3475) + 3475. */
const NON_CANONICAL = 'a48b51e3b0c42fc4ca82e443d0afb48c87d52d37f2028fb46fa2b8395a7f6b5f';

function keyPair(): { publicKey: Uint8Array; secretKey: Uint8Array } {
  return sntrup761KeyPair(source(stream('keypair', 8 * 761 + 191 + 4 * 761 * 20)));
}

for (const backend of ['default', 'JavaScript'] as const) {
  const run = (body: () => void): void => {
    setSntrup761Fallback(backend === 'JavaScript');
    try {
      body();
    } finally {
      setSntrup761Fallback(false);
    }
  };

  test(`${backend} arithmetic: encapsulation to malformed public keys gives OpenSSH's ciphertext and key`, () => {
    run(() => {
      const { publicKey, secretKey } = keyPair();
      assert.equal(sha256(publicKey), KEYPAIR.pk);
      assert.equal(sha256(secretKey), KEYPAIR.sk);
      for (const [what, pk, expected] of ENCAPSULATIONS) {
        const { ciphertext, sharedKey } = sntrup761Encapsulate(pk, source(stream('encaps', 4 * 761)));
        assert.equal(sha256(Buffer.concat([ciphertext, sharedKey])), expected, what);
      }
    });
  });

  test(`${backend} arithmetic: malformed ciphertexts are implicitly rejected with OpenSSH's key`, () => {
    run(() => {
      const { secretKey } = keyPair();
      const rho = secretKey.subarray(2 * 191 + 1158, 2 * 191 + 1158 + 191);
      for (const [what, ct, expected] of DECAPSULATIONS) {
        const key = sntrup761Decapsulate(ct, secretKey);
        assert.equal(hex(key), expected, what);
        assert.deepEqual(Buffer.from(key), hashPrefix(0, hashPrefix(3, rho), ct), `${what}: Hash_0 of rho`);
      }
    });
  });

  test(`${backend} arithmetic: a non-canonical encoding of a valid ciphertext's polynomial is rejected`, () => {
    run(() => {
      const { publicKey, secretKey } = keyPair();
      const { ciphertext, sharedKey } = sntrup761Encapsulate(publicKey, source(stream('encaps', 4 * 761)));
      assert.deepEqual(sntrup761Decapsulate(ciphertext, secretKey), sharedKey);
      const other = Buffer.from(ciphertext);
      other.writeUInt16LE(other.readUInt16LE(1005) + 3475, 1005);
      assert.deepEqual(roundedDecode(other, 0), roundedDecode(ciphertext, 0), 'decodes to the same polynomial');
      const key = sntrup761Decapsulate(other, secretKey);
      assert.equal(hex(key), NON_CANONICAL);
      const rho = secretKey.subarray(2 * 191 + 1158, 2 * 191 + 1158 + 191);
      assert.deepEqual(Buffer.from(key), hashPrefix(0, hashPrefix(3, rho), other));
    });
  });
}
