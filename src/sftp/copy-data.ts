/**
 * The copy of OpenSSH's copy-data extension, done by the server between two open files of a
 * backend. Kept apart from the request plumbing of server.ts: the bounds are the whole point.
 */
import type { SftpBackendFile } from './backend.js';
import { FX, MAX_READ } from './constants.js';
import { SftpError } from './errors.js';

/** An open file handle of the server: the backend's file and the path it was opened by. */
export interface OpenFile {
  file: SftpBackendFile;
  path: string;
}

/**
 * Copies `length` bytes (0: to end of file) from `src` at `readOffset` to `dst` at `writeOffset`.
 * Resolves with FX.OK, or FX.EOF when a given length ran past the end of the source. Throws an
 * {@link SftpError} (FX.FAILURE) for offsets past 2^53−1 and for overlapping ranges within one file.
 *
 * The copy is bounded by the source as it is when it starts, whatever length was asked for: bytes
 * that appear later — written by this very copy into a second handle on the same file, say — are
 * never read, so a copy cannot chase its own output until the disk is full.
 */
export async function copyData(
  src: OpenFile,
  readOffset: bigint,
  length: bigint,
  dst: OpenFile,
  writeOffset: bigint,
): Promise<number> {
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  if (readOffset > max || writeOffset > max || length > max) throw new SftpError(FX.FAILURE, 'offset too large');
  let from = Number(readOffset);
  let to = Number(writeOffset);
  const toEnd = length === 0n;
  const size = (await src.file.stat()).size;
  const available = size === undefined ? Number.POSITIVE_INFINITY : Math.max(0, size - from);
  const wanted = toEnd ? Number.POSITIVE_INFINITY : Number(length);
  let left = Math.min(wanted, available);
  // Within one file (found by what the file is, not by handle or path) the ranges must not overlap:
  // a forward copy would read back what it had just written.
  if ((to < from + left && from < to + left) || left === Number.POSITIVE_INFINITY) {
    if (await sameFile(src, dst)) throw new SftpError(FX.FAILURE, 'overlapping copy within one file');
  }
  let short = left < wanted;
  while (left > 0) {
    const chunk = await src.file.read(from, Math.min(MAX_READ, left));
    if (chunk.length === 0) {
      short = true;
      break;
    }
    await dst.file.write(to, chunk);
    from += chunk.length;
    to += chunk.length;
    left -= chunk.length;
  }
  // Fewer bytes than a given length: EOF, as OpenSSH answers (a copy to end of file is just done).
  return short && !toEnd ? FX.EOF : FX.OK;
}

/**
 * True when two open handles are on one file: the same handle, the same path, or — when the backend
 * can tell ({@link SftpBackendFile.identity}: device and inode for local files) — the same file under
 * two names (a hard link, a symbolic link, another spelling of the path).
 */
async function sameFile(a: OpenFile, b: OpenFile): Promise<boolean> {
  if (a.file === b.file || a.path === b.path) return true;
  if (!a.file.identity || !b.file.identity) return false;
  const [x, y] = await Promise.all([a.file.identity(), b.file.identity()]);
  return x !== undefined && x === y;
}
