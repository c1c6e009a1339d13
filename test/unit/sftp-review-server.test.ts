import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { SftpBackend, SftpBackendFile } from '../../src/sftp/backend.js';
import type { SftpResponse } from '../../src/sftp/codec.js';
import { packIds } from '../../src/sftp/codec.js';
import { EXT, FX, FXF, FXP } from '../../src/sftp/constants.js';
import { SftpError } from '../../src/sftp/errors.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { sftpPair } from './sftp/pair.js';

let base: string;
let root: string;
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'secsh-sftp-review-srv-'));
  root = join(base, 'root');
  await mkdir(join(root, 'dir'), { recursive: true });
  await writeFile(join(root, 'f.txt'), 'original');
  await symlink('f.txt', join(root, 'link'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

function statusOf(r: SftpResponse): number {
  assert.equal(r.type, FXP.STATUS);
  return (r as { code: number }).code;
}

test('read-only: every request that could modify is refused, the tree is unchanged', async () => {
  const before = JSON.stringify(await snapshot(root));
  for (const ro of [{ backend: true }, { server: true }]) {
    const backend = new LocalFsBackend(root, { readOnly: ro.backend === true });
    const { client: s } = await sftpPair(backend, { readOnly: ro.server === true });
    const open = (path: string, pflags: number) => s.request(FXP.OPEN, (w) => w.string(path).uint32(pflags).uint32(0));
    for (const pflags of [
      FXF.WRITE,
      FXF.READ | FXF.WRITE,
      FXF.READ | FXF.CREAT,
      FXF.READ | FXF.TRUNC,
      FXF.READ | FXF.APPEND,
      FXF.CREAT | FXF.EXCL,
    ]) {
      assert.equal(statusOf(await open('/f.txt', pflags)), FX.PERMISSION_DENIED, `open 0x${pflags.toString(16)}`);
      assert.equal(statusOf(await open('/new.txt', pflags)), FX.PERMISSION_DENIED, `create 0x${pflags.toString(16)}`);
    }
    const fh = await s.open('/f.txt', 'r');
    const fh2 = await s.open('/f.txt', 'r');
    const denied = async (p: Promise<unknown>, what: string) =>
      assert.rejects(p, (e: unknown) => {
        assert.ok(e instanceof SftpError, `${what}: ${String(e)}`);
        assert.equal(e.status, FX.PERMISSION_DENIED, `${what}: ${e.message}`);
        return true;
      });
    await denied(fh.write(Buffer.from('x'), 0), 'write');
    await denied(fh.truncate(0), 'fsetstat size');
    await denied(fh.chmod(0o777), 'fsetstat mode');
    await denied(fh.utimes(0, 0), 'fsetstat times');
    await denied(fh.copyTo(fh2, 0, 4, 4), 'copy-data');
    await denied(s.setstat('/f.txt', { size: 0 }), 'setstat');
    await denied(s.lsetstat('/link', { mtime: 0, atime: 0 }), 'lsetstat');
    await denied(s.unlink('/f.txt'), 'remove');
    await denied(s.mkdir('/d2'), 'mkdir');
    await denied(s.rmdir('/dir'), 'rmdir');
    await denied(
      s.status(FXP.RENAME, (w) => w.string('/f.txt').string('/g.txt')),
      'rename',
    );
    await denied(s.rename('/f.txt', '/g.txt'), 'posix-rename');
    await denied(s.symlink('f.txt', '/l2'), 'symlink');
    await denied(s.link('/f.txt', '/h.txt'), 'hardlink');
    await fh.sync(); // harmless on a read-only handle
    await fh.close();
    await fh2.close();
    s.end();
  }
  assert.equal(JSON.stringify(await snapshot(root)), before);
});

async function snapshot(dir: string): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const st = await stat(p).catch(() => undefined);
    out[e.name] = e.isDirectory()
      ? await snapshot(p)
      : [st?.mode, st?.mtimeMs, st?.size, e.isFile() ? await readFile(p, 'utf8') : ''];
  }
  return out;
}

/** A backend whose files refuse to grow past `cap` bytes written per session (so a runaway copy ends). */
function capped(b: SftpBackend, cap: number): SftpBackend {
  let written = 0;
  return new Proxy(b, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (prop !== 'open' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
      return async (...args: Parameters<SftpBackend['open']>): Promise<SftpBackendFile> => {
        const f = await target.open(...args);
        return {
          read: f.read.bind(f),
          write: async (off: number, data: Buffer) => {
            written += data.length;
            if (written > cap) throw Object.assign(new Error('cap'), { code: 'ENOSPC' });
            await f.write(off, data);
          },
          stat: f.stat.bind(f),
          setstat: f.setstat.bind(f),
          close: f.close.bind(f),
        };
      };
    },
  });
}

test('copy-data to end of file copies what was there when it started (two handles on one file)', async () => {
  await writeFile(join(root, 'grow.bin'), Buffer.alloc(1000, 7));
  const { client: s } = await sftpPair(capped(new LocalFsBackend(root), 4 << 20));
  const src = await s.open('/grow.bin', 'r');
  const dst = await s.open('/grow.bin', 'r+');
  await src.copyTo(dst, 0, 0, 1000);
  assert.equal((await stat(join(root, 'grow.bin'))).size, 2000);
  await src.close();
  await dst.close();
  s.end();
});

test('users-groups-by-id: id lists over the limit or not whole uint32s are a status, not a crash', async () => {
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  const ext = (uids: Buffer, gids: Buffer) =>
    s.request(FXP.EXTENDED, (w) => w.string(EXT.USERS_GROUPS_BY_ID).string(uids).string(gids));
  assert.equal(statusOf(await ext(Buffer.alloc(4 * 4097), Buffer.alloc(0))), FX.BAD_MESSAGE);
  assert.equal(statusOf(await ext(Buffer.alloc(3), Buffer.alloc(0))), FX.BAD_MESSAGE);
  const r = await s.usersGroupsById([0], [0]);
  assert.equal(r.users.length, 1);
  assert.ok(packIds([1, 2]).length === 8);
  // still answering
  assert.equal(await s.realpath('.'), '/');
  s.end();
});

test('onRequest reports successful requests too, with their status', async () => {
  const seen: { type: number; status: number }[] = [];
  const { client: s } = await sftpPair(new LocalFsBackend(root), {
    onRequest: (i) => seen.push({ type: i.type, status: i.status }),
  });
  await s.stat('/f.txt');
  await s.stat('/nope').catch(() => {});
  await (await s.open('/f.txt')).close();
  assert.deepEqual(seen.slice(-4), [
    { type: FXP.STAT, status: FX.OK },
    { type: FXP.STAT, status: FX.NO_SUCH_FILE },
    { type: FXP.OPEN, status: FX.OK },
    { type: FXP.CLOSE, status: FX.OK },
  ]);
  s.end();
});

test('opening a FIFO does not wait for a writer (path operations of every session share one lock)', async () => {
  const { execFileSync } = await import('node:child_process');
  execFileSync('mkfifo', [join(root, 'fifo')]);
  try {
    const { client: s } = await sftpPair(new LocalFsBackend(root));
    const opened = s.open('/fifo', 'r').then(
      async (fh) => {
        await fh.close();
        return 'opened';
      },
      (e: unknown) => (e instanceof SftpError ? 'refused' : 'other error'),
    );
    const other = s.stat('/f.txt').then(() => 'stat ok');
    const timeout = new Promise((r) => setTimeout(() => r('timed out'), 2000).unref());
    assert.equal(await Promise.race([other, timeout]), 'stat ok');
    assert.notEqual(await Promise.race([opened, timeout]), 'timed out');
    await s.end();
  } finally {
    await rm(join(root, 'fifo'), { force: true });
  }
});

test("a root of '/' keeps the leading slash in realpath (it gave 'etc' for '/etc')", async () => {
  const { client: s } = await sftpPair(new LocalFsBackend('/'));
  assert.equal(await s.realpath('/'), '/');
  assert.equal(await s.realpath(root), root);
  assert.equal(await s.realpath(`${root}/dir/..`), root);
  assert.equal(await s.readlink(`${root}/link`), 'f.txt');
  s.end();
});
