/**
 * SFTP against two more independent implementations than OpenSSH: the secsh client against
 * asyncssh's SFTP server, and paramiko's and asyncssh's SFTP clients against the secsh server.
 * Every transfer is checked byte for byte (sha256); the Python side lives in fixtures/sftp_peers.py.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Client } from '../../src/client/client.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';
import { SftpError } from '../../src/sftp/errors.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { sftpSubsystemHandler } from '../../src/sftp/server.js';
import { installTripwire } from '../helpers/interop.js';
import { PYTHON, requirePeer } from '../helpers/peers.js';
import {
  connectPeer,
  PASSWORD,
  rejection,
  shaFile,
  startPySftpServer,
  tempDir,
  USER,
  writeSources,
} from '../helpers/sftp-peers.js';
import { stopChild } from '../helpers/sshd.js';

installTripwire();

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'sftp_peers.py');
const MiB = 1024 * 1024;
const SIZES = [0, 1, 32767, 32768, 32769, 262143, 262144, 262145, 10 * MiB];

/** asyncssh's SSH server with its SFTP server confined (chroot option) to `root`. */
function startAsyncsshSftp(root: string) {
  return startPySftpServer('sftp_peers.py', ['asyncssh-server', root], 'asyncssh server');
}

type Op = [string, ...(string | number)[]];
/** `errno`: paramiko's (ENOENT = 2) or asyncssh's SFTP status (SSH_FX_NO_SUCH_FILE = 2). */
type OpResult = { ok: true; value: unknown } | { ok: false; error: string; errno: number | null };
interface Attrs {
  size: number;
  mode: number;
  isdir: boolean;
  islink: boolean;
}

/** Runs `ops` with paramiko's or asyncssh's SFTP client against 127.0.0.1:`port`, pinning the host key. */
async function runPyClient(
  which: 'paramiko-client' | 'asyncssh-client',
  port: number,
  hostKeyB64: string,
  ops: Op[],
): Promise<OpResult[]> {
  const child = spawn(PYTHON, ['-W', 'ignore', FIXTURE, which, String(port), hostKeyB64], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
  });
  child.stderr.on('data', (d: string) => {
    err += d;
  });
  child.stdin.end(JSON.stringify(ops));
  const timer = setTimeout(() => void stopChild(child, 1000), 40_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  assert.equal(code, 0, `${which} exited ${code}: ${err}`);
  const results = JSON.parse(out) as OpResult[];
  assert.equal(results.length, ops.length);
  return results;
}

/** The value of a result that must have succeeded. */
function ok<T = unknown>(r: OpResult | undefined, what: string): T {
  assert.ok(r, what);
  assert.ok(r.ok, `${what}: ${r.ok ? '' : r.error}`);
  return r.value as T;
}

/** A secsh Server (password alice/secret) serving SFTP from `root`. */
async function secshSftpServer(root: string, softwareVersion?: string) {
  const hostKey = generatePrivateKey('ed25519');
  const server = new Server({
    ...(softwareVersion ? { softwareVersion } : {}),
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.username === USER && ctx.method === 'password' && ctx.password === PASSWORD,
    authMethods: ['password'],
  });
  server.on('session', sftpSubsystemHandler(new LocalFsBackend(root)));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, port, hostKeyB64: hostKey.publicKey.blob.toString('base64') };
}

test('secsh client against asyncssh SFTP server: ops, boundary-size transfers, errors', async (t) => {
  if (!requirePeer(t, 'asyncssh')) return;
  const { dir, root } = await tempDir('secsh-sftp-asyncssh-');
  const peer = await startAsyncsshSftp(root);
  let client: Client | undefined;
  try {
    client = await connectPeer(peer);
    const sftp = await client.sftp();

    // What asyncssh offers: v3, the OpenSSH extensions it implements, and no limits@openssh.com,
    // so the client stays at 32 KiB requests.
    assert.equal(sftp.version, 3);
    for (const e of ['posix-rename@openssh.com', 'hardlink@openssh.com', 'fsync@openssh.com', 'statvfs@openssh.com']) {
      assert.ok(sftp.has(e), `asyncssh offers ${e}`);
    }
    assert.equal(sftp.has('limits@openssh.com'), false);
    assert.equal(sftp.limits, undefined);
    assert.equal(sftp.readChunk, 32768);
    assert.equal(sftp.writeChunk, 32768);

    // The chroot option: the root is '/', and '..' stays in it.
    assert.equal(await sftp.realpath('.'), '/');
    assert.equal(await sftp.realpath('/../..'), '/');

    const shas = writeSources(dir, SIZES);
    for (const n of SIZES) {
      assert.equal(await sftp.upload(join(dir, `src${n}`), `/f${n}`), n, `upload ${n} returns its size`);
      assert.equal(await shaFile(join(root, `f${n}`)), shas.get(n), `upload ${n}`);
      const dst = join(dir, `dst${n}`);
      await sftp.download(`/f${n}`, dst);
      assert.equal(await shaFile(dst), shas.get(n), `download ${n}`);
      assert.equal((await sftp.stat(`/f${n}`)).size, n);
    }

    await sftp.mkdir('/d');
    await sftp.mkdir('/d/e/f', { recursive: true });
    assert.ok(statSync(join(root, 'd', 'e', 'f')).isDirectory());
    assert.ok((await sftp.stat('/d/e')).isDirectory());
    assert.deepEqual(
      (await sftp.readdir('/d')).map((e) => e.filename),
      ['e'],
      'readdir leaves out . and ..',
    );
    const top = await sftp.readdir('/');
    assert.deepEqual(top.map((e) => e.filename).sort(), ['d', ...SIZES.map((n) => `f${n}`)].sort());
    assert.equal(top.find((e) => e.filename === 'f32769')?.attrs.size, 32769);
    // asyncssh sends at most 128 names per SSH_FXP_NAME: 300 entries take several READDIRs.
    await sftp.mkdir('/many');
    const many = Array.from({ length: 300 }, (_, i) => `n${String(i).padStart(3, '0')}`);
    for (const name of many) writeFileSync(join(root, 'many', name), name);
    assert.deepEqual((await sftp.readdir('/many')).map((e) => e.filename).sort(), many);
    for (const name of many) await sftp.unlink(`/many/${name}`);
    await sftp.rmdir('/many');

    // hardlink@openssh.com and statvfs@openssh.com
    await sftp.link('/f32767', '/d/hard');
    assert.equal(statSync(join(root, 'd', 'hard')).ino, statSync(join(root, 'f32767')).ino);
    await sftp.unlink('/d/hard');
    const vfs = await sftp.statvfs('/');
    assert.ok(vfs.bsize > 0n && vfs.blocks > 0n && vfs.namemax > 0n, 'statvfs reports the filesystem');

    // rename: to a new name, then over an existing file (posix-rename@openssh.com replaces it).
    await sftp.rename('/f1', '/d/one');
    assert.equal(readFileSync(join(root, 'd', 'one')).length, 1);
    await sftp.rename('/f0', '/d/one');
    assert.equal(readFileSync(join(root, 'd', 'one')).length, 0, 'rename replaced the existing file');
    assert.equal(await sftp.exists('/f0'), false);

    // symlink: asyncssh reads SSH_FXP_SYMLINK in the draft's order (link first) from any client
    // whose version line names neither OpenSSH nor paramiko; Client.sftp() sends that order to an
    // AsyncSSH server. asyncssh's chroot reports an absolute target inside the root as a path from
    // '/', and fails a relative target with NO_SUCH_FILE, so the target here is absolute.
    await sftp.symlink('/d/one', '/d/link');
    assert.equal(readlinkSync(join(root, 'd', 'link')), join(root, 'd', 'one'), 'the link is /d/link, to /d/one');
    assert.equal(existsSync(join(root, 'd', 'one')) && lstatSync(join(root, 'd', 'one')).isFile(), true);
    assert.equal(await sftp.readlink('/d/link'), '/d/one');
    // and a link made on disk reads back the same way
    symlinkSync(join(root, 'd', 'one'), join(root, 'd', 'disk-link'));
    assert.equal(await sftp.readlink('/d/disk-link'), '/d/one');
    await sftp.unlink('/d/disk-link');
    assert.ok((await sftp.lstat('/d/link')).isSymbolicLink());
    const through = await sftp.stat('/d/link');
    assert.ok(through.isFile() && through.size === 0, 'stat follows the link to the empty file');
    assert.equal(await sftp.realpath('/d/e/../one'), '/d/one');

    await sftp.unlink('/d/link');
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
    await assert.rejects(sftp.unlink('/missing'), (e: unknown) => e instanceof SftpError && e.nodeCode === 'ENOENT');
    await sftp.mkdir('/full');
    writeFileSync(join(root, 'full', 'x'), 'x');
    await assert.rejects(sftp.rmdir('/full'), SftpError);
    sftp.end();
  } finally {
    client?.close();
    await peer.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('paramiko SFTP client against the secsh server: put/get of boundary sizes, ops', async (t) => {
  if (!requirePeer(t, 'paramiko')) return;
  const { dir, root } = await tempDir('secsh-sftp-paramiko-');
  const { server, port, hostKeyB64 } = await secshSftpServer(root);
  try {
    const shas = writeSources(dir, SIZES);
    const ops: Op[] = [];
    for (const n of SIZES) ops.push(['put', join(dir, `src${n}`), `/f${n}`], ['get', `/f${n}`, join(dir, `dst${n}`)]);
    const base = ops.length;
    ops.push(
      ['mkdir', '/d', 0o750], // base
      ['stat', '/d'],
      ['rename', '/f1', '/d/one'],
      ['rename', '/f0', '/d/one'], // plain SSH_FXP_RENAME onto an existing file: refused
      ['posix_rename', '/f0', '/d/one'], // posix-rename@openssh.com replaces it
      ['stat', '/d/one'],
      ['chmod', '/d/one', 0o640],
      ['stat', '/d/one'],
      ['symlink', 'one', '/d/link'], // base + 8
      ['readlink', '/d/link'],
      ['lstat', '/d/link'],
      ['listdir', '/d'],
      ['remove', '/d/link'],
      ['remove', '/d/one'],
      ['rmdir', '/d'],
      ['listdir', '/'],
      ['stat', '/missing'], // base + 16
      ['realpath', '.'],
    );
    const r = await runPyClient('paramiko-client', port, hostKeyB64, ops);

    for (const [i, n] of SIZES.entries()) {
      assert.equal(ok(r[2 * i], `put ${n}`), n, `paramiko put ${n} reports the size`);
      ok(r[2 * i + 1], `get ${n}`);
      assert.equal(await shaFile(join(dir, `dst${n}`)), shas.get(n), `paramiko get ${n}`);
    }
    for (const n of SIZES.filter((n) => n > 1)) {
      assert.equal(await shaFile(join(root, `f${n}`)), shas.get(n), `paramiko put ${n}`);
    }
    ok(r[base], 'mkdir');
    const d = ok<Attrs>(r[base + 1], 'stat dir');
    assert.ok(d.isdir);
    assert.equal(d.mode & 0o777, 0o750 & ~process.umask());
    ok(r[base + 2], 'rename');
    const refused = r[base + 3];
    assert.ok(refused && !refused.ok, 'SSH_FXP_RENAME onto an existing file fails');
    ok(r[base + 4], 'posix_rename');
    assert.equal(ok<Attrs>(r[base + 5], 'stat renamed').size, 0, 'posix_rename replaced /d/one with the empty file');
    ok(r[base + 6], 'chmod');
    assert.equal(ok<Attrs>(r[base + 7], 'stat after chmod').mode & 0o7777, 0o640);
    ok(r[base + 8], 'symlink');
    assert.equal(ok(r[base + 9], 'readlink'), 'one');
    assert.ok(ok<Attrs>(r[base + 10], 'lstat link').islink);
    assert.deepEqual(ok(r[base + 11], 'listdir /d'), ['link', 'one']);
    ok(r[base + 12], 'remove link');
    ok(r[base + 13], 'remove file');
    ok(r[base + 14], 'rmdir');
    const left = SIZES.filter((n) => n > 1)
      .map((n) => `f${n}`)
      .sort();
    assert.deepEqual(ok(r[base + 15], 'listdir /'), left);
    const missing = r[base + 16];
    assert.ok(missing && !missing.ok && missing.errno === 2, `stat /missing → ENOENT: ${JSON.stringify(missing)}`);
    assert.equal(ok(r[base + 17], 'realpath'), '/');
    assert.deepEqual(readdirSync(root).sort(), left);
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('asyncssh SFTP client against the secsh server: put/get 10 MiB and 262145 bytes, listdir, remove', async (t) => {
  if (!requirePeer(t, 'asyncssh')) return;
  const { dir, root } = await tempDir('secsh-sftp-asyncssh-client-');
  const { server, port, hostKeyB64 } = await secshSftpServer(root);
  try {
    const sizes = [262145, 10 * MiB];
    const shas = writeSources(dir, sizes);
    const ops: Op[] = [];
    for (const n of sizes) ops.push(['put', join(dir, `src${n}`), `/f${n}`], ['get', `/f${n}`, join(dir, `dst${n}`)]);
    ops.push(
      ['put', join(dir, 'src262145'), '/copy'],
      ['listdir', '/'],
      ['stat', '/copy'],
      ['remove', '/copy'],
      ['listdir', '/'],
      ['stat', '/copy'],
      // asyncssh sends SYMLINK in the draft's order (link first) to a server that is not OpenSSH;
      // sftpSubsystemHandler reads that order from AsyncSSH clients.
      ['symlink', 'f262145', '/lnk'],
      ['readlink', '/lnk'],
      ['remove', '/lnk'],
    );
    const r = await runPyClient('asyncssh-client', port, hostKeyB64, ops);
    for (const [i, n] of sizes.entries()) {
      ok(r[2 * i], `put ${n}`);
      ok(r[2 * i + 1], `get ${n}`);
      assert.equal(await shaFile(join(root, `f${n}`)), shas.get(n), `asyncssh put ${n}`);
      assert.equal(await shaFile(join(dir, `dst${n}`)), shas.get(n), `asyncssh get ${n}`);
    }
    ok(r[4], 'put copy');
    assert.deepEqual(ok(r[5], 'listdir'), ['copy', 'f10485760', 'f262145']);
    assert.equal(ok<Attrs>(r[6], 'stat').size, 262145);
    ok(r[7], 'remove');
    assert.deepEqual(ok(r[8], 'listdir after remove'), ['f10485760', 'f262145']);
    const gone = r[9];
    assert.ok(
      gone && !gone.ok && gone.errno === 2,
      `stat of the removed file → SSH_FX_NO_SUCH_FILE: ${JSON.stringify(gone)}`,
    );
    ok(r[10], 'symlink');
    assert.equal(ok(r[11], 'readlink'), 'f262145');
    ok(r[12], 'remove link');
    assert.deepEqual(readdirSync(root).sort(), ['f10485760', 'f262145']);
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('asyncssh SFTP client against a secsh server whose version line names OpenSSH: SYMLINK in OpenSSH order', async (t) => {
  if (!requirePeer(t, 'asyncssh')) return;
  const { dir, root } = await tempDir('secsh-sftp-asyncssh-ver-');
  // asyncssh keeps OpenSSH's order (target first) with any server whose version line contains 'OpenSSH'.
  const { server, port, hostKeyB64 } = await secshSftpServer(root, 'OpenSSH_9.6p1');
  try {
    writeFileSync(join(root, 'f'), 'x');
    const r = await runPyClient('asyncssh-client', port, hostKeyB64, [
      ['symlink', 'f', '/lnk'],
      ['readlink', '/lnk'],
    ]);
    ok(r[0], 'symlink');
    assert.equal(ok(r[1], 'readlink'), 'f');
    assert.equal(readlinkSync(join(root, 'lnk')), 'f');
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
