/**
 * sntrup761x25519-sha512 and its older name sntrup761x25519-sha512@openssh.com (OpenSSH 8.5+, its default
 * from 9.0 to 9.8; draft-josefsson-ntruprime-ssh): Streamlined NTRU Prime 761 (./sntrup761.ts) combined
 * with X25519 (node:crypto). Pure functions of bytes.
 *
 *   C_INIT  = sntrup761 public key (1158) || client X25519 public value (32)
 *   S_REPLY = sntrup761 ciphertext (1039) || server X25519 public value (32)
 *   K       = SHA-512(K_pq || K_cl), entering the exchange hash (SHA-512) and key derivation as a **string**.
 */

import { createHash, randomBytes } from 'node:crypto';
import { kexFailed, x25519RawKeyPair } from './kex-ecdh.js';
import {
  type RandomSource,
  SNTRUP761_CIPHERTEXT_BYTES,
  SNTRUP761_PUBLIC_KEY_BYTES,
  sntrup761Decapsulate,
  sntrup761Encapsulate,
  sntrup761KeyPair,
} from './sntrup761.js';
import type { KemResponse, KexKeyPair } from './types.js';

const X25519_LENGTH = 32;
/** C_INIT length: sntrup761 public key then X25519 public value. */
export const SNTRUP761X25519_CLIENT_LENGTH = SNTRUP761_PUBLIC_KEY_BYTES + X25519_LENGTH;
/** S_REPLY length: sntrup761 ciphertext then X25519 public value. */
export const SNTRUP761X25519_SERVER_LENGTH = SNTRUP761_CIPHERTEXT_BYTES + X25519_LENGTH;

/** K = SHA-512(K_pq || K_cl) as an SSH string (uint32 64 || 64 bytes). */
function hybridSecret(kPq: Uint8Array, kCl: Uint8Array): Buffer {
  const digest = createHash('sha512').update(kPq).update(kCl).digest();
  const k = Buffer.alloc(4 + digest.length);
  k.writeUInt32BE(digest.length, 0);
  digest.copy(k, 4);
  digest.fill(0);
  return k;
}

/** Fixed randomness: tests only. */
export interface SntrupRandomness {
  /** The byte source sntrup761 reads (key generation or encapsulation). */
  random?: RandomSource;
  /** X25519 private scalar (32 bytes). */
  x25519Private?: Uint8Array;
}

/**
 * The client's ephemeral keypair: `publicValue` is C_INIT (1190 bytes); `agree(S_REPLY)` checks S_REPLY
 * is exactly 1071 bytes, decapsulates, agrees X25519 (refusing an all-zero result) and returns K as a
 * string. The sntrup761 secret key is zeroized after the first `agree` that gets past the length check,
 * so a keypair is good for one exchange. Pass `fixed` only in tests.
 */
export function sntrup761x25519ClientKeyPair(fixed?: SntrupRandomness): KexKeyPair {
  const { publicKey, secretKey } = sntrup761KeyPair(fixed?.random ?? randomBytes);
  const x = x25519RawKeyPair(fixed?.x25519Private);
  const publicValue = Buffer.concat([publicKey, x.publicValue]);
  let used = false;
  return {
    publicValue,
    agree(serverReply: Buffer): Buffer {
      if (serverReply.length !== SNTRUP761X25519_SERVER_LENGTH) {
        throw kexFailed(
          `sntrup761x25519 server reply must be ${SNTRUP761X25519_SERVER_LENGTH} bytes, got ${serverReply.length}`,
        );
      }
      if (used) throw kexFailed('sntrup761x25519 keypair already used');
      used = true;
      let kCl: Buffer | undefined;
      let kPq: Uint8Array | undefined;
      try {
        kCl = x.shared(serverReply.subarray(SNTRUP761_CIPHERTEXT_BYTES));
        // Decapsulation never fails on a well-sized ciphertext (implicit rejection): a tampered one gives
        // an unrelated K_pq, so the exchange hash signature check fails instead.
        kPq = sntrup761Decapsulate(serverReply.subarray(0, SNTRUP761_CIPHERTEXT_BYTES), secretKey);
        return hybridSecret(kPq, kCl);
      } finally {
        secretKey.fill(0);
        kCl?.fill(0);
        kPq?.fill(0);
      }
    },
  };
}

/**
 * The server's side: from C_INIT (exactly 1190 bytes), encapsulates to the client's sntrup761 key (every
 * 1158-byte string decodes to a key, as in OpenSSH) and agrees X25519 with a fresh keypair. Returns
 * S_REPLY (1071 bytes) and K as a string. Pass `fixed` only in tests.
 */
export function sntrup761x25519Respond(clientInit: Buffer, fixed?: SntrupRandomness): KemResponse {
  if (clientInit.length !== SNTRUP761X25519_CLIENT_LENGTH) {
    throw kexFailed(
      `sntrup761x25519 client value must be ${SNTRUP761X25519_CLIENT_LENGTH} bytes, got ${clientInit.length}`,
    );
  }
  const x = x25519RawKeyPair(fixed?.x25519Private);
  let kCl: Buffer | undefined;
  let kPq: Uint8Array | undefined;
  try {
    kCl = x.shared(clientInit.subarray(SNTRUP761_PUBLIC_KEY_BYTES));
    const encapsulated = sntrup761Encapsulate(
      clientInit.subarray(0, SNTRUP761_PUBLIC_KEY_BYTES),
      fixed?.random ?? randomBytes,
    );
    kPq = encapsulated.sharedKey;
    return {
      publicValue: Buffer.concat([encapsulated.ciphertext, x.publicValue]),
      k: hybridSecret(kPq, kCl),
    };
  } finally {
    kCl?.fill(0);
    kPq?.fill(0);
  }
}
