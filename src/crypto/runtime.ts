/**
 * What this JavaScript runtime's `node:crypto` can do. secsh runs on Node.js, Bun and Deno; their
 * `node:crypto` differ in a few primitives (Bun is built on BoringSSL: no finite-field DH or DSA
 * keys, no raw ChaCha20; Deno's `createECDH` lacks secp521r1 and it has no AES-192-CBC). Each
 * primitive is tried once, on first use, and the answer cached: no runtime is recognised by name.
 *
 * What a missing primitive means is decided where it is used: a fallback inside secsh (ChaCha20,
 * NIST P-521 ECDH), or the algorithms that need it left out of this runtime's lists
 * ({@link unavailableReason}, read by `crypto/algorithms.ts`).
 */
import { createCipheriv, createECDH, createPublicKey } from 'node:crypto';

const results = new Map<string, boolean>();

/**
 * Runs `attempt` once per `key` and caches whether it returned without throwing. An override set by
 * {@link overrideProbe} wins.
 */
export function probe(key: string, attempt: () => unknown): boolean {
  const known = results.get(key);
  if (known !== undefined) return known;
  let ok: boolean;
  try {
    attempt();
    ok = true;
  } catch {
    ok = false;
  }
  results.set(key, ok);
  return ok;
}

/**
 * Pretends a primitive is missing (`false`) or present (`true`), or forgets the answer (`undefined`)
 * so the next use probes again. For tests: it lets one runtime exercise another's fallbacks.
 */
export function overrideProbe(key: string, value: boolean | undefined): void {
  if (value === undefined) results.delete(key);
  else results.set(key, value);
}

/** `createCipheriv(name)` with an all-zero key and IV of the given lengths. */
export function hasNodeCipher(name: string, keyLength: number, ivLength: number): boolean {
  return probe(`cipher:${name}`, () => createCipheriv(name, Buffer.alloc(keyLength), Buffer.alloc(ivLength)));
}

/** `createECDH(curve)` with `curve` an OpenSSL curve name. */
export function hasEcdhCurve(curve: string): boolean {
  return probe(`ecdh:${curve}`, () => createECDH(curve).generateKeys());
}

/**
 * A DSA SubjectPublicKeyInfo with toy parameters (p = 23, q = 11, g = 4, y = 2): OpenSSL imports it
 * (it checks no sizes on import), a runtime without DSA keys refuses it.
 */
const DSA_SPKI = '301c301406072a8648ce380401300902011702010b020104030400020102';

/** DSA keys (`ssh-dss`) through KeyObjects. */
export function hasDsa(): boolean {
  return probe('dsa', () => createPublicKey({ key: Buffer.from(DSA_SPKI, 'hex'), format: 'der', type: 'spki' }));
}
