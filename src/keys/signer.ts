/** The {@link Signer} interface: anything that can sign with a key (a private key, an agent). */
import type { PublicKey } from './public-key.js';
import type { SignatureAlgorithm } from './types.js';

/** Something that signs with the private half of {@link Signer.publicKey}. */
export interface Signer {
  /** The public key that verifies this signer's signatures. */
  readonly publicKey: PublicKey;
  /** Returns a full SSH signature blob (string algorithm || string signature). */
  sign(data: Uint8Array, algorithm: SignatureAlgorithm): Promise<Buffer>;
}
