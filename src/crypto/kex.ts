/**
 * The key-exchange table: one row per method, in default preference order, insecure rows last.
 * Each row makes ephemeral keypairs; the message flow lives in the transport.
 */

import { InvalidArgumentError } from '../errors.js';
import { DH_GROUPS } from './dh-groups.js';
import { dhKeyPair } from './kex-dh.js';
import type { NistCurve } from './kex-ecdh.js';
import { nistKeyPair, x25519KeyPair } from './kex-ecdh.js';
import { mlkem768x25519ClientKeyPair, mlkem768x25519Respond } from './kex-mlkem.js';
import { sntrup761x25519ClientKeyPair, sntrup761x25519Respond } from './kex-sntrup.js';
import type { DhGroup, HashName, KexInfo, KexKeyPair } from './types.js';

export { chooseGexGroup, DH_GROUPS, validateGexGroup } from './dh-groups.js';
export type { KeyLetter } from './kdf.js';
export { deriveKey, hashParts } from './kdf.js';

function fixedGroup(bits: number): DhGroup {
  const g = DH_GROUPS[bits];
  if (!g) throw new Error(`missing DH group ${bits}`);
  return g;
}

function curve25519(name: string): KexInfo {
  return Object.freeze({ name, hash: 'sha256', type: 'ecdh', insecure: false, generate: () => x25519KeyPair() });
}

function mlkem768x25519(): KexInfo {
  return Object.freeze({
    name: 'mlkem768x25519-sha256',
    hash: 'sha256',
    type: 'kem',
    insecure: false,
    generate: () => mlkem768x25519ClientKeyPair(),
    respond: (clientPublic: Buffer) => mlkem768x25519Respond(clientPublic),
  });
}

/** sntrup761x25519-sha512 under its IETF name and its older `@openssh.com` name (same method). */
function sntrup761x25519(name: string): KexInfo {
  return Object.freeze({
    name,
    hash: 'sha512',
    type: 'kem',
    insecure: false,
    generate: () => sntrup761x25519ClientKeyPair(),
    respond: (clientPublic: Buffer) => sntrup761x25519Respond(clientPublic),
  });
}

function nist(curve: NistCurve, hash: HashName): KexInfo {
  return Object.freeze({
    name: `ecdh-sha2-${curve}`,
    hash,
    type: 'ecdh',
    insecure: false,
    generate: () => nistKeyPair(curve),
  });
}

function fixedDh(name: string, bits: number, hash: HashName, insecure: boolean): KexInfo {
  const group = fixedGroup(bits);
  return Object.freeze({ name, hash, type: 'dh', insecure, group, generate: () => dhKeyPair(group) });
}

function gex(name: string, hash: HashName, insecure: boolean): KexInfo {
  return Object.freeze({
    name,
    hash,
    type: 'gex',
    insecure,
    generate(group?: DhGroup): KexKeyPair {
      if (!group) throw new InvalidArgumentError(`${name} needs the exchanged group`);
      return dhKeyPair(group);
    },
  });
}

/** Every supported method: the secure ones in default preference order, then the insecure ones. */
export const KEX_METHODS: readonly KexInfo[] = Object.freeze([
  mlkem768x25519(),
  sntrup761x25519('sntrup761x25519-sha512'),
  sntrup761x25519('sntrup761x25519-sha512@openssh.com'),
  curve25519('curve25519-sha256'),
  curve25519('curve25519-sha256@libssh.org'),
  nist('nistp256', 'sha256'),
  nist('nistp384', 'sha384'),
  nist('nistp521', 'sha512'),
  gex('diffie-hellman-group-exchange-sha256', 'sha256', false),
  fixedDh('diffie-hellman-group16-sha512', 4096, 'sha512', false),
  fixedDh('diffie-hellman-group18-sha512', 8192, 'sha512', false),
  fixedDh('diffie-hellman-group14-sha256', 2048, 'sha256', false),
  fixedDh('diffie-hellman-group14-sha1', 2048, 'sha1', true),
  fixedDh('diffie-hellman-group1-sha1', 1024, 'sha1', true),
  gex('diffie-hellman-group-exchange-sha1', 'sha1', true),
]);

const BY_NAME: ReadonlyMap<string, KexInfo> = new Map(KEX_METHODS.map((k) => [k.name, k]));

/** The row for a method name, or undefined when unsupported. */
export function kexInfo(name: string): KexInfo | undefined {
  return BY_NAME.get(name);
}
