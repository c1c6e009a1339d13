/**
 * Compound operations of {@link SftpClient} built from several requests: recursive removal, append,
 * remote copy and the type of an entry. Kept apart from client.ts, which holds the request plumbing.
 */
import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '../errors.js';
import { S_IFMT, SftpStats } from './attrs.js';
import { unexpected } from './client-replies.js';
import type { SftpDirEntry, SftpPath } from './codec.js';
import { displayPath, joinRemote, pathBytes } from './codec.js';
import { EXT, FX, FXF, FXP } from './constants.js';
import { SftpError } from './errors.js';
import type { SftpCore, SftpFileBase } from './handle.js';
import { Inflight } from './inflight.js';

/**
 * The type of an entry as the first letter of `ls -l` shows it: '-' regular file, 'd' directory,
 * 'l' symbolic link, 'p' FIFO, 's' socket, 'c' character device, 'b' block device, '?' unknown (the
 * server sent no type). The first three are what ssh2-sftp-client's `exists` returns.
 */
export type SftpEntryType = '-' | 'd' | 'l' | 'p' | 's' | 'c' | 'b' | '?';

const TYPE_LETTERS: ReadonlyMap<number, SftpEntryType> = new Map([
  [0o100000, '-'],
  [0o040000, 'd'],
  [0o120000, 'l'],
  [0o010000, 'p'],
  [0o140000, 's'],
  [0o020000, 'c'],
  [0o060000, 'b'],
]);

/** The {@link SftpEntryType} of attributes (from LSTAT, so a symlink is 'l'). */
export function entryTypeOf(st: SftpStats): SftpEntryType {
  return st.mode === undefined ? '?' : (TYPE_LETTERS.get(st.mode & S_IFMT) ?? '?');
}

function isNoEntry(e: unknown): boolean {
  return e instanceof SftpError && e.status === FX.NO_SUCH_FILE;
}

/** LSTAT of `path`, or undefined when it does not exist. */
export async function lstatIfExists(sftp: SftpCore, path: SftpPath): Promise<SftpStats | undefined> {
  try {
    return await sftp.lstat(path);
  } catch (e) {
    if (isNoEntry(e)) return undefined;
    throw e;
  }
}

/** Settings of {@link SftpClient.rm}. */
export interface RmOptions {
  /** Remove a directory and everything in it (as `fs.rm`); without it a directory is an error. */
  recursive?: boolean;
  /** No error when `path` does not exist (as `fs.rm`). */
  force?: boolean;
  /** Requests in flight while removing a tree (default 16). */
  concurrency?: number;
}

/** Settings of {@link SftpClient.rmdir}. */
export interface RmdirOptions {
  /** Remove the directory's contents first (as the `recursive` of `fs.rmdir`). */
  recursive?: boolean;
  /** Requests in flight while removing a tree (default 16). */
  concurrency?: number;
}

/** At most `max` operations at once; once one failed, the ones not started yet fail with its error. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  failure: unknown;
  constructor(private readonly max: number) {}

  async run<T>(op: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      if (this.failure !== undefined) throw this.failure;
      return await op();
    } catch (e) {
      this.failure ??= e;
      throw e;
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Waits for every promise, then throws the first rejection (so nothing runs on after a failure). */
async function allSettledOrThrow(ps: Promise<unknown>[]): Promise<void> {
  const rs = await Promise.allSettled(ps);
  for (const r of rs) if (r.status === 'rejected') throw r.reason;
}

/**
 * Whether a name from a listing is one plain path component: a broken or hostile server could list
 * '', 'a/b' or a NUL, which joined to the directory would name something else to remove.
 */
function plainName(name: string | Buffer): boolean {
  const n = pathBytes(name);
  if (n.length === 0 || (n.length <= 2 && n.every((c) => c === 0x2e))) return false;
  return !n.includes(0x2f) && !n.includes(0);
}

/** Deepest directory a recursive removal enters (a path of 2048 levels is past Linux's PATH_MAX). */
const MAX_DEPTH = 2048;

/**
 * Removes the directory `dir` and everything under it. Symbolic links are removed, never followed
 * (the listing's attributes come from LSTAT; an entry without a type is LSTATed). Entries that vanish
 * meanwhile are not errors. Every error names the path it was about.
 */
async function removeTree(sftp: SftpCore, dir: SftpPath, limit: Limiter, depth = 0): Promise<void> {
  // A server could list a directory in every directory without end.
  if (depth > MAX_DEPTH) throw new SftpError(FX.FAILURE, `tree deeper than ${MAX_DEPTH} levels`, displayPath(dir));
  const entries = await limit.run(() => sftp.readdir(dir));
  await allSettledOrThrow(
    entries.map(async (e) => {
      const name = e.filenameRaw ?? e.filename;
      if (!plainName(name)) {
        throw new SftpError(FX.BAD_MESSAGE, `server listed a name that is not a file name`, displayPath(dir));
      }
      const child = joinRemote(dir, name);
      let type = entryTypeOf(e.attrs);
      if (type === '?') {
        const st = await limit.run(() => lstatIfExists(sftp, child));
        if (!st) return;
        type = entryTypeOf(st);
      }
      if (type === 'd') {
        await removeTree(sftp, child, limit, depth + 1);
        await limit.run(() => ignoreMissing(sftp.rmdir(child)));
      } else {
        await limit.run(() => ignoreMissing(sftp.unlink(child)));
      }
    }),
  );
}

async function ignoreMissing(p: Promise<void>): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!isNoEntry(e)) throw e;
  }
}

/** See {@link SftpClient.rm}. */
export async function rm(sftp: SftpCore, path: SftpPath, opts: RmOptions = {}): Promise<void> {
  const st = await lstatIfExists(sftp, path);
  if (!st) {
    if (opts.force) return;
    throw new SftpError(FX.NO_SUCH_FILE, 'no such file or directory', displayPath(path));
  }
  if (!st.isDirectory()) {
    const p = sftp.unlink(path);
    return opts.force ? ignoreMissing(p) : p;
  }
  if (!opts.recursive) throw new SftpError(FX.FAILURE, 'is a directory (pass recursive)', displayPath(path), 'EISDIR');
  await removeTree(sftp, path, new Limiter(Math.max(1, opts.concurrency ?? 16)));
  const p = sftp.rmdir(path);
  return opts.force ? ignoreMissing(p) : p;
}

/** See {@link SftpClient.rmdir}. */
export async function rmdirRecursive(sftp: SftpCore, path: SftpPath, opts: RmdirOptions): Promise<void> {
  const st = await sftp.lstat(path);
  if (!st.isDirectory()) throw new SftpError(FX.FAILURE, 'not a directory', displayPath(path), 'ENOTDIR');
  await removeTree(sftp, path, new Limiter(Math.max(1, opts.concurrency ?? 16)));
  await sftp.rmdir(path);
}

/** Settings of {@link SftpClient.append}. */
export interface AppendOptions {
  /** Mode of the file when append creates it (default 0o644). */
  mode?: number;
  /** WRITEs in flight (default 64). */
  concurrency?: number;
}

/** What {@link SftpClient.append} takes: text (UTF-8), bytes, or a stream of either. */
export type AppendData = string | Uint8Array | Readable;

function chunkBytes(chunk: unknown): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return chunk;
  throw new InvalidArgumentError('append: a stream chunk must be a string, Buffer or Uint8Array');
}

/** See {@link SftpClient.append}. */
export async function append(
  sftp: SftpCore,
  path: SftpPath,
  data: AppendData,
  opts: AppendOptions = {},
): Promise<number> {
  if (typeof data === 'string' || data instanceof Uint8Array) return appendFrom(sftp, path, [data], opts);
  try {
    return await appendFrom(sftp, path, data, opts);
  } catch (e) {
    // As stream.pipeline does: a source that will not be read to its end is destroyed.
    data.destroy();
    throw e;
  }
}

async function appendFrom(
  sftp: SftpCore,
  path: SftpPath,
  source: AsyncIterable<unknown> | Iterable<unknown>,
  opts: AppendOptions,
): Promise<number> {
  const fh = await sftp.open(path, FXF.WRITE | FXF.CREAT | FXF.APPEND, opts.mode ?? 0o644);
  try {
    // A server that honours SSH_FXF_APPEND (OpenSSH's and secsh's open the file O_APPEND) ignores
    // the offsets; for one that does not, writing from the current size appends all the same.
    const start = (await fh.stat()).size ?? 0;
    const end = await writeFrom(fh, source, start, Math.max(1, opts.concurrency ?? 64));
    await fh.close();
    return end - start;
  } finally {
    await fh.close().catch(() => {});
  }
}

/** Writes every chunk of `source` from `pos` on with many WRITEs in flight; resolves with the end. */
async function writeFrom(
  fh: SftpFileBase,
  source: AsyncIterable<unknown> | Iterable<unknown>,
  pos: number,
  concurrency: number,
): Promise<number> {
  const size = fh.core.writeChunk;
  const inflight = new Inflight();
  try {
    for await (const chunk of source) {
      const bytes = chunkBytes(chunk);
      for (let off = 0; off < bytes.length; off += size) {
        inflight.check();
        const piece = bytes.subarray(off, Math.min(off + size, bytes.length));
        inflight.add(fh.write(piece, pos));
        pos += piece.length;
        await inflight.below(concurrency);
      }
    }
  } finally {
    // Never leave a WRITE running on a handle that is about to be closed.
    await inflight.settle();
  }
  inflight.check();
  return pos;
}

/** Settings of {@link SftpClient.copy}. */
export interface CopyOptions {
  /**
   * Use the server's copy-data extension when it offers it (default true): the bytes then never
   * cross the network. False always reads and writes through this client.
   */
  copyData?: boolean;
  /** Copy the permission bits and access/modification times of `src` to `dst` (default false). */
  preserve?: boolean;
  /** Requests in flight when reading and writing through this client (default 64). */
  concurrency?: number;
}

/** The pieces of a pipelined read, one by one. */
async function* pieces(chunks: AsyncGenerator<Buffer[]>): AsyncGenerator<Buffer> {
  for await (const parts of chunks) yield* parts;
}

/** See {@link SftpClient.copy}. */
export async function copy(sftp: SftpCore, src: SftpPath, dst: SftpPath, opts: CopyOptions = {}): Promise<number> {
  // The same file by two spellings (or through a symlink): opening `dst` would empty the source.
  const [st, a, b] = await Promise.all([
    sftp.stat(src),
    sftp.realpath(src).catch(() => undefined),
    sftp.realpath(dst).catch(() => undefined),
  ]);
  const shown = displayPath(src);
  if (st.isDirectory()) throw new SftpError(FX.FAILURE, 'is a directory', shown, 'EISDIR');
  // A FIFO or device would block the server's open or never reach end of file.
  if (st.mode !== undefined && !st.isFile()) throw new SftpError(FX.FAILURE, 'not a regular file', shown, 'EINVAL');
  if (a !== undefined && a === b) return st.size ?? 0;
  const from = await sftp.open(src, 'r');
  let to: SftpFileBase | undefined;
  try {
    to = await sftp.open(dst, 'w');
    let n: number;
    if (opts.copyData !== false && sftp.has(EXT.COPY_DATA)) {
      await from.copyTo(to, 0, 0, 0);
      n = (await to.stat()).size ?? 0;
    } else {
      const concurrency = Math.max(1, opts.concurrency ?? 64);
      n = await writeFrom(to, pieces(from.readChunksV({ concurrency })), 0, concurrency);
    }
    if (opts.preserve) {
      await to.setstat({
        ...(st.mode !== undefined ? { mode: st.mode & 0o7777 } : {}),
        ...(st.atime !== undefined && st.mtime !== undefined ? { atime: st.atime, mtime: st.mtime } : {}),
      });
    }
    await to.close();
    return n;
  } finally {
    await to?.close().catch(() => {});
    await from.close().catch(() => {});
  }
}

/**
 * See {@link SftpClient.mkdir} with `recursive`: creates each missing directory of `path` with
 * `mkdirOne`, no error for those that exist (or appear meanwhile) as directories.
 */
export async function mkdirRecursive(
  sftp: SftpCore,
  path: string,
  mkdirOne: (path: string) => Promise<void>,
): Promise<void> {
  const parts = path.split('/');
  let cur = path.startsWith('/') ? '' : '.';
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    cur = cur === '' ? `/${part}` : `${cur}/${part}`;
    const st = await sftp.stat(cur).catch(() => undefined);
    if (st) {
      if (!st.isDirectory()) throw new SftpError(FX.FAILURE, 'not a directory', cur, 'ENOTDIR');
      continue;
    }
    try {
      await mkdirOne(cur);
    } catch (e) {
      // Lost a race with someone creating it: fine if it is a directory now.
      const again = await sftp.stat(cur).catch(() => undefined);
      if (!again?.isDirectory()) throw e;
    }
  }
}

/** See {@link SftpClient.readdir}. */
export async function readdir(sftp: SftpCore, path: SftpPath, max: number): Promise<SftpDirEntry[]> {
  const shown = displayPath(path);
  const handle = await sftp.openHandle(FXP.OPENDIR, (w) => w.string(path), shown);
  const out: SftpDirEntry[] = [];
  let empty = 0;
  try {
    for (;;) {
      const r = await sftp.request(FXP.READDIR, (w) => w.string(handle));
      if (r.type === FXP.STATUS && r.code === FX.EOF) break;
      if (r.type !== FXP.NAME) throw unexpected(r, shown);
      if (r.names.length === 0 && ++empty > 100)
        throw new SftpError(FX.FAILURE, 'server keeps sending empty directory batches', shown);
      for (const n of r.names) {
        if (n.filename === '.' || n.filename === '..') continue;
        const e: SftpDirEntry = { filename: n.filename, longname: n.longname, attrs: new SftpStats(n.attrs) };
        if (n.filenameRaw) e.filenameRaw = n.filenameRaw;
        out.push(e);
      }
      if (out.length > max) throw new SftpError(FX.FAILURE, `directory listing exceeds ${max} entries`, shown);
    }
  } finally {
    await sftp.closeHandle(handle).catch(() => {});
  }
  return out;
}
