/**
 * The listing formats of OpenSSH's sftp: `ls -l` lines (ls_file), sizes for `-h` (fmt_scaled),
 * the short listing in columns, sorting by name, time or size, and the `df` tables.
 */
import type { SftpStats, SftpStatvfs } from '../sftp/index.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const S_IFMT = 0o170000;

/** strmode(3): the type letter, nine permission letters (with s/S/t/T) and a trailing space. */
export function strmode(mode: number): string {
  const kinds: [number, string][] = [
    [0o040000, 'd'],
    [0o020000, 'c'],
    [0o060000, 'b'],
    [0o100000, '-'],
    [0o120000, 'l'],
    [0o140000, 's'],
    [0o010000, 'p'],
  ];
  let s = kinds.find(([k]) => k === (mode & S_IFMT))?.[1] ?? '?';
  const bit = (m: number, c: string) => (mode & m ? c : '-');
  s += bit(0o400, 'r') + bit(0o200, 'w');
  s += mode & 0o4000 ? (mode & 0o100 ? 's' : 'S') : bit(0o100, 'x');
  s += bit(0o040, 'r') + bit(0o020, 'w');
  s += mode & 0o2000 ? (mode & 0o010 ? 's' : 'S') : bit(0o010, 'x');
  s += bit(0o004, 'r') + bit(0o002, 'w');
  s += mode & 0o1000 ? (mode & 0o001 ? 't' : 'T') : bit(0o001, 'x');
  return `${s} `;
}

/** OpenBSD's fmt_scaled: `6B`, `39.1K`, `252G` (powers of 1024, one decimal below 100). */
export function fmtScaled(n: number): string {
  const units = 'BKMGTPE';
  let number = Math.floor(Math.abs(n));
  let unit = 0;
  let fract = 0;
  let factor = 1;
  for (let i = 0; i < units.length; i++) {
    const f = 1024 ** i;
    if (number / 1024 < f || i === units.length - 1) {
      unit = i;
      factor = f;
      break;
    }
  }
  if (unit > 0) {
    fract = Math.floor((number % factor) / (factor / 1024));
    number = Math.floor(number / factor);
  }
  fract = Math.floor((10 * fract + 512) / 1024);
  if (fract >= 10) {
    number++;
    fract = 0;
  }
  if (number === 0) return '0B';
  if (unit === 0 || number >= 100) {
    if (fract >= 5) number++;
    return `${number}${units[unit]}`;
  }
  return `${number}.${fract}${units[unit]}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, ' ');
}

/** The date column: `Mon dd HH:MM` within the last six months, `Mon dd  YYYY` otherwise (local time). */
export function lsTime(mtime: number | undefined, now = Date.now() / 1000): string {
  if (mtime === undefined) return '';
  const d = new Date(mtime * 1000);
  const head = `${MONTHS[d.getMonth()]} ${pad2(d.getDate())}`;
  if (now - (365 * 24 * 60 * 60) / 2 < mtime && now >= mtime) {
    return `${head} ${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  }
  return `${head}  ${d.getFullYear()}`;
}

/**
 * ls_file for a remote entry: mode, `?` for the link count (SFTP v3 has none), owner and group
 * (names when known, else the numbers), size (or fmt_scaled with `-h`), date and name.
 */
export function lsLong(
  name: string,
  st: SftpStats,
  opts: { human: boolean; user?: string | undefined; group?: string | undefined },
): string {
  const mode = strmode(st.mode ?? 0);
  const user = opts.user || String(st.uid ?? 0);
  const group = opts.group || String(st.gid ?? 0);
  const size = opts.human ? fmtScaled(st.size ?? 0).padStart(8) : String(st.size ?? 0).padStart(8);
  return `${mode} ${'?'.padStart(3)} ${user.padEnd(8)} ${group.padEnd(8)} ${size} ${lsTime(st.mtime)} ${name}`;
}

/** One entry of a listing, as ls sorts and prints it. */
export interface LsEntry {
  /** The name as printed (relative to what the user typed). */
  name: string;
  /** The last path component (for hidden-file and sorting decisions). */
  base: string;
  stats: SftpStats;
  /** The server's `ls -l` line, when it sent one. */
  longname?: string;
}

/** How ls sorts: by name (default), -t mtime, -S size, -f not at all; -r reverses. */
export interface LsSort {
  by: 'name' | 'time' | 'size' | 'none';
  reverse: boolean;
}

/** Sorts entries as sftp's sdirent_comp (newest and largest first). */
export function sortEntries(entries: LsEntry[], s: LsSort): LsEntry[] {
  if (s.by === 'none') return entries;
  const rmul = s.reverse ? -1 : 1;
  // Ties keep the server's order (glibc's qsort is a stable merge sort), as sftp's sdirent_comp.
  const ncmp = (a: number, b: number) => (a === b ? 0 : a < b ? 1 : -1);
  const cmp =
    s.by === 'name'
      ? (a: LsEntry, b: LsEntry) => rmul * (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
      : s.by === 'time'
        ? (a: LsEntry, b: LsEntry) => rmul * ncmp(a.stats.mtime ?? 0, b.stats.mtime ?? 0)
        : (a: LsEntry, b: LsEntry) => rmul * ncmp(a.stats.size ?? 0, b.stats.size ?? 0);
  return [...entries].sort(cmp);
}

/**
 * The short listing: names padded to a column width fitting `width` (80 when unknown), as many
 * columns as fit, a newline after each full row. `extra` widens the columns as sftp does for a
 * listing of a path (its length is counted in).
 */
export function columns(names: string[], width: number, extra = 0): string {
  if (names.length === 0) return '';
  let m = 0;
  for (const n of names) m = Math.max(m, n.length);
  m += extra;
  const cols = Math.max(1, Math.floor(width / (m + 2)));
  const colspace = Math.max(0, Math.min(Math.floor(width / cols), width));
  let out = '';
  let c = 1;
  for (const n of names) {
    out += n.padEnd(colspace);
    if (c >= cols) {
      out += '\n';
      c = 1;
    } else c++;
  }
  if (c !== 1) out += '\n';
  return out;
}

/** `df`, `df -h` and `df -i` as sftp prints them (sizes in KiB). */
export function dfTable(st: SftpStatvfs, mode: 'k' | 'h' | 'i'): string {
  const n = (v: bigint | number) => BigInt(v);
  const frsize = n(st.frsize);
  if (mode === 'i') {
    const files = n(st.files);
    const used = files - n(st.ffree);
    const pct = files === 0n ? 0n : (used * 100n) / files;
    const c = (v: bigint) => String(v).padStart(11);
    return (
      '     Inodes        Used       Avail      (root)    %Capacity\n' +
      `${c(files)} ${c(used)} ${c(n(st.favail))} ${c(n(st.ffree))}         ${String(pct).padStart(3)}%\n`
    );
  }
  const blocks = n(st.blocks);
  const used = blocks - n(st.bfree);
  const pct = blocks === 0n ? 0n : (100n * used) / blocks;
  if (mode === 'h') {
    const h = (v: bigint) => `${fmtScaled(Number(v)).padStart(7)}B`;
    return (
      '    Size     Used    Avail   (root)    %Capacity\n' +
      `${h(frsize * blocks)} ${h(frsize * used)} ${h(frsize * n(st.bavail))} ${h(frsize * n(st.bfree))}         ${String(pct).padStart(3)}%\n`
    );
  }
  const k = (v: bigint) => String((frsize * v) / 1024n).padStart(12);
  return (
    '        Size         Used        Avail       (root)    %Capacity\n' +
    `${k(blocks)} ${k(used)} ${k(n(st.bavail))} ${k(n(st.bfree))}         ${String(pct).padStart(3)}%\n`
  );
}
