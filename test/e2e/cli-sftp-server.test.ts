/**
 * OpenSSH's `sftp -b` against `secsh server` (the command line, with --sftp-root): files around a
 * request's size byte-identical both ways, and a tree with -r -p keeping modes and times.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runSsh, sftpArgs } from '../helpers/openssh.js';
import { hasSftp, requireSftp, SFTP } from '../helpers/openssh-sftp.js';
import { hasPeer } from '../helpers/peers.js';
import { keygen } from '../helpers/sshd.js';
import { type CliServer, startCliServer } from './server-helpers.js';

let dir = '';
let root = '';
let keyPath = '';
let server: CliServer | undefined;

before(async () => {
  if (!hasPeer('ssh-keygen') || !hasSftp()) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-cli-sftp-server-'));
  root = join(dir, 'root');
  await mkdir(root);
  keyPath = join(dir, 'id_ed25519');
  await keygen(keyPath, ['-t', 'ed25519']);
  server = await startCliServer([
    '--import',
    'tsx',
    'src/cli/main.ts',
    'server',
    '--port',
    '0',
    '--quiet',
    '--authorized-keys',
    `${keyPath}.pub`,
    '--sftp-root',
    root,
  ]);
});

after(async () => {
  if (server) {
    process.kill(server.child.pid as number, 'SIGINT');
    await server.exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

function batch(lines: string[]) {
  return runSsh(sftpArgs({ port: server?.port ?? 0, keyPath, logLevel: 'ERROR' }), {
    bin: SFTP,
    input: `${lines.join('\n')}\n`,
  });
}

test("OpenSSH's sftp -b against secsh server: put and get of 0 B to 1 MiB are byte-identical", async (t) => {
  if (!requireSftp(t) || !server) return;
  const src = join(dir, 'src');
  const back = join(dir, 'back');
  await mkdir(src);
  await mkdir(back);
  const sizes = [0, 1, 32767, 32768, 32769, 1 << 20];
  for (const n of sizes) await writeFile(join(src, `f${n}`), randomBytes(n));
  const r = await batch(['mkdir /sizes', 'cd /sizes', `lcd ${src}`, 'put f*', `lcd ${back}`, 'get *', 'ls -l']);
  assert.equal(r.code, 0, r.stderr);
  for (const n of sizes) {
    const want = await readFile(join(src, `f${n}`));
    assert.deepEqual(await readFile(join(root, 'sizes', `f${n}`)), want, `put f${n}`);
    assert.deepEqual(await readFile(join(back, `f${n}`)), want, `get f${n}`);
  }
  assert.match(r.stdout, /^-rw-r--r-- +\? \S+ +\S+ +1048576 .* f1048576$/m);
});

test("OpenSSH's sftp -b against secsh server: put -r -p and get -r -p keep a tree's modes and times", async (t) => {
  if (!requireSftp(t) || !server) return;
  const tree = join(dir, 'tree');
  await mkdir(join(tree, 'sub'), { recursive: true });
  const old = new Date('2021-03-04T05:06:07Z');
  const files: [string, number][] = [
    ['a', 0o640],
    ['sub/b', 0o600],
  ];
  for (const [p, mode] of files) {
    await writeFile(join(tree, p), randomBytes(40000));
    await chmod(join(tree, p), mode);
    await utimes(join(tree, p), old, old);
  }
  const back = join(dir, 'tree-back');
  const r = await batch([`put -r -p ${tree} /tree`, `get -r -p /tree ${back}`]);
  assert.equal(r.code, 0, r.stderr);
  for (const base of [join(root, 'tree'), back]) {
    for (const [p, mode] of files) {
      const st = await stat(join(base, p));
      assert.equal(st.mode & 0o777, mode, `${base}/${p}`);
      assert.equal(st.mtimeMs, old.getTime(), `${base}/${p}`);
      assert.deepEqual(await readFile(join(base, p)), await readFile(join(tree, p)));
    }
  }
});
