/**
 * SFTP packet framing and codecs: `uint32 length || byte type || body`, with the length checked
 * against a cap before anything is buffered for it. No I/O here.
 */
import { isUtf8 } from 'node:buffer';
import { ProtocolError } from '../errors.js';
import { SshReader, SshWriter } from '../wire/index.js';
import type { SftpAttrs, SftpStats } from './attrs.js';
import { decodeAttrs, encodeAttrs } from './attrs.js';
import { FXP, MAX_HANDLE, MAX_NAMES, MAX_PACKET } from './constants.js';

/**
 * Splits a byte stream into SFTP packets (each returned without its length field, starting with
 * the type byte). A length of 0 or above `maxPacket` is a {@link ProtocolError}, raised before
 * any buffering for that packet.
 */
export class PacketFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1;
  readonly maxPacket: number;

  constructor(maxPacket = MAX_PACKET) {
    this.maxPacket = maxPacket;
  }

  /** Bytes held waiting for the rest of a packet. */
  get pending(): number {
    return this.buffered;
  }

  /** Feeds bytes; returns the complete packets they finish, in order. */
  push(chunk: Buffer): Buffer[] {
    return this.collect(chunk, false) as Buffer[];
  }

  /**
   * As {@link push}, but an SSH_FXP_DATA packet that arrived in several chunks comes back as a
   * {@link ScatteredData} (its 9 header bytes copied, the data left in the pieces it came in) rather
   * than joined: a client writes those pieces to disk without copying them first.
   */
  pushScattered(chunk: Buffer): (Buffer | ScatteredData)[] {
    return this.collect(chunk, true);
  }

  private collect(chunk: Buffer, scatter: boolean): (Buffer | ScatteredData)[] {
    const out: (Buffer | ScatteredData)[] = [];
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) break;
        const head = this.take(4);
        const len = head.readUInt32BE(0);
        if (len === 0 || len > this.maxPacket) {
          throw new ProtocolError(`SFTP packet length ${len} outside 1..${this.maxPacket}`);
        }
        this.need = len;
      }
      if (this.buffered < this.need) break;
      out.push(scatter && this.scatterable() ? this.takeScattered(this.need) : this.take(this.need));
      this.need = -1;
    }
    return out;
  }

  /** The whole next packet is buffered, spans chunks, and is a DATA reply whose length field fits. */
  private scatterable(): boolean {
    const first = this.chunks[0] as Buffer;
    if (this.need < 4096 || first.length >= this.need || first.length < 9) return false;
    return first[0] === FXP.DATA && first.readUInt32BE(5) === this.need - 9;
  }

  private takeScattered(n: number): ScatteredData {
    const head = Buffer.from(this.take(9));
    const parts: Buffer[] = [];
    let left = n - 9;
    let i = 0;
    while (left > 0) {
      const c = this.chunks[i] as Buffer;
      if (c.length <= left) {
        parts.push(c);
        i++;
        left -= c.length;
      } else {
        parts.push(c.subarray(0, left));
        this.chunks[i] = c.subarray(left);
        left = 0;
      }
    }
    // One splice: shift() per chunk is quadratic when a packet came in many small pieces.
    if (i > 0) this.chunks.splice(0, i);
    this.buffered -= n - 9;
    return { head, parts, length: n - 9 };
  }

  /** Takes exactly n buffered bytes (a view when they lie in one chunk). */
  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    this.buffered -= n;
    if (first.length >= n) {
      const v = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return v;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    let i = 0;
    while (at < n) {
      const c = this.chunks[i] as Buffer;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) i++;
      else this.chunks[i] = c.subarray(k);
    }
    if (i > 0) this.chunks.splice(0, i);
    return out;
  }
}

/** An SSH_FXP_DATA packet left in pieces: `head` is type, id and data length; `parts` the data. */
export interface ScatteredData {
  head: Buffer;
  parts: Buffer[];
  /** Total bytes in `parts`. */
  length: number;
}

/**
 * Builds one framed packet. `id` is written after the type when given (every packet but
 * INIT/VERSION has one). Throws if the result would exceed `maxPacket`.
 */
export function buildPacket(
  type: number,
  id: number | undefined,
  body: (w: SshWriter) => void,
  maxPacket = MAX_PACKET,
): Buffer {
  const w = new SshWriter(256);
  const end = w.beginLength();
  w.byte(type);
  if (id !== undefined) w.uint32(id);
  body(w);
  end();
  const buf = w.toBuffer();
  if (buf.length - 4 > maxPacket) throw new RangeError(`SFTP packet of ${buf.length - 4} bytes exceeds ${maxPacket}`);
  return buf;
}

/** SSH_FXP_WRITE built in one allocation: handle, offset, data. */
export function buildWrite(id: number, handle: Buffer, offset: number, data: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(writeHeaderSize(handle) + data.length);
  b.set(data, encodeWriteHeader(b, id, handle, offset, data.length));
  return b;
}

/** Bytes of an SSH_FXP_WRITE before its data (length field included). */
export function writeHeaderSize(handle: Buffer): number {
  return 4 + 1 + 4 + 4 + handle.length + 8 + 4;
}

/**
 * Writes an SSH_FXP_WRITE header for `dataLength` bytes at the start of `b` (whose data then follows
 * at the returned offset): for callers that read the data straight into the packet.
 */
export function encodeWriteHeader(b: Buffer, id: number, handle: Buffer, offset: number, dataLength: number): number {
  let p = b.writeUInt32BE(writeHeaderSize(handle) - 4 + dataLength, 0);
  p = b.writeUInt8(FXP.WRITE, p);
  p = b.writeUInt32BE(id, p);
  p = b.writeUInt32BE(handle.length, p);
  p += handle.copy(b, p);
  p = b.writeBigUInt64BE(BigInt(offset), p);
  return b.writeUInt32BE(dataLength, p);
}

/** SSH_FXP_DATA built in one allocation (server side). */
export function buildData(id: number, data: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(DATA_HEADER + data.length);
  encodeDataHeader(b, id, data.length);
  b.set(data, DATA_HEADER);
  return b;
}

/** Bytes of an SSH_FXP_DATA before its data: length, type, request id, data length. */
export const DATA_HEADER = 13;

/** Writes an SSH_FXP_DATA header for `dataLength` bytes at the start of `b` (the data follows it). */
export function encodeDataHeader(b: Buffer, id: number, dataLength: number): void {
  b.writeUInt32BE(DATA_HEADER - 4 + dataLength, 0);
  b[4] = FXP.DATA;
  b.writeUInt32BE(id, 5);
  b.writeUInt32BE(dataLength, 9);
}

/** An entry of {@link SftpClient.readdir}. */
export interface SftpDirEntry {
  /** The name as UTF-8 text (bytes that are not valid UTF-8 become U+FFFD). */
  filename: string;
  /**
   * The name's exact bytes, present only when they are not valid UTF-8 (e.g. a Latin-1 name): to
   * reach the file, pass `entry.filenameRaw ?? entry.filename` as the path, joined to the directory
   * with {@link joinRemote}.
   */
  filenameRaw?: Buffer;
  /** The server's `ls -l`-style line (its format differs between servers; for display only). */
  longname: string;
  /** The entry's attributes, as the server listed them (a symlink's own, not its target's). */
  attrs: SftpStats;
}

/** One entry of an SSH_FXP_NAME reply. */
export interface SftpName {
  /** The name as UTF-8 text (invalid bytes become U+FFFD). */
  filename: string;
  /**
   * The name's exact bytes, present only when they are not valid UTF-8 (SFTP v3 names are bytes:
   * a legacy server may send Latin-1). Encoded in place of `filename` when set.
   */
  filenameRaw?: Buffer;
  /** `ls -l`-style line (servers differ; informational only). */
  longname: string;
  /** The entry's attributes (what the server sent; often everything LSTAT would give). */
  attrs: SftpAttrs;
}

/** A decoded server reply. */
export type SftpResponse =
  | { type: typeof FXP.STATUS; id: number; code: number; message: string }
  | { type: typeof FXP.HANDLE; id: number; handle: Buffer }
  | { type: typeof FXP.DATA; id: number; data: Buffer; parts?: undefined }
  | { type: typeof FXP.DATA; id: number; data?: undefined; parts: Buffer[]; length: number }
  | { type: typeof FXP.NAME; id: number; names: SftpName[] }
  | { type: typeof FXP.ATTRS; id: number; attrs: SftpAttrs }
  | { type: typeof FXP.EXTENDED_REPLY; id: number; data: Buffer };

/** A string as UTF-8 text, tolerating invalid bytes (file names are bytes on the wire). */
export function readText(r: SshReader, max = MAX_PACKET): string {
  return r.string(max).toString('utf8');
}

/**
 * A remote path: text (sent as UTF-8) or the exact bytes to send, for names that are not valid
 * UTF-8 (pass a listing's `entry.filenameRaw ?? entry.filename`, joined with {@link joinRemote}).
 */
export type SftpPath = string | Uint8Array;

/**
 * Joins a remote directory and a name with '/' (none added when `dir` is empty or ends with '/').
 * Two strings give a string; otherwise the bytes (strings taken as UTF-8) as a Buffer.
 */
export function joinRemote(dir: SftpPath, name: SftpPath): string | Buffer {
  if (typeof dir === 'string' && typeof name === 'string') {
    return dir === '' || dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
  }
  const d = pathBytes(dir);
  const n = pathBytes(name);
  const slash = d.length > 0 && d[d.length - 1] !== 0x2f;
  return Buffer.concat(slash ? [d, SLASH, n] : [d, n]);
}
const SLASH = Buffer.from('/');

/** `p` with the text `suffix` appended (a string stays a string; bytes give a Buffer). */
export function appendPath(p: string, suffix: string): string;
export function appendPath(p: Uint8Array, suffix: string): Buffer;
export function appendPath(p: string | Uint8Array, suffix: string): string | Buffer;
export function appendPath(p: string | Uint8Array, suffix: string): string | Buffer {
  return typeof p === 'string' ? `${p}${suffix}` : Buffer.concat([p, Buffer.from(suffix, 'utf8')]);
}

/** A path's bytes as sent (text as UTF-8), viewed as a Buffer. */
export function pathBytes(p: SftpPath): Buffer {
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

/**
 * A path as text for messages (e.g. {@link SftpError.path}): a string as is; bytes decoded as
 * UTF-8 where valid, each byte that is not part of a valid UTF-8 sequence written as `\xNN`
 * (so Latin-1 "café" shows as `caf\xe9`). For display only: it does not round-trip.
 */
export function displayPath(p: SftpPath): string {
  if (typeof p === 'string') return p;
  const b = pathBytes(p);
  if (isUtf8(b)) return b.toString('utf8');
  let out = '';
  let i = 0;
  let start = 0;
  while (i < b.length) {
    const c = b[i] as number;
    if (c < 0x80) {
      i++;
      continue;
    }
    const len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len > 0 && i + len <= b.length && isUtf8(b.subarray(i, i + len))) {
      i += len;
      continue;
    }
    out += `${b.toString('utf8', start, i)}\\x${c.toString(16).padStart(2, '0')}`;
    i++;
    start = i;
  }
  return out + b.toString('utf8', start);
}

/** Decodes a reply packet (type byte first). VERSION is handled by {@link decodeVersion}. */
export function decodeResponse(p: Buffer): SftpResponse {
  const r = new SshReader(p);
  const type = r.byte();
  const id = r.uint32();
  switch (type) {
    case FXP.STATUS: {
      const code = r.uint32();
      // Some v3 servers omit message and language tag.
      const message = r.remaining > 0 ? readText(r) : '';
      if (r.remaining > 0) r.string(1024);
      r.ensureEnd('SSH_FXP_STATUS');
      return { type, id, code, message };
    }
    case FXP.HANDLE: {
      const handle = Buffer.from(r.string(MAX_HANDLE));
      r.ensureEnd('SSH_FXP_HANDLE');
      return { type, id, handle };
    }
    case FXP.DATA: {
      const data = r.string();
      r.ensureEnd('SSH_FXP_DATA');
      return { type, id, data };
    }
    case FXP.NAME: {
      const n = r.uint32();
      if (n > MAX_NAMES || n > r.remaining / 12) throw new ProtocolError(`SSH_FXP_NAME count ${n} too large`);
      const names: SftpName[] = [];
      for (let i = 0; i < n; i++) {
        const raw = r.string(MAX_PACKET);
        const longname = readText(r);
        const name: SftpName = { filename: raw.toString('utf8'), longname, attrs: decodeAttrs(r) };
        // A copy: `raw` is a view of the packet, which may be a view of a larger read.
        if (!isUtf8(raw)) name.filenameRaw = Buffer.from(raw);
        names.push(name);
      }
      r.ensureEnd('SSH_FXP_NAME');
      return { type, id, names };
    }
    case FXP.ATTRS: {
      const attrs = decodeAttrs(r);
      r.ensureEnd('SSH_FXP_ATTRS');
      return { type, id, attrs };
    }
    case FXP.EXTENDED_REPLY:
      return { type, id, data: r.rest() };
    default:
      throw new ProtocolError(`unexpected SFTP reply type ${type}`);
  }
}

/** SSH_FXP_VERSION: the version and the extension pairs. */
export interface SftpVersion {
  version: number;
  extensions: Map<string, string>;
}

/** Decodes SSH_FXP_VERSION (or SSH_FXP_INIT: same layout). */
export function decodeVersion(p: Buffer, expectType: number = FXP.VERSION): SftpVersion {
  const r = new SshReader(p);
  const type = r.byte();
  if (type !== expectType) throw new ProtocolError(`expected SFTP packet ${expectType}, got ${type}`);
  const version = r.uint32();
  const extensions = new Map<string, string>();
  while (r.remaining > 0) {
    if (extensions.size >= 256) throw new ProtocolError('too many SFTP extensions');
    const name = readText(r, 1024);
    const data = r.string(4096).toString('latin1');
    extensions.set(name, data);
  }
  return { version, extensions };
}

/** Encodes SSH_FXP_VERSION (or INIT when `type` is FXP.INIT). */
export function encodeVersion(version: number, extensions: ReadonlyMap<string, string>, type: number = FXP.VERSION) {
  return buildPacket(type, undefined, (w) => {
    w.uint32(version);
    for (const [k, v] of extensions) w.string(k).string(v);
  });
}

/** Writes an SSH_FXP_NAME body. */
export function encodeNames(w: SshWriter, names: readonly SftpName[]): void {
  w.uint32(names.length);
  for (const n of names) {
    w.string(n.filenameRaw ?? n.filename).string(n.longname);
    encodeAttrs(w, n.attrs);
  }
}

/** statvfs@openssh.com reply. */
export interface SftpStatvfs {
  /** File system block size, in bytes. */
  bsize: bigint;
  /** Fundamental block size, in bytes: the unit of `blocks`, `bfree` and `bavail`. */
  frsize: bigint;
  /** Size of the file system, in `frsize` units. */
  blocks: bigint;
  /** Free blocks. */
  bfree: bigint;
  /** Free blocks available to an unprivileged user. */
  bavail: bigint;
  /** Number of inodes. */
  files: bigint;
  /** Free inodes. */
  ffree: bigint;
  /** Free inodes available to an unprivileged user. */
  favail: bigint;
  /** File system id. */
  fsid: bigint;
  /** Mount flags: bit 0 read-only (`ST_RDONLY`), bit 1 no setuid (`ST_NOSUID`). */
  flag: bigint;
  /** Longest file name, in bytes. */
  namemax: bigint;
}
const STATVFS_FIELDS = [
  'bsize',
  'frsize',
  'blocks',
  'bfree',
  'bavail',
  'files',
  'ffree',
  'favail',
  'fsid',
  'flag',
  'namemax',
] as const;

/** Decodes a statvfs@openssh.com reply body. */
export function decodeStatvfs(data: Buffer): SftpStatvfs {
  const r = new SshReader(data);
  const out = {} as SftpStatvfs;
  for (const f of STATVFS_FIELDS) out[f] = r.uint64();
  r.ensureEnd('statvfs reply');
  return out;
}

/** Encodes a statvfs@openssh.com reply body. */
export function encodeStatvfs(w: SshWriter, s: SftpStatvfs): void {
  for (const f of STATVFS_FIELDS) w.uint64(s[f]);
}

/** limits@openssh.com reply (0 = no limit / unknown). */
export interface SftpLimits {
  /** Largest packet the server accepts, in bytes. */
  maxPacketLength: number;
  /** Largest READ length the server serves, in bytes. */
  maxReadLength: number;
  /** Largest WRITE length the server accepts, in bytes. */
  maxWriteLength: number;
  /** Most handles open at once. */
  maxOpenHandles: number;
}

/** Decodes a limits@openssh.com reply body (values capped at 2^53). */
export function decodeLimits(data: Buffer): SftpLimits {
  const r = new SshReader(data);
  const n = () => {
    const v = r.uint64();
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  };
  const out = { maxPacketLength: n(), maxReadLength: n(), maxWriteLength: n(), maxOpenHandles: n() };
  r.ensureEnd('limits reply');
  return out;
}

/** Encodes a limits@openssh.com reply body. */
export function encodeLimits(w: SshWriter, l: SftpLimits): void {
  w.uint64(BigInt(l.maxPacketLength))
    .uint64(BigInt(l.maxReadLength))
    .uint64(BigInt(l.maxWriteLength))
    .uint64(BigInt(l.maxOpenHandles));
}

/** Decodes a users-groups-by-id@openssh.com reply: two strings each holding strings. */
export function decodeUsersGroups(data: Buffer): { users: string[]; groups: string[] } {
  const r = new SshReader(data);
  const list = (b: Buffer) => {
    const inner = new SshReader(b);
    const out: string[] = [];
    while (inner.remaining > 0) {
      if (out.length >= 65536) throw new ProtocolError('too many names');
      out.push(readText(inner, 4096));
    }
    return out;
  };
  const users = list(r.string());
  const groups = list(r.string());
  r.ensureEnd('users-groups-by-id reply');
  return { users, groups };
}

/** Packs uint32 ids (users-groups-by-id request) into one string body. */
export function packIds(ids: readonly number[]): Buffer {
  const w = new SshWriter(4 * ids.length + 16);
  for (const id of ids) w.uint32(id);
  return Buffer.from(w.toBuffer());
}

export { SshReader, SshWriter };
