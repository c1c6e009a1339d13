/**
 * The secsh SFTP client against paramiko's SFTP server (paramiko.SFTPServer over the minimal
 * SFTPServerInterface in fixtures/sftp_paramiko_server.py, rooted in a temporary directory).
 * Transfers are checked byte for byte (sha256); what paramiko advertises is asserted too.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Client } from '../../src/client/client.js';
import { FXP } from '../../src/sftp/constants.js';
import { SftpError } from '../../src/sftp/errors.js';
import { installTripwire } from '../helpers/interop.js';
import { requirePeer } from '../helpers/peers.js';
import {
  connectPeer,
  type PySftpServerInfo,
  rejection,
  shaFile,
  startPySftpServer,
  tempDir,
  writeSources,
} from '../helpers/sftp-peers.js';

installTripwire();

const MiB = 1024 * 1024;
const SIZES = [0, 1, 32767, 32768, 32769, 262143, 262144, 262145, 8 * MiB];

/** paramiko's SSH server serving SFTP from `root` (password alice/secret). */
function startParamikoSftp(root: string) {
  return startPySftpServer<PySftpServerInfo & { hostKey: string }>(
    'sftp_paramiko_server.py',
    [root],
    'paramiko server',
  );
}

test('secsh client against paramiko SFTP server: ops, boundary-size transfers, errors', async (t) => {
  if (!requirePeer(t, 'paramiko')) return;
  const { dir, root } = await tempDir('secsh-sftp-paramiko-server-');
  const peer = await startParamikoSftp(root);
  let client: Client | undefined;
  try {
    client = await connectPeer(peer);
    const sftp = await client.sftp();

    // What paramiko offers: v3 and only "check-file" (md5,sha1). It answers posix-rename@openssh.com
    // without advertising it, and sends no limits@openssh.com, so the client stays at 32 KiB requests.
    assert.equal(sftp.version, 3);
    assert.deepEqual([...sftp.extensions], [['check-file', 'md5,sha1']]);
    assert.equal(sftp.has('posix-rename@openssh.com'), false);
    assert.equal(sftp.limits, undefined);
    assert.equal(sftp.readChunk, 32768);
    assert.equal(sftp.writeChunk, 32768);

    // realpath: the fixture's canonicalize maps '/' to the root and stops '..' there.
    assert.equal(await sftp.realpath('.'), '/');
    assert.equal(await sftp.realpath('/../..'), '/');

    const shas = writeSources(dir, SIZES);
    for (const n of SIZES) {
      assert.equal(await sftp.upload(join(dir, `src${n}`), `/f${n}`), n, `upload ${n} returns its size`);
      assert.equal(await shaFile(join(root, `f${n}`)), shas.get(n), `upload ${n}`);
      const dst = join(dir, `dst${n}`);
      assert.equal(await sftp.download(`/f${n}`, dst), n, `download ${n} returns its size`);
      assert.equal(await shaFile(dst), shas.get(n), `download ${n}`);
      assert.equal((await sftp.stat(`/f${n}`)).size, n);
    }

    // Over an existing file: a plain upload truncates it (SSH_FXF_TRUNC); an atomic one, without
    // posix-rename, moves the old file aside, renames the part file in and removes the old one.
    await sftp.upload(join(dir, 'src1'), '/over');
    await sftp.upload(join(dir, 'src262145'), '/over');
    await sftp.upload(join(dir, 'src32769'), '/over');
    assert.equal(await shaFile(join(root, 'over')), shas.get(32769), 'plain upload over a longer file');
    assert.equal(await sftp.upload(join(dir, 'src262144'), '/over', { atomic: true }), 262144);
    assert.equal(await shaFile(join(root, 'over')), shas.get(262144), 'atomic upload over a file');
    assert.deepEqual(
      readdirSync(root).filter((n) => !/^f\d+$/.test(n)),
      ['over'],
      'no part file or moved-aside file is left',
    );
    // resume: a partial remote file is verified (its tail) and completed; FSETSTAT truncates.
    writeFileSync(join(root, 'part'), readFileSync(join(dir, 'src262145')).subarray(0, 100_000));
    assert.equal(await sftp.upload(join(dir, 'src262145'), '/part', { resume: true }), 262145);
    assert.equal(await shaFile(join(root, 'part')), shas.get(262145), 'resumed upload');
    // preserve: mode and times by FSETSTAT; utimes by SETSTAT
    const stamp = 1_600_000_000;
    chmodSync(join(dir, 'src32768'), 0o640);
    utimesSync(join(dir, 'src32768'), stamp, stamp + 10);
    await sftp.upload(join(dir, 'src32768'), '/kept', { preserve: true });
    const kept = statSync(join(root, 'kept'));
    assert.equal(kept.mode & 0o7777, 0o640);
    assert.equal(kept.atimeMs, stamp * 1000);
    assert.equal(kept.mtimeMs, (stamp + 10) * 1000);
    assert.equal((await sftp.stat('/kept')).mtime, stamp + 10);
    await sftp.utimes('/kept', stamp + 20, stamp + 30);
    assert.equal(statSync(join(root, 'kept')).mtimeMs, (stamp + 30) * 1000);
    for (const f of ['over', 'part', 'kept']) await sftp.unlink(`/${f}`);

    // mkdir / readdir / stat
    await sftp.mkdir('/d', { mode: 0o750 });
    assert.equal(statSync(join(root, 'd')).mode & 0o777, 0o750 & ~process.umask());
    await sftp.mkdir('/d/e/f', { recursive: true });
    assert.ok(statSync(join(root, 'd', 'e', 'f')).isDirectory());
    assert.ok((await sftp.stat('/d/e')).isDirectory());
    assert.deepEqual(
      (await sftp.readdir('/d')).map((e) => e.filename),
      ['e'],
    );
    const top = await sftp.readdir('/');
    assert.deepEqual(top.map((e) => e.filename).sort(), ['d', ...SIZES.map((n) => `f${n}`)].sort());
    const e32769 = top.find((e) => e.filename === 'f32769');
    assert.equal(e32769?.attrs.size, 32769);
    assert.ok(e32769?.attrs.isFile());
    // paramiko sends 16 names per SSH_FXP_NAME: 300 entries take 19 READDIRs.
    await sftp.mkdir('/many');
    const many = Array.from({ length: 300 }, (_, i) => `n${String(i).padStart(3, '0')}`);
    for (const name of many) writeFileSync(join(root, 'many', name), name);
    const listed = await sftp.readdir('/many');
    assert.deepEqual(listed.map((e) => e.filename).sort(), many);
    assert.ok(listed.every((e) => e.attrs.size === 4 && e.attrs.isFile()));
    for (const name of many) await sftp.unlink(`/many/${name}`);
    assert.deepEqual(readdirSync(join(root, 'many')), []);
    await sftp.rmdir('/many');
    assert.equal(existsSync(join(root, 'many')), false);

    // chmod (SETSTAT)
    await sftp.chmod('/f32767', 0o604);
    assert.equal(statSync(join(root, 'f32767')).mode & 0o7777, 0o604);
    assert.equal(((await sftp.stat('/f32767')).mode ?? 0) & 0o7777, 0o604);

    // rename: to a new name works; onto an existing file plain SSH_FXP_RENAME is refused (paramiko
    // does not advertise posix-rename@openssh.com, so rename() does not use it) and nothing changes.
    await sftp.rename('/f1', '/d/one');
    assert.equal(readFileSync(join(root, 'd', 'one')).length, 1);
    assert.equal(existsSync(join(root, 'f1')), false);
    const refused = await rejection(sftp.rename('/f0', '/d/one'), 'rename onto an existing file');
    assert.ok(refused instanceof SftpError, String(refused));
    assert.equal(readFileSync(join(root, 'd', 'one')).length, 1, 'the refused rename left the target');
    assert.ok(existsSync(join(root, 'f0')));
    // The unadvertised extension, sent by hand (extended() refuses what is not offered), replaces it.
    await sftp.status(FXP.EXTENDED, (w) => w.string('posix-rename@openssh.com').string('/f0').string('/d/one'));
    assert.equal(readFileSync(join(root, 'd', 'one')).length, 0, 'posix-rename replaced the target');
    assert.equal(await sftp.exists('/f0'), false);

    // symlink(target, path) as fs.symlink: Client.sftp() sends OpenSSH's order to paramiko, which
    // reads target first. A relative target is kept as given; an absolute one names a path in the root.
    await sftp.symlink('one', '/d/link');
    assert.equal(readlinkSync(join(root, 'd', 'link')), 'one', 'the link is /d/link, to one');
    assert.ok(lstatSync(join(root, 'd', 'one')).isFile(), 'the target is untouched');
    assert.equal(await sftp.readlink('/d/link'), 'one');
    await sftp.symlink('/f32768', '/d/abs-link');
    assert.equal(readlinkSync(join(root, 'd', 'abs-link')), join(root, 'f32768'));
    assert.equal(await sftp.readlink('/d/abs-link'), '/f32768');
    symlinkSync('e/f', join(root, 'd', 'disk-link'));
    assert.equal(await sftp.readlink('/d/disk-link'), 'e/f');
    // lstat sees the link, stat follows it
    assert.ok((await sftp.lstat('/d/link')).isSymbolicLink());
    const through = await sftp.stat('/d/link');
    assert.ok(through.isFile() && through.size === 0, 'stat follows the link to the empty file');
    assert.equal((await sftp.stat('/d/abs-link')).size, 32768);
    assert.ok((await sftp.stat('/d/disk-link')).isDirectory());
    assert.equal(await sftp.realpath('/d/e/../one'), '/d/one');
    assert.equal(await sftp.realpath('/d/link'), '/d/one', "paramiko's realpath resolves links here");
    const dEntries = await sftp.readdir('/d');
    assert.ok(dEntries.find((e) => e.filename === 'link')?.attrs.isSymbolicLink(), 'readdir attrs are lstat');

    for (const l of ['link', 'abs-link', 'disk-link']) await sftp.unlink(`/d/${l}`);
    await sftp.unlink('/d/one');
    assert.deepEqual(readdirSync(join(root, 'd')), ['e']);
    await sftp.rmdir('/d/e/f');
    await sftp.rmdir('/d/e');
    await sftp.rmdir('/d');
    assert.equal(await sftp.exists('/d'), false);

    // Errors: a missing file is ENOENT with the path; a non-empty directory is refused.
    const err = await rejection(sftp.stat('/missing/file'), 'stat of a missing file');
    assert.ok(err instanceof SftpError, String(err));
    assert.equal(err.nodeCode, 'ENOENT');
    assert.equal(err.path, '/missing/file');
    const lerr = await rejection(sftp.lstat('/missing'), 'lstat of a missing file');
    assert.ok(lerr instanceof SftpError && lerr.nodeCode === 'ENOENT' && lerr.path === '/missing');
    await assert.rejects(sftp.unlink('/missing'), (e: unknown) => e instanceof SftpError && e.nodeCode === 'ENOENT');
    await assert.rejects(sftp.readdir('/missing'), (e: unknown) => e instanceof SftpError && e.nodeCode === 'ENOENT');
    await assert.rejects(
      sftp.download('/missing', join(dir, 'never')),
      (e: unknown) => e instanceof SftpError && e.nodeCode === 'ENOENT',
    );
    await sftp.mkdir('/full');
    writeFileSync(join(root, 'full', 'x'), 'x');
    await assert.rejects(sftp.rmdir('/full'), SftpError);
    assert.ok(existsSync(join(root, 'full', 'x')));
    sftp.end();
  } finally {
    client?.close();
    await peer.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
