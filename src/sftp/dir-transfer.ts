/**
 * Recursive transfers: downloadDir / uploadDir with several files in flight and a filter.
 * Regular files and directories are copied; symlinks and special files are skipped.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import type { SftpClient } from './client.js';
import type { SftpPath } from './codec.js';
import { displayPath, pathBytes } from './codec.js';
import type { TransferOptions } from './transfer.js';
import { download, upload } from './transfer.js';

/** Settings of {@link downloadDir} / {@link uploadDir}. */
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
}

/** What a directory transfer did. */
export interface DirTransferResult {
  files: number;
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

async function runPool(jobs: (() => Promise<void>)[], parallel: number): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(parallel, jobs.length)) }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++] as () => Promise<void>;
      await job();
    }
  });
  await Promise.all(workers);
}

/**
 * Copies the remote directory tree `remoteDir` into the local directory `localDir` (created as
 * needed). A name that is not valid UTF-8 is read by its raw bytes and given the same bytes as its
 * local name (a Buffer path).
 */
export async function downloadDir(
  sftp: SftpClient,
  remoteDir: SftpPath,
  localDir: string,
  opts: DirTransferOptions = {},
): Promise<DirTransferResult> {
  const files: { rel: string; parts: Part[] }[] = [];
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
      else files.push({ rel: p, parts: sub });
    }
  };
  await walk('', []);
  const result = { files: 0, bytes: 0 };
  const { parallel, filter: _f, onFile, ...per } = opts;
  await runPool(
    files.map(({ rel: p, parts }) => async () => {
      const n = await download(sftp, remotePath(remoteDir, parts), localPath(localDir, parts), per);
      result.files++;
      result.bytes += n;
      onFile?.(p, n);
    }),
    parallel ?? 4,
  );
  return result;
}

/** Copies the local directory tree `localDir` into the remote directory `remoteDir` (created as needed). */
export async function uploadDir(
  sftp: SftpClient,
  localDir: string,
  remoteDir: string,
  opts: DirTransferOptions = {},
): Promise<DirTransferResult> {
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    await sftp.mkdir(rel ? `${remoteDir}/${rel}` : remoteDir, { recursive: true });
    const entries = await readdir(rel ? join(localDir, ...rel.split('/')) : localDir, { withFileTypes: true });
    for (const e of entries) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      const isDir = e.isDirectory();
      if (!isDir && !e.isFile()) continue;
      if (opts.filter && !opts.filter(p, isDir)) continue;
      if (isDir) await walk(p);
      else files.push(p);
    }
  };
  await walk('');
  const result = { files: 0, bytes: 0 };
  const { parallel, filter: _f, onFile, ...per } = opts;
  await runPool(
    files.map((p) => async () => {
      const n = await upload(sftp, join(localDir, ...p.split('/')), `${remoteDir}/${p}`, per);
      result.files++;
      result.bytes += n;
      onFile?.(p, n);
    }),
    parallel ?? 4,
  );
  return result;
}
