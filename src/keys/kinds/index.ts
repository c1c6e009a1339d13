/** Registry of key kinds: one row per SSH key type. */
import type { KeyObject } from 'node:crypto';
import { KeyError } from '../../errors.js';
import type { KeyType, SignatureAlgorithm } from '../types.js';
import { dsa } from './dsa.js';
import { ecdsa } from './ecdsa.js';
import { ed25519 } from './ed25519.js';
import type { KeyKind } from './kind.js';
import { rsa } from './rsa.js';
import { skEcdsa } from './sk-ecdsa.js';
import { skEd25519 } from './sk-ed25519.js';

export type { KeyKind, PublicMaterial } from './kind.js';
export {
  isSecurityKeyType,
  readSkTrailer,
  SK_RESIDENT_KEY,
  SK_USER_PRESENT,
  SK_USER_VERIFIED,
  type SkSignatureTrailer,
  skSignedData,
  skSignedDataFor,
  WEBAUTHN_SK_ECDSA,
} from './sk.js';

interface Row {
  readonly kind: KeyKind;
  /** Signature algorithms, best first. */
  readonly algorithms: readonly SignatureAlgorithm[];
}

const TABLE: Record<KeyType, Row> = {
  'ssh-ed25519': { kind: ed25519, algorithms: ['ssh-ed25519'] },
  'ecdsa-sha2-nistp256': { kind: ecdsa, algorithms: ['ecdsa-sha2-nistp256'] },
  'ecdsa-sha2-nistp384': { kind: ecdsa, algorithms: ['ecdsa-sha2-nistp384'] },
  'ecdsa-sha2-nistp521': { kind: ecdsa, algorithms: ['ecdsa-sha2-nistp521'] },
  'ssh-rsa': { kind: rsa, algorithms: ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] },
  'ssh-dss': { kind: dsa, algorithms: ['ssh-dss'] },
  'sk-ssh-ed25519@openssh.com': { kind: skEd25519, algorithms: ['sk-ssh-ed25519@openssh.com'] },
  'sk-ecdsa-sha2-nistp256@openssh.com': {
    kind: skEcdsa,
    // webauthn-…: the signature a browser's WebAuthn API makes with the same key (verified, never made here).
    algorithms: ['sk-ecdsa-sha2-nistp256@openssh.com', 'webauthn-sk-ecdsa-sha2-nistp256@openssh.com'],
  },
};

/** True when `name` is a key type this library knows. */
export function isKeyType(name: string): name is KeyType {
  return Object.hasOwn(TABLE, name);
}

/** The implementation of a key type; throws {@link KeyError} for an unknown one. */
export function kindOf(type: string): KeyKind {
  if (!isKeyType(type)) throw new KeyError(`unsupported key type: ${type.slice(0, 64)}`);
  return TABLE[type].kind;
}

/** Signature algorithms a key of `type` can make or verify, best first. */
export function signatureAlgorithmsFor(type: KeyType): SignatureAlgorithm[] {
  const row = TABLE[type];
  if (!row) throw new KeyError(`unsupported key type: ${String(type).slice(0, 64)}`);
  return [...row.algorithms];
}

/** True when `alg` is a valid signature algorithm for keys of `type`. */
export function algorithmFits(type: KeyType, alg: string): alg is SignatureAlgorithm {
  return (TABLE[type]?.algorithms as readonly string[] | undefined)?.includes(alg) ?? false;
}

const CURVE_TYPES: Record<string, KeyType> = {
  prime256v1: 'ecdsa-sha2-nistp256',
  'P-256': 'ecdsa-sha2-nistp256',
  secp384r1: 'ecdsa-sha2-nistp384',
  'P-384': 'ecdsa-sha2-nistp384',
  secp521r1: 'ecdsa-sha2-nistp521',
  'P-521': 'ecdsa-sha2-nistp521',
};

/** The SSH key type of a node KeyObject (ed25519, EC P-256/384/521, RSA, DSA). */
export function keyTypeOf(key: KeyObject): KeyType {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'ssh-ed25519';
    case 'rsa':
      return 'ssh-rsa';
    case 'dsa':
      return 'ssh-dss';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
      const type = CURVE_TYPES[curve];
      if (!type) throw new KeyError(`unsupported EC curve: ${curve}`);
      return type;
    }
    default:
      throw new KeyError(`unsupported key algorithm: ${key.asymmetricKeyType ?? 'unknown'}`);
  }
}
