/**
 * SFTP v3 file attributes: encode/decode and a `fs.Stats`-like view.
 */
import { ProtocolError } from '../errors.js';
import type { SshReader, SshWriter } from '../wire/index.js';
import { ATTR, MAX_EXTENSIONS } from './constants.js';

/** File attributes as carried on the wire; every field is optional. */
export interface SftpAttrs {
  /** Size in bytes. */
  size?: number;
  /** Numeric owner id. */
  uid?: number;
  /** Numeric group id. */
  gid?: number;
  /** Permission and file-type bits (st_mode). */
  mode?: number;
  /** Access time, seconds since the epoch. */
  atime?: number;
  /** Modification time, seconds since the epoch. */
  mtime?: number;
  /** Extended attribute pairs. */
  extended?: {
    /** The attribute's name, `name@domain`. */
    type: string;
    /** The attribute's value, as sent. */
    data: Buffer;
  }[];
}

/** POSIX file-type bits. */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

function u32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${what} out of range: ${v}`);
  return v;
}

/** Writes attrs: flags, then each present field. Times are sent only as a pair (missing one = the other). */
export function encodeAttrs(w: SshWriter, a: SftpAttrs): void {
  let flags = 0;
  if (a.size !== undefined) flags += ATTR.SIZE;
  if (a.uid !== undefined || a.gid !== undefined) flags += ATTR.UIDGID;
  if (a.mode !== undefined) flags += ATTR.PERMISSIONS;
  if (a.atime !== undefined || a.mtime !== undefined) flags += ATTR.ACMODTIME;
  if (a.extended && a.extended.length > 0) flags += ATTR.EXTENDED;
  w.uint32(flags);
  if (a.size !== undefined) {
    if (!Number.isSafeInteger(a.size) || a.size < 0) throw new RangeError(`size out of range: ${a.size}`);
    w.uint64(BigInt(a.size));
  }
  if (flags & ATTR.UIDGID) {
    w.uint32(u32(a.uid ?? 0xffffffff, 'uid'));
    w.uint32(u32(a.gid ?? 0xffffffff, 'gid'));
  }
  if (a.mode !== undefined) w.uint32(u32(a.mode, 'mode'));
  if (flags & ATTR.ACMODTIME) {
    w.uint32(u32(Math.floor(a.atime ?? a.mtime ?? 0), 'atime'));
    w.uint32(u32(Math.floor(a.mtime ?? a.atime ?? 0), 'mtime'));
  }
  if (a.extended && a.extended.length > 0) {
    w.uint32(a.extended.length);
    for (const e of a.extended) w.string(e.type).string(e.data);
  }
}

/** Reads attrs. Unknown flag bits are a protocol error (v3 defines no others). */
export function decodeAttrs(r: SshReader): SftpAttrs {
  const flags = r.uint32();
  const known = ATTR.SIZE + ATTR.UIDGID + ATTR.PERMISSIONS + ATTR.ACMODTIME + ATTR.EXTENDED;
  if ((flags & ~known) >>> 0 !== 0) throw new ProtocolError(`unknown attribute flags 0x${flags.toString(16)}`);
  const a: SftpAttrs = {};
  if (flags & ATTR.SIZE) {
    const size = r.uint64();
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError('file size beyond 2^53');
    a.size = Number(size);
  }
  if (flags & ATTR.UIDGID) {
    a.uid = r.uint32();
    a.gid = r.uint32();
  }
  if (flags & ATTR.PERMISSIONS) a.mode = r.uint32();
  if (flags & ATTR.ACMODTIME) {
    a.atime = r.uint32();
    a.mtime = r.uint32();
  }
  if ((flags & ATTR.EXTENDED) !== 0) {
    const n = r.uint32();
    if (n > MAX_EXTENSIONS) throw new ProtocolError(`too many extended attributes (${n})`);
    a.extended = [];
    for (let i = 0; i < n; i++) a.extended.push({ type: r.utf8(), data: Buffer.from(r.string()) });
  }
  return a;
}

/** A `fs.Stats`-like view of {@link SftpAttrs}. */
export class SftpStats implements SftpAttrs {
  /** Size in bytes. */
  size?: number;
  /** Numeric owner id. */
  uid?: number;
  /** Numeric group id. */
  gid?: number;
  /** Permission and file-type bits (st_mode). */
  mode?: number;
  /** Access time, seconds since the epoch. */
  atime?: number;
  /** Modification time, seconds since the epoch. */
  mtime?: number;
  /** Extended attribute pairs (`type` is the name, `data` the value). */
  extended?: SftpAttrs['extended'];
  constructor(a: SftpAttrs) {
    Object.assign(this, a);
  }
  private type(): number | undefined {
    return this.mode === undefined ? undefined : this.mode & S_IFMT;
  }
  /** True for a regular file; false when the mode is unknown. */
  isFile(): boolean {
    return this.type() === S_IFREG;
  }
  /** True for a directory; false when the mode is unknown. */
  isDirectory(): boolean {
    return this.type() === S_IFDIR;
  }
  /** True for a symbolic link (as LSTAT reports it); false when the mode is unknown. */
  isSymbolicLink(): boolean {
    return this.type() === S_IFLNK;
  }
  /** Modification time as a Date, when known. */
  get mtimeDate(): Date | undefined {
    return this.mtime === undefined ? undefined : new Date(this.mtime * 1000);
  }
  /** Access time as a Date, when known. */
  get atimeDate(): Date | undefined {
    return this.atime === undefined ? undefined : new Date(this.atime * 1000);
  }
}
