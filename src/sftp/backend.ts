/**
 * The interface an SFTP server serves: paths as the client sent them (UTF-8), attributes in SFTP
 * form. Methods throw an {@link SftpError}, or a Node `fs` error whose `code` maps to a status.
 */
import type { SftpAttrs } from './attrs.js';
import { S_IFDIR, S_IFLNK, S_IFMT } from './attrs.js';
import type { SftpName, SftpStatvfs } from './codec.js';

/**
 * @internal Marks a file whose `readInto` is secsh's own (LocalFsBackend's): only those read into
 * pooled reply buffers, whose stale bytes may be another session's data. A backend's `readInto`
 * that reported more bytes than it filled would otherwise send them.
 */
export const TRUSTED_READ_INTO: unique symbol = Symbol('secsh.sftp.trustedReadInto');

/** An open file of a backend. */
export interface SftpBackendFile {
  /** Up to `length` bytes at `offset` (fewer is allowed); an empty buffer means end of file. */
  read(offset: number, length: number): Promise<Buffer>;
  /**
   * Optional, faster form of {@link read}: fills `target` (fewer bytes is allowed) from `offset` and
   * resolves with the count, 0 at end of file. The server then reads straight into its reply
   * buffer instead of copying what `read` returns.
   */
  readInto?(target: Buffer, offset: number): Promise<number>;
  /** Writes all of `data` at `offset`. */
  write(offset: number, data: Buffer): Promise<void>;
  /** The file's attributes; `size` bounds a server-side copy (copy-data) from this file. */
  stat(): Promise<SftpAttrs>;
  /**
   * Optional: what the open file is, as a string equal for every handle of one file (for a local file,
   * its device and inode), so that copy-data can refuse overlapping ranges within one file that two
   * different paths name. Undefined when unknown.
   */
  identity?(): Promise<string | undefined>;
  /** Changes the open file's attributes (FSETSTAT): size truncates or extends, mode, owner, times. */
  setstat(attrs: SftpAttrs): Promise<void>;
  /** Flushes to stable storage (fsync@openssh.com). */
  sync?(): Promise<void>;
  /** Optional: the file system's statistics (fstatvfs@openssh.com). */
  statvfs?(): Promise<SftpStatvfs>;
  /** Closes the file; called once, also when the session ends with the handle open. */
  close(): Promise<void>;
}

/** An open directory of a backend. */
export interface SftpBackendDir {
  /** The next batch of entries (longname may be ''), or null at the end. */
  read(): Promise<SftpName[] | null>;
  /** Closes the directory; called once, also when the session ends with the handle open. */
  close(): Promise<void>;
}

/** A file system for the SFTP server. Optional methods enable the matching OpenSSH extension. */
export interface SftpBackend {
  /** Refuse everything that modifies (checked by the server before calling the backend). */
  readonly readOnly?: boolean;
  /** Opens a file; `pflags` are SSH_FXF_* bits, `attrs.mode` applies to a created file. */
  open(path: string, pflags: number, attrs: SftpAttrs): Promise<SftpBackendFile>;
  /** Opens a directory for listing. */
  opendir(path: string): Promise<SftpBackendDir>;
  /** Attributes of `path`, following symlinks. */
  stat(path: string): Promise<SftpAttrs>;
  /** Attributes of `path` itself, not following a final symlink. */
  lstat(path: string): Promise<SftpAttrs>;
  /** Changes the attributes of `path` (size, mode, owner, times; whichever are present). */
  setstat(path: string, attrs: SftpAttrs): Promise<void>;
  /** Removes a file (not a directory). */
  remove(path: string): Promise<void>;
  /** Creates a directory; `attrs.mode` gives its permissions when present. */
  mkdir(path: string, attrs: SftpAttrs): Promise<void>;
  /** Removes an empty directory. */
  rmdir(path: string): Promise<void>;
  /** Canonical absolute form of `path` as the client sees paths. */
  realpath(path: string): Promise<string>;
  /** Renames; with `overwrite` false an existing `to` is an error (SSH_FXP_RENAME), true replaces it (posix-rename). */
  rename(from: string, to: string, overwrite: boolean): Promise<void>;
  /** The target of the symlink at `path`, as stored. */
  readlink(path: string): Promise<string>;
  /** Creates `linkPath` pointing to `target`. */
  symlink(target: string, linkPath: string): Promise<void>;
  /** Optional: setstat without following a final symlink (lsetstat@openssh.com). */
  lsetstat?(path: string, attrs: SftpAttrs): Promise<void>;
  /** Optional: creates the hard link `newPath` to `oldPath` (hardlink@openssh.com). */
  link?(oldPath: string, newPath: string): Promise<void>;
  /** Optional: statistics of the file system holding `path` (statvfs@openssh.com). */
  statvfs?(path: string): Promise<SftpStatvfs>;
  /** `~` / `~user` expansion, then realpath. */
  expandPath?(path: string): Promise<string>;
  /** Optional: the home directory of `username` (home-directory). */
  homeDirectory?(username: string): Promise<string>;
  /**
   * Optional: names for numeric ids (users-groups-by-id@openssh.com), one per id in the same order,
   * `''` for an id without a name.
   */
  usersGroupsById?(uids: number[], gids: number[]): Promise<UsersGroups>;
}

/** User and group names for numeric ids, in the order the ids were asked for (`''` when unknown). */
export interface UsersGroups {
  /** A name per uid asked for. */
  users: string[];
  /** A name per gid asked for. */
  groups: string[];
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An `ls -l`-style line for a directory entry. */
export function longname(filename: string, a: SftpAttrs): string {
  const mode = a.mode ?? 0;
  const t = mode & S_IFMT;
  const kind =
    t === S_IFDIR
      ? 'd'
      : t === S_IFLNK
        ? 'l'
        : t === 0o100000
          ? '-'
          : t === 0o020000
            ? 'c'
            : t === 0o060000
              ? 'b'
              : t === 0o010000
                ? 'p'
                : t === 0o140000
                  ? 's'
                  : '?';
  const rwx = (shift: number) => {
    const bits = Math.floor(mode / 2 ** shift) % 8;
    return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`;
  };
  const d = new Date((a.mtime ?? 0) * 1000);
  const old = Date.now() - d.getTime() > 182 * 86400 * 1000;
  const when = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2)} ${old ? String(d.getFullYear()).padStart(5) : `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`}`;
  return `${kind}${rwx(6)}${rwx(3)}${rwx(0)}    1 ${String(a.uid ?? 0).padEnd(8)} ${String(a.gid ?? 0).padEnd(8)} ${String(a.size ?? 0).padStart(8)} ${when} ${filename}`;
}
