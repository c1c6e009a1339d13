/**
 * mlkem768x25519-sha256 (draft-ietf-sshm-mlkem-hybrid-kex; OpenSSH 9.9+, its default since 10.0):
 * ML-KEM-768 (FIPS 203, from `@noble/post-quantum`) combined with X25519 (node:crypto).
 * Pure functions of bytes.
 *
 *   C_INIT  = ML-KEM-768 encapsulation key (1184) || client X25519 public value (32)
 *   S_REPLY = ML-KEM-768 ciphertext (1088)        || server X25519 public value (32)
 *   K       = SHA-256(K_pq || K_cl), entering the exchange hash and key derivation as a **string**.
 */

import { createHash, randomBytes } from 'node:crypto';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { InvalidArgumentError } from '../errors.js';
import { kexFailed, x25519RawKeyPair } from './kex-ecdh.js';
import type { KemResponse, KexKeyPair } from './types.js';

/** ML-KEM-768 encapsulation (public) key length. */
export const MLKEM768_PUBLIC_KEY_LENGTH = 1184;
/** ML-KEM-768 ciphertext length. */
export const MLKEM768_CIPHERTEXT_LENGTH = 1088;
const X25519_LENGTH = 32;
/** C_INIT length: ML-KEM-768 public key then X25519 public value. */
export const MLKEM768X25519_CLIENT_LENGTH = MLKEM768_PUBLIC_KEY_LENGTH + X25519_LENGTH;
/** S_REPLY length: ML-KEM-768 ciphertext then X25519 public value. */
export const MLKEM768X25519_SERVER_LENGTH = MLKEM768_CIPHERTEXT_LENGTH + X25519_LENGTH;

const KEYGEN_SEED_LENGTH = 64;
const ENCAPS_RANDOM_LENGTH = 32;

/** K = SHA-256(K_pq || K_cl) as an SSH string (uint32 32 || 32 bytes). */
function hybridSecret(kPq: Uint8Array, kCl: Uint8Array): Buffer {
  const digest = createHash('sha256').update(kPq).update(kCl).digest();
  const k = Buffer.alloc(4 + digest.length);
  k.writeUInt32BE(digest.length, 0);
  digest.copy(k, 4);
  digest.fill(0);
  return k;
}

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

/**
 * The client's ephemeral keypair: `publicValue` is C_INIT (1216 bytes); `agree(S_REPLY)` checks S_REPLY
 * is exactly 1120 bytes, decapsulates, agrees X25519 (refusing an all-zero result) and returns K as a
 * string. The ML-KEM secret key is zeroized after the first `agree` that gets past the length check,
 * so a keypair is good for one exchange. Pass `fixed` only in tests.
 */
export function mlkem768x25519ClientKeyPair(fixed?: MlKemClientRandomness): KexKeyPair {
  const seed = fixedBytes(fixed?.mlkemSeed, KEYGEN_SEED_LENGTH, 'ML-KEM seed') ?? randomBytes(KEYGEN_SEED_LENGTH);
  const { publicKey, secretKey } = ml_kem768.keygen(seed);
  seed.fill(0);
  const x = x25519RawKeyPair(fixed?.x25519Private);
  const publicValue = Buffer.concat([publicKey, x.publicValue]);
  let used = false;
  return {
    publicValue,
    agree(serverReply: Buffer): Buffer {
      if (serverReply.length !== MLKEM768X25519_SERVER_LENGTH) {
        throw kexFailed(
          `mlkem768x25519 server reply must be ${MLKEM768X25519_SERVER_LENGTH} bytes, got ${serverReply.length}`,
        );
      }
      if (used) throw kexFailed('mlkem768x25519 keypair already used');
      used = true;
      let kCl: Buffer | undefined;
      let kPq: Uint8Array | undefined;
      try {
        kCl = x.shared(serverReply.subarray(MLKEM768_CIPHERTEXT_LENGTH));
        // ML-KEM decapsulation never fails on a well-sized ciphertext (implicit rejection): a tampered
        // ciphertext gives an unrelated K_pq, so the exchange hash signature check fails instead.
        kPq = ml_kem768.decapsulate(serverReply.subarray(0, MLKEM768_CIPHERTEXT_LENGTH), secretKey);
        return hybridSecret(kPq, kCl);
      } finally {
        secretKey.fill(0);
        kCl?.fill(0);
        kPq?.fill(0);
      }
    },
  };
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
  if (clientInit.length !== MLKEM768X25519_CLIENT_LENGTH) {
    throw kexFailed(
      `mlkem768x25519 client value must be ${MLKEM768X25519_CLIENT_LENGTH} bytes, got ${clientInit.length}`,
    );
  }
  const m =
    fixedBytes(fixed?.encapsulation, ENCAPS_RANDOM_LENGTH, 'ML-KEM encapsulation randomness') ??
    randomBytes(ENCAPS_RANDOM_LENGTH);
  const x = x25519RawKeyPair(fixed?.x25519Private);
  let kCl: Buffer | undefined;
  let kPq: Uint8Array | undefined;
  try {
    let encapsulated: { cipherText: Uint8Array; sharedSecret: Uint8Array };
    try {
      // FIPS 203 §7.2 input check: every coefficient of the encapsulation key must be reduced mod q.
      encapsulated = ml_kem768.encapsulate(clientInit.subarray(0, MLKEM768_PUBLIC_KEY_LENGTH), m);
    } catch (e) {
      throw kexFailed('mlkem768x25519 client ML-KEM-768 public key is invalid', e);
    }
    kPq = encapsulated.sharedSecret;
    kCl = x.shared(clientInit.subarray(MLKEM768_PUBLIC_KEY_LENGTH));
    return {
      publicValue: Buffer.concat([encapsulated.cipherText, x.publicValue]),
      k: hybridSecret(kPq, kCl),
    };
  } finally {
    m.fill(0);
    kCl?.fill(0);
    kPq?.fill(0);
  }
}
