/** Open flags and the errors for SFTP replies that are not what a request expects. */
import { ProtocolError } from '../errors.js';
import type { SftpPath, SftpResponse } from './codec.js';
import { displayPath } from './codec.js';
import { FX, FXF, FXP } from './constants.js';
import { SftpError } from './errors.js';

/** Open flags as in `fs.open` ('r', 'r+', 'w', 'wx', 'w+', 'a', 'ax', 'a+') or SSH_FXF_* bits. */
export type OpenFlags = 'r' | 'r+' | 'w' | 'wx' | 'w+' | 'wx+' | 'a' | 'ax' | 'a+' | 'ax+' | number;

/** SSH_FXF_* bits for an `fs`-style flags string. */
export function openFlags(f: OpenFlags): number {
  if (typeof f === 'number') return f;
  const map: Record<string, number> = {
    r: FXF.READ,
    'r+': FXF.READ | FXF.WRITE,
    w: FXF.WRITE | FXF.CREAT | FXF.TRUNC,
    wx: FXF.WRITE | FXF.CREAT | FXF.TRUNC | FXF.EXCL,
    'w+': FXF.READ | FXF.WRITE | FXF.CREAT | FXF.TRUNC,
    'wx+': FXF.READ | FXF.WRITE | FXF.CREAT | FXF.TRUNC | FXF.EXCL,
    a: FXF.WRITE | FXF.CREAT | FXF.APPEND,
    ax: FXF.WRITE | FXF.CREAT | FXF.APPEND | FXF.EXCL,
    'a+': FXF.READ | FXF.WRITE | FXF.CREAT | FXF.APPEND,
    'ax+': FXF.READ | FXF.WRITE | FXF.CREAT | FXF.APPEND | FXF.EXCL,
  };
  const v = map[f];
  if (v === undefined) throw new RangeError(`unknown open flags ${JSON.stringify(f)}`);
  return v;
}

/** Throws unless `r` is STATUS OK. */
export function expectOk(r: SftpResponse, path?: SftpPath): void {
  if (r.type === FXP.STATUS && r.code === FX.OK) return;
  throw unexpected(r, path);
}

/** A path for an error message (see {@link displayPath}). */
export function shownPath(p: SftpPath | undefined): string | undefined {
  return p === undefined ? undefined : displayPath(p);
}

/** The error for a reply that is not what the request expects (`path` shown as by {@link displayPath}). */
export function unexpected(r: SftpResponse, path?: SftpPath): Error {
  if (r.type === FXP.STATUS) return new SftpError(r.code, r.message, shownPath(path));
  return new ProtocolError(`unexpected SFTP reply type ${r.type}`);
}
