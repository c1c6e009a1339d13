/**
 * The binary packet protocol (RFC 4253 §6) without I/O: `push(chunk)` yields payloads, `encode(payload)`
 * yields bytes to send. Keys are swapped by the transport at NEWKEYS.
 */
import { randomFillSync } from 'node:crypto';
import { createOpener, createSealer } from '../crypto/cipher.js';
import type { PacketOpener, PacketSealer } from '../crypto/types.js';
import { MacError, ProtocolError } from '../errors.js';

/** RFC 4253 requires 35000; OpenSSH accepts 256 KiB. This is the limit on packet_length. */
export const MAX_PACKET_LENGTH = 256 * 1024;

/**
 * Where packets that span chunks are joined, shared by every decoder of the process (each use ends
 * before the call that made it returns): a packet every other read would otherwise allocate its own
 * buffer, and the garbage collector's work follows the bytes allocated.
 */
let joinScratch: Buffer | undefined;

/**
 * Collects chunks and hands out exact byte ranges with at most one copy. A range that spans chunks is
 * joined in the shared scratch buffer: what {@link take} returns is valid only until the next take,
 * which is all the decoder needs, since openers never keep views of their input.
 */
class ChunkQueue {
  private chunks: Buffer[] = [];
  private head = 0; // offset into chunks[0]
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.length += b.length;
  }

  /**
   * Returns the first n bytes without consuming (a view when possible). With `reuse`, a range that
   * spans chunks is joined in the shared scratch buffer (valid until the next call with `reuse`).
   */
  peek(n: number, reuse = false): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    let out: Buffer;
    if (reuse) {
      if (joinScratch === undefined || joinScratch.length < n)
        joinScratch = Buffer.allocUnsafeSlow(Math.max(n, 64 * 1024));
      out = joinScratch.subarray(0, n);
    } else {
      out = Buffer.allocUnsafe(n);
    }
    let got = 0;
    let off = this.head;
    for (const c of this.chunks) {
      const take = Math.min(n - got, c.length - off);
      c.copy(out, got, off, off + take);
      got += take;
      off = 0;
      if (got === n) break;
    }
    return out;
  }

  /**
   * Stops holding views of `region` (the caller reuses its memory; it was the last chunk pushed).
   * When `region` is the only chunk, its unconsumed tail is dropped and its length returned, for the
   * caller to offer again. When older chunks (our own copies) are still queued, the region is
   * unconsumed as a whole: it is copied and kept, and 0 is returned; each region is copied at most
   * once, so a packet arriving in many small reads costs linear time.
   */
  detach(region: Buffer): number {
    if (this.length === 0) {
      this.chunks = [];
      this.head = 0;
      return 0;
    }
    const last = this.chunks.length - 1;
    if (this.chunks[last] !== region) return 0; // region fully consumed: nothing of it is held
    if (last === 0) {
      const left = this.length;
      this.chunks = [];
      this.head = 0;
      this.length = 0;
      return left;
    }
    this.chunks[last] = Buffer.from(region);
    return 0;
  }

  /**
   * Consumes n bytes and returns them: a view of a chunk, or the joined bytes in the reused buffer,
   * valid until the next call.
   */
  take(n: number): Buffer {
    const out = this.peek(n, true);
    this.length -= n;
    // Drop whole chunks with one splice (shift() per chunk is quadratic when a packet came in many reads).
    let left = n;
    let i = 0;
    while (left > 0) {
      const c = this.chunks[i] as Buffer;
      const avail = c.length - this.head;
      if (avail > left) {
        this.head += left;
        left = 0;
      } else {
        left -= avail;
        i++;
        this.head = 0;
      }
    }
    if (i > 0) this.chunks.splice(0, i);
    return out;
  }
}

/**
 * What a corrupt packet under keys is called, whatever was wrong with it (a length out of range or
 * misaligned, a bad MAC or tag): one error and one DISCONNECT text, so the reply does not say which.
 */
const CORRUPT = 'packet corrupt (bad length or MAC)';

/** Decoder for incoming packets. */
export class PacketDecoder {
  private readonly queue = new ChunkQueue();
  private opener: PacketOpener = createOpener(null);
  private pendingLength = -1;
  /** Bytes of a corrupt packet still to read before failing (see PacketOpener.discardCorrupt), or -1. */
  private discardLeft = -1;
  /** Sequence number of the next packet (uint32, wraps). */
  seq = 0;
  /** Packets and bytes received under the current keys. */
  packets = 0;
  bytes = 0;

  setOpener(opener: PacketOpener): void {
    this.opener = opener;
    this.packets = 0;
    this.bytes = 0;
  }

  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  /** See {@link ChunkQueue.detach}: call after pushing `region` and decoding what it completed. */
  detach(region: Buffer): number {
    return this.queue.detach(region);
  }

  /**
   * Decodes the next whole packet, or returns undefined when more bytes are needed. Before keys are in
   * place a malformed length is a ProtocolError that says what was wrong; under keys every corrupt
   * packet is the same MacError, after reading exactly 4 + MAX_PACKET_LENGTH + MAC bytes from its
   * start when the opener asks for that (CBC), as OpenSSH does.
   */
  next(): Buffer | undefined {
    if (this.discardLeft >= 0) return this.discarding();
    const o = this.opener;
    if (this.pendingLength < 0) {
      if (this.queue.length < o.headerLength) return undefined;
      const len = o.packetLength(this.seq, this.queue.peek(o.headerLength));
      if (len > MAX_PACKET_LENGTH) return this.corrupt(`packet length ${len} exceeds limit ${MAX_PACKET_LENGTH}`, 0);
      if (len < 5) return this.corrupt(`packet length ${len} is too small`, 0);
      const aligned = o.lengthExcludedFromPadding ? len : len + 4;
      if (aligned % o.blockSize !== 0)
        return this.corrupt(`packet length ${len} is not a multiple of the cipher block size`, 0);
      this.pendingLength = len;
    }
    const total = 4 + this.pendingLength + o.macLength;
    if (this.queue.length < total) return undefined;
    const data = this.queue.take(total);
    let plain: Buffer;
    try {
      plain = o.open(this.seq, data);
    } catch (e) {
      if (e instanceof MacError) return this.corrupt(e.message, total);
      throw e;
    }
    const len = this.pendingLength;
    this.pendingLength = -1;
    this.seq = (this.seq + 1) % 0x100000000;
    this.packets++;
    this.bytes += total;
    const pad = plain[0] as number;
    if (pad < 4 || pad > len - 2) throw new ProtocolError(`invalid padding length ${pad}`);
    return plain.subarray(1, len - pad);
  }

  /** A corrupt packet, `consumed` bytes of which were taken from the queue. */
  private corrupt(detail: string, consumed: number): undefined {
    const o = this.opener;
    // No MAC: the clear state before the first NEWKEYS, where saying what was wrong helps and hides nothing.
    if (o.macLength === 0) throw new ProtocolError(detail);
    if (!o.discardCorrupt) throw new MacError(CORRUPT);
    this.pendingLength = -1;
    this.discardLeft = 4 + MAX_PACKET_LENGTH + o.macLength - consumed;
    return this.discarding();
  }

  /** Drops input towards the discard limit; fails once it is reached. */
  private discarding(): undefined {
    const n = Math.min(this.queue.length, this.discardLeft);
    if (n > 0) {
      const dropped = this.queue.take(n);
      this.opener.discard?.(this.seq, dropped);
      this.discardLeft -= n;
    }
    if (this.discardLeft === 0) throw new MacError(CORRUPT);
    return undefined;
  }
}

/** Random padding, drawn from the CSPRNG a few KiB at a time rather than per packet. */
class PaddingSource {
  private readonly pool = Buffer.allocUnsafeSlow(16384);
  private used = this.pool.length;

  /**
   * `n` (≤ 255) fresh random bytes, valid until the next call that refills the pool (in place):
   * callers use them at once (copied into a packet, or read by sealParts during the call).
   */
  take(n: number): Buffer {
    if (this.used + n > this.pool.length) {
      randomFillSync(this.pool);
      this.used = 0;
    }
    const out = this.pool.subarray(this.used, this.used + n);
    this.used += n;
    return out;
  }
}

/**
 * One pool for every connection of the process: the bytes are handed out once each and used within
 * the call, so sharing them costs nothing, where a pool per connection was 4 KiB of every idle one.
 */
const PADDING = new PaddingSource();

/** Encoder for outgoing packets. */
export class PacketEncoder {
  private sealer: PacketSealer = createSealer(null);
  private readonly padding = PADDING;
  seq = 0;
  packets = 0;
  bytes = 0;

  setSealer(sealer: PacketSealer): void {
    this.sealer = sealer;
    this.packets = 0;
    this.bytes = 0;
  }

  /** Padding length for a payload of `n` bytes (at least 4, to the sealer's block size). */
  private padFor(n: number): number {
    const s = this.sealer;
    const bs = s.blockSize;
    const base = 1 + n + (s.lengthExcludedFromPadding ? 0 : 4);
    const pad = bs - (base % bs);
    return pad < 4 ? pad + bs : pad;
  }

  encode(payload: Buffer): Buffer {
    const pad = this.padFor(payload.length);
    const packetLength = 1 + payload.length + pad;
    const packet = Buffer.allocUnsafe(4 + packetLength);
    packet.writeUInt32BE(packetLength, 0);
    packet[4] = pad;
    payload.copy(packet, 5);
    this.padding.take(pad).copy(packet, 5 + payload.length);
    const out = this.sealer.seal(this.seq, packet);
    this.advance(out.length);
    return out;
  }

  /**
   * Encodes the payload `head || body` without joining it first, when the sealer can take parts
   * (otherwise as {@link encode}). Returns the bytes to send, in order; `body` is only read during the call.
   */
  encodeParts(head: Buffer, body: Buffer): Buffer[] {
    const s = this.sealer;
    if (!s.sealParts) return [this.encode(Buffer.concat([head, body]))];
    const n = head.length + body.length;
    const pad = this.padFor(n);
    const prefix = Buffer.allocUnsafe(5 + head.length);
    prefix.writeUInt32BE(1 + n + pad, 0);
    prefix[4] = pad;
    head.copy(prefix, 5);
    const out = s.sealParts(this.seq, [prefix, body, this.padding.take(pad)]);
    let len = 0;
    for (const b of out) len += b.length;
    this.advance(len);
    return out;
  }

  private advance(wireBytes: number): void {
    this.seq = (this.seq + 1) % 0x100000000;
    this.packets++;
    this.bytes += wireBytes;
  }
}
