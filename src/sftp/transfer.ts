/**
 * download/upload: pipelined whole-file transfers with exact short-read handling, progress,
 * AbortSignal, resume, atomic local writes (temp file, fsync, rename) and optional atomic remote writes.
 */
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open as fsOpen, rename as fsRename, stat as fsStat, unlink as fsUnlink } from 'node:fs/promises';
import { AbortError } from '../errors.js';
import type { SftpPath } from './codec.js';
import { appendPath, writeHeaderSize } from './codec.js';
import { EXT, FX } from './constants.js';
import { SftpError } from './errors.js';
import { defaultConcurrency, type SftpCore, type SftpFileBase } from './handle.js';
import { Inflight } from './inflight.js';
import { readFully, writeFully } from './local-io.js';

/** Progress of a transfer. */
export interface TransferProgress {
  /** Bytes done so far (including a resumed prefix). */
  transferred: number;
  /** Total bytes expected (the source size when the transfer started). */
  total: number;
  /** Average bytes per second since the start of this run. */
  rate: number;
}

/** Settings of {@link SftpClient.download} and {@link SftpClient.upload}. */
export interface TransferOptions {
  /** Requests in flight (default 64, fewer for large requests: at most 8 MiB requested at once). */
  concurrency?: number;
  /** Bytes per request (default: limits@openssh.com's, ≤ 255 KiB, else 32 KiB). */
  chunkSize?: number;
  /** Called as data lands. */
  onProgress?: (p: TransferProgress) => void;
  /** Aborting it stops the transfer with an {@link AbortError} (see `resume` for what is left behind). */
  signal?: AbortSignal;
  /** Copy permission bits and access/modification times to the destination. */
  preserve?: boolean;
  /**
   * Continue an interrupted transfer: from the end of the partial temp file (download, or
   * atomic upload) or of the remote file (non-atomic upload), after checking that its last
   * 64 KiB match the source; a mismatch starts over. The partial file is kept on failure.
   */
  resume?: boolean;
  /**
   * Write to a temporary name and rename into place when complete (default: true for downloads,
   * false for uploads). Downloads also fsync before the rename.
   */
  atomic?: boolean;
  /** Mode for a file created at the destination (default: the source's, else 0o644). */
  mode?: number;
  /**
   * Flush the destination to stable storage before it is renamed into place / reported done
   * (default true). Downloads fsync the local file; uploads use fsync@openssh.com when offered.
   */
  fsync?: boolean;
}

/** Suffix of partial files. */
export const PART_SUFFIX = '.sftp-part';
const VERIFY_TAIL = 64 * 1024;

function progressReporter(opts: TransferOptions, total: number, base: number) {
  const t0 = performance.now();
  let done = base;
  return (n: number) => {
    done += n;
    if (!opts.onProgress) return;
    const secs = (performance.now() - t0) / 1000;
    opts.onProgress({ transferred: done, total, rate: secs > 0 ? (done - base) / secs : 0 });
  };
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('transfer aborted', { cause: signal.reason });
}

async function readLocal(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  return buf.subarray(0, await readFully(fh, buf, 0, length, offset));
}

/** Local file writes a download keeps in flight. */
const LOCAL_WRITES = 8;

async function readRemoteExact(fh: SftpFileBase, offset: number, length: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  while (got < length) {
    const b = await fh.read(length - got, offset + got);
    if (b.length === 0) break;
    parts.push(b);
    got += b.length;
  }
  return Buffer.concat(parts);
}

/** Downloads `remote` to `local` (a Buffer local path is used as bytes); resolves with the file size. */
export async function download(
  sftp: SftpCore,
  remote: SftpPath,
  local: string | Buffer,
  opts: TransferOptions = {},
): Promise<number> {
  checkAbort(opts.signal);
  const atomic = opts.atomic ?? true;
  const target = atomic ? appendPath(local, PART_SUFFIX) : local;
  const rfh = await sftp.open(remote, 'r');
  let lfh: FileHandle | undefined;
  let ok = false;
  try {
    const st = await rfh.stat();
    const total = st.size ?? 0;
    let start = 0;
    if (opts.resume) {
      const have = await fsStat(target).then(
        (s) => s.size,
        () => -1,
      );
      if (have > 0 && have <= total) {
        lfh = await fsOpen(target, 'r+');
        const n = Math.min(have, VERIFY_TAIL);
        const mine = await readLocal(lfh, have - n, n);
        const theirs = await readRemoteExact(rfh, have - n, n);
        if (mine.equals(theirs)) start = have;
        else await lfh.truncate(0);
      }
    }
    lfh ??= await fsOpen(target, 'w', opts.mode ?? (st.mode !== undefined ? st.mode & 0o777 : 0o644));
    if (start === 0) await lfh.truncate(0);
    const progress = progressReporter(opts, total, start);
    let pos = start;
    // Positional writes, several at once: one at a time, each write's thread-pool round trip
    // would pace the whole download (and, through the bounded read-ahead, the READs in flight).
    const out = lfh;
    const writes = new Inflight();
    try {
      for await (const parts of rfh.readChunksV({
        start,
        ...(opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {}),
        ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      })) {
        let n = 0;
        for (const p of parts) n += p.length;
        writes.add(writeFully(out, parts, pos), () => progress(n));
        pos += n;
        await writes.below(LOCAL_WRITES);
        writes.check();
      }
    } finally {
      // Never leave a write running on a file handle that is about to be closed.
      await writes.settle();
    }
    writes.check();
    await lfh.truncate(pos);
    if (opts.preserve) {
      if (st.mode !== undefined) await lfh.chmod(st.mode & 0o7777);
      if (st.atime !== undefined && st.mtime !== undefined) await lfh.utimes(st.atime, st.mtime);
    }
    if (opts.fsync !== false) await lfh.sync();
    await lfh.close();
    lfh = undefined;
    if (atomic) await fsRename(target, local);
    ok = true;
    return pos;
  } finally {
    await lfh?.close().catch(() => {});
    await rfh.close().catch(() => {});
    if (!ok && atomic && !opts.resume) await fsUnlink(target).catch(() => {});
  }
}

/** Uploads the local file `local` to `remote`; resolves with the file size. */
export async function upload(
  sftp: SftpCore,
  local: string | Buffer,
  remote: SftpPath,
  opts: TransferOptions = {},
): Promise<number> {
  checkAbort(opts.signal);
  const atomic = opts.atomic ?? false;
  const target = atomic ? appendPath(remote, PART_SUFFIX) : remote;
  const lfh = await fsOpen(local, 'r');
  let rfh: SftpFileBase | undefined;
  let ok = false;
  try {
    const lst = await lfh.stat();
    const total = lst.size;
    const mode = opts.mode ?? lst.mode & 0o777;
    let start = 0;
    if (opts.resume) {
      const have = await sftp.stat(target).then(
        (s) => s.size ?? 0,
        () => -1,
      );
      if (have > 0 && have <= total) {
        rfh = await sftp.open(target, 'r+');
        const n = Math.min(have, VERIFY_TAIL);
        const mine = await readLocal(lfh, have - n, n);
        const theirs = await readRemoteExact(rfh, have - n, n);
        if (mine.equals(theirs)) start = have;
        else await rfh.truncate(0);
      }
    }
    rfh ??= await sftp.open(target, 'w', mode);
    const progress = progressReporter(opts, total, start);
    const chunk = Math.max(1, Math.min(opts.chunkSize ?? sftp.writeChunk, sftp.writeChunk));
    const concurrency = Math.max(1, opts.concurrency ?? defaultConcurrency(chunk));
    const inflight = new Inflight();
    let pos = start;
    const h = rfh;
    // Packets whose WRITE was answered are reused when the channel let go of them on sending (the
    // reply cannot come before the whole request went out); over other streams each is fresh.
    const spare: Buffer[] = [];
    const room = writeHeaderSize(h.handle);
    for (;;) {
      checkAbort(opts.signal);
      inflight.check();
      // The file is read straight into the WRITE packet, after room for its header.
      const packet = spare.pop() ?? Buffer.allocUnsafe(room + chunk);
      const n = await readFully(lfh, packet, room, chunk, pos);
      if (n === 0) break;
      inflight.add(h.writePrepared(packet, n, pos), () => {
        if (sftp.reusableRequests) spare.push(packet);
        progress(n);
      });
      pos += n;
      await inflight.below(concurrency);
    }
    await inflight.settle();
    inflight.check();
    checkAbort(opts.signal);
    // No final size change: the remote file held `start` bytes (or none) and was written from there,
    // so it ends at `pos` already. (A SETSTAT size is not free everywhere: servers built on
    // paramiko's example reopen the file "w+" for it, emptying it.)
    if (opts.preserve) {
      await h.setstat({
        mode: lst.mode & 0o7777,
        atime: Math.floor(lst.atimeMs / 1000),
        mtime: Math.floor(lst.mtimeMs / 1000),
      });
    }
    if (sftp.has(EXT.FSYNC) && opts.fsync !== false) await h.sync();
    await h.close();
    rfh = undefined;
    if (atomic) await renameOver(sftp, target, remote);
    ok = true;
    return pos;
  } finally {
    await lfh.close().catch(() => {});
    await rfh?.close().catch(() => {});
    if (!ok && atomic && !opts.resume) await sftp.unlink(target).catch(() => {});
  }
}

/** Renames replacing the destination: posix-rename when offered, else remove then rename. */
async function renameOver(sftp: SftpCore, from: SftpPath, to: SftpPath): Promise<void> {
  if (sftp.has(EXT.POSIX_RENAME)) return sftp.rename(from, to);
  // Without posix-rename there is no atomic replace: move the old file aside first.
  const aside = appendPath(to, `.${randomBytes(6).toString('hex')}.old`);
  let moved = false;
  try {
    await sftp.rename(to, aside);
    moved = true;
  } catch (e) {
    if (!(e instanceof SftpError && e.status === FX.NO_SUCH_FILE)) throw e;
  }
  await sftp.rename(from, to);
  if (moved) await sftp.unlink(aside).catch(() => {});
}
