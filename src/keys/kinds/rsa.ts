/** ssh-rsa keys with rsa-sha2-512 / rsa-sha2-256 (RFC 8332) and legacy ssh-rsa (SHA-1) signatures. */
import { constants, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { HashName } from '../../crypto/types.js';
import { KeyError } from '../../errors.js';
import { SshWriter } from '../../wire/index.js';
import type { SignatureAlgorithm } from '../types.js';
import { b64u, bitLength, fromB64u, readPositiveMpint, toBig } from '../util.js';
import type { KeyKind, PublicMaterial } from './kind.js';

/** Largest modulus accepted (bits), checked before any arithmetic. */
export const RSA_MAX_BITS = 16384;
/** Smallest modulus accepted (bits), as OpenSSH. */
export const RSA_MIN_BITS = 1024;
const MAX_BYTES = RSA_MAX_BITS / 8;
/** Public exponents longer than this many bytes are refused (OpenSSL limits them to 64 bits for large keys). */
const MAX_E_BYTES = 8;

function hashFor(alg: SignatureAlgorithm): HashName {
  if (alg === 'rsa-sha2-512') return 'sha512';
  if (alg === 'rsa-sha2-256') return 'sha256';
  if (alg === 'ssh-rsa') return 'sha1';
  throw new KeyError(`${alg} is not an RSA signature algorithm`);
}

function checkSizes(n: Buffer, e: Buffer): number {
  const bits = bitLength(n);
  if (bits > RSA_MAX_BITS) throw new KeyError(`RSA modulus larger than ${RSA_MAX_BITS} bits`);
  if (bits < RSA_MIN_BITS) throw new KeyError(`RSA modulus smaller than ${RSA_MIN_BITS} bits`);
  if (((e[e.length - 1] as number) & 1) === 0 || (e.length === 1 && (e[0] as number) < 3)) {
    throw new KeyError('invalid RSA public exponent');
  }
  if (((n[n.length - 1] as number) & 1) === 0) throw new KeyError('RSA modulus is even');
  return bits;
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function toUnsigned(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

export const rsa: KeyKind = {
  readPublic(_type, r): PublicMaterial {
    const e = readPositiveMpint(r, MAX_E_BYTES, 'RSA public exponent', true);
    const n = readPositiveMpint(r, MAX_BYTES, 'RSA modulus', true);
    const bits = checkSizes(n, e);
    const key = createPublicKey({ key: { kty: 'RSA', n: b64u(n), e: b64u(e) }, format: 'jwk' });
    return { key, bits };
  },

  verify(pub, _type, alg, data, sig) {
    const hash = hashFor(alg);
    const len = Math.ceil(pub.bits / 8);
    if (sig.length > len || sig.length === 0) return false;
    let s = sig;
    if (sig.length < len) {
      // Some signers drop leading zero bytes; OpenSSL wants the full modulus length.
      s = Buffer.alloc(len);
      sig.copy(s, len - sig.length);
    }
    return verify(hash, data, { key: pub.key, padding: constants.RSA_PKCS1_PADDING }, s);
  },

  readPrivate(_type, r) {
    const n = readPositiveMpint(r, MAX_BYTES, 'RSA modulus');
    const e = readPositiveMpint(r, MAX_E_BYTES, 'RSA public exponent');
    checkSizes(n, e);
    const d = readPositiveMpint(r, MAX_BYTES, 'RSA private exponent');
    const iqmp = readPositiveMpint(r, MAX_BYTES, 'RSA iqmp');
    const p = readPositiveMpint(r, MAX_BYTES, 'RSA prime p');
    const q = readPositiveMpint(r, MAX_BYTES, 'RSA prime q');
    const [N, D, P, Q, IQ] = [toBig(n), toBig(d), toBig(p), toBig(q), toBig(iqmp)];
    if (P < 3n || Q < 3n || P * Q !== N || D >= N || mod(IQ * Q, P) !== 1n) {
      throw new KeyError('inconsistent RSA private key');
    }
    const dp = mod(D, P - 1n);
    const dq = mod(D, Q - 1n);
    try {
      return createPrivateKey({
        key: {
          kty: 'RSA',
          n: b64u(n),
          e: b64u(e),
          d: b64u(d),
          p: b64u(p),
          q: b64u(q),
          dp: b64u(toUnsigned(dp)),
          dq: b64u(toUnsigned(dq)),
          qi: b64u(iqmp),
        },
        format: 'jwk',
      });
    } catch (err) {
      throw new KeyError('invalid RSA private key', { cause: err });
    }
  },

  writePrivate(_type, key, w) {
    const j = key.export({ format: 'jwk' });
    for (const part of [j.n, j.e, j.d, j.qi, j.p, j.q]) w.mpintFromUnsigned(fromB64u(part));
  },

  publicBlob(type, key) {
    const j = key.export({ format: 'jwk' });
    return Buffer.from(
      new SshWriter(600).string(type).mpintFromUnsigned(fromB64u(j.e)).mpintFromUnsigned(fromB64u(j.n)).toBuffer(),
    );
  },

  sign(_type, key, alg, data) {
    return sign(hashFor(alg), data, { key, padding: constants.RSA_PKCS1_PADDING });
  },
};
