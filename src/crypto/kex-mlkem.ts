/**
 * mlkem768x25519-sha256 (draft-ietf-sshm-mlkem-hybrid-kex; OpenSSH 9.9+, its default since 10.0):
 * ML-KEM-768 (FIPS 203, from `@noble/post-quantum`) combined with X25519 (node:crypto) as in
 * ./kex-hybrid.ts. Pure functions of bytes.
 *
 *   C_INIT  = ML-KEM-768 encapsulation key (1184) || client X25519 public value (32)
 *   S_REPLY = ML-KEM-768 ciphertext (1088)        || server X25519 public value (32)
 *   K       = SHA-256(K_pq || K_cl), entering the exchange hash and key derivation as a **string**.
 */

import { randomBytes } from 'node:crypto';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { InvalidArgumentError } from '../errors.js';
import { type HybridKem, hybridClientKeyPair, hybridRespond, X25519_LENGTH } from './kex-hybrid.js';
import type { KemResponse, KexKeyPair } from './types.js';

/** ML-KEM-768 encapsulation (public) key length. */
export const MLKEM768_PUBLIC_KEY_LENGTH = 1184;
/** ML-KEM-768 ciphertext length. */
export const MLKEM768_CIPHERTEXT_LENGTH = 1088;
/** C_INIT length: ML-KEM-768 public key then X25519 public value. */
export const MLKEM768X25519_CLIENT_LENGTH = MLKEM768_PUBLIC_KEY_LENGTH + X25519_LENGTH;
/** S_REPLY length: ML-KEM-768 ciphertext then X25519 public value. */
export const MLKEM768X25519_SERVER_LENGTH = MLKEM768_CIPHERTEXT_LENGTH + X25519_LENGTH;

const KEYGEN_SEED_LENGTH = 64;
const ENCAPS_RANDOM_LENGTH = 32;

function fixedBytes(value: Uint8Array | undefined, length: number, what: string): Uint8Array | undefined {
  if (value === undefined) return undefined;
  if (value.length !== length) throw new InvalidArgumentError(`${what} must be ${length} bytes`);
  return Uint8Array.from(value);
}

/** Fixed randomness for the client keypair: tests only. */
export interface MlKemClientRandomness {
  /** ML-KEM-768 key generation seed d || z (64 bytes). */
  mlkemSeed?: Uint8Array;
  /** X25519 private scalar (32 bytes). */
  x25519Private?: Uint8Array;
}

/** ML-KEM-768 for the hybrid; the seed or m given is used (and wiped) by the one call that needs it. */
function mlkem768Kem(seed?: Uint8Array, m?: Uint8Array): HybridKem {
  return {
    label: 'mlkem768x25519',
    kemName: 'ML-KEM-768',
    hash: 'sha256',
    publicKeyLength: MLKEM768_PUBLIC_KEY_LENGTH,
    ciphertextLength: MLKEM768_CIPHERTEXT_LENGTH,
    keyPair() {
      const d = seed ?? randomBytes(KEYGEN_SEED_LENGTH);
      try {
        return ml_kem768.keygen(d);
      } finally {
        d.fill(0);
      }
    },
    encapsulate(publicKey) {
      const r = m ?? randomBytes(ENCAPS_RANDOM_LENGTH);
      try {
        // FIPS 203 §7.2 input check: every coefficient of the encapsulation key must be reduced mod q.
        const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, r);
        return { ciphertext: cipherText, sharedKey: sharedSecret };
      } finally {
        r.fill(0);
      }
    },
    decapsulate: (ciphertext, secretKey) => ml_kem768.decapsulate(ciphertext, secretKey),
  };
}

/**
 * The client's ephemeral keypair: `publicValue` is C_INIT (1216 bytes); `agree(S_REPLY)` checks S_REPLY
 * is exactly 1120 bytes, decapsulates, agrees X25519 (refusing an all-zero result) and returns K as a
 * string. The ML-KEM secret key is zeroized after the first `agree` that gets past the length check,
 * so a keypair is good for one exchange. Pass `fixed` only in tests.
 */
export function mlkem768x25519ClientKeyPair(fixed?: MlKemClientRandomness): KexKeyPair {
  const seed = fixedBytes(fixed?.mlkemSeed, KEYGEN_SEED_LENGTH, 'ML-KEM seed');
  return hybridClientKeyPair(mlkem768Kem(seed), fixed?.x25519Private);
}

/** Fixed randomness for the server's response: tests only. */
export interface MlKemServerRandomness {
  /** ML-KEM-768 encapsulation randomness m (32 bytes). */
  encapsulation?: Uint8Array;
  /** X25519 private scalar (32 bytes). */
  x25519Private?: Uint8Array;
}

/**
 * The server's side: from C_INIT (exactly 1216 bytes, with a valid ML-KEM-768 key), encapsulates to the
 * client's ML-KEM key and agrees X25519 with a fresh keypair. Returns S_REPLY (1120 bytes) and K as a
 * string. Pass `fixed` only in tests.
 */
export function mlkem768x25519Respond(clientInit: Buffer, fixed?: MlKemServerRandomness): KemResponse {
  const m = fixedBytes(fixed?.encapsulation, ENCAPS_RANDOM_LENGTH, 'ML-KEM encapsulation randomness');
  return hybridRespond(mlkem768Kem(undefined, m), clientInit, fixed?.x25519Private);
}
