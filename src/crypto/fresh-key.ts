/**
 * Key generation that never shares a key with node's generation job. On Node 20 the job object
 * (`KeyGenJob`) keeps the generated key, and when the garbage collector destroys the job it locks that
 * key's mutex; exporting the same key as JWK holds that mutex while allocating, and an allocation that
 * starts the collector then waits on the mutex it holds — the process hangs for good (seen in
 * `key.export({ format: 'jwk' })` of a fresh ed25519 key). Keys generated here are re-imported from
 * DER, so the job keeps its own copy and ours has a mutex of its own.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/** A new private key of `type` (`generateKeyPairSync`'s types and options), as a KeyObject of its own. */
export function freshPrivateKey(
  type: 'ed25519' | 'x25519' | 'ec' | 'rsa' | 'dsa',
  options: { namedCurve?: string; modulusLength?: number; publicExponent?: number; divisorLength?: number } = {},
): KeyObject {
  // The overloads want a literal type; the options each type takes are passed through as given.
  const gen = generateKeyPairSync as unknown as (
    t: string,
    o: Record<string, unknown>,
  ) => { privateKey: Buffer; publicKey: Buffer };
  const { privateKey } = gen(type, {
    ...options,
    privateKeyEncoding: { format: 'der', type: 'pkcs8' },
    publicKeyEncoding: { format: 'der', type: 'spki' },
  });
  const key = createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' });
  privateKey.fill(0);
  return key;
}
