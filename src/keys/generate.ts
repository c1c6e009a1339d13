/** Key generation through node:crypto. */
import { freshPrivateKey } from '../crypto/fresh-key.js';
import { InvalidArgumentError } from '../errors.js';
import { RSA_MAX_BITS, RSA_MIN_BITS } from './kinds/rsa.js';
import { PrivateKey } from './private-key.js';

/** Options for {@link generatePrivateKey}. */
export interface GenerateOptions {
  /** ECDSA: 256 (default), 384 or 521. RSA: 1024–16384, default 3072. DSA: 1024 only. Ignored for Ed25519. */
  bits?: number;
  /** The key's comment (default `''`). */
  comment?: string;
}

/**
 * Generates a new private key. RSA generation is synchronous and can take a second or more. `dsa` (1024-bit,
 * as `ssh-keygen -t dsa`) exists for old peers only: ssh-dss signatures are SHA-1 and off by default.
 */
export function generatePrivateKey(type: 'ed25519' | 'ecdsa' | 'rsa' | 'dsa', opts: GenerateOptions = {}): PrivateKey {
  const comment = opts.comment ?? '';
  switch (type) {
    case 'ed25519':
      return PrivateKey.fromKeyObject(freshPrivateKey('ed25519'), comment);
    case 'ecdsa': {
      const bits = opts.bits ?? 256;
      const curve = bits === 256 ? 'P-256' : bits === 384 ? 'P-384' : bits === 521 ? 'P-521' : undefined;
      if (!curve) throw new InvalidArgumentError('ECDSA keys are 256, 384 or 521 bits');
      return PrivateKey.fromKeyObject(freshPrivateKey('ec', { namedCurve: curve }), comment);
    }
    case 'rsa': {
      const bits = opts.bits ?? 3072;
      if (!Number.isInteger(bits) || bits < RSA_MIN_BITS || bits > RSA_MAX_BITS || bits % 8 !== 0) {
        throw new InvalidArgumentError(`RSA keys are ${RSA_MIN_BITS}–${RSA_MAX_BITS} bits, a multiple of 8`);
      }
      return PrivateKey.fromKeyObject(freshPrivateKey('rsa', { modulusLength: bits, publicExponent: 65537 }), comment);
    }
    case 'dsa': {
      if ((opts.bits ?? 1024) !== 1024) throw new InvalidArgumentError('DSA keys are 1024 bits');
      return PrivateKey.fromKeyObject(freshPrivateKey('dsa', { modulusLength: 1024, divisorLength: 160 }), comment);
    }
    default:
      throw new InvalidArgumentError(`unknown key type to generate: ${String(type)}`);
  }
}
