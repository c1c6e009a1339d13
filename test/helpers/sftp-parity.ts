/**
 * The ssh2-sftp-client parity operations of SftpClient (rm / rmdir recursive, append, copy, exists
 * with a type, directory progress in bytes), as scenarios run against any server whose files the
 * test can also see on the local disk: secsh's own (test/unit/sftp/parity.test.ts) and OpenSSH's
 * (test/interop/sftp-parity-openssh.test.ts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync } from 'node:fs';
import { appendFile, lstat, mkdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { InvalidArgumentError } from '../../src/errors.js';
import { FXF } from '../../src/sftp/constants.js';
import { SftpError } from '../../src/sftp/errors.js';
import type { DirTransferProgress, SftpClient, SftpEntryType } from '../../src/sftp/index.js';
import { SftpFileHandle } from '../../src/sftp/index.js';

/** A scratch area seen both ways: `remote(rel)` through SFTP, `local(rel)` on this machine's disk. */
export interface ParityEnv {
  sftp: SftpClient;
  remote(rel: string): string;
  local(rel: string): string;
  /** A local directory outside what the scenarios remove (targets of symlinks, local trees). */
  outside: string;
  /**
   * The server lists names that are not valid UTF-8 by their bytes (OpenSSH's does; secsh's
   * LocalFsBackend reads names as UTF-8 text, so it cannot reach such a file).
   */
  rawNames: boolean;
}

/** "café" in Latin-1: not valid UTF-8, so the listing carries it as raw bytes. */
const CAFE = Buffer.from([0x63, 0x61, 0x66, 0xe9]);

/** Asserts that `p` rejects with an SftpError of `nodeCode` about `path`. */
export async function rejectsAbout(p: Promise<unknown>, nodeCode: string, path: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof SftpError, String(e));
    assert.equal(e.nodeCode, nodeCode, e.message);
    assert.equal(e.path, path, e.message);
    return true;
  });
}

/**
 * Builds a tree at local `rel`: files (one with a Latin-1 name when `rawNames`), nested and empty directories, a
 * wide directory, a symlink to a directory outside it (holding keep.txt), a symlink to a directory
 * inside it and a dangling one. Returns the outside directory that must survive.
 */
export async function buildTree(env: ParityEnv, rel: string): Promise<string> {
  const root = env.local(rel);
  const keep = join(env.outside, `keep-${rel.replaceAll('/', '-')}`);
  await mkdir(keep, { recursive: true });
  await writeFile(join(keep, 'keep.txt'), 'keep');
  await mkdir(join(root, 'sub/deep'), { recursive: true });
  await mkdir(join(root, 'empty'));
  await mkdir(join(root, 'wide'));
  await writeFile(join(root, 'a.txt'), 'alpha');
  await writeFile(join(root, 'sub/b.bin'), randomBytes(100_000));
  await writeFile(join(root, 'sub/deep/c'), 'c');
  if (env.rawNames) await writeFile(Buffer.concat([Buffer.from(join(root, 'sub/')), CAFE]), 'latin-1 name');
  for (let i = 0; i < 40; i++) await writeFile(join(root, `wide/f${i}`), String(i));
  await symlink(keep, join(root, 'link-out'));
  await symlink('../sub', join(root, 'sub/deep/link-up'));
  await symlink('nowhere', join(root, 'dangling'));
  return keep;
}

/** Records the most requests `sftp` had in flight while the test runs (restored after it). */
export function trackInFlight(t: TestContext, sftp: SftpClient): { peak: number } {
  const seen = { peak: 0 };
  const send = sftp.sendRaw.bind(sftp);
  t.mock.method(sftp, 'sendRaw', (build: (id: number) => Buffer) => {
    const p = send(build);
    seen.peak = Math.max(seen.peak, sftp.inFlight);
    return p;
  });
  return seen;
}

/** rm: a file, a symlink (not followed), a tree with `recursive` and bounded concurrency, `force`. */
export async function rmScenario(t: TestContext, env: ParityEnv): Promise<void> {
  const s = env.sftp;
  const keep = await buildTree(env, 'rm');
  const tree = env.remote('rm');
  await rejectsAbout(s.rm(tree), 'EISDIR', tree);
  assert.ok(existsSync(env.local('rm/a.txt')), 'nothing removed without recursive');

  await s.rm(env.remote('rm/a.txt'));
  assert.equal(existsSync(env.local('rm/a.txt')), false);
  await s.rm(env.remote('rm/link-out'));
  assert.equal(existsSync(env.local('rm/link-out')), false);
  assert.equal(await readFile(join(keep, 'keep.txt'), 'utf8'), 'keep', 'a symlink is removed, not followed');
  await symlink(keep, env.local('rm/link-out'));

  const inflight = trackInFlight(t, s);
  await s.rm(tree, { recursive: true, concurrency: 4 });
  assert.equal(existsSync(env.local('rm')), false);
  assert.equal(await readFile(join(keep, 'keep.txt'), 'utf8'), 'keep', 'the tree’s symlink is not followed');
  assert.ok(inflight.peak <= 4, `at most 4 requests in flight, saw ${inflight.peak}`);
  assert.ok(inflight.peak >= 2, `requests overlap, saw at most ${inflight.peak}`);
  assert.equal(s.stats.openHandles, 0);

  await rejectsAbout(s.rm(tree), 'ENOENT', tree);
  await rejectsAbout(s.rm(tree, { recursive: true }), 'ENOENT', tree);
  await s.rm(tree, { force: true });
  await s.rm(tree, { recursive: true, force: true });
}

/** rmdir: plain (must be empty), and `recursive` (directories only; a symlink to one is ENOTDIR). */
export async function rmdirScenario(env: ParityEnv): Promise<void> {
  const s = env.sftp;
  const keep = await buildTree(env, 'rmdir');
  const tree = env.remote('rmdir');
  await assert.rejects(s.rmdir(tree), SftpError, 'a plain rmdir of a non-empty directory fails');
  await rejectsAbout(s.rmdir(env.remote('rmdir/a.txt'), { recursive: true }), 'ENOTDIR', env.remote('rmdir/a.txt'));
  await rejectsAbout(
    s.rmdir(env.remote('rmdir/link-out'), { recursive: true }),
    'ENOTDIR',
    env.remote('rmdir/link-out'),
  );
  assert.equal(await readFile(join(keep, 'keep.txt'), 'utf8'), 'keep');
  await s.rmdir(env.remote('rmdir/empty'));
  assert.equal(existsSync(env.local('rmdir/empty')), false);
  await s.rmdir(tree, { recursive: true });
  assert.equal(existsSync(env.local('rmdir')), false);
  assert.equal(await readFile(join(keep, 'keep.txt'), 'utf8'), 'keep');
  await rejectsAbout(s.rmdir(tree, { recursive: true }), 'ENOENT', tree);
  assert.equal(s.stats.openHandles, 0);
}

/** append: creates, appends text, bytes and a stream in order; a bad stream chunk is a typed error. */
export async function appendScenario(env: ParityEnv): Promise<void> {
  const s = env.sftp;
  await mkdir(env.local('append'), { recursive: true });
  const p = env.remote('append/log');
  assert.equal(await s.append(p, 'first\n', { mode: 0o640 }), 6);
  assert.equal((await stat(env.local('append/log'))).mode & 0o777, 0o640);
  assert.equal(await s.append(p, Buffer.from('second\n')), 7);
  const chunks: Buffer[] = [];
  for (let i = 0; i < 120; i++) chunks.push(randomBytes(1 + ((i * 7919) % 40_000)));
  const streamed = Buffer.concat(chunks);
  assert.equal(await s.append(p, Readable.from(chunks)), streamed.length);
  // Someone else appends locally: the next append lands after it.
  await appendFile(env.local('append/log'), 'local\n');
  assert.equal(await s.append(p, Readable.from(['text ', 'chunks\n'])), 12);
  const want = Buffer.concat([Buffer.from('first\nsecond\n'), streamed, Buffer.from('local\ntext chunks\n')]);
  assert.ok((await readFile(env.local('append/log'))).equals(want), 'appended in order');
  const bad = Readable.from([{ not: 'bytes' }]);
  await assert.rejects(s.append(p, bad), InvalidArgumentError);
  assert.ok(bad.destroyed);
  assert.ok((await readFile(env.local('append/log'))).equals(want), 'nothing written by the failed append');
  await rejectsAbout(s.append(env.remote('append/no/such/dir'), 'x'), 'ENOENT', env.remote('append/no/such/dir'));
  const unread = Readable.from(['never sent']);
  await rejectsAbout(s.append(env.remote('append/no/such/dir'), unread), 'ENOENT', env.remote('append/no/such/dir'));
  assert.ok(unread.destroyed, 'a stream that cannot be appended is destroyed, as stream.pipeline does');
  assert.equal(s.stats.openHandles, 0);
}

/** copy: copy-data when offered (else read+write), preserving nothing unless asked; no-op onto itself. */
export async function copyScenario(t: TestContext, env: ParityEnv): Promise<void> {
  const s = env.sftp;
  await mkdir(env.local('copy/dir'), { recursive: true });
  const data = randomBytes(1_500_000);
  await writeFile(env.local('copy/src'), data, { mode: 0o751 });
  await utimes(env.local('copy/src'), 1_000_000_000, 1_000_000_000);
  const copyTo = t.mock.method(SftpFileHandle.prototype, 'copyTo');
  const offered = s.has('copy-data');

  assert.equal(await s.copy(env.remote('copy/src'), env.remote('copy/dst')), data.length);
  assert.ok((await readFile(env.local('copy/dst'))).equals(data));
  assert.equal(copyTo.mock.callCount(), offered ? 1 : 0, 'copy-data is used exactly when offered');
  const plain = await stat(env.local('copy/dst'));
  assert.notEqual(plain.mode & 0o7777, 0o751, 'mode not preserved by default');
  assert.notEqual(Math.floor(plain.mtimeMs / 1000), 1_000_000_000, 'times not preserved by default');

  assert.equal(await s.copy(env.remote('copy/src'), env.remote('copy/rw'), { copyData: false }), data.length);
  assert.ok((await readFile(env.local('copy/rw'))).equals(data));
  assert.equal(copyTo.mock.callCount(), offered ? 1 : 0, 'copyData: false reads and writes');

  await s.copy(env.remote('copy/src'), env.remote('copy/kept'), { preserve: true });
  const kept = await stat(env.local('copy/kept'));
  assert.equal(kept.mode & 0o7777, 0o751);
  assert.equal(Math.floor(kept.mtimeMs / 1000), 1_000_000_000);

  // A longer destination is replaced, not overwritten in place.
  await writeFile(env.local('copy/long'), randomBytes(3_000_000));
  for (const copyData of [true, false]) {
    await s.copy(env.remote('copy/src'), env.remote('copy/long'), { copyData });
    assert.ok((await readFile(env.local('copy/long'))).equals(data), `copyData: ${copyData}`);
  }

  // Onto itself, by the same path or through a symlink: nothing happens (opening it would empty it).
  await symlink('src', env.local('copy/alias'));
  assert.equal(await s.copy(env.remote('copy/src'), env.remote('copy/src')), data.length);
  await s.copy(env.remote('copy/src'), env.remote('copy/alias'));
  assert.ok((await readFile(env.local('copy/src'))).equals(data), 'the source is intact');

  await rejectsAbout(s.copy(env.remote('copy/missing'), env.remote('copy/x')), 'ENOENT', env.remote('copy/missing'));
  await rejectsAbout(s.copy(env.remote('copy/dir'), env.remote('copy/x')), 'EISDIR', env.remote('copy/dir'));
  // A FIFO would block the server's open (OpenSSH's opens without O_NONBLOCK) or never end.
  await promisify(execFile)('mkfifo', [env.local('copy/fifo')]);
  await rejectsAbout(s.copy(env.remote('copy/fifo'), env.remote('copy/x')), 'EINVAL', env.remote('copy/fifo'));
  assert.equal(existsSync(env.local('copy/x')), false);
  assert.equal(s.stats.openHandles, 0);
}

/** exists: boolean as before; with { type: true } the entry's type, a symlink not followed. */
export async function existsScenario(env: ParityEnv): Promise<void> {
  const s = env.sftp;
  await mkdir(env.local('exists/dir'), { recursive: true });
  await writeFile(env.local('exists/file'), 'x');
  await symlink('dir', env.local('exists/link-dir'));
  await symlink('nowhere', env.local('exists/dangling'));
  await promisify(execFile)('mkfifo', [env.local('exists/fifo')]);
  const want: [string, SftpEntryType | false][] = [
    ['file', '-'],
    ['dir', 'd'],
    ['link-dir', 'l'],
    ['dangling', 'l'],
    ['fifo', 'p'],
    ['missing', false],
  ];
  for (const [name, type] of want) {
    // The overloads give exact types: a boolean without options, the type or false with { type: true }.
    const typed: SftpEntryType | false = await s.exists(env.remote(`exists/${name}`), { type: true });
    const plain: boolean = await s.exists(env.remote(`exists/${name}`));
    assert.equal(typed, type, name);
    assert.equal(plain, type !== false, name);
  }
  const asked = { type: false };
  const either: SftpEntryType | boolean = await s.exists(env.remote('exists/dir'), asked);
  assert.equal(either, true);
  // @ts-expect-error: with { type: true } the result is not a boolean
  const wrong: boolean = await s.exists(env.remote('exists/dir'), { type: true });
  assert.equal(wrong, 'd');
}

/** A local tree of random files of the given sizes. */
async function localTree(dir: string, sizes: Record<string, number>): Promise<void> {
  for (const [rel, n] of Object.entries(sizes)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), randomBytes(n));
  }
}

/** Checks a run's progress reports: monotonic bytes, the files counted, every file done at the end. */
function checkProgress(events: DirTransferProgress[], files: string[], total: number): void {
  assert.ok(events.length >= files.length, 'a report at least per file');
  let last = -1;
  for (const e of events) {
    assert.ok(e.bytes >= last, 'bytes never go back');
    last = e.bytes;
    assert.equal(e.files, files.length);
    assert.ok(e.filesDone <= e.files);
    assert.ok(files.includes(e.path), e.path);
    assert.ok(e.rate >= 0);
  }
  const end = events.at(-1) as DirTransferProgress;
  assert.deepEqual(
    { bytes: end.bytes, total: end.total, filesDone: end.filesDone },
    { bytes: total, total, filesDone: files.length },
  );
}

/** uploadDir / downloadDir report progress in bytes across all files; a file that grew corrects the total. */
export async function dirProgressScenario(env: ParityEnv): Promise<void> {
  const s = env.sftp;
  const sizes = { 'a.bin': 70_000, empty: 0, one: 1, 'sub/big.bin': 600_000, 'sub/deep/small': 5 };
  const files = Object.keys(sizes).sort();
  const sum = Object.values(sizes).reduce((a, b) => a + b, 0);
  const src = join(env.outside, 'progress-src');
  await localTree(src, sizes);

  const up: DirTransferProgress[] = [];
  const r = await s.uploadDir(src, env.remote('progress'), { parallel: 2, onProgress: (p) => up.push({ ...p }) });
  assert.deepEqual(r, { files: files.length, bytes: sum });
  checkProgress(up, files, sum);
  assert.ok(
    up.some((e) => e.bytes > 0 && e.bytes < sum),
    'reports while data lands, not only per file',
  );
  assert.equal(up[0]?.total, sum, 'the total is known from the first report');

  const down: DirTransferProgress[] = [];
  await s.downloadDir(env.remote('progress'), join(env.outside, 'progress-down'), {
    onProgress: (p) => down.push({ ...p }),
  });
  checkProgress(down, files, sum);
  for (const f of files) {
    assert.ok((await readFile(join(src, f))).equals(await readFile(join(env.outside, 'progress-down', f))), f);
  }

  // One file at a time; at the first report another file grows by 1000 bytes before its turn.
  const grown: DirTransferProgress[] = [];
  let grew = '';
  await s.uploadDir(src, env.remote('progress-grown'), {
    parallel: 1,
    onProgress: (p) => {
      grown.push({ ...p });
      if (grew) return;
      grew = files.find((f) => f !== p.path) as string;
      // Synchronously, so it has grown before its upload opens it.
      appendFileSync(join(src, grew), Buffer.alloc(1000, 0x61));
    },
  });
  assert.equal(grown[0]?.total, sum);
  checkProgress(grown, files, sum + 1000);
  assert.equal((await lstat(env.local(`progress-grown/${grew}`))).size, sizes[grew as keyof typeof sizes] + 1000);
}

/**
 * Whether the server honours SSH_FXF_APPEND: a WRITE at offset 0 on a handle opened with it lands
 * at the end of the file (as O_APPEND does) rather than over its start.
 */
export async function honoursAppend(env: ParityEnv): Promise<boolean> {
  await mkdir(env.local('append-flag'), { recursive: true });
  await writeFile(env.local('append-flag/f'), 'abc');
  const fh = await env.sftp.open(env.remote('append-flag/f'), FXF.WRITE | FXF.APPEND);
  try {
    await fh.write(Buffer.from('X'), 0);
  } finally {
    await fh.close();
  }
  const got = await readFile(env.local('append-flag/f'), 'utf8');
  assert.ok(got === 'abcX' || got === 'Xbc', got);
  return got === 'abcX';
}
