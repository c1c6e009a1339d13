/** Whole reads and writes on a local file (a file system may answer a call with fewer bytes). */
import type { FileHandle } from 'node:fs/promises';

/**
 * Reads up to `length` bytes at file offset `position` into `buf` at `at`, calling again after a
 * short read; fewer only at end of file. Resolves with the count.
 */
export async function readFully(
  fh: FileHandle,
  buf: Uint8Array,
  at: number,
  length: number,
  position: number,
): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, at + got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** Writes all of `parts` at `position` (one pwritev when the system takes it whole). */
export async function writeFully(fh: FileHandle, parts: Buffer[], position: number): Promise<void> {
  let rest = parts;
  let pos = position;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, pos);
    pos += bytesWritten;
    let skip = bytesWritten;
    let i = 0;
    while (i < rest.length && skip >= (rest[i] as Buffer).length) skip -= (rest[i++] as Buffer).length;
    rest = rest.slice(i);
    if (skip > 0 && rest.length > 0) rest[0] = (rest[0] as Buffer).subarray(skip);
  }
}
