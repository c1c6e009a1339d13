/** ecdsa-sha2-nistp256/384/521 (RFC 5656). */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import type { HashName } from '../../crypto/types.js';
import { KeyError } from '../../errors.js';
import { SshReader, SshWriter } from '../../wire/index.js';
import type { KeyType } from '../types.js';
import { fromB64u, readPositiveMpint } from '../util.js';
import type { KeyKind, PublicMaterial } from './kind.js';

interface Curve {
  readonly sshName: string;
  readonly jwkName: 'P-256' | 'P-384' | 'P-521';
  /** Bytes per coordinate / scalar. */
  readonly size: number;
  readonly bits: number;
  readonly hash: HashName;
}

const CURVES: Record<string, Curve> = {
  'ecdsa-sha2-nistp256': { sshName: 'nistp256', jwkName: 'P-256', size: 32, bits: 256, hash: 'sha256' },
  'ecdsa-sha2-nistp384': { sshName: 'nistp384', jwkName: 'P-384', size: 48, bits: 384, hash: 'sha384' },
  'ecdsa-sha2-nistp521': { sshName: 'nistp521', jwkName: 'P-521', size: 66, bits: 521, hash: 'sha512' },
};

/** The curve of an ECDSA key type. */
export function curveOf(type: KeyType): Curve {
  const c = CURVES[type];
  if (!c) throw new KeyError(`not an ECDSA key type: ${type}`);
  return c;
}

/** The SSH key type for a JWK curve name, or undefined. */
export function ecdsaTypeForCurve(jwkCurve: string): KeyType | undefined {
  for (const [type, c] of Object.entries(CURVES)) if (c.jwkName === jwkCurve) return type as KeyType;
  return undefined;
}

function readCurveAndPoint(type: KeyType, r: SshReader): { curve: Curve; q: Buffer } {
  const curve = curveOf(type);
  const name = r.ascii(32);
  if (name !== curve.sshName) throw new KeyError('ECDSA curve name does not match key type');
  const q = r.string(1 + 2 * curve.size);
  if (q.length !== 1 + 2 * curve.size || q[0] !== 0x04) throw new KeyError('ECDSA public point must be uncompressed');
  return { curve, q };
}

function jwkPoint(curve: Curve, q: Buffer): { kty: 'EC'; crv: string; x: string; y: string } {
  return {
    kty: 'EC',
    crv: curve.jwkName,
    x: q.subarray(1, 1 + curve.size).toString('base64url'),
    y: q.subarray(1 + curve.size).toString('base64url'),
  };
}

function pointOf(curve: Curve, key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), fromB64u(jwk.x, curve.size), fromB64u(jwk.y, curve.size)]);
}

export const ecdsa: KeyKind = {
  readPublic(type, r): PublicMaterial {
    const { curve, q } = readCurveAndPoint(type, r);
    try {
      return { key: createPublicKey({ key: jwkPoint(curve, q), format: 'jwk' }), bits: curve.bits };
    } catch (e) {
      throw new KeyError('ECDSA public point is not on the curve', { cause: e });
    }
  },

  verify(pub, type, _alg, data, sig) {
    const curve = curveOf(type);
    let rs: Buffer;
    try {
      const r = new SshReader(sig);
      const rr = readPositiveMpint(r, curve.size, 'r');
      const ss = readPositiveMpint(r, curve.size, 's');
      r.ensureEnd();
      rs = Buffer.alloc(2 * curve.size);
      rr.copy(rs, curve.size - rr.length);
      ss.copy(rs, 2 * curve.size - ss.length);
    } catch {
      return false;
    }
    return verify(curve.hash, data, { key: pub.key, dsaEncoding: 'ieee-p1363' }, rs);
  },

  readPrivate(type, r) {
    const { curve, q } = readCurveAndPoint(type, r);
    const d = readPositiveMpint(r, curve.size, 'ECDSA private scalar');
    const padded = Buffer.alloc(curve.size);
    d.copy(padded, curve.size - d.length);
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: { ...jwkPoint(curve, q), d: padded.toString('base64url') }, format: 'jwk' });
    } catch (e) {
      throw new KeyError('invalid ECDSA private key', { cause: e });
    }
    if (!pointOf(curve, createPublicKey(key)).equals(q)) {
      throw new KeyError('ECDSA private key does not match its public key');
    }
    return key;
  },

  writePrivate(type, key, w) {
    const curve = curveOf(type);
    const jwk = key.export({ format: 'jwk' });
    w.string(curve.sshName).string(pointOf(curve, key)).mpintFromUnsigned(fromB64u(jwk.d));
  },

  publicBlob(type, key) {
    const curve = curveOf(type);
    return Buffer.from(new SshWriter(200).string(type).string(curve.sshName).string(pointOf(curve, key)).toBuffer());
  },

  sign(type, key, _alg, data) {
    const curve = curveOf(type);
    const rs = sign(curve.hash, data, { key, dsaEncoding: 'ieee-p1363' });
    return Buffer.from(
      new SshWriter(160)
        .mpintFromUnsigned(rs.subarray(0, curve.size))
        .mpintFromUnsigned(rs.subarray(curve.size))
        .toBuffer(),
    );
  },
};
