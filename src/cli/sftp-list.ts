/**
 * sftp's `ls` command: a directory's entries (do_ls_dir) or a glob's matches (do_globbed_ls), in the
 * short, one-per-line or long format, with owner names from users-groups-by-id@openssh.com.
 */
import type { SftpStats } from '../sftp/index.js';
import { hasGlob, unescapeGlob } from './sftp-args.js';
import { glob, remoteFs } from './sftp-glob.js';
import { columns, type LsEntry, type LsSort, lsLong, sortEntries } from './sftp-ls.js';
import type { SftpSession } from './sftp-session.js';
import { fxText, remoteAbsolute } from './sftp-session.js';

const USERS_GROUPS = 'users-groups-by-id@openssh.com';

/** The terminal's width for the short listing (80 when stdout is not a terminal). */
export function lsRemoteWidth(s: SftpSession): number {
  const out = s.out as { columns?: number; isTTY?: boolean };
  // sftp asks the terminal (a pty of 0 columns gives one name per line) and uses 80 without one.
  if (out.isTTY) return typeof out.columns === 'number' ? out.columns : 0;
  return 80;
}

/** path_strip: `path` without the leading `strip` directory (and its slash). */
function pathStrip(path: string, strip: string | undefined): string {
  if (strip === undefined || !path.startsWith(strip)) return path;
  let len = strip.length;
  if (!strip.endsWith('/') && path[len] === '/') len++;
  return path.slice(len);
}

function join(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** Fills the session's name caches for the ids in `stats` (when the server offers the extension). */
async function lookupNames(s: SftpSession, stats: SftpStats[]): Promise<void> {
  if (!s.sftp.has(USERS_GROUPS)) return;
  const uids = [...new Set(stats.map((x) => x.uid).filter((u): u is number => u !== undefined))].filter(
    (u) => !s.userNames.has(u),
  );
  const gids = [...new Set(stats.map((x) => x.gid).filter((g): g is number => g !== undefined))].filter(
    (g) => !s.groupNames.has(g),
  );
  if (uids.length === 0 && gids.length === 0) return;
  try {
    const r = await s.sftp.usersGroupsById(uids, gids);
    for (const [i, u] of uids.entries()) s.userNames.set(u, r.users[i] ?? '');
    for (const [i, g] of gids.entries()) s.groupNames.set(g, r.groups[i] ?? '');
  } catch {
    for (const u of uids) s.userNames.set(u, '');
    for (const g of gids) s.groupNames.set(g, '');
  }
}

interface LsFlags {
  long: boolean;
  one: boolean;
  all: boolean;
  human: boolean;
  numeric: boolean;
  sort: LsSort;
}

function lsFlags(f: Set<string>): LsFlags {
  return {
    long: f.has('l') || f.has('n'),
    one: f.has('1'),
    all: f.has('a'),
    human: f.has('h'),
    numeric: f.has('n'),
    sort: { by: f.has('f') ? 'none' : f.has('t') ? 'time' : f.has('S') ? 'size' : 'name', reverse: f.has('r') },
  };
}

/** Prints `entries` in the chosen format. */
async function print(s: SftpSession, entries: LsEntry[], fl: LsFlags, width: number, extra: number): Promise<void> {
  const sorted = sortEntries(entries, fl.sort);
  if (fl.long) {
    const names = fl.numeric || fl.human || s.sftp.has(USERS_GROUPS);
    if (names && !fl.numeric)
      await lookupNames(
        s,
        sorted.map((e) => e.stats),
      );
    let out = '';
    for (const e of sorted) {
      if (!names && e.longname) {
        out += `${e.longname}\n`;
        continue;
      }
      const user = fl.numeric || e.stats.uid === undefined ? undefined : s.userNames.get(e.stats.uid);
      const group = fl.numeric || e.stats.gid === undefined ? undefined : s.groupNames.get(e.stats.gid);
      out += `${lsLong(e.name, e.stats, { human: fl.human, user, group })}\n`;
    }
    s.print(out);
  } else if (fl.one) {
    s.print(sorted.map((e) => `${e.name}\n`).join(''));
  } else {
    s.print(
      columns(
        sorted.map((e) => e.name),
        width,
        extra,
      ),
    );
  }
}

/** do_ls_dir: the entries of the directory `path`, names shown relative to `strip`. */
async function lsDir(
  s: SftpSession,
  path: string,
  strip: string | undefined,
  fl: LsFlags,
  width: number,
): Promise<boolean> {
  let list: Awaited<ReturnType<typeof s.sftp.readdir>>;
  try {
    list = await s.sftp.readdir(path);
  } catch (e) {
    s.err(`Couldn't read directory: ${fxText(e)}\n`);
    return false;
  }
  const entries: LsEntry[] = [];
  if (fl.all) {
    for (const dot of ['.', '..']) {
      const st = await s.sftp.stat(join(path, dot)).catch(() => undefined);
      if (st) entries.push({ name: pathStrip(join(path, dot), strip), base: dot, stats: st });
    }
  }
  let longest = 0;
  for (const e of list) {
    if (e.filename.startsWith('.') && !fl.all) continue;
    longest = Math.max(longest, e.filename.length);
    entries.push({
      name: pathStrip(join(path, e.filename), strip),
      base: e.filename,
      stats: e.attrs,
      longname: e.longname,
    });
  }
  await print(
    s,
    entries,
    fl,
    width,
    pathStrip(path, strip).length + longest - Math.max(0, ...entries.map((e) => e.name.length)),
  );
  return true;
}

/** The `ls` command: `arg` (glob-escaped) or the working directory. */
export async function ls(s: SftpSession, arg: string | undefined, flags: Set<string>, width: number): Promise<boolean> {
  const fl = lsFlags(flags);
  if (arg === undefined) return lsDir(s, s.pwd, s.pwd, fl, width);
  const strip = arg.startsWith('/') ? undefined : s.pwd;
  const abs = remoteAbsolute(arg, s.pwd);
  const matches = await glob(remoteFs(s.sftp), abs);
  if (matches.length === 0) {
    s.err(`Can't ls: "${unescapeGlob(abs)}" not found\n`);
    return false;
  }
  const first = matches[0];
  if (matches.length === 1 && first?.isDir && !hasGlob(arg)) {
    // The match carries GLOB_MARK's '/', which counts in the column width as in sftp.
    const path = first.path.endsWith('/') ? first.path : `${first.path}/`;
    return lsDir(s, path, strip, fl, width);
  }
  const entries: LsEntry[] = [];
  for (const m of matches) {
    const st = await s.sftp.lstat(m.path).catch(() => undefined);
    if (!st) continue;
    const base = m.path.slice(m.path.lastIndexOf('/') + 1);
    // GLOB_MARK: a directory (or a link to one) is shown with a trailing '/'.
    entries.push({ name: pathStrip(m.path, strip) + (m.isDir ? '/' : ''), base, stats: st });
  }
  // sftp sizes the columns by the matched paths as globbed (absolute), not the names shown.
  const longestPath = Math.max(0, ...matches.map((m) => m.path.length + (m.isDir ? 1 : 0)));
  const longestName = Math.max(0, ...entries.map((e) => e.name.length));
  await print(s, entries, fl, width, longestPath - longestName);
  return true;
}
