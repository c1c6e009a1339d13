/**
 * LocalFsBackend: an {@link SftpBackend} over a local directory, confined to it. Client paths are
 * resolved against the root as '/' ('..' stops at the root); every path is then resolved one
 * component at a time from the root, following symlinks, and is refused as soon as it would leave
 * the root (whether or not what lies outside exists, so host paths cannot be probed); operations on
 * a final symlink itself resolve only its parent, and files are opened with O_NOFOLLOW. Path
 * operations of every LocalFsBackend in the process run one at a time, so one SFTP session cannot
 * swap a directory for a symlink between another's check and its use. (Races with other local
 * processes changing the tree are out of scope.)
 */
import { constants as C, realpathSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import { posix, sep } from 'node:path';
import type { SftpAttrs } from './attrs.js';
import type { SftpBackend, SftpBackendDir, SftpBackendFile, UsersGroups } from './backend.js';
import { TRUSTED_READ_INTO } from './backend.js';
import type { SftpName, SftpStatvfs } from './codec.js';
import { FX, FXF } from './constants.js';
import { SftpError } from './errors.js';
import { readFully, writeFully } from './local-io.js';

/** Settings of {@link LocalFsBackend}. */
export interface LocalFsBackendOptions {
  /** Refuse every modification. */
  readOnly?: boolean;
  /** The starting directory relative paths resolve against, as the client sees it (default '/'). */
  cwd?: string;
}

/** Seconds since the epoch clamped to what SFTP v3 carries (uint32): times before 1970 or after 2106 would not encode. */
function wireTime(ms: number): number {
  return Math.min(Math.max(Math.floor(ms / 1000), 0), 0xffffffff);
}

function toAttrs(s: import('node:fs').Stats): SftpAttrs {
  return {
    size: s.size,
    uid: s.uid,
    gid: s.gid,
    mode: s.mode,
    atime: wireTime(s.atimeMs),
    mtime: wireTime(s.mtimeMs),
  };
}

/** Most symlinks followed while resolving one path (as Linux's MAXSYMLINKS). */
const MAX_LINKS = 40;

/** The tail of the chain of path operations of every LocalFsBackend in this process. */
let pathOps: Promise<unknown> = Promise.resolve();

/** Runs `fn` after every path operation started before it (see the module comment). */
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const run = pathOps.then(fn);
  pathOps = run.catch(() => {});
  return run;
}

async function applyAttrs(
  a: SftpAttrs,
  ops: {
    truncate(n: number): Promise<void>;
    chmod(m: number): Promise<void>;
    chown(u: number, g: number): Promise<void>;
    utimes(a: number, m: number): Promise<void>;
    stat(): Promise<import('node:fs').Stats>;
  },
): Promise<void> {
  if (a.size !== undefined) await ops.truncate(a.size);
  if (a.mode !== undefined) await ops.chmod(a.mode & 0o7777);
  if (a.uid !== undefined || a.gid !== undefined) {
    const cur = a.uid === undefined || a.gid === undefined ? await ops.stat() : undefined;
    await ops.chown(a.uid ?? (cur?.uid as number), a.gid ?? (cur?.gid as number));
  }
  if (a.atime !== undefined || a.mtime !== undefined) {
    const at = a.atime ?? a.mtime ?? 0;
    await ops.utimes(at, a.mtime ?? at);
  }
}

/** id → name from an /etc/passwd or /etc/group style file (read asynchronously: a client asks for it). */
async function readNames(file: string): Promise<Map<number, string>> {
  const m = new Map<number, string>();
  try {
    for (const line of (await fsp.readFile(file, 'utf8')).split('\n')) {
      const f = line.split(':');
      const id = Number(f[2]);
      if (f[0] && Number.isInteger(id)) m.set(id, f[0]);
    }
  } catch {
    // not available: names stay unknown
  }
  return m;
}

class LocalFile implements SftpBackendFile {
  readonly [TRUSTED_READ_INTO] = true;
  constructor(
    private readonly fh: FileHandle,
    private readonly backend: LocalFsBackend,
  ) {}
  async read(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    return buf.subarray(0, await this.readInto(buf, offset));
  }
  readInto(target: Buffer, offset: number): Promise<number> {
    return readFully(this.fh, target, 0, target.length, offset);
  }
  write(offset: number, data: Buffer): Promise<void> {
    return writeFully(this.fh, [data], offset);
  }
  async stat(): Promise<SftpAttrs> {
    return toAttrs(await this.fh.stat());
  }
  async identity(): Promise<string> {
    const st = await this.fh.stat({ bigint: true });
    return `${st.dev}:${st.ino}`;
  }
  setstat(a: SftpAttrs): Promise<void> {
    const fh = this.fh;
    return applyAttrs(a, {
      truncate: (n) => fh.truncate(n),
      chmod: (m) => fh.chmod(m),
      chown: (u, g) => fh.chown(u, g),
      utimes: (x, y) => fh.utimes(x, y),
      stat: () => fh.stat(),
    });
  }
  sync(): Promise<void> {
    return this.fh.sync();
  }
  statvfs(): Promise<SftpStatvfs> {
    return this.backend.statvfs('/');
  }
  close(): Promise<void> {
    return this.fh.close();
  }
}

/**
 * A local directory as an SFTP file system, confined to `root`.
 *
 * @example
 * server.on('session', sftpSubsystemHandler(new LocalFsBackend('/srv/files', { readOnly: true })));
 */
export class LocalFsBackend implements SftpBackend {
  /** The real, absolute root. */
  readonly root: string;
  readonly readOnly: boolean;
  /** The starting directory (client view). */
  readonly cwd: string;

  constructor(root: string, opts: LocalFsBackendOptions = {}) {
    this.root = realpathSync(root);
    this.readOnly = opts.readOnly === true;
    this.cwd = posix.resolve('/', opts.cwd ?? '/');
  }

  /** The client path as an absolute path under the virtual '/', with '..' stopping at '/'. */
  private virt(p: string): string {
    if (p.includes('\0')) throw new SftpError(FX.NO_SUCH_FILE, 'invalid path');
    return posix.resolve(this.cwd, p);
  }

  private real(v: string): string {
    return v === '/' ? this.root : this.root + v;
  }

  private inside(real: string): boolean {
    return real === this.root || real.startsWith(this.root === sep ? sep : this.root + sep);
  }

  private toVirtual(real: string): string {
    if (real === this.root) return '/';
    // A root of '/' has no trailing part to cut: the real path is already the client's.
    return this.root === sep ? real : real.slice(this.root.length);
  }

  private deny(): never {
    throw new SftpError(FX.PERMISSION_DENIED, 'path escapes the root');
  }

  /**
   * The real path of the virtual path `v`, resolved from the root one component at a time and
   * following every symlink: each step must stay inside the root (else PERMISSION_DENIED, before
   * anything outside is looked at); a missing component throws the `fs` error (ENOENT, ENOTDIR).
   */
  private async resolve(v: string): Promise<string> {
    const queue = v.split('/').filter((c) => c !== '' && c !== '.');
    let cur = this.root;
    let links = 0;
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
      if (c === '..') {
        // `cur` never contains a symlink, so its parent is lexical.
        if (cur === this.root) this.deny();
        cur = posix.dirname(cur);
        continue;
      }
      if (c.length > 255) throw Object.assign(new Error('name too long'), { code: 'ENAMETOOLONG' });
      const next = cur === sep ? `${sep}${c}` : `${cur}${sep}${c}`;
      if (!(await fsp.lstat(next)).isSymbolicLink()) {
        cur = next;
        continue;
      }
      if (++links > MAX_LINKS) throw Object.assign(new Error('too many symbolic links'), { code: 'ELOOP' });
      const t = await fsp.readlink(next);
      if (t.startsWith(sep)) {
        // An absolute target must name the root itself or lie under it, written plainly.
        if (!this.inside(t)) this.deny();
        cur = this.root;
        queue.unshift(
          ...t
            .slice(this.root === sep ? 0 : this.root.length)
            .split('/')
            .filter((x) => x !== '' && x !== '.'),
        );
      } else {
        queue.unshift(...t.split('/').filter((x) => x !== '' && x !== '.'));
      }
    }
    return cur;
  }

  /** The real path `p` resolves to, following every symlink; it must exist and be inside the root. */
  private follow(p: string): Promise<string> {
    return this.resolve(this.virt(p));
  }

  /** `p` with its parent resolved (checked) and the final name kept, not followed. */
  private async parent(p: string): Promise<string> {
    const v = this.virt(p);
    if (v === '/') return this.root;
    const dir = await this.resolve(posix.dirname(v));
    return `${dir === sep ? '' : dir}${sep}${posix.basename(v)}`;
  }

  async open(p: string, pflags: number, attrs: SftpAttrs): Promise<SftpBackendFile> {
    let flags = 0;
    const rw = pflags & (FXF.READ | FXF.WRITE);
    flags += rw === (FXF.READ | FXF.WRITE) ? C.O_RDWR : rw === FXF.WRITE ? C.O_WRONLY : C.O_RDONLY;
    if (pflags & FXF.APPEND) flags |= C.O_APPEND;
    if (pflags & FXF.CREAT) flags |= C.O_CREAT;
    if (pflags & FXF.TRUNC) flags |= C.O_TRUNC;
    if (pflags & FXF.EXCL) flags |= C.O_EXCL;
    const mode = attrs.mode !== undefined ? attrs.mode & 0o7777 : 0o666;
    return exclusive(async () => {
      let target: string;
      try {
        target = await this.follow(p);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT' || !(pflags & FXF.CREAT)) throw e;
        // Not there (or a dangling symlink inside the root): create in a checked parent, never through a link.
        target = await this.parent(p);
      }
      // O_NONBLOCK: opening a FIFO must not wait for its other end while holding the path-operation
      // lock every session shares (it has no effect on regular files).
      const fh = await fsp.open(target, flags | C.O_NOFOLLOW | C.O_NONBLOCK, mode);
      return new LocalFile(fh, this);
    });
  }

  opendir(p: string): Promise<SftpBackendDir> {
    return exclusive(async () => {
      const v = this.virt(p);
      const real = await this.resolve(v);
      const dir = await fsp.opendir(real, { bufferSize: 64 });
      const id = await fsp.stat(real).catch(async (e: unknown) => {
        await dir.close().catch(() => {});
        throw e;
      });
      let dots = true;
      /**
       * Where the opened directory is now, or undefined when its path no longer leads to it: the
       * entries' attributes are looked up by path, and the path may since have been renamed away
       * and replaced (by a link leading out of the root, say). Call under {@link exclusive}.
       */
      const here = async (): Promise<string | undefined> => {
        try {
          const r = await this.resolve(v);
          const s = await fsp.stat(r);
          return s.dev === id.dev && s.ino === id.ino ? r : undefined;
        } catch {
          return undefined;
        }
      };
      return {
        read: async (): Promise<SftpName[] | null> => {
          const names: string[] = [];
          if (dots) {
            dots = false;
            names.push('.', '..');
          }
          while (names.length < 100) {
            const e = await dir.read();
            if (!e) break;
            names.push(e.name);
          }
          if (names.length === 0) return null;
          return exclusive(async () => {
            const at = await here();
            const out: SftpName[] = [];
            for (const n of names) {
              const path =
                at === undefined
                  ? undefined
                  : n === '.' || (n === '..' && at === this.root)
                    ? at
                    : n === '..'
                      ? posix.dirname(at)
                      : `${at}${sep}${n}`;
              const s = path === undefined ? undefined : await fsp.lstat(path).catch(() => undefined);
              out.push({ filename: n, longname: '', attrs: s ? toAttrs(s) : {} });
            }
            return out;
          });
        },
        close: () => dir.close().catch(() => {}),
      };
    });
  }

  stat(p: string): Promise<SftpAttrs> {
    return exclusive(async () => toAttrs(await fsp.stat(await this.follow(p))));
  }

  lstat(p: string): Promise<SftpAttrs> {
    return exclusive(async () => toAttrs(await fsp.lstat(await this.parent(p))));
  }

  setstat(p: string, a: SftpAttrs): Promise<void> {
    return exclusive(async () => {
      const r = await this.follow(p);
      await applyAttrs(a, {
        truncate: (n) => fsp.truncate(r, n),
        chmod: (m) => fsp.chmod(r, m),
        chown: (u, g) => fsp.chown(r, u, g),
        utimes: (x, y) => fsp.utimes(r, x, y),
        stat: () => fsp.stat(r),
      });
    });
  }

  lsetstat(p: string, a: SftpAttrs): Promise<void> {
    return exclusive(async () => {
      const r = await this.parent(p);
      const isLink = (await fsp.lstat(r)).isSymbolicLink();
      await applyAttrs(a, {
        truncate: (n) =>
          isLink ? Promise.reject(new SftpError(FX.FAILURE, 'cannot truncate a symlink')) : fsp.truncate(r, n),
        // Linux cannot chmod a symlink itself; the mode of a link is ignored, as OpenSSH does.
        chmod: (m) => (isLink ? Promise.resolve() : fsp.chmod(r, m)),
        chown: (u, g) => fsp.lchown(r, u, g),
        utimes: (x, y) => fsp.lutimes(r, x, y),
        stat: () => fsp.lstat(r),
      });
    });
  }

  remove(p: string): Promise<void> {
    return exclusive(async () => {
      await fsp.unlink(await this.parent(p));
    });
  }

  mkdir(p: string, a: SftpAttrs): Promise<void> {
    return exclusive(async () => {
      await fsp.mkdir(await this.parent(p), { mode: a.mode !== undefined ? a.mode & 0o7777 : 0o777 });
    });
  }

  rmdir(p: string): Promise<void> {
    return exclusive(async () => {
      const r = await this.parent(p);
      if (r === this.root) throw new SftpError(FX.PERMISSION_DENIED, 'cannot remove the root');
      await fsp.rmdir(r);
    });
  }

  realpath(p: string): Promise<string> {
    return exclusive(async () => {
      try {
        return this.toVirtual(await this.follow(p));
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
        // A path that does not exist yet: its normalized form (its parent must be valid).
        const parent = await this.parent(p);
        return this.toVirtual(parent);
      }
    });
  }

  rename(from: string, to: string, overwrite: boolean): Promise<void> {
    return exclusive(async () => {
      const a = await this.parent(from);
      const b = await this.parent(to);
      if (a === this.root || b === this.root) throw new SftpError(FX.PERMISSION_DENIED, 'cannot rename the root');
      if (!overwrite) {
        const exists = await fsp.lstat(b).then(
          () => true,
          () => false,
        );
        if (exists) throw new SftpError(FX.FAILURE, 'destination exists');
      }
      await fsp.rename(a, b);
    });
  }

  readlink(p: string): Promise<string> {
    return exclusive(async () => {
      const link = await this.parent(p);
      const t = await fsp.readlink(link);
      // Absolute targets inside the root are shown as the client sees them; a target that leads
      // out of the root (absolute, or climbing above it) would show a host path, and is refused.
      if (t.startsWith(sep)) {
        const n = posix.normalize(t);
        if (!this.inside(n)) this.deny();
        return this.toVirtual(n);
      }
      // Relative to where the link really is: the client's path to it may pass through other links.
      const from = this.toVirtual(posix.dirname(link)).slice(1);
      const lexical = posix.join(from, t);
      if (lexical === '..' || lexical.startsWith('../')) this.deny();
      return t;
    });
  }

  symlink(target: string, linkPath: string): Promise<void> {
    return exclusive(async () => {
      if (target.includes('\0')) throw new SftpError(FX.NO_SUCH_FILE, 'invalid path');
      // An absolute target is a client path: store it as the real path under the root.
      const t = target.startsWith('/') ? this.real(this.virt(target)) : target;
      await fsp.symlink(t, await this.parent(linkPath));
    });
  }

  link(oldPath: string, newPath: string): Promise<void> {
    return exclusive(async () => {
      await fsp.link(await this.parent(oldPath), await this.parent(newPath));
    });
  }

  statvfs(p: string): Promise<SftpStatvfs> {
    return exclusive(async () => {
      const s = await fsp.statfs(await this.follow(p));
      const n = (x: number | bigint) => BigInt(x);
      return {
        bsize: n(s.bsize),
        frsize: n(s.bsize),
        blocks: n(s.blocks),
        bfree: n(s.bfree),
        bavail: n(s.bavail),
        files: n(s.files),
        ffree: n(s.ffree),
        favail: n(s.ffree),
        fsid: 0n,
        flag: this.readOnly ? 1n : 0n,
        namemax: 255n,
      };
    });
  }

  expandPath(p: string): Promise<string> {
    const expanded = p === '~' ? this.cwd : p.startsWith('~/') ? posix.join(this.cwd, p.slice(2)) : p;
    return this.realpath(expanded);
  }

  async homeDirectory(_username: string): Promise<string> {
    return this.cwd;
  }

  async usersGroupsById(uids: number[], gids: number[]): Promise<UsersGroups> {
    const [users, groups] = await Promise.all([readNames('/etc/passwd'), readNames('/etc/group')]);
    return { users: uids.map((u) => users.get(u) ?? ''), groups: gids.map((g) => groups.get(g) ?? '') };
  }
}
