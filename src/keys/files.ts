/** Reading and writing key files safely: private keys are 0600 from the first instant and refused when exposed. */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { KeyError } from '../errors.js';
import { MAX_KEY_FILE } from './formats/armor.js';
import { type ParsePrivateKeyOptions, parsePrivateKey } from './parse.js';
import type { PrivateKey, PrivateKeyExportOptions } from './private-key.js';

/**
 * Writes `data` to `path` atomically: a temporary file in the same directory is created with
 * `open(…, 'wx', mode)` (so it never exists with wider permissions), written, synced and renamed over `path`.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** Writes `key` to `path` (mode 0600, atomically) in the format of `opts` (see `PrivateKey.export`). */
export async function writePrivateKeyFile(
  path: string,
  key: PrivateKey,
  opts: PrivateKeyExportOptions = {},
): Promise<void> {
  await writeFileAtomic(path, key.export(opts), 0o600);
}

/** Options for {@link readPrivateKeyFile}. */
export interface ReadPrivateKeyFileOptions extends ParsePrivateKeyOptions {
  /** Accept a file readable or writable by group or others (OpenSSH refuses such files). Default false. */
  allowInsecurePermissions?: boolean;
}

/**
 * Reads and parses a private key file. Like OpenSSH, a file whose mode gives group or others any access is
 * refused with a {@link KeyError} (`ERR_SSH_KEY`) unless `allowInsecurePermissions` is set (not checked on Windows).
 */
export async function readPrivateKeyFile(path: string, opts: ReadPrivateKeyFileOptions = {}): Promise<PrivateKey> {
  const fh = await open(path, 'r');
  let data: Buffer;
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new KeyError('private key path is not a regular file');
    if (process.platform !== 'win32' && !opts.allowInsecurePermissions && (st.mode & 0o077) !== 0) {
      throw new KeyError(
        `permissions 0${(st.mode & 0o777).toString(8)} for private key file are too open (must not be accessible by group or others)`,
      );
    }
    if (st.size > MAX_KEY_FILE) throw new KeyError('key file too large');
    data = Buffer.alloc(st.size);
    const { bytesRead } = await fh.read(data, 0, st.size, 0);
    data = data.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  try {
    const { allowInsecurePermissions: _, ...parseOpts } = opts;
    return parsePrivateKey(data, parseOpts);
  } finally {
    data.fill(0);
  }
}
