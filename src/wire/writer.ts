/**
 * Growable writer for RFC 4251 §5 data types. Lengths are computed by the writer.
 *
 * @example
 * const payload = new SshWriter().byte(MSG.SERVICE_REQUEST).string('ssh-userauth').toBuffer();
 */
export class SshWriter {
  private buf: Buffer;
  private pos: number;

  /** `reserve` bytes are left at the start (for a packet header), `initial` is the starting capacity. */
  constructor(initial = 256, reserve = 0) {
    this.buf = Buffer.allocUnsafe(Math.max(initial, reserve + 16));
    this.pos = reserve;
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  bool(v: boolean): this {
    return this.byte(v ? 1 : 0);
  }

  uint32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`uint32 out of range: ${v}`);
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  uint64(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
    return this;
  }

  /** Raw bytes with no length prefix. */
  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** A length-prefixed string; a JS string is encoded as UTF-8. */
  string(v: Uint8Array | string): this {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    this.uint32(b.length);
    return this.raw(b);
  }

  /** A comma-separated name-list. */
  nameList(names: readonly string[]): this {
    return this.string(names.join(','));
  }

  /** An mpint from a bigint (two's complement, minimal length). */
  mpint(v: bigint): this {
    return this.string(bigintToMpint(v));
  }

  /** An mpint from unsigned big-endian magnitude bytes (leading zeros stripped, 0x00 added if the top bit is set). */
  mpintFromUnsigned(b: Uint8Array): this {
    return this.string(unsignedToMpint(b));
  }

  /** Reserves a uint32 length field and returns a function that fills it with the bytes written since. */
  beginLength(): () => void {
    const at = this.pos;
    this.uint32(0);
    return () => {
      this.buf.writeUInt32BE(this.pos - at - 4, at);
    };
  }

  /** The bytes written (a view over the internal buffer; do not write afterwards). */
  toBuffer(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Encodes a bigint as mpint bytes (no length prefix). */
export function bigintToMpint(v: bigint): Buffer {
  if (v === 0n) return Buffer.alloc(0);
  if (v > 0n) {
    let hex = v.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    const b = Buffer.from(hex, 'hex');
    return (b[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
  }
  // negative: two's complement with minimal length
  let bytes = 1;
  while (-v > 1n << BigInt(bytes * 8 - 1)) bytes++;
  const tc = (1n << BigInt(bytes * 8)) + v;
  let hex = tc.toString(16).padStart(bytes * 2, '0');
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

/** Encodes unsigned magnitude bytes as mpint bytes (no length prefix). */
export function unsignedToMpint(b: Uint8Array): Buffer {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  const body = Buffer.from(b.buffer, b.byteOffset + i, b.byteLength - i);
  if (body.length > 0 && (body[0] as number) & 0x80) return Buffer.concat([Buffer.from([0]), body]);
  return Buffer.from(body);
}

/** Big-endian unsigned bytes of a non-negative bigint, left-padded to `length` if given. */
export function bigintToUnsigned(v: bigint, length?: number): Buffer {
  if (v < 0n) throw new RangeError('negative value');
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (v === 0n) hex = '';
  const b = Buffer.from(hex, 'hex');
  if (length === undefined || b.length === length) return b;
  if (b.length > length) throw new RangeError('value too large for length');
  const out = Buffer.alloc(length);
  b.copy(out, length - b.length);
  return out;
}
