/**
 * The README's server, handlers in the README's order (localProcessHandler, then sftpSubsystemHandler),
 * driven by OpenSSH: `sftp` gets its subsystem and `ssh` its command (issue 11, item 1: `sftp` said
 * "subsystem request failed").
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generatePrivateKey, type PublicKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { sftpSubsystemHandler } from '../../src/sftp/server.js';
import { runSsh, sshArgs } from '../helpers/openssh.js';
import { hasSftp, requireSftp, sftpBatch, sftpUserKey } from '../helpers/openssh-sftp.js';
import { hasPeer } from '../helpers/peers.js';

let dir = '';
let root = '';
let keyPath = '';
let server: Server | undefined;
let port = 0;

before(async () => {
  if (!hasPeer('ssh-keygen') || !hasSftp()) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-readme-server-'));
  root = join(dir, 'files');
  await mkdir(root);
  let userKey: PublicKey;
  ({ keyPath, userKey } = await sftpUserKey(dir));
  const allowed = [userKey];
  server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: async ({ method, key }) =>
      method === 'publickey' && key !== undefined && allowed.some((k) => k.equals(key)),
  });
  server.on('session', localProcessHandler());
  server.on('session', sftpSubsystemHandler(new LocalFsBackend(root)));
  ({ port } = await server.listen({ port: 0, host: '127.0.0.1' }));
});

after(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("OpenSSH's sftp against the README-ordered server: the subsystem is served (put, ls, get)", async (t) => {
  if (!requireSftp(t)) return;
  const src = join(dir, 'up.txt');
  await writeFile(src, 'uploaded\n');
  const r = await sftpBatch(port, keyPath, [`put ${src} up.txt`, 'ls -1', `get up.txt ${join(dir, 'back.txt')}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /subsystem request failed/);
  assert.match(r.stdout, /up\.txt/);
  assert.equal(await readFile(join(root, 'up.txt'), 'utf8'), 'uploaded\n');
  assert.equal(await readFile(join(dir, 'back.txt'), 'utf8'), 'uploaded\n');
});

test("OpenSSH's ssh against the README-ordered server: exec still runs as a local process", async (t) => {
  if (!requireSftp(t)) return;
  const r = await runSsh(sshArgs({ port, keyPath, logLevel: 'ERROR' }, [], 'echo from-ssh'), { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'from-ssh\n');
});
