/**
 * MAC algorithms (RFC 4253 §6.4, RFC 6668, OpenSSH `*-etm@openssh.com`): the table and the HMAC
 * computation `MAC(key, uint32 seq || bytes)` shared by the classic and encrypt-then-MAC packet modes.
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { MacError } from '../errors.js';
import type { HashName, MacInfo } from './types.js';

/** Every MAC secsh implements: the defaults in preference order, then the insecure (SHA-1) rows. */
export const MACS: readonly MacInfo[] = Object.freeze([
  { name: 'hmac-sha2-256-etm@openssh.com', hash: 'sha256', keyLength: 32, length: 32, etm: true, insecure: false },
  { name: 'hmac-sha2-512-etm@openssh.com', hash: 'sha512', keyLength: 64, length: 64, etm: true, insecure: false },
  { name: 'hmac-sha2-256', hash: 'sha256', keyLength: 32, length: 32, etm: false, insecure: false },
  { name: 'hmac-sha2-512', hash: 'sha512', keyLength: 64, length: 64, etm: false, insecure: false },
  { name: 'hmac-sha1-etm@openssh.com', hash: 'sha1', keyLength: 20, length: 20, etm: true, insecure: true },
  { name: 'hmac-sha1', hash: 'sha1', keyLength: 20, length: 20, etm: false, insecure: true },
] satisfies MacInfo[]);

const BY_NAME = new Map(MACS.map((m) => [m.name, m]));

/** Looks up a MAC row by its SSH name. */
export function macInfo(name: string): MacInfo | undefined {
  return BY_NAME.get(name);
}

/**
 * A keyed packet MAC for one direction: `compute(seq, parts…)` returns HMAC(key, uint32 seq || parts).
 */
export class PacketMac {
  readonly length: number;
  private readonly hash: HashName;
  private readonly key: KeyObject;
  private readonly seqBuf = Buffer.alloc(4);

  /** `key` must be at least `info.keyLength` bytes; only that many are used. */
  constructor(info: MacInfo, key: Buffer) {
    if (key.length < info.keyLength) throw new RangeError(`${info.name} needs a ${info.keyLength}-byte key`);
    this.length = info.length;
    this.hash = info.hash;
    this.key = createSecretKey(key.subarray(0, info.keyLength)); // copied into the KeyObject
  }

  /** HMAC over `uint32 seq || a || b` (b optional). */
  compute(seq: number, a: Uint8Array, b?: Uint8Array): Buffer {
    this.seqBuf.writeUInt32BE(seq, 0);
    const h = createHmac(this.hash, this.key).update(this.seqBuf).update(a);
    if (b) h.update(b);
    return h.digest();
  }

  /** HMAC(key, uint32 seq || parts[0] || parts[1] || …). */
  computeParts(seq: number, parts: readonly Uint8Array[]): Buffer {
    this.seqBuf.writeUInt32BE(seq, 0);
    const h = createHmac(this.hash, this.key).update(this.seqBuf);
    for (const p of parts) h.update(p);
    return h.digest();
  }

  /** Recomputes the MAC and compares it with `received` in constant time; throws MacError on mismatch. */
  verify(seq: number, received: Uint8Array, a: Uint8Array, b?: Uint8Array): void {
    const mac = this.compute(seq, a, b);
    if (received.length !== mac.length || !timingSafeEqual(mac, received)) throw new MacError();
  }
}
