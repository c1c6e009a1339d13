import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FX } from '../../src/sftp/constants.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { sftpPair } from './sftp/pair.js';
import { rejectsWith, sandbox } from './sftp/sandbox.js';

let base: string;
let root: string;
before(async () => {
  ({ base, root } = await sandbox('secsh-sftp-review-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

test('readlink never shows a host path outside the root; inside targets are shown normalized', async () => {
  await mkdir(join(root, 'rl'));
  await writeFile(join(root, 'rl', 'f'), 'f');
  await symlink(join(base, 'secret'), join(root, 'rl', 'abs-out'));
  await symlink(`${root}/rl/../rl/f`, join(root, 'rl', 'abs-in'));
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  await rejectsWith(s.readlink('/rl/abs-out'), FX.PERMISSION_DENIED);
  assert.equal(await s.readlink('/rl/abs-in'), '/rl/f');
  s.end();
});

test('a file whose times do not fit in uint32 can still be stat-ed and listed', async () => {
  await mkdir(join(root, 'times'));
  await writeFile(join(root, 'times', 'old'), 'x');
  await writeFile(join(root, 'times', 'future'), 'y');
  // (fs.utimes turns a negative time into now; touch sets it as asked)
  execFileSync('touch', ['-d', '1960-01-01T00:00:00Z', join(root, 'times', 'old')]);
  await utimes(join(root, 'times', 'future'), 2 ** 32 + 100, 2 ** 32 + 100);
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  assert.equal((await s.stat('/times/old')).mtime, 0);
  assert.equal((await s.stat('/times/future')).mtime, 0xffffffff);
  const names = (await s.readdir('/times')).map((e) => e.filename).sort();
  assert.deepEqual(names, ['future', 'old']);
  s.end();
});

test('symlinks made through sftp cannot be used to probe which host paths exist', async () => {
  await mkdir(join(root, 'probe'));
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  const up = '../'.repeat(root.split('/').length + 2);
  await s.symlink(`${up}${base.slice(1)}/secret`, '/probe/yes');
  await s.symlink(`${up}${base.slice(1)}/no-such-file`, '/probe/no');
  await s.symlink(`${up}${base.slice(1)}/no-such-dir/x`, '/probe/nodir');
  for (const p of ['/probe/yes', '/probe/no', '/probe/nodir']) {
    await rejectsWith(s.stat(p), FX.PERMISSION_DENIED);
    await rejectsWith(s.open(p), FX.PERMISSION_DENIED);
    await rejectsWith(s.readdir(`${p}/`), FX.PERMISSION_DENIED);
    await rejectsWith(s.stat(`${p}/sub`), FX.PERMISSION_DENIED);
    await rejectsWith(s.mkdir(`${p}/sub`), FX.PERMISSION_DENIED);
  }
  // a genuinely missing path inside is still ENOENT
  await rejectsWith(s.stat('/probe/missing'), FX.NO_SUCH_FILE);
  await rejectsWith(s.stat('/probe/missing/x'), FX.NO_SUCH_FILE);
  s.end();
});

test('hardlink, rename and symlink through a link pointing out stay inside', async () => {
  await mkdir(join(root, 'hl'));
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  await s.symlink('../../secret', '/hl/up');
  await s.symlink('/../../../secret', '/hl/abs');
  await rejectsWith(s.readFile('/hl/up'), FX.PERMISSION_DENIED);
  // the absolute target is the client's namespace: /secret under the root, which does not exist
  await rejectsWith(s.readFile('/hl/abs'), FX.NO_SUCH_FILE);
  await s.link('/hl/up', '/hl/up-hard');
  assert.ok((await s.lstat('/hl/up-hard')).isSymbolicLink());
  await rejectsWith(s.readFile('/hl/up-hard'), FX.PERMISSION_DENIED);
  await s.rename('/hl/up', '/hl/up2');
  await rejectsWith(s.readFile('/hl/up2'), FX.PERMISSION_DENIED);
  await s.symlink('../../..', '/hl/dirout');
  await rejectsWith(s.writeFile('/hl/dirout/pwned', 'x'), FX.PERMISSION_DENIED);
  await rejectsWith(s.rename('/hl/up2', '/hl/dirout/moved'), FX.PERMISSION_DENIED);
  await rejectsWith(s.link('/hl/dirout/secret', '/hl/stolen'), FX.PERMISSION_DENIED);
  await rejectsWith(s.symlink('x', '/hl/dirout/l'), FX.PERMISSION_DENIED);
  assert.equal(await readFile(join(base, 'secret'), 'utf8'), 'outside');
  s.end();
});

test('two sessions on one backend cannot race a path check against its use', async () => {
  await mkdir(join(root, 'race', 'd'), { recursive: true });
  await writeFile(join(root, 'race', 'd', 'secret'), 'inside');
  const backend = new LocalFsBackend(root);
  const { client: a } = await sftpPair(backend);
  const { client: b } = await sftpPair(backend);
  // Stall the backend's check of the victim path's last component (the lstat of its resolve) so the
  // other session can try to swap the directory before the file is opened.
  const fsp = createRequire(import.meta.url)('node:fs/promises') as typeof import('node:fs/promises');
  const orig = fsp.lstat;
  let swap: Promise<void> | undefined;
  fsp.lstat = (async (p: string, o?: unknown) => {
    const r = await orig(p, o as undefined);
    if (swap === undefined && String(p).endsWith('/race/d/secret')) {
      swap = (async () => {
        await b.rename('/race/d', '/race/d-moved');
        await b.symlink(`${'../'.repeat(root.split('/').length + 2)}${base.slice(1)}`, '/race/d');
      })();
      await new Promise((res) => setTimeout(res, 200));
    }
    return r;
  }) as typeof fsp.lstat;
  syncBuiltinESMExports();
  try {
    const got = await a.readFile('/race/d/secret').then(
      (b) => b.toString(),
      (e: Error) => e.message,
    );
    assert.ok(swap, 'the other session started its swap while the path was being checked');
    await swap;
    assert.notEqual(got, 'outside');
  } finally {
    fsp.lstat = orig;
    syncBuiltinESMExports();
  }
  a.end();
  b.end();
});
