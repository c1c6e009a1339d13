/**
 * The transport's compression state for both directions (RFC 4253 §6.2): which method each
 * direction negotiated, and the zlib context in use. Each NEWKEYS starts a new context in its
 * direction, as OpenSSH and every other peer do; `zlib@openssh.com` starts only once the user is
 * authenticated (in both directions at once).
 */
import { PacketCompressor, PacketDecompressor } from '../crypto/compress.js';

export class TransportCompression {
  private compressor: PacketCompressor | undefined;
  private decompressor: PacketDecompressor | undefined;
  private outMethod = 'none';
  private inMethod = 'none';
  private authenticated = false;

  /** `maxInflated` caps one inflated payload (the packet limit). */
  constructor(private readonly maxInflated: number) {}

  /** Outgoing payloads are compressed now. */
  get active(): boolean {
    return this.compressor !== undefined;
  }

  /** The payload as it goes into the packet. */
  compress(payload: Buffer): Buffer {
    return this.compressor ? this.compressor.compress(payload) : payload;
  }

  /** A received payload, inflated when compression is on in that direction. */
  decompress(payload: Buffer): Buffer {
    return this.decompressor ? this.decompressor.decompress(payload) : payload;
  }

  /** Our NEWKEYS went out: a new outgoing context (or none) for `method`. */
  outgoingKeys(method: string): void {
    this.outMethod = method;
    this.compressor?.close();
    this.compressor = this.starts(method) ? new PacketCompressor() : undefined;
  }

  /** The peer's NEWKEYS arrived: a new incoming context (or none) for `method`. */
  incomingKeys(method: string): void {
    this.inMethod = method;
    this.decompressor?.close();
    this.decompressor = this.starts(method) ? new PacketDecompressor(this.maxInflated) : undefined;
  }

  /** USERAUTH_SUCCESS passed: delayed compression starts in both directions. */
  onAuthenticated(): void {
    this.authenticated = true;
    if (!this.compressor && this.outMethod === 'zlib@openssh.com') this.compressor = new PacketCompressor();
    if (!this.decompressor && this.inMethod === 'zlib@openssh.com')
      this.decompressor = new PacketDecompressor(this.maxInflated);
  }

  /** Releases the zlib state. */
  close(): void {
    this.compressor?.close();
    this.decompressor?.close();
  }

  private starts(method: string): boolean {
    return method === 'zlib' || (method === 'zlib@openssh.com' && this.authenticated);
  }
}
