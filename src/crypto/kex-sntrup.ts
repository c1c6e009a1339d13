/**
 * sntrup761x25519-sha512 and its older name sntrup761x25519-sha512@openssh.com (OpenSSH 8.5+, its default
 * from 9.0 to 9.8; draft-josefsson-ntruprime-ssh): Streamlined NTRU Prime 761 (./sntrup761.ts) combined
 * with X25519 (node:crypto) as in ./kex-hybrid.ts. Pure functions of bytes.
 *
 *   C_INIT  = sntrup761 public key (1158) || client X25519 public value (32)
 *   S_REPLY = sntrup761 ciphertext (1039) || server X25519 public value (32)
 *   K       = SHA-512(K_pq || K_cl), entering the exchange hash (SHA-512) and key derivation as a **string**.
 */

import { randomBytes } from 'node:crypto';
import { type HybridKem, hybridClientKeyPair, hybridRespond } from './kex-hybrid.js';
import {
  type RandomSource,
  SNTRUP761_CIPHERTEXT_BYTES,
  SNTRUP761_PUBLIC_KEY_BYTES,
  sntrup761Decapsulate,
  sntrup761Encapsulate,
  sntrup761KeyPair,
} from './sntrup761.js';
import type { KemResponse, KexKeyPair } from './types.js';

/** C_INIT length: sntrup761 public key then X25519 public value. */
export const SNTRUP761X25519_CLIENT_LENGTH = SNTRUP761_PUBLIC_KEY_BYTES + 32;
/** S_REPLY length: sntrup761 ciphertext then X25519 public value. */
export const SNTRUP761X25519_SERVER_LENGTH = SNTRUP761_CIPHERTEXT_BYTES + 32;

/** Fixed randomness: tests only. */
export interface SntrupRandomness {
  /** The byte source sntrup761 reads (key generation or encapsulation). */
  random?: RandomSource;
  /** X25519 private scalar (32 bytes). */
  x25519Private?: Uint8Array;
}

function sntrup761Kem(random: RandomSource): HybridKem {
  return {
    label: 'sntrup761x25519',
    kemName: 'sntrup761',
    hash: 'sha512',
    publicKeyLength: SNTRUP761_PUBLIC_KEY_BYTES,
    ciphertextLength: SNTRUP761_CIPHERTEXT_BYTES,
    keyPair: () => sntrup761KeyPair(random),
    encapsulate: (publicKey) => sntrup761Encapsulate(publicKey, random),
    decapsulate: sntrup761Decapsulate,
  };
}

/**
 * The client's ephemeral keypair: `publicValue` is C_INIT (1190 bytes); `agree(S_REPLY)` takes exactly
 * 1071 bytes and returns K as a string; one exchange per keypair. Pass `fixed` only in tests.
 */
export function sntrup761x25519ClientKeyPair(fixed?: SntrupRandomness): KexKeyPair {
  return hybridClientKeyPair(sntrup761Kem(fixed?.random ?? randomBytes), fixed?.x25519Private);
}

/**
 * The server's side: from C_INIT (exactly 1190 bytes; every 1158-byte string decodes to a key, as in
 * OpenSSH) returns S_REPLY (1071 bytes) and K as a string. Pass `fixed` only in tests.
 */
export function sntrup761x25519Respond(clientInit: Buffer, fixed?: SntrupRandomness): KemResponse {
  return hybridRespond(sntrup761Kem(fixed?.random ?? randomBytes), clientInit, fixed?.x25519Private);
}
