/** ssh-ed25519 (RFC 8709, RFC 8032). */
import { createPrivateKey, createPublicKey, type KeyObject, sign, timingSafeEqual, verify } from 'node:crypto';
import { KeyError } from '../../errors.js';
import { type SshReader, SshWriter } from '../../wire/index.js';
import { fromB64u } from '../util.js';
import type { KeyKind, PublicMaterial } from './kind.js';

function publicFromRaw(pk: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pk.toString('base64url') }, format: 'jwk' });
}

function rawPublic(key: KeyObject): Buffer {
  return fromB64u(key.export({ format: 'jwk' }).x, 32);
}

export const ed25519: KeyKind = {
  readPublic(_type, r: SshReader): PublicMaterial {
    const pk = r.string(64);
    if (pk.length !== 32) throw new KeyError('ed25519 public key must be 32 bytes');
    return { key: publicFromRaw(pk), bits: 256 };
  },

  verify(pub, _type, _alg, data, sig) {
    if (sig.length !== 64) return false;
    return verify(null, data, pub.key, sig);
  },

  readPrivate(_type, r) {
    const pk = r.string(64);
    const sk = r.string(128);
    if (pk.length !== 32 || sk.length !== 64) throw new KeyError('bad ed25519 private key lengths');
    if (!timingSafeEqual(sk.subarray(32), pk)) throw new KeyError('ed25519 private key does not match its public key');
    const seed = sk.subarray(0, 32);
    const key = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: pk.toString('base64url'), d: seed.toString('base64url') },
      format: 'jwk',
    });
    if (!rawPublic(key).equals(pk)) throw new KeyError('ed25519 private key does not match its public key');
    return key;
  },

  writePrivate(_type, key, w) {
    const jwk = key.export({ format: 'jwk' });
    const pk = fromB64u(jwk.x, 32);
    w.string(pk).string(Buffer.concat([fromB64u(jwk.d, 32), pk]));
  },

  publicBlob(type, key) {
    return Buffer.from(new SshWriter(64).string(type).string(rawPublic(key)).toBuffer());
  },

  sign(_type, key, _alg, data) {
    return sign(null, data, key);
  },
};
