/**
 * Recursive transfers: downloadDir / uploadDir with several files in flight and a filter.
 * Regular files and directories are copied; symlinks and special files are skipped.
 */
import { lstat, mkdir, readdir } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import type { SftpPath } from './codec.js';
import { displayPath, pathBytes } from './codec.js';
import type { SftpCore } from './handle.js';
import type { TransferOptions, TransferProgress } from './transfer.js';
import { download, upload } from './transfer.js';

/** Settings of {@link SftpClient.downloadDir} / {@link SftpClient.uploadDir}. */
export interface DirTransferOptions extends Omit<TransferOptions, 'onProgress'> {
  /** Files transferred at once (default 4). */
  parallel?: number;
  /**
   * Return false to skip an entry (a skipped directory is not entered). `path` is relative,
   * '/'-separated; a name that is not valid UTF-8 appears in it as by `displayPath` (`\xNN`).
   */
  filter?: (path: string, isDirectory: boolean) => boolean;
  /** Called after each file. */
  onFile?: (path: string, bytes: number) => void;
  /** Called as data lands, in bytes across all files (see {@link DirTransferProgress}), and after each file. */
  onProgress?: (p: DirTransferProgress) => void;
}

/** Progress of a whole directory transfer. */
export interface DirTransferProgress {
  /** Bytes done so far, across all files (a resumed file counts its kept prefix). */
  bytes: number;
  /**
   * Bytes expected: the sizes of the files found when the tree was walked. A file that turns out
   * larger or smaller corrects it when that file is done, so at the end `bytes === total`.
   */
  total: number;
  /** Files to transfer (after the filter). */
  files: number;
  /** Files transferred completely. */
  filesDone: number;
  /** The file this report is about (relative, '/'-separated, as given to `filter`). */
  path: string;
  /** Average bytes per second since the transfer started (after the walk). */
  rate: number;
}

/** What a directory transfer did. */
export interface DirTransferResult {
  /** Files transferred. */
  files: number;
  /** Bytes transferred, across all files. */
  bytes: number;
}

/**
 * Whether a name from a remote listing (its text, or its raw bytes when not valid UTF-8) is one plain
 * path component: a server (hostile or broken) could list '', '..', 'a/b' or a NUL, which joined to
 * the local directory would land elsewhere.
 */
function plainName(name: string | Buffer): boolean {
  const n = pathBytes(name);
  if (n.length === 0 || (n.length <= 2 && n.every((c) => c === 0x2e))) return false;
  return !n.includes(0x2f) && !n.includes(0) && !(sep === '\\' && n.includes(0x5c));
}

/** A path component from a listing: text, or the raw bytes of a name that is not valid UTF-8. */
type Part = string | Buffer;

/** `remoteDir` and `parts` joined with '/': a string unless some piece is bytes. */
function remotePath(remoteDir: SftpPath, parts: readonly Part[]): SftpPath {
  if (parts.length === 0) return remoteDir;
  if (typeof remoteDir === 'string' && parts.every((p) => typeof p === 'string')) {
    return `${remoteDir}/${parts.join('/')}`;
  }
  const out: Uint8Array[] = [pathBytes(remoteDir)];
  for (const p of parts) out.push(SLASH, pathBytes(p));
  return Buffer.concat(out);
}
const SLASH = Buffer.from('/');

/** The local path of `parts` under `localDir`: a string unless some piece is bytes (used as is). */
function localPath(localDir: string, parts: readonly Part[]): string | Buffer {
  if (parts.every((p) => typeof p === 'string')) return join(localDir, ...(parts as string[]));
  const out: Uint8Array[] = [Buffer.from(normalize(localDir), 'utf8')];
  const sepBytes = Buffer.from(sep);
  for (const p of parts) out.push(sepBytes, pathBytes(p));
  return Buffer.concat(out);
}

/** A file found by the walk: its relative path, its path pieces and its size then. */
interface FoundFile {
  rel: string;
  parts: Part[];
  size: number;
}

/**
 * Runs one transfer per file, `parallel` at a time, and reports progress across all of them:
 * `transfer(file, perFileProgress)` resolves with the file's size.
 */
async function runFiles(
  found: FoundFile[],
  opts: DirTransferOptions,
  transfer: (f: FoundFile, onProgress: ((p: TransferProgress) => void) | undefined) => Promise<number>,
): Promise<DirTransferResult> {
  const result = { files: 0, bytes: 0 };
  const report = opts.onProgress;
  let total = 0;
  for (const f of found) total += f.size;
  let bytes = 0;
  const t0 = performance.now();
  const emit = (path: string) => {
    if (!report) return;
    const secs = (performance.now() - t0) / 1000;
    report({ bytes, total, files: found.length, filesDone: result.files, path, rate: secs > 0 ? bytes / secs : 0 });
  };
  await runPool(
    found.map((f) => async () => {
      let counted = 0;
      const perFile = report
        ? (p: TransferProgress) => {
            bytes += p.transferred - counted;
            counted = p.transferred;
            emit(f.rel);
          }
        : undefined;
      const n = await transfer(f, perFile);
      bytes += n - counted;
      total += n - f.size;
      result.files++;
      result.bytes += n;
      opts.onFile?.(f.rel, n);
      emit(f.rel);
    }),
    opts.parallel ?? 4,
  );
  return result;
}

/**
 * Runs `jobs`, `parallel` at a time. After a failure no further job starts, and the first failure is
 * thrown once the jobs already running have ended (nothing keeps going after the promise settles).
 */
async function runPool(jobs: (() => Promise<void>)[], parallel: number): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const workers = Array.from({ length: Math.max(1, Math.min(parallel, jobs.length)) }, async () => {
    while (!failure && next < jobs.length) {
      const job = jobs[next++] as () => Promise<void>;
      try {
        await job();
      } catch (error) {
        failure ??= { error };
      }
    }
  });
  await Promise.all(workers);
  if (failure) throw failure.error;
}

/**
 * Copies the remote directory tree `remoteDir` into the local directory `localDir` (created as
 * needed). A name that is not valid UTF-8 is read by its raw bytes and given the same bytes as its
 * local name (a Buffer path).
 */
export async function downloadDir(
  sftp: SftpCore,
  remoteDir: SftpPath,
  localDir: string,
  opts: DirTransferOptions = {},
): Promise<DirTransferResult> {
  const files: FoundFile[] = [];
  const walk = async (rel: string, parts: Part[]): Promise<void> => {
    await mkdir(parts.length > 0 ? localPath(localDir, parts) : localDir, { recursive: true });
    const entries = await sftp.readdir(remotePath(remoteDir, parts));
    for (const e of entries) {
      const raw = e.filenameRaw;
      if (!plainName(raw ?? e.filename)) continue;
      const shown = raw ? displayPath(raw) : e.filename;
      const p = rel ? `${rel}/${shown}` : shown;
      const sub = [...parts, raw ?? e.filename];
      const isDir = e.attrs.isDirectory();
      if (!isDir && !e.attrs.isFile()) continue;
      if (opts.filter && !opts.filter(p, isDir)) continue;
      if (isDir) await walk(p, sub);
      else files.push({ rel: p, parts: sub, size: e.attrs.size ?? 0 });
    }
  };
  await walk('', []);
  const { parallel: _p, filter: _f, onFile: _o, onProgress: _r, ...per } = opts;
  return runFiles(files, opts, ({ parts }, onProgress) =>
    download(sftp, remotePath(remoteDir, parts), localPath(localDir, parts), onProgress ? { ...per, onProgress } : per),
  );
}

/** Copies the local directory tree `localDir` into the remote directory `remoteDir` (created as needed). */
export async function uploadDir(
  sftp: SftpCore,
  localDir: string,
  remoteDir: string,
  opts: DirTransferOptions = {},
): Promise<DirTransferResult> {
  const files: FoundFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    await sftp.mkdir(rel ? `${remoteDir}/${rel}` : remoteDir, { recursive: true });
    const here = rel ? join(localDir, ...rel.split('/')) : localDir;
    const entries = await readdir(here, { withFileTypes: true });
    for (const e of entries) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      const isDir = e.isDirectory();
      if (!isDir && !e.isFile()) continue;
      if (opts.filter && !opts.filter(p, isDir)) continue;
      if (isDir) await walk(p);
      else {
        // Sizes only for a progress total: a file that is gone by now fails in its own transfer.
        const size = opts.onProgress
          ? await lstat(join(here, e.name)).then(
              (st) => st.size,
              () => 0,
            )
          : 0;
        files.push({ rel: p, parts: [], size });
      }
    }
  };
  await walk('');
  const { parallel: _p, filter: _f, onFile: _o, onProgress: _r, ...per } = opts;
  return runFiles(files, opts, ({ rel }, onProgress) =>
    upload(sftp, join(localDir, ...rel.split('/')), `${remoteDir}/${rel}`, onProgress ? { ...per, onProgress } : per),
  );
}
