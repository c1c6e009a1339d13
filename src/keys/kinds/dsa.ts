/** ssh-dss (RFC 4253 §6.6): legacy, verification only. */
import { createPublicKey, verify } from 'node:crypto';
import { KeyError } from '../../errors.js';
import { bitLength, readPositiveMpint } from '../util.js';
import type { KeyKind, PublicMaterial } from './kind.js';

const MAX_P_BYTES = 384; // 3072 bits
const Q_BYTES = 20; // ssh-dss signatures are 160-bit r || s

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 + bytes.length, ...bytes]);
}

function der(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

function derUint(mag: Buffer): Buffer {
  const body = (mag[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), mag]) : mag;
  return der(0x02, body);
}

/** OID 1.2.840.10040.4.1 (id-dsa). */
const ID_DSA = Buffer.from('06072a8648ce380401', 'hex');

function unsupported(): never {
  throw new KeyError('DSA (ssh-dss) private keys are not supported');
}

export const dsa: KeyKind = {
  readPublic(_type, r): PublicMaterial {
    const p = readPositiveMpint(r, MAX_P_BYTES, 'DSA p');
    const q = readPositiveMpint(r, Q_BYTES, 'DSA q');
    const g = readPositiveMpint(r, MAX_P_BYTES, 'DSA g');
    const y = readPositiveMpint(r, MAX_P_BYTES, 'DSA y');
    const bits = bitLength(p);
    if (bits < 1024) throw new KeyError('DSA modulus smaller than 1024 bits');
    if (bitLength(q) !== 160) throw new KeyError('DSA q must be 160 bits');
    const params = der(0x30, Buffer.concat([derUint(p), derUint(q), derUint(g)]));
    const algId = der(0x30, Buffer.concat([ID_DSA, params]));
    const spki = der(0x30, Buffer.concat([algId, der(0x03, Buffer.concat([Buffer.from([0]), derUint(y)]))]));
    try {
      return { key: createPublicKey({ key: spki, format: 'der', type: 'spki' }), bits };
    } catch (e) {
      throw new KeyError('invalid DSA public key', { cause: e });
    }
  },

  verify(pub, _type, _alg, data, sig) {
    if (sig.length !== 2 * Q_BYTES) return false;
    try {
      return verify('sha1', data, { key: pub.key, dsaEncoding: 'ieee-p1363' }, sig);
    } catch {
      return false;
    }
  },

  readPrivate: unsupported,
  writePrivate: unsupported,
  publicBlob: unsupported,
  sign: unsupported,
};
