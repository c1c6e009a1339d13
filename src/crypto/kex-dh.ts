/**
 * Finite-field Diffie-Hellman for SSH (RFC 4253 §8, RFC 4419, RFC 8268), over any group.
 *
 * OpenSSL does the (constant-time) exponentiation through KeyObjects built from DER: node's
 * `createDiffieHellman(p, g)` runs a primality check of p on every construction, which takes seconds
 * for the large primes a group-exchange server sends. The private exponent is chosen here.
 */

import type { KeyObject } from 'node:crypto';
import { createPrivateKey, createPublicKey, diffieHellman, randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { bigintToUnsigned } from '../wire/index.js';
import { bitLength, DH_GROUPS } from './dh-groups.js';
import { encodeSharedSecret, kexFailed } from './kex-ecdh.js';
import { probe } from './runtime.js';
import type { DhGroup, KexKeyPair } from './types.js';

/** Smallest and largest prime (bits) a keypair may be built for. */
export const DH_MIN_BITS = 1024;
export const DH_MAX_BITS = 8192;

/** Security strength in bits of a prime of `bits` bits (NIST SP 800-57 Part 1, Table 2, interpolated). */
function securityStrength(bits: number): number {
  if (bits <= 1024) return 80;
  if (bits <= 2048) return 112;
  if (bits <= 3072) return 128;
  if (bits <= 4096) return 152;
  if (bits <= 6144) return 176;
  return 200;
}

/**
 * Bits of the private exponent for a prime of `pBits` bits: twice the group's security strength,
 * at least 512 (what OpenSSH uses with 256-bit keys), and below the prime's size.
 */
export function privateExponentBits(pBits: number): number {
  return Math.min(Math.max(512, 2 * securityStrength(pBits)), pBits - 1);
}

// --- minimal DER for PKCS#3 DH keys (OID 1.2.840.113549.1.3.1 dhKeyAgreement) ---

const DH_OID = Buffer.from('06092a864886f70d010301', 'hex');

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 + bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

function derInteger(v: bigint): Buffer {
  const mag = bigintToUnsigned(v);
  const body = mag.length === 0 || (mag[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), mag]) : mag;
  return tlv(0x02, body);
}

function algorithmIdentifier(group: DhGroup): Buffer {
  return tlv(0x30, Buffer.concat([DH_OID, tlv(0x30, Buffer.concat([derInteger(group.p), derInteger(group.g)]))]));
}

function pkcs8(group: DhGroup, x: bigint): Buffer {
  return tlv(0x30, Buffer.concat([Buffer.from('020100', 'hex'), algorithmIdentifier(group), tlv(0x04, derInteger(x))]));
}

function spki(group: DhGroup, y: bigint): Buffer {
  return tlv(
    0x30,
    Buffer.concat([algorithmIdentifier(group), tlv(0x03, Buffer.concat([Buffer.from([0]), derInteger(y)]))]),
  );
}

/** Reads one DER element at `pos`: its tag and content bounds. Throws on malformed input. */
function readTlv(der: Buffer, pos: number): { tag: number; start: number; end: number } {
  const tag = der[pos];
  let len = der[pos + 1];
  if (tag === undefined || len === undefined) throw new Error('short DER');
  let start = pos + 2;
  if (len & 0x80) {
    const n = len - 0x80;
    if (n < 1 || n > 3) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) {
      const b = der[start + i];
      if (b === undefined) throw new Error('short DER');
      len = len * 256 + b;
    }
    start += n;
  }
  const end = start + len;
  if (end > der.length) throw new Error('short DER');
  return { tag, start, end };
}

/** y from an exported DH SubjectPublicKeyInfo. */
function publicFromSpki(der: Buffer): Buffer {
  const outer = readTlv(der, 0);
  const alg = readTlv(der, outer.start);
  const bits = readTlv(der, alg.end);
  if (outer.tag !== 0x30 || alg.tag !== 0x30 || bits.tag !== 0x03 || der[bits.start] !== 0)
    throw new Error('unexpected SPKI');
  const int = readTlv(der, bits.start + 1);
  if (int.tag !== 0x02) throw new Error('unexpected SPKI');
  let i = int.start;
  while (i < int.end && der[i] === 0) i++;
  return Buffer.from(der.subarray(i, int.end));
}

function dhPrivateKey(group: DhGroup, x: bigint): KeyObject {
  return createPrivateKey({ key: pkcs8(group, x), format: 'der', type: 'pkcs8' });
}

/**
 * Whether this runtime's node:crypto takes finite-field DH keys as KeyObjects (probed once). Bun's
 * (BoringSSL) does not, and its `createDiffieHellman` tests the prime on every construction (about
 * 0.5 s for 2048 bits, over a minute for 8192), so the diffie-hellman-* methods are left out there.
 */
export function hasFiniteFieldDh(): boolean {
  return probe('ffdh', () => {
    const group = DH_GROUPS[2048];
    if (!group) throw new Error('missing DH group 2048');
    dhPrivateKey(group, 2n);
  });
}

function randomExponent(bits: number): bigint {
  const bytes = randomBytes(Math.ceil(bits / 8));
  let x = BigInt(`0x${bytes.toString('hex')}`);
  bytes.fill(0);
  x &= (1n << BigInt(bits)) - 1n;
  x |= 1n << BigInt(bits - 1); // exactly `bits` bits, so 2 <= x < p - 1
  return x;
}

/**
 * A finite-field DH keypair in `group`. `publicValue` is e (or f) as unsigned big-endian bytes.
 * `agree(peer)` requires 1 < peer < p-1 and returns K as an mpint with its length prefix.
 * `privateExponent` is for internal use and tests; by default one of
 * {@link privateExponentBits} bits is drawn.
 */
export function dhKeyPair(group: DhGroup, privateExponent?: bigint): KexKeyPair {
  if (!hasFiniteFieldDh())
    throw new InvalidArgumentError('finite-field Diffie-Hellman is not available on this runtime (no DH KeyObjects)');
  const { p, g } = group;
  const pBits = bitLength(p);
  if (pBits < DH_MIN_BITS || pBits > DH_MAX_BITS)
    throw new InvalidArgumentError(`DH prime must have ${DH_MIN_BITS}..${DH_MAX_BITS} bits`);
  if (g <= 1n || g >= p - 1n) throw new InvalidArgumentError('DH generator out of range');
  const x = privateExponent ?? randomExponent(privateExponentBits(pBits));
  if (x < 2n || x >= p - 1n) throw new InvalidArgumentError('DH private exponent out of range');
  const privateKey = dhPrivateKey(group, x);
  const publicValue = publicFromSpki(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
  const pBytes = Math.ceil(pBits / 8);
  return {
    publicValue,
    agree(peerPublic: Buffer): Buffer {
      if (peerPublic.length > pBytes) throw kexFailed('DH public value out of range');
      const f = peerPublic.length === 0 ? 0n : BigInt(`0x${peerPublic.toString('hex')}`);
      if (f <= 1n || f >= p - 1n) throw kexFailed('DH public value out of range');
      let secret: Buffer;
      try {
        const peer = createPublicKey({ key: spki(group, f), format: 'der', type: 'spki' });
        secret = diffieHellman({ privateKey, publicKey: peer });
      } catch (e) {
        throw kexFailed('DH key agreement failed', e);
      }
      const k = encodeSharedSecret(secret);
      secret.fill(0);
      return k;
    },
  };
}
