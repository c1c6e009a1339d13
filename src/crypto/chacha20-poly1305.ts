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
import { type Cipher, createCipheriv, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { MacError, ProtocolError } from '../errors.js';
import { Poly1305 } from './poly1305.js';
import type { PacketOpener, PacketSealer } from './types.js';

const TAG_LENGTH = 16;

/** Reads key bytes [o, o+32) as eight little-endian words. */
function keyWords(key: Buffer, o: number): Uint32Array {
  const w = new Uint32Array(8);
  for (let i = 0; i < 8; i++) w[i] = key.readUInt32LE(o + 4 * i);
  return w;
}

/** ChaCha20 quarter round on x[a], x[b], x[c], x[d] (32-bit words). */
function qr(x: Int32Array, a: number, b: number, c: number, d: number): void {
  let xa = x[a] as number;
  let xb = x[b] as number;
  let xc = x[c] as number;
  let xd = x[d] as number;
  xa = (xa + xb) | 0;
  xd ^= xa;
  xd = (xd << 16) | (xd >>> 16);
  xc = (xc + xd) | 0;
  xb ^= xc;
  xb = (xb << 12) | (xb >>> 20);
  xa = (xa + xb) | 0;
  xd ^= xa;
  xd = (xd << 8) | (xd >>> 24);
  xc = (xc + xd) | 0;
  xb ^= xc;
  xb = (xb << 7) | (xb >>> 25);
  x[a] = xa;
  x[b] = xb;
  x[c] = xc;
  x[d] = xd;
}

/**
 * One ChaCha20 block (RFC 8439 §2.3) at block counter 0 with OpenSSH's 64-bit nonce = `seq`
 * big-endian, written as 16 words to `out` (`work` is scratch). Used for the length keystream and the
 * Poly1305 key, so that only the payload needs a node:crypto cipher object (creating one costs
 * microseconds).
 */
function chachaBlock0(key: Uint32Array, seq: number, work: Int32Array, out: Uint32Array): void {
  out[0] = 0x61707865; // "expand 32-byte k"
  out[1] = 0x3320646e;
  out[2] = 0x79622d32;
  out[3] = 0x6b206574;
  out.set(key, 4);
  out[12] = 0; // 64-bit block counter
  out[13] = 0;
  out[14] = 0; // nonce bytes 0..3: high half of the 64-bit big-endian sequence number
  // Nonce bytes 4..7 (seq big-endian) read as a little-endian word.
  out[15] =
    (seq % 256) * 16777216 +
    (Math.floor(seq / 256) % 256) * 65536 +
    (Math.floor(seq / 65536) % 256) * 256 +
    Math.floor(seq / 16777216);
  work.set(out);
  for (let i = 0; i < 10; i++) {
    qr(work, 0, 4, 8, 12);
    qr(work, 1, 5, 9, 13);
    qr(work, 2, 6, 10, 14);
    qr(work, 3, 7, 11, 15);
    qr(work, 0, 5, 10, 15);
    qr(work, 1, 6, 11, 12);
    qr(work, 2, 7, 8, 13);
    qr(work, 3, 4, 9, 14);
  }
  for (let i = 0; i < 16; i++) out[i] = (out[i] as number) + (work[i] as number);
  work.fill(0);
}

/** Key halves, scratch and the reusable Poly1305 state for one direction. */
class ChaChaState {
  /** K_2 for node:crypto (payload from block counter 1). */
  protected readonly mainKey: KeyObject;
  /** K_2 and K_1 as words for {@link chachaBlock0}. */
  private readonly mainWords: Uint32Array;
  private readonly lengthWords: Uint32Array;
  /** IV `1(4, LE) || 0(4) || seq(8, BE)`: block counter 1 for the payload. */
  private readonly iv = Buffer.alloc(16);
  private readonly block = new Uint32Array(16);
  private readonly work = new Int32Array(16);
  private readonly polyKey = Buffer.alloc(32);
  protected readonly poly = new Poly1305();

  constructor(key: Buffer) {
    if (key.length < 64) throw new RangeError('chacha20-poly1305@openssh.com needs a 64-byte key');
    this.mainKey = createSecretKey(Buffer.from(key.subarray(0, 32)));
    this.mainWords = keyWords(key, 0);
    this.lengthWords = keyWords(key, 32);
    this.iv[0] = 1;
  }

  /** XORs `src[0..4)` with the K_1 keystream for `seq` into `dst[0..4)` (encrypts or decrypts). */
  protected cryptLength(seq: number, src: Uint8Array, dst: Uint8Array): void {
    const b = this.block;
    chachaBlock0(this.lengthWords, seq, this.work, b);
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
    chachaBlock0(this.mainWords, seq, this.work, b);
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
    this.payloadCipher(seq).update(packet.subarray(4)).copy(out, 4);
    this.startPoly(seq).update(out, 0, end).finish(out, end);
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
    return this.payloadCipher(seq).update(data.subarray(4, end));
  }
}
