/**
 * What the scp source and sink need of a file system: a subset of {@link SftpBackend}, so an SFTP
 * server's backend serves `scp -t`/`scp -f` as it is, and {@link localScpFs} is the local disk.
 */
import * as fsp from 'node:fs/promises';
import { getSystemErrorMap } from 'node:util';
import type { SftpAttrs } from '../sftp/attrs.js';
import type { SftpBackend, SftpBackendFile } from '../sftp/backend.js';
import { FXF } from '../sftp/constants.js';

/** An open file, as scp uses it (`readInto`, when present, lets the source reuse its buffers). */
export type ScpFile = Pick<SftpBackendFile, 'read' | 'write' | 'setstat' | 'close'> &
  Partial<Pick<SftpBackendFile, 'readInto'>>;

/** The file system operations scp uses (an {@link SftpBackend} has them all). */
export interface ScpFs extends Pick<SftpBackend, 'stat' | 'opendir' | 'mkdir' | 'setstat'> {
  /** Opens a file; `pflags` are SSH_FXF_* bits (scp uses READ, or WRITE|CREAT), `attrs.mode` for a new file. */
  open(path: string, pflags: number, attrs: SftpAttrs): Promise<ScpFile>;
}

const MESSAGES: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EEXIST: 'File exists',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EIO: 'Input/output error',
  EBADMSG: 'Bad message',
  ENOSYS: 'Function not implemented',
  EDQUOT: 'Disk quota exceeded',
  EFBIG: 'File too large',
};

/**
 * strerror() of a Node fs error or an SftpError (by its Node-style code), for scp's messages. Never
 * the error's own message when it names a path: a Node fs error's message carries the real path
 * (`ENXIO: no such device or address, open '/srv/root/fifo'`), which would tell a client of a
 * confined server where its root lies.
 */
export function errorText(e: unknown): string {
  const o = e as { nodeCode?: unknown; code?: unknown; message?: unknown; errno?: unknown; path?: unknown };
  const code = typeof o?.nodeCode === 'string' ? o.nodeCode : typeof o?.code === 'string' ? o.code : undefined;
  if (code !== undefined && MESSAGES[code] !== undefined) return MESSAGES[code];
  const system = typeof o?.errno === 'number' ? getSystemErrorMap().get(o.errno)?.[1] : undefined;
  if (system !== undefined) return system.charAt(0).toUpperCase() + system.slice(1);
  const message = typeof o?.message === 'string' ? o.message : String(e);
  if (typeof o?.path === 'string' || /'\//.test(message)) return code ?? 'Failure';
  return message;
}

function attrsOf(s: import('node:fs').Stats): SftpAttrs {
  return {
    size: s.size,
    uid: s.uid,
    gid: s.gid,
    mode: s.mode,
    atime: Math.floor(s.atimeMs / 1000),
    mtime: Math.floor(s.mtimeMs / 1000),
  };
}

async function applyAttrs(
  a: SftpAttrs,
  ops: {
    truncate(n: number): Promise<void>;
    chmod(m: number): Promise<void>;
    utimes(a: number, m: number): Promise<void>;
  },
): Promise<void> {
  if (a.size !== undefined) await ops.truncate(a.size);
  if (a.mode !== undefined) await ops.chmod(a.mode & 0o7777);
  if (a.atime !== undefined || a.mtime !== undefined) {
    const at = a.atime ?? a.mtime ?? 0;
    await ops.utimes(at, a.mtime ?? at);
  }
}

/**
 * The local file system for the scp client: paths as given (relative to the process's working
 * directory), symlinks followed as scp follows them. Not confined: use an {@link SftpBackend} such as
 * LocalFsBackend to serve a peer.
 */
export const localScpFs: ScpFs = {
  async stat(path) {
    return attrsOf(await fsp.stat(path));
  },
  async opendir(path) {
    const dir = await fsp.opendir(path);
    return {
      async read() {
        const out = [];
        for (let i = 0; i < 256; i++) {
          const d = await dir.read();
          if (d === null) break;
          out.push({ filename: d.name, longname: '', attrs: {} });
        }
        return out.length === 0 ? null : out;
      },
      async close() {
        await dir.close().catch(() => {});
      },
    };
  },
  async mkdir(path, attrs) {
    await fsp.mkdir(path, attrs.mode === undefined ? undefined : { mode: attrs.mode & 0o7777 });
  },
  async setstat(path, attrs) {
    await applyAttrs(attrs, {
      truncate: (n) => fsp.truncate(path, n),
      chmod: (m) => fsp.chmod(path, m),
      utimes: (a, m) => fsp.utimes(path, a, m),
    });
  },
  async open(path, pflags, attrs) {
    const write = (pflags & FXF.WRITE) !== 0;
    const flags = write ? ((pflags & FXF.CREAT) !== 0 ? 'w' : 'r+') : 'r';
    // 'w' would truncate: scp truncates at the end, after writing (as OpenSSH's sink does).
    const fh = await fsp.open(
      path,
      flags === 'w' ? fsp.constants.O_WRONLY | fsp.constants.O_CREAT : flags,
      attrs.mode === undefined ? 0o666 : attrs.mode & 0o7777,
    );
    return {
      async read(offset, length) {
        const buf = Buffer.allocUnsafe(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        return buf.subarray(0, bytesRead);
      },
      async readInto(target, offset) {
        return (await fh.read(target, 0, target.length, offset)).bytesRead;
      },
      async write(offset, data) {
        let done = 0;
        while (done < data.length) {
          const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done);
          done += bytesWritten;
        }
      },
      async setstat(a) {
        await applyAttrs(a, {
          truncate: (n) => fh.truncate(n),
          chmod: (m) => fh.chmod(m),
          utimes: (at, m) => fh.utimes(at, m),
        });
      },
      async close() {
        await fh.close();
      },
    };
  },
};
