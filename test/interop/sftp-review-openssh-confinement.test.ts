/**
 * OpenSSH's `sftp` (batch mode) trying to leave a confined, and a read-only, secsh sftp root:
 * '..', absolute paths, symlinks made through sftp itself, and every modifying command.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { PublicKey } from '../../src/keys/index.js';
import type { Server } from '../../src/server/server.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import type { RunSshResult } from '../helpers/openssh.js';
import { hasSftp, listenSftpForKey, requireSftp, sftpBatch, sftpUserKey } from '../helpers/openssh-sftp.js';
import { hasPeer } from '../helpers/peers.js';

let dir = '';
let root = '';
let roRoot = '';
let local = '';
let keyPath = '';
const servers: Server[] = [];
let port = 0;
let roPort = 0;

before(async () => {
  if (!hasPeer('ssh-keygen') || !hasSftp()) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-sftp-review-confine-'));
  root = join(dir, 'root');
  local = join(dir, 'local');
  await mkdir(join(root, 'sub'), { recursive: true });
  roRoot = join(dir, 'ro');
  await mkdir(join(roRoot, 'sub'), { recursive: true });
  writeFileSync(join(roRoot, 'in.txt'), 'inside\n');
  await mkdir(local);
  writeFileSync(join(dir, 'secret'), 'host secret\n');
  writeFileSync(join(root, 'in.txt'), 'inside\n');
  let userKey: PublicKey;
  ({ keyPath, userKey } = await sftpUserKey(dir));
  for (const readOnly of [false, true]) {
    const { server, port: p } = await listenSftpForKey(
      new LocalFsBackend(readOnly ? roRoot : root, { readOnly }),
      userKey,
    );
    if (readOnly) roPort = p;
    else port = p;
    servers.push(server);
  }
});

after(async () => {
  for (const s of servers) await s.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs `sftp -b -` with `commands` (each prefixed '-' so a failure does not stop the batch). */
function sftp(p: number, commands: string[]): Promise<RunSshResult<string>> {
  return sftpBatch(
    p,
    keyPath,
    commands.map((c) => `-${c}`),
  );
}

test('OpenSSH sftp cannot leave the root: .., absolute paths, symlinks it makes', async (t) => {
  if (!requireSftp(t)) return;
  const up = '../'.repeat(root.split('/').length + 1);
  writeFileSync(join(local, 'p.txt'), 'planted\n');
  const r = await sftp(port, [
    'cd ../../..',
    'pwd',
    `get ${up}${dir.slice(1)}/secret ${local}/s1`,
    `get ${dir}/secret ${local}/s2`,
    `ln -s ${up}${dir.slice(1)} sub/out`,
    `ln -s ${dir} sub/abs`,
    `get sub/out/secret ${local}/s3`,
    `get sub/abs/secret ${local}/s4`,
    'ls -l sub/out/',
    `put ${local}/p.txt sub/out/planted`,
    'mkdir sub/out/planted-dir',
    'rename in.txt sub/out/moved',
    'ln sub/out/secret sub/hard',
    'chmod 777 sub/out/secret',
    'rm sub/out/secret',
    `get in.txt ${local}/in-copy.txt`,
  ]);
  const out = `${r.stdout}\n${r.stderr}`;
  assert.match(out, /Remote working directory: \/\n/);
  assert.doesNotMatch(out, /host secret/);
  assert.match(r.stderr, /Permission denied/);
  for (const f of ['s1', 's2', 's3', 's4']) assert.equal(existsSync(join(local, f)), false, f);
  // the refused rename left in.txt where it was
  assert.equal(readFileSync(join(local, 'in-copy.txt'), 'utf8'), 'inside\n');
  assert.equal(readFileSync(join(dir, 'secret'), 'utf8'), 'host secret\n');
  assert.deepEqual((await readdir(dir)).sort(), ['id_ed25519', 'id_ed25519.pub', 'local', 'ro', 'root', 'secret']);
});

test('OpenSSH sftp against a read-only root: every modifying command fails, the tree is unchanged', async (t) => {
  if (!requireSftp(t)) return;
  writeFileSync(join(local, 'up.txt'), 'upload\n');
  const before = (await readdir(roRoot, { recursive: true })).sort();
  const r = await sftp(roPort, [
    `put ${local}/up.txt up.txt`,
    `put ${local}/up.txt in.txt`,
    'mkdir d',
    'rmdir sub',
    'rm in.txt',
    'rename in.txt x',
    'ln -s in.txt l',
    'ln in.txt h',
    'chmod 777 in.txt',
    `get in.txt ${local}/in.txt`,
  ]);
  assert.equal(readFileSync(join(local, 'in.txt'), 'utf8'), 'inside\n', r.stderr);
  assert.deepEqual((await readdir(roRoot, { recursive: true })).sort(), before);
  assert.equal(readFileSync(join(roRoot, 'in.txt'), 'utf8'), 'inside\n');
  assert.ok((r.stderr.match(/ermission denied/g) ?? []).length >= 8, r.stderr);
});
