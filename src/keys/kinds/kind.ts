/** The contract every key type implements; one file per type, registered in `./index.ts`. */
import type { KeyObject } from 'node:crypto';
import type { SshReader, SshWriter } from '../../wire/index.js';
import type { KeyType, SignatureAlgorithm } from '../types.js';

/** A parsed public key: the node KeyObject and its size in bits. */
export interface PublicMaterial {
  readonly key: KeyObject;
  readonly bits: number;
  /** Security-key (sk) kinds: the FIDO application string (`ssh:` usually), as bytes. */
  readonly application?: Buffer;
}

/** Operations of one key family. Signatures here are the inner bytes (without the algorithm name). */
export interface KeyKind {
  /** Reads the public fields that follow the type name in a public key blob (strict). */
  readPublic(type: KeyType, r: SshReader): PublicMaterial;
  /** Verifies inner signature bytes; false for a bad or malformed signature. */
  verify(pub: PublicMaterial, type: KeyType, alg: SignatureAlgorithm, data: Uint8Array, sig: Buffer): boolean;
  /** Reads the OpenSSH private fields that follow the type name; returns a private KeyObject. */
  readPrivate(type: KeyType, r: SshReader): KeyObject;
  /** Writes the OpenSSH private fields (after the type name). */
  writePrivate(type: KeyType, key: KeyObject, w: SshWriter): void;
  /** Builds the public key blob from a (public or private) KeyObject. */
  publicBlob(type: KeyType, key: KeyObject): Buffer;
  /** Signs and returns the inner signature bytes. */
  sign(type: KeyType, key: KeyObject, alg: SignatureAlgorithm, data: Uint8Array): Buffer;
}
