/**
 * get/put/reget/reput of `secsh sftp`: globbing of the sources, the destination rules of OpenSSH's
 * process_get/process_put, recursion (`-r`), `-p`, resume (`-a`, reget, reput), `-f`, a progress
 * meter per file on a terminal, and `-l` rate limiting.
 */
import { createReadStream, createWriteStream, constants as FS } from 'node:fs';
import { chmod, lstat, mkdir, open, opendir, stat, unlink, utimes } from 'node:fs/promises';
import { basename } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SftpClient, TransferOptions } from '../sftp/index.js';
import { ProgressMeter } from './progress.js';
import { glob, localFs, remoteFs } from './sftp-glob.js';
import type { SftpSession } from './sftp-session.js';
import { fxText, localErrText, remoteAbsolute, SftpCommandError } from './sftp-session.js';

/** The flags of one get/put. */
export interface TransferFlags {
  preserve: boolean;
  recursive: boolean;
  resume: boolean;
  fsync: boolean;
}

function lastComponent(p: string): string {
  const trimmed = p.replace(/\/+$/, '');
  const b = trimmed.slice(trimmed.lastIndexOf('/') + 1);
  return b === '' ? '/' : b;
}

function pathAppend(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

async function localIsDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function remoteIsDir(sftp: SftpClient, p: string): Promise<boolean> {
  return sftp.stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** A Transform passing at most `bytesPerSecond` through, on average. */
class Throttle extends Transform {
  private readonly start = performance.now();
  private sent = 0;
  constructor(private readonly bytesPerSecond: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.sent += chunk.length;
    const due = this.start + (this.sent / this.bytesPerSecond) * 1000;
    const wait = due - performance.now();
    if (wait > 0) setTimeout(() => done(null, chunk), wait);
    else done(null, chunk);
  }
}

/** Counts bytes through a stream for the progress meter. */
function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
}

/** Transfer options for the library: -B, -R, -f and -p. */
function libOptions(s: SftpSession, f: TransferFlags, onProgress?: (n: number) => void): TransferOptions {
  return {
    atomic: false,
    fsync: f.fsync,
    preserve: f.preserve,
    ...(s.opts.bufferSize !== undefined ? { chunkSize: s.opts.bufferSize } : {}),
    ...(s.opts.requests !== undefined ? { concurrency: s.opts.requests } : {}),
    ...(onProgress ? { onProgress: (p) => onProgress(p.transferred) } : {}),
  };
}

/** Starts a meter when progress is shown and the file is not empty. */
function meterFor(s: SftpSession, name: string, total: number, start: number): ProgressMeter | undefined {
  if (!s.showProgress || total === 0 || !ProgressMeter.wanted(s.out)) return undefined;
  return new ProgressMeter(lastComponent(name), total, s.out, start);
}

/** do_download: one remote regular file to a local path. */
export async function downloadFile(s: SftpSession, remote: string, local: string, f: TransferFlags): Promise<void> {
  const { sftp } = s;
  let st: Awaited<ReturnType<SftpClient['stat']>>;
  try {
    st = await sftp.stat(remote);
  } catch (e) {
    throw new SftpCommandError(`stat remote: ${fxText(e)}`);
  }
  if (!st.isFile()) throw new SftpCommandError(`download ${remote}: not a regular file`);
  const total = st.size ?? 0;
  let start = 0;
  if (f.resume) {
    const have = await stat(local).then(
      (x) => x.size,
      () => -1,
    );
    if (have > total) {
      throw new SftpCommandError(`Unable to resume download of "${local}": local file is larger than remote`);
    }
    if (have === total) {
      s.err(`File "${local}" was not modified\n`);
      return;
    }
    start = Math.max(0, have);
  }
  // Create the local file before the transfer opens the remote one, so that a bad destination fails
  // first; a file created here and left empty by a failure is removed again.
  const existed = await stat(local).then(
    () => true,
    () => false,
  );
  try {
    const fh = await open(local, FS.O_WRONLY | FS.O_CREAT, ((st.mode ?? 0o644) & 0o777) | 0o200);
    await fh.close();
  } catch (e) {
    throw new SftpCommandError(`open local "${local}": ${localErrText(e)}`);
  }
  const meter = meterFor(s, remote, total, start);
  try {
    if (s.opts.limitKbit !== undefined) {
      await pipeline(
        sftp.createReadStream(remote, {
          start,
          ...(s.opts.bufferSize !== undefined ? { chunkSize: s.opts.bufferSize } : {}),
          concurrency: s.opts.requests ?? 64,
        }),
        new Throttle((s.opts.limitKbit * 1024) / 8),
        counter((n) => meter?.add(n)),
        createWriteStream(local, { flags: start > 0 ? 'r+' : 'w', start }),
        { signal: s.signal() },
      );
      if (f.preserve) {
        if (st.mode !== undefined) await chmod(local, st.mode & 0o7777);
        if (st.atime !== undefined && st.mtime !== undefined) await utimes(local, st.atime, st.mtime);
      }
    } else {
      await sftp.download(remote, local, {
        ...libOptions(s, f, meter ? (n) => meter.update(n) : undefined),
        resume: start > 0,
        signal: s.signal(),
      });
    }
  } catch (e) {
    if (
      !existed &&
      (await stat(local).then(
        (x) => x.size === 0,
        () => false,
      ))
    )
      await unlink(local).catch(() => {});
    throw new SftpCommandError(transferError('remote', remote, local, e));
  } finally {
    meter?.done();
  }
}

/** The message of a failed transfer: a remote status as sftp names it, or a local error. */
function transferError(side: 'remote' | 'dest', remote: string, local: string, e: unknown): string {
  const m = e as { status?: number; code?: string; name?: string };
  if (m.name === 'AbortError') return 'Transfer interrupted';
  if (typeof m.status === 'number') return `${side} open "${remote}": ${fxText(e)}`;
  return `write local "${local}": ${localErrText(e)}`;
}

/** do_upload: one local regular file to a remote path. */
export async function uploadFile(s: SftpSession, local: string, remote: string, f: TransferFlags): Promise<void> {
  const { sftp } = s;
  let lst: Awaited<ReturnType<typeof stat>>;
  try {
    lst = await stat(local);
  } catch (e) {
    throw new SftpCommandError(`open local "${local}": ${localErrText(e)}`);
  }
  if (!lst.isFile()) throw new SftpCommandError(`local "${local}" is not a regular file`);
  let start = 0;
  if (f.resume) {
    let have: number;
    try {
      have = (await sftp.stat(remote)).size ?? 0;
    } catch (e) {
      throw new SftpCommandError(`stat remote: ${fxText(e)}`);
    }
    if (have >= lst.size)
      throw new SftpCommandError(`resume "${basename(local)}": destination file same size or larger`);
    start = have;
  }
  const meter = meterFor(s, local, lst.size, start);
  try {
    if (s.opts.limitKbit !== undefined) {
      const fh = await sftp.open(remote, start > 0 ? 'r+' : 'w', lst.mode & 0o777).catch((e: unknown) => {
        throw new SftpCommandError(`dest open "${remote}": ${fxText(e)}`);
      });
      await fh.close();
      await pipeline(
        createReadStream(local, { start }),
        new Throttle((s.opts.limitKbit * 1024) / 8),
        counter((n) => meter?.add(n)),
        sftp.createWriteStream(remote, { flags: 'r+', start, concurrency: s.opts.requests ?? 64 }),
        { signal: s.signal() },
      );
      if (f.preserve) {
        await sftp.setstat(remote, {
          mode: lst.mode & 0o7777,
          atime: Math.floor(lst.atimeMs / 1000),
          mtime: Math.floor(lst.mtimeMs / 1000),
        });
      }
    } else {
      await sftp.upload(local, remote, {
        ...libOptions(s, f, meter ? (n) => meter.update(n) : undefined),
        resume: start > 0,
        signal: s.signal(),
      });
    }
  } catch (e) {
    if (e instanceof SftpCommandError) throw e;
    throw new SftpCommandError(transferError('dest', remote, local, e));
  } finally {
    meter?.done();
  }
}

/** download_dir: a remote directory tree into `local` (created), one file at a time. */
async function downloadDir(
  s: SftpSession,
  remote: string,
  local: string,
  f: TransferFlags,
  depth = 0,
): Promise<boolean> {
  if (depth > 64) {
    s.err(`Maximum directory depth exceeded: ${depth} levels\n`);
    return false;
  }
  const st = await s.sftp.stat(remote).catch(() => undefined);
  if (!st?.isDirectory()) {
    s.err(`download "${remote}": not a directory\n`);
    return false;
  }
  s.print(`Retrieving ${remote}\n`);
  try {
    await mkdir(local, { mode: ((st.mode ?? 0o755) & 0o1777) | 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      s.err(`mkdir ${local}: ${localErrText(e)}\n`);
      return false;
    }
  }
  let ok = true;
  const entries = await s.sftp.readdir(remote).catch((e: unknown) => {
    s.err(`remote readdir "${remote}": ${fxText(e)}\n`);
    return undefined;
  });
  if (!entries) return false;
  // The server's order, as sftp's download_dir.
  for (const e of entries) {
    if (s.aborted()) return false;
    const r = pathAppend(remote, e.filename);
    const l = pathAppend(local, e.filename);
    if (e.attrs.isDirectory()) {
      if (!(await downloadDir(s, r, l, f, depth + 1))) ok = false;
    } else if (e.attrs.isFile()) {
      try {
        await downloadFile(s, r, l, f);
      } catch (err) {
        s.err(`${(err as Error).message}\n`);
        ok = false;
      }
    } else {
      s.err(`download "${r}": not a regular file\n`);
    }
  }
  if (f.preserve && st.atime !== undefined && st.mtime !== undefined) {
    await utimes(local, st.atime, st.mtime).catch(() => {});
  }
  return ok;
}

/** upload_dir: a local directory tree into `remote` (created), one file at a time. */
async function uploadDir(s: SftpSession, local: string, remote: string, f: TransferFlags, depth = 0): Promise<boolean> {
  if (depth > 64) {
    s.err(`Maximum directory depth exceeded: ${depth} levels\n`);
    return false;
  }
  const lst = await stat(local);
  s.print(`Entering ${local}\n`);
  const mode = (lst.mode & 0o1777) | 0o700;
  try {
    await s.sftp.mkdir(remote, { mode });
  } catch {
    // sftp carries on into a directory that exists (its mkdir fails); anything else fails below.
    if (!(await remoteIsDir(s.sftp, remote))) {
      s.err(`remote mkdir "${remote}": Failure\n`);
      return false;
    }
  }
  let ok = true;
  // The directory's own order; symlinks are not followed, as sftp's upload_dir (lstat).
  const names = [];
  for await (const d of await opendir(local)) names.push(d);
  for (const d of names) {
    if (s.aborted()) return false;
    const l = pathAppend(local, d.name);
    const r = pathAppend(remote, d.name);
    const st = await lstat(l).catch(() => undefined);
    if (st?.isDirectory()) {
      if (!(await uploadDir(s, l, r, f, depth + 1))) ok = false;
    } else if (st?.isFile()) {
      try {
        await uploadFile(s, l, r, f);
      } catch (err) {
        s.err(`${(err as Error).message}\n`);
        ok = false;
      }
    } else {
      s.err(`${d.name}: not a regular file\n`);
    }
  }
  if (f.preserve) {
    await s.sftp
      .setstat(remote, {
        mode: lst.mode & 0o7777,
        atime: Math.floor(lst.atimeMs / 1000),
        mtime: Math.floor(lst.mtimeMs / 1000),
      })
      .catch(() => {});
  }
  return ok;
}

/** process_get: returns false when something failed (the messages are printed). */
export async function processGet(
  s: SftpSession,
  src: string,
  dst: string | undefined,
  f: TransferFlags,
): Promise<boolean> {
  const absSrc = remoteAbsolute(src, s.pwd);
  const matches = await glob(remoteFs(s.sftp), absSrc);
  if (matches.length === 0) {
    s.err(`File "${absSrc.replace(/\\(.)/g, '$1')}" not found.\n`);
    return false;
  }
  if (matches.length > 1 && dst !== undefined && !(await localIsDir(dst))) {
    s.err(`Multiple source paths, but destination "${dst}" is not a directory\n`);
    return false;
  }
  let ok = true;
  for (const m of matches) {
    if (s.aborted()) return false;
    const name = lastComponent(m.path);
    let absDst: string;
    if (matches.length === 1 && dst !== undefined) absDst = (await localIsDir(dst)) ? pathAppend(dst, name) : dst;
    else if (dst !== undefined) absDst = pathAppend(dst, name);
    else absDst = name;
    const shown = m.isDir ? `${m.path.replace(/\/+$/, '')}/` : m.path;
    if (!s.quiet) s.print(`${f.resume ? 'Resuming' : 'Fetching'} ${shown} to ${absDst}\n`);
    if (m.isDir && f.recursive) {
      if (!(await downloadDir(s, m.path, absDst, f))) ok = false;
    } else if (m.isDir) {
      s.err(`download ${shown}: not a regular file\n`);
      ok = false;
    } else {
      try {
        await downloadFile(s, m.path, absDst, f);
      } catch (e) {
        s.err(`${(e as Error).message}\n`);
        ok = false;
      }
    }
  }
  return ok;
}

/** process_put: returns false when something failed (the messages are printed). */
export async function processPut(
  s: SftpSession,
  src: string,
  dst: string | undefined,
  f: TransferFlags,
): Promise<boolean> {
  const tmpDst = dst !== undefined ? remoteAbsolute(dst, s.pwd) : undefined;
  const matches = await glob(localFs, src, true);
  const dstIsDir = tmpDst !== undefined ? await remoteIsDir(s.sftp, tmpDst) : false;
  if (matches.length > 1 && tmpDst !== undefined && !dstIsDir) {
    s.err(`Multiple paths match, but destination "${tmpDst}" is not a directory\n`);
    return false;
  }
  let ok = true;
  for (const m of matches) {
    if (s.aborted()) return false;
    const st = await stat(m.path).catch((e: unknown) => e as Error);
    if (st instanceof Error) {
      s.err(`stat ${m.path}: ${localErrText(st)}\n`);
      ok = false;
      continue;
    }
    const name = lastComponent(m.path);
    let absDst: string;
    if (matches.length === 1 && tmpDst !== undefined) absDst = dstIsDir ? pathAppend(tmpDst, name) : tmpDst;
    else if (tmpDst !== undefined) absDst = pathAppend(tmpDst, name);
    else absDst = remoteAbsolute(name, s.pwd);
    const shown = st.isDirectory() ? `${m.path.replace(/\/+$/, '')}/` : m.path;
    if (!s.quiet) s.print(`${f.resume ? 'Resuming upload of' : 'Uploading'} ${shown} to ${absDst}\n`);
    if (st.isDirectory() && f.recursive) {
      if (!(await uploadDir(s, shown, absDst, f))) ok = false;
    } else if (st.isDirectory()) {
      s.err(`local "${shown}" is not a regular file\n`);
      ok = false;
    } else {
      try {
        await uploadFile(s, m.path, absDst, f);
      } catch (e) {
        s.err(`${(e as Error).message}\n`);
        ok = false;
      }
    }
  }
  return ok;
}
