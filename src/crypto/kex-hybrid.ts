/**
 * The shape every post-quantum hybrid KEX of SSH shares (mlkem768x25519-sha256,
 * sntrup761x25519-sha512): a KEM combined with X25519, as pure functions of bytes.
 *
 *   C_INIT  = KEM public key || client X25519 public value (32)
 *   S_REPLY = KEM ciphertext || server X25519 public value (32)
 *   K       = HASH(K_pq || K_cl), entering the exchange hash and key derivation as a **string**.
 */

import { createHash } from 'node:crypto';
import { kexFailed, x25519RawKeyPair } from './kex-ecdh.js';
import type { KemResponse, KexKeyPair } from './types.js';

/** Length of an X25519 public value. */
export const X25519_LENGTH = 32;

/** One KEM as a hybrid uses it. The functions may keep fixed randomness for tests in their closures. */
export interface HybridKem {
  /** Method name without the hash, for error messages: `mlkem768x25519`. */
  label: string;
  /** The KEM's own name, for error messages: `ML-KEM-768`. */
  kemName: string;
  hash: 'sha256' | 'sha512';
  publicKeyLength: number;
  ciphertextLength: number;
  keyPair(): { publicKey: Uint8Array; secretKey: Uint8Array };
  /** May throw on a public key the KEM refuses (then the exchange fails). */
  encapsulate(publicKey: Uint8Array): { ciphertext: Uint8Array; sharedKey: Uint8Array };
  /** Never fails on a well-sized ciphertext (implicit rejection). */
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

/** K = HASH(K_pq || K_cl) as an SSH string (uint32 length || digest). */
function hybridSecret(hash: HybridKem['hash'], kPq: Uint8Array, kCl: Uint8Array): Buffer {
  const digest = createHash(hash).update(kPq).update(kCl).digest();
  const k = Buffer.alloc(4 + digest.length);
  k.writeUInt32BE(digest.length, 0);
  digest.copy(k, 4);
  digest.fill(0);
  return k;
}

/**
 * The client's ephemeral keypair: `publicValue` is C_INIT; `agree(S_REPLY)` checks S_REPLY's exact
 * length, decapsulates, agrees X25519 (refusing an all-zero result) and returns K as a string. The KEM
 * secret key is zeroized after the first `agree` that gets past the length check, so a keypair is good
 * for one exchange. `x25519Private` fixes the X25519 scalar: tests only.
 */
export function hybridClientKeyPair(kem: HybridKem, x25519Private?: Uint8Array): KexKeyPair {
  const { publicKey, secretKey } = kem.keyPair();
  const x = x25519RawKeyPair(x25519Private);
  const publicValue = Buffer.concat([publicKey, x.publicValue]);
  const replyLength = kem.ciphertextLength + X25519_LENGTH;
  let used = false;
  return {
    publicValue,
    agree(serverReply: Buffer): Buffer {
      if (serverReply.length !== replyLength) {
        throw kexFailed(`${kem.label} server reply must be ${replyLength} bytes, got ${serverReply.length}`);
      }
      if (used) throw kexFailed(`${kem.label} keypair already used`);
      used = true;
      let kCl: Buffer | undefined;
      let kPq: Uint8Array | undefined;
      try {
        kCl = x.shared(serverReply.subarray(kem.ciphertextLength));
        // A tampered ciphertext gives an unrelated K_pq (implicit rejection), so the exchange hash
        // signature check fails instead.
        kPq = kem.decapsulate(serverReply.subarray(0, kem.ciphertextLength), secretKey);
        return hybridSecret(kem.hash, kPq, kCl);
      } finally {
        secretKey.fill(0);
        kCl?.fill(0);
        kPq?.fill(0);
      }
    },
  };
}

/**
 * The server's side: from C_INIT (of exactly the KEM's public key length plus 32), encapsulates to the
 * client's KEM key and agrees X25519 with a fresh keypair. Returns S_REPLY and K as a string.
 * `x25519Private` fixes the X25519 scalar: tests only.
 */
export function hybridRespond(kem: HybridKem, clientInit: Buffer, x25519Private?: Uint8Array): KemResponse {
  const initLength = kem.publicKeyLength + X25519_LENGTH;
  if (clientInit.length !== initLength) {
    throw kexFailed(`${kem.label} client value must be ${initLength} bytes, got ${clientInit.length}`);
  }
  const x = x25519RawKeyPair(x25519Private);
  let kCl: Buffer | undefined;
  let kPq: Uint8Array | undefined;
  try {
    let encapsulated: { ciphertext: Uint8Array; sharedKey: Uint8Array };
    try {
      encapsulated = kem.encapsulate(clientInit.subarray(0, kem.publicKeyLength));
    } catch (e) {
      throw kexFailed(`${kem.label} client ${kem.kemName} public key is invalid`, e);
    }
    kPq = encapsulated.sharedKey;
    kCl = x.shared(clientInit.subarray(kem.publicKeyLength));
    return {
      publicValue: Buffer.concat([encapsulated.ciphertext, x.publicValue]),
      k: hybridSecret(kem.hash, kPq, kCl),
    };
  } finally {
    kCl?.fill(0);
    kPq?.fill(0);
  }
}
