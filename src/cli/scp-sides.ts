/**
 * The two ends of an SFTP-mode scp copy, behind one shape: the local disk, or a server's files
 * through an SftpClient. The copy logic in scp-sftp.ts walks trees and moves bytes without caring
 * which end is which (up, down, or remote to remote through this host).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename as localBasename, join as localJoin } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { scpErrorText } from '../scp/index.js';
import type { SftpClient } from '../sftp/index.js';
import { FX, SftpError } from '../sftp/index.js';

/** What scp needs to know of a path. */
export interface SideStat {
  dir: boolean;
  file: boolean;
  size: number;
  mode: number;
  atime: number;
  mtime: number;
}

/** One end of a copy. */
export interface Side {
  readonly kind: 'local' | 'remote';
  /** The SFTP session, for a remote end. */
  readonly sftp?: SftpClient;
  stat(path: string): Promise<SideStat>;
  /** Entry names of a directory (without '.' and '..'). */
  list(path: string): Promise<string[]>;
  mkdir(path: string, mode: number): Promise<void>;
  setAttrs(path: string, attrs: { mode?: number; atime?: number; mtime?: number }): Promise<void>;
  read(path: string): Readable;
  write(path: string, mode: number): Writable;
  join(dir: string, name: string): string;
  basename(path: string): string;
}

/** OpenSSH's fx2txt: the text of an SFTP status, as scp prints it for a server's error. */
export function fxText(status: number): string {
  switch (status) {
    case FX.EOF:
      return 'End of file';
    case FX.NO_SUCH_FILE:
      return 'No such file or directory';
    case FX.PERMISSION_DENIED:
      return 'Permission denied';
    case FX.BAD_MESSAGE:
      return 'Bad message';
    case FX.NO_CONNECTION:
      return 'No connection';
    case FX.CONNECTION_LOST:
      return 'Connection lost';
    case FX.OP_UNSUPPORTED:
      return 'Operation unsupported';
    default:
      return 'Failure';
  }
}

/** strerror() for a local error, fx2txt() for a server's, a message otherwise. */
export function why(e: unknown): string {
  return e instanceof SftpError ? fxText(e.status) : scpErrorText(e);
}

function sideStat(s: {
  mode?: number | undefined;
  size?: number | undefined;
  atime?: number | undefined;
  mtime?: number | undefined;
}): SideStat {
  const mode = s.mode ?? 0;
  const t = mode & 0o170000;
  return {
    dir: t === 0o040000,
    file: t === 0o100000,
    size: s.size ?? 0,
    mode: mode & 0o7777,
    atime: s.atime ?? s.mtime ?? 0,
    mtime: s.mtime ?? 0,
  };
}

/** The local disk. */
export const localSide: Side = {
  kind: 'local',
  async stat(path) {
    const s = await fsp.stat(path);
    return sideStat({
      mode: s.mode,
      size: s.size,
      atime: Math.floor(s.atimeMs / 1000),
      mtime: Math.floor(s.mtimeMs / 1000),
    });
  },
  async list(path) {
    return (await fsp.readdir(path)).filter((n) => n !== '.' && n !== '..');
  },
  async mkdir(path, mode) {
    await fsp.mkdir(path, { mode });
  },
  async setAttrs(path, a) {
    if (a.mode !== undefined) await fsp.chmod(path, a.mode);
    if (a.mtime !== undefined) await fsp.utimes(path, a.atime ?? a.mtime, a.mtime);
  },
  read: (path) => createReadStream(path, { highWaterMark: 256 * 1024 }),
  write: (path, mode) => createWriteStream(path, { mode }),
  join: (dir, name) => localJoin(dir, name),
  basename: (path) => localBasename(path),
};

/** Joins remote paths as scp does ('' is the login directory). */
export function remoteJoin(dir: string, name: string): string {
  if (dir === '' || dir === '.') return name;
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

/** The last component of a remote path (trailing slashes ignored). */
export function remoteBasename(path: string): string {
  const p = path.replace(/\/+$/, '');
  const i = p.lastIndexOf('/');
  return i === -1 ? p : p.slice(i + 1);
}

/** A server's files through `sftp`. */
export function remoteSide(sftp: SftpClient): Side {
  return {
    kind: 'remote',
    sftp,
    async stat(path) {
      return sideStat(await sftp.stat(path === '' ? '.' : path));
    },
    async list(path) {
      const entries = await sftp.readdir(path === '' ? '.' : path);
      return entries.map((e) => e.filename).filter((n) => n !== '.' && n !== '..');
    },
    async mkdir(path, mode) {
      await sftp.mkdir(path, { mode });
    },
    async setAttrs(path, a) {
      const attrs: { mode?: number; atime?: number; mtime?: number } = {};
      if (a.mode !== undefined) attrs.mode = a.mode;
      if (a.mtime !== undefined) {
        attrs.atime = a.atime ?? a.mtime;
        attrs.mtime = a.mtime;
      }
      await sftp.setstat(path, attrs);
    },
    read: (path) => sftp.createReadStream(path),
    write: (path, mode) => sftp.createWriteStream(path, { mode }),
    join: remoteJoin,
    basename: remoteBasename,
  };
}
