/**
 * The exchange hash helper and the key derivation of RFC 4253 §7.2.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import type { HashName } from './types.js';

/** Largest key a caller may derive (far above any cipher or MAC key). */
export const MAX_DERIVED_KEY_LENGTH = 1024;

/** HASH(parts[0] || parts[1] || ...). */
export function hashParts(hash: HashName, parts: readonly Uint8Array[]): Buffer {
  const h = createHash(hash);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The six key letters of RFC 4253 §7.2: IVs (A, B), encryption keys (C, D), MAC keys (E, F). */
export type KeyLetter = 'A' | 'B' | 'C' | 'D' | 'E' | 'F';

const LETTERS: readonly string[] = ['A', 'B', 'C', 'D', 'E', 'F'];

/**
 * RFC 4253 §7.2: K1 = HASH(K || H || letter || session_id), Kn = HASH(K || H || K1 || ... || Kn-1),
 * key = (K1 || K2 || ...) truncated to `length` bytes. `k` is K as it enters the exchange hash (an
 * mpint with its uint32 length prefix, or a string for the hybrid post-quantum methods).
 */
export function deriveKey(
  hash: HashName,
  k: Buffer,
  h: Buffer,
  letter: KeyLetter,
  sessionId: Buffer,
  length: number,
): Buffer {
  if (!LETTERS.includes(letter)) throw new InvalidArgumentError('key letter must be one of A..F');
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_DERIVED_KEY_LENGTH) {
    throw new InvalidArgumentError(`derived key length must be an integer in [0, ${MAX_DERIVED_KEY_LENGTH}]`);
  }
  if (length === 0) return Buffer.alloc(0);
  const blocks: Buffer[] = [hashParts(hash, [k, h, Buffer.from(letter, 'ascii'), sessionId])];
  let have = (blocks[0] as Buffer).length;
  while (have < length) {
    const next = hashParts(hash, [k, h, ...blocks]);
    blocks.push(next);
    have += next.length;
  }
  // The key gets memory of its own: Buffer.from and Buffer.concat take small buffers from node's shared
  // pool, where a copy of a session key would outlive the session, unwiped.
  const key = Buffer.alloc(length);
  let at = 0;
  for (const b of blocks) {
    at += b.copy(key, at, 0, Math.min(b.length, length - at));
    b.fill(0);
  }
  return key;
}
