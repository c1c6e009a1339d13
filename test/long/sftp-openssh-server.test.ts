/**
 * The secsh SFTP client against OpenSSH's sftp server (internal-sftp through a private sshd):
 * every operation and extension it offers, and byte-identical transfers of boundary sizes and 100 MiB.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { SftpError } from '../../src/sftp/errors.js';
import type { SftpClient } from '../../src/sftp/index.js';
import { openSshdSftp, type SshdSftp } from '../helpers/openssh-sftp.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import { sha, shaFile } from '../helpers/sftp-peers.js';

let env: SshdSftp | undefined;
let sftp: SftpClient | undefined;
let dir = '';

before(async () => {
  if (!hasPeer('sshd') || !hasPeer('ssh-keygen')) return;
  env = await openSshdSftp('secsh-sftp-interop-');
  ({ sftp, dir } = env);
});

after(async () => {
  await env?.close();
});

test('OpenSSH sftp-server: version, extensions and limits', (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sftp) return;
  assert.equal(sftp.version, 3);
  for (const e of [
    'posix-rename@openssh.com',
    'statvfs@openssh.com',
    'hardlink@openssh.com',
    'fsync@openssh.com',
    'limits@openssh.com',
  ]) {
    assert.ok(sftp.has(e), e);
  }
  assert.ok(sftp.limits && sftp.limits.maxReadLength > 32768);
  assert.ok(sftp.readChunk <= 255 * 1024);
});

test('OpenSSH sftp-server: file system operations', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sftp) return;
  const s = sftp;
  const d = `${dir}/ops`;
  await s.mkdir(`${d}/x/y`, { recursive: true });
  assert.ok(statSync(`${d}/x/y`).isDirectory());
  await s.writeFile(`${d}/a.txt`, 'alpha');
  assert.equal(readFileSync(`${d}/a.txt`, 'utf8'), 'alpha');
  assert.deepEqual((await s.readdir(d)).map((e) => e.filename).sort(), ['a.txt', 'x']);
  await s.rename(`${d}/a.txt`, `${d}/b.txt`);
  assert.ok(existsSync(`${d}/b.txt`) && !existsSync(`${d}/a.txt`));
  await s.chmod(`${d}/b.txt`, 0o604);
  assert.equal(statSync(`${d}/b.txt`).mode & 0o777, 0o604);
  await s.utimes(`${d}/b.txt`, 1_500_000_000, 1_600_000_000);
  assert.equal(Math.floor(statSync(`${d}/b.txt`).mtimeMs / 1000), 1_600_000_000);
  await s.symlink('b.txt', `${d}/link`);
  assert.ok(lstatSync(`${d}/link`).isSymbolicLink());
  assert.equal(await s.readlink(`${d}/link`), 'b.txt');
  assert.ok((await s.lstat(`${d}/link`)).isSymbolicLink());
  assert.equal((await s.stat(`${d}/link`)).size, 5);
  await s.link(`${d}/b.txt`, `${d}/hard`);
  assert.equal(statSync(`${d}/b.txt`).nlink, 2);
  const vfs = await s.statvfs(d);
  assert.ok(vfs.bsize > 0n && vfs.blocks > 0n);
  const fh = await s.open(`${d}/b.txt`, 'r+');
  await fh.write(Buffer.from('ALPHA!'), 0);
  await fh.sync();
  assert.ok((await fh.statvfs()).bsize > 0n);
  await fh.truncate(3);
  await fh.close();
  assert.equal(readFileSync(`${d}/b.txt`, 'utf8'), 'ALP');
  if (s.has('lsetstat@openssh.com')) {
    await s.lsetstat(`${d}/link`, { atime: 1_000_000_000, mtime: 1_000_000_000 });
    assert.equal(Math.floor(lstatSync(`${d}/link`).mtimeMs / 1000), 1_000_000_000);
  }
  if (s.has('expand-path@openssh.com')) assert.equal(await s.expandPath(`${d}/x/../x`), `${d}/x`);
  if (s.has('home-directory')) assert.ok((await s.homeDirectory(env?.sshd.username ?? 'root')).startsWith('/'));
  if (s.has('users-groups-by-id@openssh.com')) {
    const ug = await s.usersGroupsById([0], [0]);
    assert.equal(ug.users[0], 'root');
  }
  if (s.has('copy-data')) {
    const src = await s.open(`${d}/b.txt`, 'r');
    const dst = await s.open(`${d}/copy`, 'w');
    await src.copyTo(dst);
    await Promise.all([src.close(), dst.close()]);
    assert.equal(readFileSync(`${d}/copy`, 'utf8'), 'ALP');
  }
  assert.equal(await s.realpath(`${d}/x/y/..`), `${d}/x`);
  assert.equal(await s.exists(`${d}/nope`), false);
  await assert.rejects(
    s.stat(`${d}/nope`),
    (e) => e instanceof SftpError && e.nodeCode === 'ENOENT' && e.path === `${d}/nope`,
  );
  await s.unlink(`${d}/link`);
  await s.unlink(`${d}/hard`);
  await s.rmdir(`${d}/x/y`);
  assert.ok(!existsSync(`${d}/x/y`));
  await assert.rejects(s.rmdir(`${d}/x/nope`), SftpError);
});

test('OpenSSH sftp-server: boundary sizes and 100 MiB, byte-identical both ways', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sftp) return;
  const s = sftp;
  for (const n of [0, 1, 32767, 32768, 32769, 262143, 262144, 262145]) {
    const data = randomBytes(n);
    writeFileSync(`${dir}/in${n}`, data);
    await s.upload(`${dir}/in${n}`, `${dir}/remote${n}`);
    assert.equal(sha(readFileSync(`${dir}/remote${n}`)), sha(data), `upload ${n}`);
    await s.download(`${dir}/remote${n}`, `${dir}/out${n}`);
    assert.equal(sha(readFileSync(`${dir}/out${n}`)), sha(data), `download ${n}`);
    assert.equal(sha(await s.readFile(`${dir}/remote${n}`)), sha(data), `readFile ${n}`);
  }
  const big = randomBytes(100 * 1024 * 1024);
  const want = sha(big);
  writeFileSync(`${dir}/big`, big);
  await s.upload(`${dir}/big`, `${dir}/big.remote`, { atomic: true });
  assert.equal(await shaFile(`${dir}/big.remote`), want);
  await s.download(`${dir}/big.remote`, `${dir}/big.out`, { preserve: true });
  assert.equal(await shaFile(`${dir}/big.out`), want);
  assert.equal(statSync(`${dir}/big.out`).mode & 0o777, statSync(`${dir}/big.remote`).mode & 0o777);
});
