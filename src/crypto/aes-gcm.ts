/**
 * `aes128-gcm@openssh.com` / `aes256-gcm@openssh.com` (RFC 5647 as OpenSSH implements it, see
 * OpenSSH PROTOCOL §1.6): the 4-byte packet length is clear and authenticated as AAD; the 12-byte
 * nonce is a 4-byte fixed field and an 8-byte big-endian invocation counter that is incremented after
 * every packet; the tag is 16 bytes. The negotiated MAC is not used.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { MacError, ProtocolError } from '../errors.js';
import { ownCopy } from '../wire/index.js';
import type { PacketOpener, PacketSealer } from './types.js';

const TAG_LENGTH = 16;

/** Shared key and nonce state for one direction. */
class GcmState {
  protected readonly algorithm: 'aes-128-gcm' | 'aes-256-gcm';
  protected readonly key: KeyObject;
  /** fixed(4) || invocation_counter(8), big-endian; advanced after each packet. */
  protected readonly nonce: Buffer;

  constructor(keyLength: number, key: Buffer, iv: Buffer) {
    if (keyLength !== 16 && keyLength !== 32) throw new RangeError('AES-GCM key must be 16 or 32 bytes');
    if (key.length < keyLength || iv.length < 12) throw new RangeError('AES-GCM key or IV too short');
    this.algorithm = keyLength === 16 ? 'aes-128-gcm' : 'aes-256-gcm';
    this.key = createSecretKey(key.subarray(0, keyLength)); // copied into the KeyObject
    // Memory of its own: a pooled copy would hold a shared 8 KiB slab for the keys' life.
    this.nonce = ownCopy(iv.subarray(0, 12));
  }

  /** Increments the 64-bit invocation counter (bytes 4..11), wrapping at 2^64 as OpenSSH does. */
  protected advance(): void {
    const n = this.nonce;
    for (let i = 11; i >= 4; i--) {
      const v = (n[i] as number) + 1;
      n[i] = v & 0xff;
      if (v < 256) return;
    }
  }
}

/** Encrypts packets with AES-GCM. */
export class GcmSealer extends GcmState implements PacketSealer {
  readonly blockSize = 16;
  readonly macLength = TAG_LENGTH;
  readonly lengthExcludedFromPadding = true;

  seal(_seq: number, packet: Buffer): Buffer {
    const bodyEnd = packet.length;
    const c = createCipheriv(this.algorithm, this.key, this.nonce, { authTagLength: TAG_LENGTH });
    c.setAAD(packet.subarray(0, 4));
    const out = Buffer.allocUnsafe(bodyEnd + TAG_LENGTH);
    packet.copy(out, 0, 0, 4);
    const ct = c.update(packet.subarray(4));
    const fin = c.final();
    ct.copy(out, 4);
    if (fin.length > 0) fin.copy(out, 4 + ct.length);
    c.getAuthTag().copy(out, bodyEnd);
    this.advance();
    return out;
  }

  sealParts(_seq: number, parts: readonly Buffer[]): Buffer[] {
    const first = parts[0];
    if (first === undefined || first.length < 4) throw new RangeError('packet is too short');
    const c = createCipheriv(this.algorithm, this.key, this.nonce, { authTagLength: TAG_LENGTH });
    const length = first.subarray(0, 4);
    c.setAAD(length);
    const out: Buffer[] = [length];
    if (first.length > 4) out.push(c.update(first.subarray(4)));
    for (let i = 1; i < parts.length; i++) out.push(c.update(parts[i] as Buffer));
    const fin = c.final();
    if (fin.length > 0) out.push(fin);
    out.push(c.getAuthTag());
    this.advance();
    return out;
  }
}

/** Decrypts and verifies AES-GCM packets. */
export class GcmOpener extends GcmState implements PacketOpener {
  readonly headerLength = 4;
  readonly macLength = TAG_LENGTH;
  readonly blockSize = 16;
  readonly lengthExcludedFromPadding = true;

  packetLength(_seq: number, header: Buffer): number {
    return header.readUInt32BE(0);
  }

  open(_seq: number, data: Buffer): Buffer {
    const end = data.length - TAG_LENGTH;
    if (end < 4 || data.readUInt32BE(0) !== end - 4) throw new ProtocolError('AES-GCM packet has the wrong size');
    const d = createDecipheriv(this.algorithm, this.key, this.nonce, { authTagLength: TAG_LENGTH });
    d.setAAD(data.subarray(0, 4));
    d.setAuthTag(data.subarray(end));
    const plain = d.update(data.subarray(4, end));
    try {
      d.final();
    } catch {
      // Nothing decrypted is returned: the tag did not verify.
      plain.fill(0);
      throw new MacError('packet authentication failed (bad AES-GCM tag)');
    }
    this.advance();
    return plain;
  }
}
