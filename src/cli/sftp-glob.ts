/**
 * glob(3) for sftp's commands, over the remote file system (through SFTP) or the local one: `*`, `?`
 * and `[...]` in any path component, a backslash escaping the next character, names starting with
 * `.` matched only by a pattern starting with `.`, results sorted per component.
 */
import { lstat, readdir, stat } from 'node:fs/promises';
import type { SftpClient } from '../sftp/index.js';
import { hasGlob, unescapeGlob } from './sftp-args.js';

/** One match: its path (as the pattern spelled its directories) and whether it is a directory. */
export interface GlobMatch {
  path: string;
  isDir: boolean;
}

/** What globbing needs of a file system. */
export interface GlobFs {
  /**
   * Names in `dir` ('.' and '..' left out), with their kind when the listing tells it without
   * following a link (undefined for a symlink: {@link kind} decides).
   */
  list(dir: string): Promise<{ name: string; kind?: 'dir' | 'other' }[]>;
  /** Whether `path` exists and is a directory (following symlinks); undefined when it does not exist. */
  kind(path: string): Promise<'dir' | 'other' | undefined>;
}

/** A RegExp for one path component's pattern (whole-name match). */
export function componentRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) {
      re += escapeRe(pattern[++i] as string);
    } else if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      let neg = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        neg = true;
        body = body.slice(1);
      }
      re += `[${neg ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = close;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, 's');
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function join(dir: string, name: string): string {
  if (dir === '') return name;
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/**
 * Expands `pattern` on `fs`. Without glob characters the one path (unescaped) is checked to exist;
 * a pattern that matches nothing gives []. With `noCheck`, both give the pattern itself back
 * (unescaped), as GLOB_NOCHECK does, marked as not a directory.
 */
export async function glob(fs: GlobFs, pattern: string, noCheck = false): Promise<GlobMatch[]> {
  const fallback = [{ path: unescapeGlob(pattern), isDir: false }];
  if (!hasGlob(pattern)) {
    const p = unescapeGlob(pattern);
    const k = await fs.kind(p);
    if (k === undefined) return noCheck ? fallback : [];
    return [{ path: p, isDir: k === 'dir' }];
  }
  const absolute = pattern.startsWith('/');
  const parts = pattern.split('/').filter((s) => s !== '');
  let prefixes: string[] = [absolute ? '/' : ''];
  // Kinds the last listing told (so that `get *` in a large directory needs no stat per name).
  let known = new Map<string, 'dir' | 'other'>();
  for (const part of parts) {
    const next: string[] = [];
    const nextKnown = new Map<string, 'dir' | 'other'>();
    if (!hasGlob(part)) {
      for (const p of prefixes) next.push(join(p, unescapeGlob(part)));
    } else {
      const re = componentRegExp(part);
      const dotOk = part.startsWith('.') || part.startsWith('\\.');
      for (const p of prefixes) {
        let entries: { name: string; kind?: 'dir' | 'other' }[];
        try {
          entries = await fs.list(p === '' ? '.' : p);
        } catch {
          continue;
        }
        for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
          if (e.name.startsWith('.') && !dotOk) continue;
          if (!re.test(e.name)) continue;
          const path = join(p, e.name);
          next.push(path);
          if (e.kind) nextKnown.set(path, e.kind);
        }
      }
    }
    prefixes = next;
    known = nextKnown;
    if (prefixes.length === 0) break;
  }
  const out: GlobMatch[] = [];
  for (const p of prefixes) {
    const k = known.get(p) ?? (await fs.kind(p));
    if (k !== undefined) out.push({ path: p, isDir: k === 'dir' });
  }
  if (out.length === 0 && noCheck) return fallback;
  return out;
}

/** The remote file system through `sftp` (paths as given: the caller makes them absolute). */
export function remoteFs(sftp: SftpClient): GlobFs {
  return {
    list: async (dir) =>
      (await sftp.readdir(dir)).map((e) => ({
        name: e.filename,
        ...(e.attrs.mode === undefined || e.attrs.isSymbolicLink()
          ? {}
          : { kind: e.attrs.isDirectory() ? ('dir' as const) : ('other' as const) }),
      })),
    kind: async (p) => {
      try {
        return (await sftp.stat(p)).isDirectory() ? 'dir' : 'other';
      } catch {
        try {
          await sftp.lstat(p);
          return 'other';
        } catch {
          return undefined;
        }
      }
    },
  };
}

/** The local file system (relative paths from the current directory). */
export const localFs: GlobFs = {
  list: async (dir) =>
    (await readdir(dir, { withFileTypes: true })).map((d) => ({
      name: d.name,
      ...(d.isSymbolicLink() ? {} : { kind: d.isDirectory() ? ('dir' as const) : ('other' as const) }),
    })),
  kind: async (p) => {
    try {
      return (await stat(p)).isDirectory() ? 'dir' : 'other';
    } catch {
      try {
        await lstat(p);
        return 'other';
      } catch {
        return undefined;
      }
    }
  },
};
