import { WireError } from '../errors.js';

/** Largest string a reader accepts unless told otherwise: the packet limit. */
export const DEFAULT_MAX_STRING = 256 * 1024;

/**
 * Bounds-checked reader for RFC 4251 §5 data types. Every read checks the remaining length first and
 * throws {@link WireError} when the input is short; `ensureEnd()` rejects trailing bytes.
 *
 * @example
 * const r = new SshReader(payload);
 * const msg = r.byte(); const name = r.utf8(); r.ensureEnd();
 */
export class SshReader {
  private readonly buf: Buffer;
  private pos: number;
  private readonly end: number;

  constructor(data: Uint8Array, start = 0, end = data.length) {
    this.buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (start < 0 || end > this.buf.length || start > end) throw new WireError('reader bounds out of range');
    this.pos = start;
    this.end = end;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Current offset into the underlying buffer. */
  get offset(): number {
    return this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      throw new WireError(`message truncated: need ${n} bytes for ${what}, have ${this.end - this.pos}`);
    }
  }

  byte(): number {
    this.need(1, 'byte');
    return this.buf[this.pos++] as number;
  }

  /** A boolean: any non-zero byte is true (RFC 4251). */
  bool(): boolean {
    return this.byte() !== 0;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint64(): bigint {
    this.need(8, 'uint64');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** `n` raw bytes (a view, not a copy). */
  raw(n: number): Buffer {
    if (!Number.isSafeInteger(n) || n < 0) throw new WireError('invalid raw length');
    this.need(n, 'raw bytes');
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A length-prefixed string as bytes (a view). Lengths over `max` are rejected before use. */
  string(max = DEFAULT_MAX_STRING): Buffer {
    const len = this.uint32();
    if (len > max) throw new WireError(`string length ${len} exceeds limit ${max}`);
    this.need(len, 'string body');
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  /** A string decoded as UTF-8; invalid UTF-8 is an error. */
  utf8(max = DEFAULT_MAX_STRING): string {
    const b = this.string(max);
    try {
      return utf8Decoder.decode(b);
    } catch {
      throw new WireError('invalid UTF-8 in string');
    }
  }

  /** A string decoded as Latin-1/ASCII bytes (algorithm names, service names). */
  ascii(max = DEFAULT_MAX_STRING): string {
    return this.string(max).toString('latin1');
  }

  /** A comma-separated name-list. Empty string gives an empty list. */
  nameList(max = 64 * 1024): string[] {
    const s = this.ascii(max);
    if (s.length === 0) return [];
    const names = s.split(',');
    for (const n of names) {
      if (n.length === 0 || n.length > 64) throw new WireError('invalid name in name-list');
    }
    return names;
  }

  /** An mpint as a bigint (two's complement, big-endian). */
  mpint(maxBytes = 16385): bigint {
    const b = this.string(maxBytes);
    return mpintToBigint(b);
  }

  /** An mpint's raw bytes (leading zero byte kept as sent). */
  mpintBytes(maxBytes = 16385): Buffer {
    return this.string(maxBytes);
  }

  /** Everything left (a view). */
  rest(): Buffer {
    const v = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }

  /** Throws unless every byte has been read. */
  ensureEnd(what = 'message'): void {
    if (this.pos !== this.end) throw new WireError(`${this.end - this.pos} trailing bytes after ${what}`);
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes mpint bytes (two's complement, big-endian) to a bigint. */
export function mpintToBigint(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  const hex = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  let v = BigInt(`0x${hex}`);
  if ((b[0] as number) & 0x80) v -= 1n << BigInt(b.length * 8);
  return v;
}
