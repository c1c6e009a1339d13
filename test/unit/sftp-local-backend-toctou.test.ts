import assert from 'node:assert/strict';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FX, FXP } from '../../src/sftp/constants.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { sftpPair } from './sftp/pair.js';
import { rejectsWith, sandbox } from './sftp/sandbox.js';

let base: string;
let root: string;
before(async () => {
  // 'secret' holds 'outside' (7 bytes) beside the root; the listed directory holds a same-named 2-byte file.
  ({ base, root } = await sandbox('secsh-sftp-toctou-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

test('an open directory handle cannot be turned into a stat oracle for host files by swapping its path for a link', async () => {
  await mkdir(join(root, 'd'));
  await writeFile(join(root, 'd', 'secret'), 'in');
  await writeFile(join(root, 'd', 'only-inside'), 'x');
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  // One session: open the directory, move it away, put a link leading out in its place, then list.
  const handle = await s.openHandle(FXP.OPENDIR, (w) => w.string('/d'), '/d');
  await s.rename('/d', '/d-moved');
  await s.symlink(`${'../'.repeat(root.split('/').length + 2)}${base.slice(1)}`, '/d');
  const seen = new Map<string, number | undefined>();
  for (;;) {
    const r = await s.request(FXP.READDIR, (w) => w.string(handle));
    if (r.type !== FXP.NAME) break;
    for (const n of r.names) seen.set(n.filename, n.attrs.size);
  }
  await s.closeHandle(handle);
  assert.ok(seen.has('secret') && seen.has('only-inside'), [...seen.keys()].join(','));
  // The size shown for 'secret' must never be that of the host file outside the root.
  assert.notEqual(seen.get('secret'), 'outside'.length);
  // Where the directory is, its entries keep their attributes.
  assert.equal((await s.readdir('/d-moved')).find((e) => e.filename === 'secret')?.attrs.size, 2);
  s.end();
});

test('readlink judges a relative target from where the link really is, not from the path the client used', async () => {
  await mkdir(join(root, 'top'));
  await mkdir(join(root, 'deep1', 'deep2'), { recursive: true });
  // A link the host put inside the root that leads out of it (root/top/../../secret).
  await symlink('../../secret', join(root, 'top', 'out'));
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  await rejectsWith(s.readlink('/top/out'), FX.PERMISSION_DENIED);
  // The same link reached through a directory link made by the client, two levels deeper.
  await s.symlink('../../top', '/deep1/deep2/via');
  assert.equal((await s.lstat('/deep1/deep2/via/out')).isSymbolicLink(), true);
  await rejectsWith(s.readlink('/deep1/deep2/via/out'), FX.PERMISSION_DENIED);
  // A target that stays inside is still shown as stored.
  await symlink('../deep1', join(root, 'top', 'in'));
  assert.equal(await s.readlink('/deep1/deep2/via/in'), '../deep1');
  s.end();
});

test("an absolute link target with a '.' component resolves as the kernel would", async () => {
  await mkdir(join(root, 'dot', 'a'), { recursive: true });
  await writeFile(join(root, 'dot', 'b'), 'B');
  await writeFile(join(root, 'dot', 'a', 'b'), 'AB');
  await symlink(`${root}/dot/a/./../b`, join(root, 'dot', 'l'));
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  assert.equal((await s.readFile('/dot/l')).toString(), 'B');
  assert.equal(await s.realpath('/dot/l'), '/dot/b');
  s.end();
});
