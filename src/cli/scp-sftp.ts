/**
 * scp over SFTP (OpenSSH 9's default): files and, with -r, trees, between any two {@link Side}s —
 * download, upload, or remote to remote through this host — with scp's messages for each failure,
 * going on with the other files.
 */
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SftpClient } from '../sftp/index.js';
import { SftpError } from '../sftp/index.js';
import type { ProgressMeter } from './progress.js';
import { ScpCliError } from './scp-options.js';
import type { Side, SideStat } from './scp-sides.js';
import { remoteBasename, remoteJoin, why } from './scp-sides.js';

/** Bandwidth limit (-l, Kbit/s), shared by every file of a run. */
export class RateLimit {
  private readonly bytesPerSecond: number;
  private readonly start = performance.now();
  private bytes = 0;
  constructor(kbits: number) {
    this.bytesPerSecond = (kbits * 1024) / 8;
  }
  /** Waits until `n` more bytes fit the limit. */
  async take(n: number): Promise<void> {
    this.bytes += n;
    const wait = this.start + (this.bytes / this.bytesPerSecond) * 1000 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

/** What a copy needs from the command. */
export interface CopyContext {
  recursive: boolean;
  preserve: boolean;
  /** Prints one line on stderr and counts an error (exit 1). */
  error(line: string): void;
  /** A progress meter for a file, or undefined (not a terminal, or -q). */
  meter(name: string, total: number): ProgressMeter | undefined;
  limit?: RateLimit;
}

type Direction = 'down' | 'up' | 'across';

function direction(from: Side, to: Side): Direction {
  if (from.kind === 'remote' && to.kind === 'local') return 'down';
  if (from.kind === 'local' && to.kind === 'remote') return 'up';
  return 'across';
}

/** One failed file, in the words scp uses for its direction. */
function fileError(ctx: CopyContext, dir: Direction, e: unknown, src: string, dst: string): void {
  const remote = e instanceof SftpError;
  if (dir === 'down') {
    ctx.error(remote ? `scp: download "${src}": ${why(e)}` : `scp: open local "${dst}": ${why(e)}`);
  } else if (dir === 'up') {
    ctx.error(remote ? `scp: dest open "${dst}": ${why(e)}` : `scp: open local "${src}": ${why(e)}`);
    ctx.error(`scp: failed to upload file ${src} to ${dst}`);
  } else {
    ctx.error(`scp: ${src} -> ${dst}: ${why(e)}`);
  }
}

async function copyFile(ctx: CopyContext, from: Side, src: string, to: Side, dst: string, st: SideStat) {
  const dir = direction(from, to);
  const meter = ctx.meter(from.basename(src), st.size);
  try {
    const onProgress = meter ? (p: { transferred: number }) => meter.update(p.transferred) : undefined;
    const common = { atomic: false, fsync: false, preserve: ctx.preserve, mode: st.mode & 0o777 };
    if (!ctx.limit && dir === 'down' && from.sftp) {
      await from.sftp.download(src, dst, { ...common, ...(onProgress ? { onProgress } : {}) });
      return;
    }
    if (!ctx.limit && dir === 'up' && to.sftp) {
      await to.sftp.upload(src, dst, { ...common, ...(onProgress ? { onProgress } : {}) });
      return;
    }
    const limit = ctx.limit;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        meter?.add(chunk.length);
        if (limit) limit.take(chunk.length).then(() => cb(null, chunk), cb);
        else cb(null, chunk);
      },
    });
    await pipeline(from.read(src), counter, to.write(dst, st.mode & 0o777));
    if (ctx.preserve) await to.setAttrs(dst, { mode: st.mode, atime: st.atime, mtime: st.mtime });
  } catch (e) {
    fileError(ctx, dir, e, src, dst);
  } finally {
    meter?.done();
  }
}

/** Deepest tree -r descends (OpenSSH's MAX_DIR_DEPTH): a symlink loop ends here. */
const MAX_DIR_DEPTH = 64;

async function copyTree(ctx: CopyContext, from: Side, src: string, to: Side, dst: string, st: SideStat, depth = 0) {
  if (depth > MAX_DIR_DEPTH) return ctx.error(`scp: Maximum directory depth exceeded: ${depth} levels`);
  const existing = await to.stat(dst).catch(() => undefined);
  if (existing && !existing.dir) return ctx.error(`scp: ${dst}: Not a directory`);
  if (!existing) {
    try {
      await to.mkdir(dst, st.mode | 0o700);
    } catch (e) {
      return ctx.error(`scp: ${to.kind === 'remote' ? 'remote ' : ''}mkdir "${dst}": ${why(e)}`);
    }
  }
  let names: string[];
  try {
    names = await from.list(src);
  } catch (e) {
    return ctx.error(`scp: ${src}: ${why(e)}`);
  }
  for (const name of names.sort()) {
    const s = from.join(src, name);
    const d = to.join(dst, name);
    let est: SideStat;
    try {
      est = await from.stat(s);
    } catch (e) {
      ctx.error(`scp: ${s}: ${why(e)}`);
      continue;
    }
    if (est.dir) await copyTree(ctx, from, s, to, d, est, depth + 1);
    else if (est.file) await copyFile(ctx, from, s, to, d, est);
    else ctx.error(`scp: ${s}: not a regular file`);
  }
  // Without -p a new directory keeps the mode mkdir gave it (the umask applied), unless it was
  // created with the owner's rwx added so that it could be filled.
  const attrs = ctx.preserve
    ? { mode: st.mode, atime: st.atime, mtime: st.mtime }
    : !existing && (st.mode | 0o700) !== st.mode
      ? { mode: st.mode }
      : {};
  if (Object.keys(attrs).length > 0) await to.setAttrs(dst, attrs).catch(() => {});
}

/**
 * Copies each of `sources` on `from` to `target` on `to` (into it when it is a directory). A
 * source that cannot be copied is reported and the others go on; a local source that does not
 * exist ends the run (exit 255) as it does in OpenSSH's scp.
 */
export async function copyAll(ctx: CopyContext, from: Side, sources: readonly string[], to: Side, target: string) {
  const tst = await to.stat(target).catch(() => undefined);
  const intoDir = tst?.dir === true;
  const dir = direction(from, to);
  for (const src of sources) {
    const dst = intoDir ? to.join(target, from.basename(src)) : target;
    let st: SideStat;
    try {
      st = await from.stat(src);
    } catch (e) {
      if (from.kind === 'local') {
        throw new ScpCliError(`scp: stat local "${src}": ${why(e)}`, 255);
      }
      ctx.error(`scp: ${src}: ${why(e)}`);
      continue;
    }
    if (st.dir && ctx.recursive) {
      await copyTree(ctx, from, src, to, dst, st);
    } else if (st.file) {
      await copyFile(ctx, from, src, to, dst, st);
    } else if (dir === 'up') {
      ctx.error(`scp: local "${src}" is not a regular file`);
      ctx.error(`scp: failed to upload file ${src} to ${target}`);
    } else {
      ctx.error(`scp: download ${src}${st.dir ? '/' : ''}: not a regular file`);
    }
  }
}

const GLOB = /[*?[]/;

function globRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) re += '\\[';
      else {
        let body = pattern.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/\]]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's');
}

/**
 * A remote source as the server will resolve it: '' is the login directory, `~` and `~user`
 * are expanded (expand-path@openssh.com), and wildcards in the last component are matched
 * against its directory's listing (dot files only when the pattern starts with '.').
 * An empty list means nothing matched.
 */
export async function expandRemote(sftp: SftpClient, path: string): Promise<string[]> {
  let p = path === '' ? '.' : path;
  if (p.startsWith('~')) p = await sftp.expandPath(p).catch(() => p.replace(/^~\/?/, '') || '.');
  const base = remoteBasename(p);
  if (!GLOB.test(base)) return [p];
  const slash = p.replace(/\/+$/, '').lastIndexOf('/');
  const dir = slash === -1 ? '' : slash === 0 ? '/' : p.slice(0, slash);
  const re = globRegExp(base);
  const names = await sftp.readdir(dir === '' ? '.' : dir).catch(() => []);
  return names
    .map((e) => e.filename)
    .filter((n) => n !== '.' && n !== '..' && (!n.startsWith('.') || base.startsWith('.')) && re.test(n))
    .sort()
    .map((n) => remoteJoin(dir, n));
}
