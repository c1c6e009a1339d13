/**
 * Recursive transfers: downloadDir / uploadDir with several files in flight and a filter.
 * Regular files and directories are copied; symlinks and special files are skipped.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { SftpClient } from './client.js';
import type { TransferOptions } from './transfer.js';
import { download, upload } from './transfer.js';

/** Settings of {@link downloadDir} / {@link uploadDir}. */
export interface DirTransferOptions extends Omit<TransferOptions, 'onProgress'> {
  /** Files transferred at once (default 4). */
  parallel?: number;
  /** Return false to skip an entry (a skipped directory is not entered). `path` is relative, '/'-separated. */
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
 * Whether a name from a remote listing is one plain path component: a server (hostile or broken)
 * could list '', '..', 'a/b' or a NUL, which joined to the local directory would land elsewhere.
 */
function plainName(n: string): boolean {
  return (
    n !== '' && n !== '.' && n !== '..' && !n.includes('/') && !n.includes('\0') && !(sep === '\\' && n.includes('\\'))
  );
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

/** Copies the remote directory tree `remoteDir` into the local directory `localDir` (created as needed). */
export async function downloadDir(
  sftp: SftpClient,
  remoteDir: string,
  localDir: string,
  opts: DirTransferOptions = {},
): Promise<DirTransferResult> {
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    await mkdir(rel ? join(localDir, rel) : localDir, { recursive: true });
    const entries = await sftp.readdir(rel ? `${remoteDir}/${rel}` : remoteDir);
    for (const e of entries) {
      if (!plainName(e.filename)) continue;
      const p = rel ? `${rel}/${e.filename}` : e.filename;
      const isDir = e.attrs.isDirectory();
      if (!isDir && !e.attrs.isFile()) continue;
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
      const n = await download(sftp, `${remoteDir}/${p}`, join(localDir, ...p.split('/')), per);
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
