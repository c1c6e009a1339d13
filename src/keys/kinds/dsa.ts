/** ssh-dss (RFC 4253 §6.6): legacy 1024-bit DSA with SHA-1; read, written and used for signing only on request. */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { KeyError } from '../../errors.js';
import { SshWriter } from '../../wire/index.js';
import { der, derUint, derUnsigned, readChildren, readSequence, readTlv } from '../der.js';
import { bitLength, readPositiveMpint, toBig } from '../util.js';
import type { KeyKind, PublicMaterial } from './kind.js';

const MAX_P_BYTES = 384; // 3072 bits
const Q_BYTES = 20; // ssh-dss signatures are 160-bit r || s

/** OID 1.2.840.10040.4.1 (id-dsa). */
const ID_DSA = Buffer.from('06072a8648ce380401', 'hex');

interface DsaParts {
  p: Buffer;
  q: Buffer;
  g: Buffer;
  y: Buffer;
}

function checkParams(p: Buffer, q: Buffer, g: Buffer, y: Buffer): number {
  const bits = bitLength(p);
  if (bits < 1024) throw new KeyError('DSA modulus smaller than 1024 bits');
  if (bitLength(q) !== 160) throw new KeyError('DSA q must be 160 bits');
  const P = toBig(p);
  const G = toBig(g);
  const Y = toBig(y);
  if (G < 2n || G >= P || Y < 2n || Y >= P) throw new KeyError('invalid DSA parameters');
  return bits;
}

function algId(p: Buffer, q: Buffer, g: Buffer): Buffer {
  return der(0x30, Buffer.concat([ID_DSA, der(0x30, Buffer.concat([derUint(p), derUint(q), derUint(g)]))]));
}

function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let r = 1n;
  let b = base % m;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
  }
  return r;
}

/** p, q, g and y of a DSA KeyObject, from its SPKI encoding. */
function publicParts(key: KeyObject): DsaParts {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const spki = readSequence(pub.export({ type: 'spki', format: 'der' }));
  const alg = readChildren((spki[0] as { body: Buffer }).body);
  const params = readChildren((alg[1] ?? { body: Buffer.alloc(0) }).body);
  const bits = spki[1];
  if (bits?.tag !== 0x03 || bits.body[0] !== 0) throw new KeyError('bad DSA public key encoding');
  const y = derUnsigned(readTlv(bits.body.subarray(1), 0));
  return { p: derUnsigned(params[0]), q: derUnsigned(params[1]), g: derUnsigned(params[2]), y };
}

/** The private exponent x of a DSA KeyObject, from its PKCS#8 encoding. */
function privateX(key: KeyObject): Buffer {
  const p8 = readSequence(key.export({ type: 'pkcs8', format: 'der' }));
  const oct = p8[2];
  if (oct?.tag !== 0x04) throw new KeyError('bad DSA private key encoding');
  return derUnsigned(readTlv(oct.body, 0));
}

export const dsa: KeyKind = {
  readPublic(_type, r): PublicMaterial {
    const p = readPositiveMpint(r, MAX_P_BYTES, 'DSA p', true);
    const q = readPositiveMpint(r, Q_BYTES, 'DSA q', true);
    const g = readPositiveMpint(r, MAX_P_BYTES, 'DSA g', true);
    const y = readPositiveMpint(r, MAX_P_BYTES, 'DSA y', true);
    const bits = checkParams(p, q, g, y);
    const spki = der(0x30, Buffer.concat([algId(p, q, g), der(0x03, Buffer.concat([Buffer.from([0]), derUint(y)]))]));
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

  readPrivate(_type, r) {
    const p = readPositiveMpint(r, MAX_P_BYTES, 'DSA p');
    const q = readPositiveMpint(r, Q_BYTES, 'DSA q');
    const g = readPositiveMpint(r, MAX_P_BYTES, 'DSA g');
    const y = readPositiveMpint(r, MAX_P_BYTES, 'DSA y');
    const x = readPositiveMpint(r, Q_BYTES, 'DSA x');
    checkParams(p, q, g, y);
    const X = toBig(x);
    if (X >= toBig(q)) throw new KeyError('invalid DSA private key');
    if (modPow(toBig(g), X, toBig(p)) !== toBig(y)) throw new KeyError('DSA private key does not match its public key');
    const p8 = der(0x30, Buffer.concat([derUint(Buffer.from([0])), algId(p, q, g), der(0x04, derUint(x))]));
    try {
      return createPrivateKey({ key: p8, format: 'der', type: 'pkcs8' });
    } catch (e) {
      throw new KeyError('invalid DSA private key', { cause: e });
    } finally {
      p8.fill(0);
    }
  },

  writePrivate(_type, key, w) {
    const { p, q, g, y } = publicParts(key);
    w.mpintFromUnsigned(p).mpintFromUnsigned(q).mpintFromUnsigned(g).mpintFromUnsigned(y);
    w.mpintFromUnsigned(privateX(key));
  },

  publicBlob(type, key) {
    const { p, q, g, y } = publicParts(key);
    if (bitLength(q) !== 160) throw new KeyError('ssh-dss keys need a 160-bit q');
    return Buffer.from(
      new SshWriter(1024)
        .string(type)
        .mpintFromUnsigned(p)
        .mpintFromUnsigned(q)
        .mpintFromUnsigned(g)
        .mpintFromUnsigned(y)
        .toBuffer(),
    );
  },

  sign(_type, key, _alg, data) {
    return sign('sha1', data, { key, dsaEncoding: 'ieee-p1363' });
  },
};
