/**
 * `chacha20-poly1305@openssh.com` (OpenSSH PROTOCOL.chacha20poly1305).
 *
 * The 64-byte key splits into K_2 = bytes 0..31 (payload and Poly1305 key) and K_1 = bytes 32..63
 * (packet length). The nonce is the packet sequence number as a 64-bit big-endian value. The length
 * is encrypted with K_1 at block counter 0; the Poly1305 key is the first 32 bytes of K_2's keystream
 * block 0; the payload is encrypted with K_2 from block counter 1; the tag is Poly1305 over
 * `encrypted length || ciphertext`.
 *
 * node:crypto's `chacha20` takes a 16-byte IV = 32-bit little-endian counter || 96-bit nonce, while
 * OpenSSH uses a 64-bit counter || 64-bit nonce. For counters below 2^32 (packets are far smaller)
 * the IV `counter(4, LE) || 0(4) || seq(8, BE)` yields the same keystream.
 */
import { createCipheriv, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { MacError, ProtocolError } from '../errors.js';
import { Poly1305 } from './poly1305.js';
import type { PacketOpener, PacketSealer } from './types.js';

const TAG_LENGTH = 16;
/** One keystream block: its first 32 bytes are the Poly1305 key, the rest is discarded. */
const ZERO_BLOCK = Buffer.alloc(64);

/** Key halves, IV scratch and the reusable Poly1305 state for one direction. */
class ChaChaState {
  protected readonly mainKey: KeyObject;
  protected readonly lengthKey: KeyObject;
  protected readonly iv = Buffer.alloc(16);
  protected readonly poly = new Poly1305();

  constructor(key: Buffer) {
    if (key.length < 64) throw new RangeError('chacha20-poly1305@openssh.com needs a 64-byte key');
    this.mainKey = createSecretKey(Buffer.from(key.subarray(0, 32)));
    this.lengthKey = createSecretKey(Buffer.from(key.subarray(32, 64)));
  }

  /** Sets the IV for `seq` at block counter 0. */
  protected nonce(seq: number): Buffer {
    this.iv.writeUInt32BE(seq, 12); // bytes 0..11 stay zero: counter 0, high half of the 64-bit nonce 0
    return this.iv;
  }

  /** Encrypts or decrypts (the same operation) the 4 length bytes for `seq`. */
  protected cryptLength(seq: number, bytes: Buffer): Buffer {
    return createCipheriv('chacha20', this.lengthKey, this.nonce(seq)).update(bytes);
  }
}

/** Encrypts packets with chacha20-poly1305@openssh.com. */
export class ChaChaPolySealer extends ChaChaState implements PacketSealer {
  readonly blockSize = 8;
  readonly macLength = TAG_LENGTH;
  readonly lengthExcludedFromPadding = true;

  seal(seq: number, packet: Buffer): Buffer {
    const end = packet.length;
    const out = Buffer.allocUnsafe(end + TAG_LENGTH);
    this.cryptLength(seq, packet.subarray(0, 4)).copy(out, 0);
    const c = createCipheriv('chacha20', this.mainKey, this.nonce(seq));
    const polyKey = c.update(ZERO_BLOCK);
    c.update(packet.subarray(4)).copy(out, 4);
    this.poly.init(polyKey).update(out, 0, end).finish(out, end);
    polyKey.fill(0);
    return out;
  }
}

/** Decrypts and verifies chacha20-poly1305@openssh.com packets. */
export class ChaChaPolyOpener extends ChaChaState implements PacketOpener {
  readonly headerLength = 4;
  readonly macLength = TAG_LENGTH;
  readonly blockSize = 8;
  readonly lengthExcludedFromPadding = true;
  private readonly tag = Buffer.alloc(TAG_LENGTH);

  packetLength(seq: number, header: Buffer): number {
    return this.cryptLength(seq, header.subarray(0, 4)).readUInt32BE(0);
  }

  open(seq: number, data: Buffer): Buffer {
    const end = data.length - TAG_LENGTH;
    if (end < 4) throw new ProtocolError('chacha20-poly1305 packet is too short');
    const c = createCipheriv('chacha20', this.mainKey, this.nonce(seq));
    const polyKey = c.update(ZERO_BLOCK);
    this.poly.init(polyKey).update(data, 0, end).finish(this.tag, 0);
    polyKey.fill(0);
    if (!timingSafeEqual(this.tag, data.subarray(end)))
      throw new MacError('packet authentication failed (bad Poly1305 tag)');
    return c.update(data.subarray(4, end));
  }
}
