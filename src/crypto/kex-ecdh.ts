/**
 * Elliptic-curve key agreement for SSH: X25519 (RFC 8731) and the NIST curves (RFC 5656).
 * Pure functions of bytes; node:crypto (OpenSSL) does the arithmetic.
 */

import type { KeyObject } from 'node:crypto';
import { createECDH, createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { DisconnectReason, InvalidArgumentError, ProtocolError } from '../errors.js';
import { SshWriter, unsignedToMpint } from '../wire/index.js';
import { freshPrivateKey } from './fresh-key.js';
import { hasEcdhCurve } from './runtime.js';
import type { KexKeyPair } from './types.js';

/** A KEY_EXCHANGE_FAILED ProtocolError (for the key exchange methods). */
export function kexFailed(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError(message, DisconnectReason.KEY_EXCHANGE_FAILED, cause === undefined ? undefined : { cause });
}

/**
 * Encodes a shared secret given as unsigned big-endian bytes as K enters the exchange hash: an
 * mpint with its uint32 length prefix (leading zeros stripped, 0x00 prepended when the top bit is set).
 */
export function encodeSharedSecret(secret: Uint8Array): Buffer {
  const mpint = unsignedToMpint(secret);
  return Buffer.from(new SshWriter(mpint.length + 4).string(mpint).toBuffer());
}

/** True when every byte is zero; examines every byte whatever the data. */
function allZero(b: Uint8Array): boolean {
  let acc = 0;
  for (const x of b) acc |= x;
  return acc === 0;
}

// PKCS#8 / SPKI DER prefixes for X25519 (OID 1.3.101.110), followed by the 32 raw key bytes.
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

function x25519PublicRaw(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  if (
    der.length !== X25519_SPKI_PREFIX.length + 32 ||
    !der.subarray(0, X25519_SPKI_PREFIX.length).equals(X25519_SPKI_PREFIX)
  ) {
    throw new Error('unexpected X25519 public key encoding');
  }
  return Buffer.from(der.subarray(X25519_SPKI_PREFIX.length));
}

/**
 * The raw 32-byte X25519 shared secret of `privateKey` and a peer's 32-byte public value. Throws a
 * KEY_EXCHANGE_FAILED ProtocolError on a bad length, an invalid point or an all-zero result.
 */
function x25519Shared(privateKey: KeyObject, peerPublic: Buffer): Buffer {
  if (peerPublic.length !== 32) throw kexFailed(`X25519 public value must be 32 bytes, got ${peerPublic.length}`);
  let secret: Buffer;
  try {
    const peer = createPublicKey({
      key: Buffer.concat([X25519_SPKI_PREFIX, peerPublic]),
      format: 'der',
      type: 'spki',
    });
    secret = diffieHellman({ privateKey, publicKey: peer });
  } catch (e) {
    // OpenSSL refuses low-order points (all-zero output) itself.
    throw kexFailed('X25519 key agreement failed (invalid peer public value)', e);
  }
  if (secret.length !== 32 || allZero(secret)) {
    secret.fill(0);
    throw kexFailed('X25519 shared secret is all zeros (low-order peer public value)');
  }
  return secret;
}

function x25519Pair(privateKey: KeyObject): KexKeyPair {
  const raw = x25519RawPair(privateKey);
  return {
    publicValue: raw.publicValue,
    agree(peerPublic: Buffer): Buffer {
      const secret = raw.shared(peerPublic);
      // RFC 8731 §3: the 32 output bytes are read as a big-endian unsigned number.
      const k = encodeSharedSecret(secret);
      secret.fill(0);
      return k;
    },
  };
}

function x25519PrivateFromScalar(scalar: Uint8Array): KeyObject {
  if (scalar.length !== 32) throw new InvalidArgumentError('X25519 private scalar must be 32 bytes');
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, scalar]), format: 'der', type: 'pkcs8' });
}

/** An X25519 keypair whose agreement yields the raw 32-byte secret (for the hybrid post-quantum methods). */
export interface X25519RawKeyPair {
  /** Our 32-byte public value. */
  readonly publicValue: Buffer;
  /** The raw 32-byte shared secret (checked: right length, valid point, not all zero). The caller zeroizes it. */
  shared(peerPublic: Buffer): Buffer;
}

/** A fresh X25519 keypair giving raw secrets; `scalar` (32 bytes) fixes the private key, for tests. */
export function x25519RawKeyPair(scalar?: Uint8Array): X25519RawKeyPair {
  return x25519RawPair(scalar === undefined ? freshPrivateKey('x25519') : x25519PrivateFromScalar(scalar));
}

function x25519RawPair(privateKey: KeyObject): X25519RawKeyPair {
  return {
    publicValue: x25519PublicRaw(createPublicKey(privateKey)),
    shared: (peerPublic: Buffer) => x25519Shared(privateKey, peerPublic),
  };
}

/** A fresh X25519 keypair (curve25519-sha256). `publicValue` is the 32-byte u-coordinate. */
export function x25519KeyPair(): KexKeyPair {
  return x25519Pair(freshPrivateKey('x25519'));
}

/** Internal and tests only: an X25519 keypair from a given 32-byte private scalar (as in RFC 7748 vectors). */
export function x25519KeyPairFromPrivate(scalar: Uint8Array): KexKeyPair {
  return x25519Pair(x25519PrivateFromScalar(scalar));
}

/**
 * The NIST curves of RFC 5656, by SSH name: OpenSSL's curve name, the JWK name, the SEC 1 curve OID
 * (DER contents) and the field size in bytes.
 */
export const NIST_CURVES = {
  nistp256: { openssl: 'prime256v1', jwk: 'P-256', oid: '2a8648ce3d030107', fieldBytes: 32 },
  nistp384: { openssl: 'secp384r1', jwk: 'P-384', oid: '2b81040022', fieldBytes: 48 },
  nistp521: { openssl: 'secp521r1', jwk: 'P-521', oid: '2b81040023', fieldBytes: 66 },
} as const;

export type NistCurve = keyof typeof NIST_CURVES;

/** The agreement half shared by both implementations: checks the point's form, maps failures. */
function nistPair(curve: NistCurve, publicValue: Buffer, compute: (peerPublic: Buffer) => Buffer): KexKeyPair {
  const pointLength = 1 + 2 * NIST_CURVES[curve].fieldBytes;
  return {
    publicValue,
    agree(peerPublic: Buffer): Buffer {
      if (peerPublic.length !== pointLength || peerPublic[0] !== 0x04) {
        throw kexFailed(`${curve} public value must be an uncompressed point of ${pointLength} bytes`);
      }
      let secret: Buffer;
      try {
        secret = compute(peerPublic);
      } catch (e) {
        throw kexFailed(`${curve} public value is not a point on the curve`, e);
      }
      // RFC 5656 §4: K is the x-coordinate of the shared point, as an mpint.
      const k = encodeSharedSecret(secret);
      secret.fill(0);
      return k;
    },
  };
}

/**
 * A NIST-curve ECDH keypair (ecdh-sha2-nistp*). `publicValue` is the uncompressed point
 * 0x04 || X || Y. `privateKey` (big-endian scalar) is for internal use and tests. Uses `createECDH`
 * where the runtime has the curve (Deno's lacks secp521r1), else {@link nistKeyPairFromKeyObjects}.
 */
export function nistKeyPair(curve: NistCurve, privateKey?: Uint8Array): KexKeyPair {
  const spec = NIST_CURVES[curve];
  if (!hasEcdhCurve(spec.openssl)) return nistKeyPairFromKeyObjects(curve, privateKey);
  const ecdh = createECDH(spec.openssl);
  if (privateKey === undefined) ecdh.generateKeys();
  else ecdh.setPrivateKey(Buffer.from(privateKey));
  return nistPair(curve, ecdh.getPublicKey(), (peer) => ecdh.computeSecret(peer));
}

function derTlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), content]);
}

/**
 * The same keypair through KeyObjects (`generateKeyPairSync`, a SEC 1 import for a given scalar, JWK
 * for the points, `diffieHellman`), for runtimes whose `createECDH` lacks the curve. The peer's
 * point is checked to be on the curve when it is imported.
 */
export function nistKeyPairFromKeyObjects(curve: NistCurve, privateKey?: Uint8Array): KexKeyPair {
  const spec = NIST_CURVES[curve];
  let priv: KeyObject;
  if (privateKey === undefined) priv = freshPrivateKey('ec', { namedCurve: spec.jwk });
  else {
    // ECPrivateKey (SEC 1 §C.4) without the optional public key: version 1, scalar, [0] curve OID.
    if (privateKey.length > spec.fieldBytes) throw new InvalidArgumentError(`${curve} private scalar too long`);
    const d = Buffer.alloc(spec.fieldBytes);
    d.set(privateKey, spec.fieldBytes - privateKey.length);
    const der = derTlv(
      0x30,
      Buffer.concat([
        Buffer.from([2, 1, 1]),
        derTlv(0x04, d),
        derTlv(0xa0, derTlv(0x06, Buffer.from(spec.oid, 'hex'))),
      ]),
    );
    priv = createPrivateKey({ key: der, format: 'der', type: 'sec1' });
    d.fill(0);
    der.fill(0);
  }
  const jwk = createPublicKey(priv).export({ format: 'jwk' });
  const coordinate = (v: string | undefined): Buffer => {
    const b = Buffer.from(v ?? '', 'base64url');
    if (b.length > spec.fieldBytes) throw new InvalidArgumentError(`${curve} coordinate too long`);
    return Buffer.concat([Buffer.alloc(spec.fieldBytes - b.length), b]);
  };
  const publicValue = Buffer.concat([Buffer.from([4]), coordinate(jwk.x), coordinate(jwk.y)]);
  return nistPair(curve, publicValue, (peer) => {
    const n = spec.fieldBytes;
    const publicKey = createPublicKey({
      key: {
        kty: 'EC',
        crv: spec.jwk,
        x: peer.subarray(1, 1 + n).toString('base64url'),
        y: peer.subarray(1 + n).toString('base64url'),
      },
      format: 'jwk',
    });
    return diffieHellman({ privateKey: priv, publicKey });
  });
}
