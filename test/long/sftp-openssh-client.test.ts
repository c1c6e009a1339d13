/**
 * OpenSSH's `sftp` (batch mode) against the secsh server's sftp subsystem: put, get, ls, rename,
 * rm, mkdir, rmdir, symlink, chmod, df (statvfs), ln (hardlink), put -f (fsync); boundary sizes and
 * 100 MiB byte-identical; OpenSSH's own -B/-R matrix.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { PublicKey } from '../../src/keys/index.js';
import type { Server } from '../../src/server/server.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import type { RunSshResult } from '../helpers/openssh.js';
import { hasSftp, listenSftpForKey, requireSftp, sftpBatch, sftpUserKey } from '../helpers/openssh-sftp.js';
import { hasPeer } from '../helpers/peers.js';
import { sha, shaFile } from '../helpers/sftp-peers.js';

let dir = '';
let root = '';
let local = '';
let keyPath = '';
let server: Server | undefined;
let port = 0;

before(async () => {
  if (!hasPeer('ssh-keygen') || !hasSftp()) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-sftp-client-interop-'));
  root = join(dir, 'root');
  local = join(dir, 'local');
  await mkdir(root);
  await mkdir(local);
  let userKey: PublicKey;
  ({ keyPath, userKey } = await sftpUserKey(dir));
  ({ server, port } = await listenSftpForKey(new LocalFsBackend(root), userKey));
});

after(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs `sftp -b -` with `commands` on stdin; resolves with its exit code and output. */
function sftp(commands: string[], extra: string[] = []): Promise<RunSshResult<string>> {
  return sftpBatch(port, keyPath, commands, extra);
}

test('sftp -b: put, get, ls, rename, rm, mkdir, rmdir, symlink, chmod, df, ln, put -f', async (t) => {
  if (!requireSftp(t)) return;
  writeFileSync(join(local, 'a.txt'), 'alpha\n');
  const r = await sftp([
    'mkdir d',
    'mkdir gone',
    `put ${join(local, 'a.txt')} d/a.txt`,
    `put -f ${join(local, 'a.txt')} d/synced.txt`,
    `get d/a.txt ${join(local, 'back.txt')}`,
    'ls -l d',
    'rename d/a.txt d/b.txt',
    'ln -s b.txt d/sym',
    'ln d/b.txt d/hard',
    'chmod 600 d/b.txt',
    'df -h /',
    'rm d/synced.txt',
    'rmdir gone',
    'pwd',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(local, 'back.txt'), 'utf8'), 'alpha\n');
  assert.match(r.stdout, /-rw.*a\.txt/);
  assert.match(r.stdout, /Size\s+Used\s+Avail/);
  assert.match(r.stdout, /Remote working directory: \//);
  assert.equal(readFileSync(join(root, 'd/b.txt'), 'utf8'), 'alpha\n');
  assert.ok(!existsSync(join(root, 'd/a.txt')));
  assert.ok(lstatSync(join(root, 'd/sym')).isSymbolicLink());
  assert.equal(readlinkSync(join(root, 'd/sym')), 'b.txt');
  assert.equal(statSync(join(root, 'd/b.txt')).nlink, 2);
  assert.equal(statSync(join(root, 'd/b.txt')).mode & 0o777, 0o600);
  assert.ok(!existsSync(join(root, 'd/synced.txt')));
  assert.ok(!existsSync(join(root, 'gone')));
  // A failing command makes the batch fail.
  const bad = await sftp(['get nothing-here /dev/null']);
  assert.notEqual(bad.code, 0);
  // Escapes stay inside the root.
  const esc = await sftp(['cd ../../..', 'pwd', `put ${join(local, 'a.txt')} escaped.txt`]);
  assert.equal(esc.code, 0, esc.stderr);
  assert.match(esc.stdout, /Remote working directory: \/\n/);
  assert.ok(existsSync(join(root, 'escaped.txt')));
});

test('sftp -b: boundary sizes and 100 MiB byte-identical both ways', async (t) => {
  if (!requireSftp(t)) return;
  const sizes = [0, 1, 32767, 32768, 32769, 262143, 262144, 262145];
  const cmds: string[] = [];
  const want = new Map<number, string>();
  for (const n of sizes) {
    const data = randomBytes(n);
    want.set(n, sha(data));
    writeFileSync(join(local, `s${n}`), data);
    cmds.push(`put ${join(local, `s${n}`)} s${n}`, `get s${n} ${join(local, `g${n}`)}`);
  }
  const big = randomBytes(100 * 1024 * 1024);
  const bigSha = sha(big);
  writeFileSync(join(local, 'big'), big);
  cmds.push(`put ${join(local, 'big')} big`, `get big ${join(local, 'big.back')}`);
  const r = await sftp(cmds);
  assert.equal(r.code, 0, r.stderr);
  for (const n of sizes) {
    assert.equal(sha(readFileSync(join(root, `s${n}`))), want.get(n), `put ${n}`);
    assert.equal(sha(readFileSync(join(local, `g${n}`))), want.get(n), `get ${n}`);
  }
  assert.equal(await shaFile(join(root, 'big')), bigSha);
  assert.equal(await shaFile(join(local, 'big.back')), bigSha);
});

test('sftp -B {5,1000,32000,64000} -R {1,2,10}: byte-identical', async (t) => {
  if (!requireSftp(t)) return;
  // 5-byte requests are latency-bound: a smaller file keeps that row fast.
  const small = randomBytes(12_347);
  const data = randomBytes(150_001);
  writeFileSync(join(local, 'm5.bin'), small);
  writeFileSync(join(local, 'm.bin'), data);
  for (const b of [5, 1000, 32000, 64000]) {
    const src = b === 5 ? 'm5.bin' : 'm.bin';
    const want = sha(b === 5 ? small : data);
    for (const rq of [1, 2, 10]) {
      const name = `m-${b}-${rq}`;
      const r = await sftp(
        [`put ${join(local, src)} ${name}`, `get ${name} ${join(local, name)}`],
        ['-B', String(b), '-R', String(rq)],
      );
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.equal(sha(readFileSync(join(root, name))), want, `put ${name}`);
      assert.equal(sha(readFileSync(join(local, name))), want, `get ${name}`);
    }
  }
});
