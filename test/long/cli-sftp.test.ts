/**
 * `secsh sftp -b` against OpenSSH's sshd (internal-sftp): transfers byte-identical at the sizes
 * around a request's, -r trees with -p modes and times, listings and error messages the same as
 * OpenSSH's `sftp` prints on the same directory, batch error handling, and host:path operands.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { runSftp, sftpBatchRun, sftpTargetArgs, sha256File } from '../e2e/cli-sftp-helpers.js';
import { hasSftp, requireSftp } from '../helpers/openssh-sftp.js';
import { hasPeer } from '../helpers/peers.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

let sshd: Sshd | undefined;
let dir = '';
let knownHosts = '';

before(async () => {
  if (!hasPeer('sshd') || !hasPeer('ssh-keygen') || !hasSftp()) return;
  sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
  dir = await mkdtemp(join(tmpdir(), 'secsh-cli-sftp-'));
  knownHosts = join(dir, 'known_hosts');
});

after(async () => {
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function ready(t: import('node:test').TestContext): Sshd | undefined {
  if (!requireSftp(t) || !sshd) return undefined;
  return sshd;
}

test('secsh sftp -b: put and get of 0 B, 1 B, 32 KiB - 1, 32 KiB, 32 KiB + 1 and 1 MiB are byte-identical', async (t) => {
  const d = ready(t);
  if (!d) return;
  const src = join(dir, 'sizes-src');
  const remote = join(dir, 'sizes-remote');
  const back = join(dir, 'sizes-back');
  await Promise.all([mkdir(src), mkdir(remote), mkdir(back)]);
  const sizes = [0, 1, 32767, 32768, 32769, 1 << 20];
  for (const n of sizes) await writeFile(join(src, `f${n}`), randomBytes(n));
  const r = await sftpBatchRun('secsh', d, knownHosts, [
    `lcd ${src}`,
    `cd ${remote}`,
    'put f*',
    `lcd ${back}`,
    'get *',
  ]);
  assert.equal(r.code, 0, r.stderr);
  for (const n of sizes) {
    const want = await sha256File(join(src, `f${n}`));
    assert.equal(await sha256File(join(remote, `f${n}`)), want, `put f${n}`);
    assert.equal(await sha256File(join(back, `f${n}`)), want, `get f${n}`);
  }
  assert.match(r.stdout, /^sftp> put f\*$/m);
});

test('secsh sftp -b: put -r -p and get -r -p copy a tree with its modes and times', async (t) => {
  const d = ready(t);
  if (!d) return;
  const tree = join(dir, 'tree');
  await mkdir(join(tree, 'sub', 'deeper'), { recursive: true });
  await mkdir(join(tree, 'empty'));
  const files: [string, number, Buffer][] = [
    ['a.txt', 0o640, Buffer.from('a\n')],
    ['sub/b.bin', 0o600, randomBytes(70000)],
    ['sub/deeper/c.sh', 0o755, Buffer.from('#!/bin/sh\n')],
  ];
  const old = new Date('2020-01-02T03:04:05Z');
  for (const [p, mode, data] of files) {
    await writeFile(join(tree, p), data);
    await chmod(join(tree, p), mode);
    await utimes(join(tree, p), old, old);
  }
  await chmod(join(tree, 'empty'), 0o750);
  const remote = join(dir, 'tree-remote');
  const back = join(dir, 'tree-back');
  const r = await sftpBatchRun('secsh', d, knownHosts, [`put -r -p ${tree} ${remote}`, `get -r -p ${remote} ${back}`]);
  assert.equal(r.code, 0, r.stderr);
  for (const root of [remote, back]) {
    for (const [p, mode, data] of files) {
      const st = await stat(join(root, p));
      assert.equal(st.mode & 0o777, mode, `${root}/${p} mode`);
      assert.equal(Math.floor(st.mtimeMs / 1000), old.getTime() / 1000, `${root}/${p} mtime`);
      assert.deepEqual(await readFile(join(root, p)), data);
    }
    assert.equal((await stat(join(root, 'empty'))).mode & 0o777, 0o750);
  }
  assert.match(r.stdout, /^Retrieving .*tree-remote$/m);
});

/** A directory with names of every kind and length, for listings. */
async function listingDir(): Promise<string> {
  const l = join(dir, 'listing');
  await mkdir(join(l, 'subdir'), { recursive: true });
  await writeFile(join(l, 'a.txt'), 'hello\n');
  await writeFile(join(l, 'b-longer-name.txt'), randomBytes(123456));
  await writeFile(join(l, '.hidden'), '');
  await writeFile(join(l, 'subdir', 'inner'), 'x');
  await writeFile(join(l, 'setuid'), 'x');
  await chmod(join(l, 'setuid'), 0o4755);
  await mkdir(join(l, 'sticky'));
  await chmod(join(l, 'sticky'), 0o1777);
  await symlink('a.txt', join(l, 'link'));
  await writeFile(join(l, 'old'), randomBytes(5000));
  await utimes(join(l, 'old'), new Date('2019-06-01T12:00:00Z'), new Date('2019-06-01T12:00:00Z'));
  await writeFile(join(l, 'big'), Buffer.alloc(3 * 1024 * 1024 + 17));
  await writeFile(join(l, 'with space'), 'x');
  await writeFile(join(l, 'st*r'), 'x');
  return l;
}

test('secsh sftp ls prints what OpenSSH sftp prints for the same directory (-l -a -h -1 -S -t -r, globs, subdirectories)', async (t) => {
  const d = ready(t);
  if (!d) return;
  const l = await listingDir();
  const lines = [
    `cd ${l}`,
    'ls',
    'ls -1',
    'ls -l',
    'ls -la',
    'ls -lh',
    'ls -lS',
    'ls -lt',
    'ls -lr',
    'ls -1a',
    'ls -l subdir',
    'ls subdir',
    'ls -l *.txt',
    'ls -l s*',
    `ls -l ${l}/subdir`,
    'ls -l a.txt',
    'ls "with space"',
    "ls -l 'with space'",
    'ls -1 st\\*r',
    'ls -1 "st*r"',
    'ls -1 *',
    'ls -1 s*   # a comment',
  ];
  const [ours, theirs] = await Promise.all([
    sftpBatchRun('secsh', d, knownHosts, lines),
    sftpBatchRun('openssh', d, knownHosts, lines),
  ]);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(ours.stdout, theirs.stdout);
  assert.match(ours.stdout, /^-rwsr-xr-x +\? \S+ +\S+ +1 \w{3} [ \d]\d \d\d:\d\d setuid$/m);
  assert.match(ours.stdout, /^drwxrwxrwt /m);
});

test('secsh sftp prints the error messages OpenSSH sftp prints, in the same places', async (t) => {
  const d = ready(t);
  if (!d) return;
  const e = join(dir, 'errors');
  await mkdir(join(e, 'sub'), { recursive: true });
  await writeFile(join(e, 'file'), 'x');
  const lines = [
    `cd ${e}`,
    `lcd ${e}`,
    '-ls nothere',
    '-cd nothere',
    '-cd file',
    '-get nothere',
    '-get sub',
    '-put nothere',
    '-put sub',
    '-rm nothere',
    '-mkdir sub',
    '-rmdir nothere',
    '-rename nothere x',
    '-chmod 644 nothere',
    '-chmod abc file',
    '-chown x file',
    '-chown 1 nothere',
    '-ln nothere',
    '-symlink',
    '-bogus',
    '-lcd /nonexistent-dir',
    '-get file /nonexistent-dir/x',
    '-put file /nonexistent-dir/x',
    '-reput file',
    '-df /nonexistent-dir',
    '-get',
    '-chmod 644',
    '-pwd extra',
    '-ls a b c',
    'version',
    'progress',
    'cd',
    'pwd',
    'lcd',
    'lpwd',
  ];
  const [ours, theirs] = await Promise.all([
    sftpBatchRun('secsh', d, knownHosts, lines),
    sftpBatchRun('openssh', d, knownHosts, lines),
  ]);
  assert.equal(ours.stdout, theirs.stdout);
  // OpenSSH's log functions end a line with \r\n even on a pipe; secsh writes plain lines.
  assert.equal(ours.stderr, theirs.stderr.replaceAll('\r\n', '\n'));
  assert.equal(ours.code, 0);
  assert.match(ours.stderr, /^remote delete .*nothere: No such file or directory$/m);
});

test('secsh sftp -b: the first failing command ends the batch with status 1; a "-" prefix carries on; "@" is not echoed', async (t) => {
  const d = ready(t);
  if (!d) return;
  const failing = await sftpBatchRun('secsh', d, knownHosts, ['pwd', 'get /nonexistent-file', 'version']);
  assert.equal(failing.code, 1);
  assert.equal(failing.stderr, 'File "/nonexistent-file" not found.\n');
  assert.match(failing.stdout, /^sftp> get \/nonexistent-file$/m);
  assert.doesNotMatch(failing.stdout, /version/);
  const ignoring = await sftpBatchRun('secsh', d, knownHosts, ['-get /nonexistent-file', '@version', 'pwd']);
  assert.equal(ignoring.code, 0, ignoring.stderr);
  assert.match(ignoring.stdout, /^sftp> -get \/nonexistent-file$/m);
  assert.doesNotMatch(ignoring.stdout, /sftp> @version/);
  assert.match(ignoring.stdout, /^SFTP protocol version 3$/m);
  assert.match(ignoring.stdout, /^sftp> pwd\nRemote working directory: /m);
});

test('secsh sftp host:file fetches the file (to the current directory or a second operand); sftp:// too; host:dir starts there', async (t) => {
  const d = ready(t);
  if (!d) return;
  const f = join(dir, 'fetch-me');
  const data = randomBytes(4096);
  await writeFile(f, data);
  const cwd = join(dir, 'fetch-cwd');
  await mkdir(cwd);
  const args = sftpTargetArgs(d, knownHosts);
  const plain = await runSftp('secsh', args, `${d.username}@127.0.0.1:${f}`, '', cwd);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, new RegExp(`^Fetching ${f} to fetch-me$`, 'm'));
  assert.deepEqual(await readFile(join(cwd, 'fetch-me')), data);
  const second = await runSftp('secsh', [...args, '-q'], [`${d.username}@127.0.0.1:${f}`, 'renamed'], '', cwd);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, '');
  assert.deepEqual(await readFile(join(cwd, 'renamed')), data);
  const uri = await runSftp(
    'secsh',
    args,
    [`sftp://${d.username}@127.0.0.1:${d.port}/${encodeURIComponent(f)}`, 'by-uri'],
    '',
    cwd,
  );
  assert.equal(uri.code, 0, uri.stderr);
  assert.deepEqual(await readFile(join(cwd, 'by-uri')), data);
  const missing = await runSftp('secsh', args, `${d.username}@127.0.0.1:${f}-missing`, '', cwd);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /File ".*fetch-me-missing" not found\./);
  const startDir = await runSftp('secsh', [...args, '-b', '-'], `${d.username}@127.0.0.1:${dir}`, 'pwd\n');
  assert.equal(startDir.code, 0, startDir.stderr);
  assert.match(startDir.stdout, new RegExp(`^Remote working directory: ${dir}$`, 'm'));
});

test('secsh sftp: a missing batch file and an unknown flag are errors with status 1, before connecting', async (t) => {
  const d = ready(t);
  if (!d) return;
  const args = sftpTargetArgs(d, knownHosts);
  const missing = await runSftp('secsh', [...args, '-b', join(dir, 'no-such-batch')], `${d.username}@127.0.0.1`);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^No such file or directory \(.*no-such-batch\)\.$/m);
  const flag = await runSftp('secsh', ['-Z'], 'host');
  assert.equal(flag.code, 1);
  assert.match(flag.stderr, /^unknown option -- Z\nusage: secsh sftp /);
  const external = await runSftp('secsh', ['-S', '/bin/ssh'], 'host');
  assert.equal(external.code, 1);
  assert.match(external.stderr, /not supported/);
});

test('secsh sftp get -r and put -r skip symlinks and special files with the messages sftp prints, in its order', async (t) => {
  const d = ready(t);
  if (!d) return;
  const tree = join(dir, 'special');
  await mkdir(join(tree, 'deep'), { recursive: true });
  await writeFile(join(tree, 'file'), 'x');
  await writeFile(join(tree, 'deep', 'inner'), 'y');
  await symlink('file', join(tree, 'link'));
  await promisify(execFile)('mkfifo', [join(tree, 'fifo')]);
  const runs = await Promise.all(
    (['secsh', 'openssh'] as const).map(async (which) => {
      const work = join(dir, `special-${which}`);
      await mkdir(work);
      const r = await sftpBatchRun(which, d, knownHosts, [
        `lcd ${work}`,
        `cd ${work}`,
        `get -r ${tree} got`,
        `put -r ${tree} put`,
      ]);
      return { r, work };
    }),
  );
  const [ours, theirs] = runs as [(typeof runs)[0], (typeof runs)[0]];
  assert.equal(ours.r.code, 0, ours.r.stderr);
  const same = (x: (typeof runs)[0], out: string) => out.replaceAll(x.work, 'WORK').replaceAll('\r\n', '\n');
  assert.equal(same(ours, ours.r.stdout), same(theirs, theirs.r.stdout));
  assert.equal(same(ours, ours.r.stderr), same(theirs, theirs.r.stderr));
  assert.match(ours.r.stderr, /^link: not a regular file$/m);
  for (const sub of ['got', 'put']) {
    assert.equal(await readFile(join(ours.work, sub, 'deep', 'inner'), 'utf8'), 'y');
    await assert.rejects(lstat(join(ours.work, sub, 'link')), { code: 'ENOENT' });
  }
});

test('secsh sftp reget and reput finish partial files byte-identical; get -a resumes as reget', async (t) => {
  const d = ready(t);
  if (!d) return;
  const work = join(dir, 'resume');
  await mkdir(work);
  const data = randomBytes(300_000);
  await writeFile(join(work, 'remote-full'), data);
  // The partial files start with other bytes (before the last 64 KiB, which secsh checks): a
  // resumed transfer keeps them, one that started over would not.
  const marked = (n: number) => Buffer.concat([Buffer.alloc(20_000, 0x55), data.subarray(20_000, n)]);
  await writeFile(join(work, 'local-part'), marked(100_000));
  await writeFile(join(work, 'local-full'), data);
  await writeFile(join(work, 'remote-part'), marked(123_457));
  await writeFile(join(work, 'local-a'), data.subarray(0, 1));
  const r = await sftpBatchRun('secsh', d, knownHosts, [
    `lcd ${work}`,
    `cd ${work}`,
    'reget remote-full local-part',
    'reput local-full remote-part',
    'get -a remote-full local-a',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const resumed = Buffer.concat([Buffer.alloc(20_000, 0x55), data.subarray(20_000)]);
  assert.deepEqual(await readFile(join(work, 'local-part')), resumed);
  assert.deepEqual(await readFile(join(work, 'remote-part')), resumed);
  assert.deepEqual(await readFile(join(work, 'local-a')), data);
  assert.match(r.stdout, /^sftp> reget remote-full local-part$/m);
});
