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
 *
 * Creating a node:crypto cipher costs a few microseconds, so the length keystream, the Poly1305 key
 * and payloads up to SMALL_PAYLOAD bytes come from an in-process ChaCha20 block function; only larger
 * payloads use node:crypto (one cipher object per packet). Where node:crypto has no `chacha20` (Bun),
 * the block function does every payload.
 */
import { type Cipher, createCipheriv, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { MacError, ProtocolError } from '../errors.js';
import { Poly1305 } from './poly1305.js';
import { hasNodeCipher } from './runtime.js';
import type { PacketOpener, PacketSealer } from './types.js';

const TAG_LENGTH = 16;
/** Payloads up to this many bytes are encrypted with {@link chachaBlock} instead of node:crypto. */
const SMALL_PAYLOAD = 768;

/** Reads key bytes [o, o+32) as eight little-endian words. */
function keyWords(key: Buffer, o: number): Uint32Array {
  const w = new Uint32Array(8);
  for (let i = 0; i < 8; i++) w[i] = key.readUInt32LE(o + 4 * i);
  return w;
}

/**
 * One ChaCha20 block (RFC 8439 §2.3) at block `counter` (< 2^32) with OpenSSH's 64-bit nonce =
 * `seq` big-endian, written as 16 words to `out`. Used for the length keystream, the Poly1305 key and
 * small payloads, where creating a node:crypto cipher object (microseconds) would cost more.
 */
function chachaBlock(key: Uint32Array, counter: number, seq: number, out: Uint32Array): void {
  const c0 = 0x61707865;
  const c1 = 0x3320646e;
  const c2 = 0x79622d32;
  const c3 = 0x6b206574;
  const k0 = key[0] as number;
  const k1 = key[1] as number;
  const k2 = key[2] as number;
  const k3 = key[3] as number;
  const k4 = key[4] as number;
  const k5 = key[5] as number;
  const k6 = key[6] as number;
  const k7 = key[7] as number;
  // Nonce bytes 4..7 (seq big-endian) read as a little-endian word; bytes 0..3 are zero.
  const n =
    (seq % 256) * 16777216 +
    (Math.floor(seq / 256) % 256) * 65536 +
    (Math.floor(seq / 65536) % 256) * 256 +
    Math.floor(seq / 16777216);
  let x0 = c0 | 0;
  let x1 = c1 | 0;
  let x2 = c2 | 0;
  let x3 = c3 | 0;
  let x4 = k0 | 0;
  let x5 = k1 | 0;
  let x6 = k2 | 0;
  let x7 = k3 | 0;
  let x8 = k4 | 0;
  let x9 = k5 | 0;
  let x10 = k6 | 0;
  let x11 = k7 | 0;
  let x12 = counter | 0;
  let x13 = 0 | 0;
  let x14 = 0 | 0;
  let x15 = n | 0;
  let t = 0;
  for (let round = 0; round < 10; round++) {
    // Column round.
    x0 = (x0 + x4) | 0;
    t = x12 ^ x0;
    x12 = (t << 16) | (t >>> 16);
    x8 = (x8 + x12) | 0;
    t = x4 ^ x8;
    x4 = (t << 12) | (t >>> 20);
    x0 = (x0 + x4) | 0;
    t = x12 ^ x0;
    x12 = (t << 8) | (t >>> 24);
    x8 = (x8 + x12) | 0;
    t = x4 ^ x8;
    x4 = (t << 7) | (t >>> 25);
    x1 = (x1 + x5) | 0;
    t = x13 ^ x1;
    x13 = (t << 16) | (t >>> 16);
    x9 = (x9 + x13) | 0;
    t = x5 ^ x9;
    x5 = (t << 12) | (t >>> 20);
    x1 = (x1 + x5) | 0;
    t = x13 ^ x1;
    x13 = (t << 8) | (t >>> 24);
    x9 = (x9 + x13) | 0;
    t = x5 ^ x9;
    x5 = (t << 7) | (t >>> 25);
    x2 = (x2 + x6) | 0;
    t = x14 ^ x2;
    x14 = (t << 16) | (t >>> 16);
    x10 = (x10 + x14) | 0;
    t = x6 ^ x10;
    x6 = (t << 12) | (t >>> 20);
    x2 = (x2 + x6) | 0;
    t = x14 ^ x2;
    x14 = (t << 8) | (t >>> 24);
    x10 = (x10 + x14) | 0;
    t = x6 ^ x10;
    x6 = (t << 7) | (t >>> 25);
    x3 = (x3 + x7) | 0;
    t = x15 ^ x3;
    x15 = (t << 16) | (t >>> 16);
    x11 = (x11 + x15) | 0;
    t = x7 ^ x11;
    x7 = (t << 12) | (t >>> 20);
    x3 = (x3 + x7) | 0;
    t = x15 ^ x3;
    x15 = (t << 8) | (t >>> 24);
    x11 = (x11 + x15) | 0;
    t = x7 ^ x11;
    x7 = (t << 7) | (t >>> 25);
    // Diagonal round.
    x0 = (x0 + x5) | 0;
    t = x15 ^ x0;
    x15 = (t << 16) | (t >>> 16);
    x10 = (x10 + x15) | 0;
    t = x5 ^ x10;
    x5 = (t << 12) | (t >>> 20);
    x0 = (x0 + x5) | 0;
    t = x15 ^ x0;
    x15 = (t << 8) | (t >>> 24);
    x10 = (x10 + x15) | 0;
    t = x5 ^ x10;
    x5 = (t << 7) | (t >>> 25);
    x1 = (x1 + x6) | 0;
    t = x12 ^ x1;
    x12 = (t << 16) | (t >>> 16);
    x11 = (x11 + x12) | 0;
    t = x6 ^ x11;
    x6 = (t << 12) | (t >>> 20);
    x1 = (x1 + x6) | 0;
    t = x12 ^ x1;
    x12 = (t << 8) | (t >>> 24);
    x11 = (x11 + x12) | 0;
    t = x6 ^ x11;
    x6 = (t << 7) | (t >>> 25);
    x2 = (x2 + x7) | 0;
    t = x13 ^ x2;
    x13 = (t << 16) | (t >>> 16);
    x8 = (x8 + x13) | 0;
    t = x7 ^ x8;
    x7 = (t << 12) | (t >>> 20);
    x2 = (x2 + x7) | 0;
    t = x13 ^ x2;
    x13 = (t << 8) | (t >>> 24);
    x8 = (x8 + x13) | 0;
    t = x7 ^ x8;
    x7 = (t << 7) | (t >>> 25);
    x3 = (x3 + x4) | 0;
    t = x14 ^ x3;
    x14 = (t << 16) | (t >>> 16);
    x9 = (x9 + x14) | 0;
    t = x4 ^ x9;
    x4 = (t << 12) | (t >>> 20);
    x3 = (x3 + x4) | 0;
    t = x14 ^ x3;
    x14 = (t << 8) | (t >>> 24);
    x9 = (x9 + x14) | 0;
    t = x4 ^ x9;
    x4 = (t << 7) | (t >>> 25);
  }
  out[0] = x0 + c0;
  out[1] = x1 + c1;
  out[2] = x2 + c2;
  out[3] = x3 + c3;
  out[4] = x4 + k0;
  out[5] = x5 + k1;
  out[6] = x6 + k2;
  out[7] = x7 + k3;
  out[8] = x8 + k4;
  out[9] = x9 + k5;
  out[10] = x10 + k6;
  out[11] = x11 + k7;
  out[12] = x12 + counter;
  out[13] = x13;
  out[14] = x14;
  out[15] = x15 + n;
}

/** Key halves, scratch and the reusable Poly1305 state for one direction. */
class ChaChaState {
  /** K_2 for node:crypto (payload from block counter 1). */
  protected readonly mainKey: KeyObject;
  /** K_2 and K_1 as words for {@link chachaBlock}. */
  private readonly mainWords: Uint32Array;
  private readonly lengthWords: Uint32Array;
  /** IV `1(4, LE) || 0(4) || seq(8, BE)`: block counter 1 for the payload. */
  private readonly iv = Buffer.alloc(16);
  private readonly block = new Uint32Array(16);
  private readonly polyKey = Buffer.alloc(32);
  protected readonly poly = new Poly1305();
  /** Payloads over SMALL_PAYLOAD go to node:crypto's `chacha20` (when the runtime has it). */
  protected readonly nodePayload = hasNodeCipher('chacha20', 32, 16);

  constructor(key: Buffer) {
    if (key.length < 64) throw new RangeError('chacha20-poly1305@openssh.com needs a 64-byte key');
    this.mainKey = createSecretKey(key.subarray(0, 32)); // copied into the KeyObject
    this.mainWords = keyWords(key, 0);
    this.lengthWords = keyWords(key, 32);
    this.iv[0] = 1;
  }

  /** XORs `src[0..4)` with the K_1 keystream for `seq` into `dst[0..4)` (encrypts or decrypts). */
  protected cryptLength(seq: number, src: Uint8Array, dst: Uint8Array): void {
    const b = this.block;
    chachaBlock(this.lengthWords, 0, seq, b);
    const w = b[0] as number;
    dst[0] = (src[0] as number) ^ (w & 0xff);
    dst[1] = (src[1] as number) ^ ((w >>> 8) & 0xff);
    dst[2] = (src[2] as number) ^ ((w >>> 16) & 0xff);
    dst[3] = (src[3] as number) ^ (w >>> 24);
    b.fill(0);
  }

  /** Starts the Poly1305 state with the one-time key (first 32 bytes of K_2's block 0 for `seq`). */
  protected startPoly(seq: number): Poly1305 {
    const b = this.block;
    const k = this.polyKey;
    chachaBlock(this.mainWords, 0, seq, b);
    for (let i = 0; i < 8; i++) k.writeUInt32LE(b[i] as number, 4 * i);
    this.poly.init(k);
    b.fill(0);
    k.fill(0);
    return this.poly;
  }

  /** A node:crypto ChaCha20 for the payload of packet `seq` (K_2 from block counter 1). */
  protected payloadCipher(seq: number): Cipher {
    this.iv.writeUInt32BE(seq, 12);
    return createCipheriv('chacha20', this.mainKey, this.iv);
  }

  /**
   * XORs `src[start..end)` with K_2's keystream for `seq` from block counter 1 into `dst` at `at`,
   * with the block function (for payloads up to {@link SMALL_PAYLOAD} bytes).
   */
  protected cryptSmall(seq: number, src: Buffer, start: number, end: number, dst: Buffer, at: number): void {
    const len = end - start;
    const b = this.block;
    for (let off = 0; off < len; off += 64) {
      chachaBlock(this.mainWords, 1 + off / 64, seq, b);
      const n = Math.min(64, len - off);
      for (let i = 0; i < n; i++) {
        const w = b[i >>> 2] as number; // keystream word, not a wire value
        dst[at + off + i] = (src[start + off + i] as number) ^ ((w >>> (8 * (i & 3))) & 0xff);
      }
    }
    b.fill(0);
  }
}

/** Encrypts packets with chacha20-poly1305@openssh.com. */
export class ChaChaPolySealer extends ChaChaState implements PacketSealer {
  readonly blockSize = 8;
  readonly macLength = TAG_LENGTH;
  readonly lengthExcludedFromPadding = true;

  seal(seq: number, packet: Buffer): Buffer {
    const end = packet.length;
    if (end < 4) throw new RangeError('packet is too short');
    const out = Buffer.allocUnsafe(end + TAG_LENGTH);
    this.cryptLength(seq, packet, out);
    if (end - 4 <= SMALL_PAYLOAD || !this.nodePayload) this.cryptSmall(seq, packet, 4, end, out, 4);
    else this.payloadCipher(seq).update(packet.subarray(4)).copy(out, 4);
    this.startPoly(seq).update(out, 0, end).finish(out, end);
    return out;
  }

  sealParts(seq: number, parts: readonly Buffer[]): Buffer[] {
    const first = parts[0];
    if (first === undefined || first.length < 4) throw new RangeError('packet is too short');
    let total = 0;
    for (const p of parts) total += p.length;
    if (total - 4 <= SMALL_PAYLOAD || !this.nodePayload)
      return [this.seal(seq, parts.length === 1 ? first : Buffer.concat(parts, total))];
    const length = Buffer.allocUnsafe(4);
    this.cryptLength(seq, first, length);
    const out: Buffer[] = [length];
    const c = this.payloadCipher(seq);
    if (first.length > 4) out.push(c.update(first.subarray(4)));
    for (let i = 1; i < parts.length; i++) out.push(c.update(parts[i] as Buffer));
    const poly = this.startPoly(seq);
    for (const b of out) poly.update(b, 0, b.length);
    const tag = Buffer.allocUnsafe(TAG_LENGTH);
    poly.finish(tag, 0);
    out.push(tag);
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
  private readonly length = Buffer.alloc(4);

  packetLength(seq: number, header: Buffer): number {
    if (header.length < 4) throw new ProtocolError('chacha20-poly1305 header is too short');
    this.cryptLength(seq, header, this.length);
    return this.length.readUInt32BE(0);
  }

  open(seq: number, data: Buffer): Buffer {
    const end = data.length - TAG_LENGTH;
    if (end < 4) throw new ProtocolError('chacha20-poly1305 packet is too short');
    this.startPoly(seq).update(data, 0, end).finish(this.tag, 0);
    if (!timingSafeEqual(this.tag, data.subarray(end)))
      throw new MacError('packet authentication failed (bad Poly1305 tag)');
    if (end - 4 > SMALL_PAYLOAD && this.nodePayload) return this.payloadCipher(seq).update(data.subarray(4, end));
    const out = Buffer.allocUnsafe(end - 4);
    this.cryptSmall(seq, data, 4, end, out, 0);
    return out;
  }
}
