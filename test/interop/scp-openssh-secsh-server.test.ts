/**
 * OpenSSH's scp — SFTP (its default) and the legacy protocol (-O) — against a secsh Server whose
 * files are an SFTP backend rooted in a temporary folder: the SFTP subsystem and scpExecHandler
 * answer from the same backend. Files of 0 B, 1 B, 64 KiB and 1 MiB byte-identical both ways, -r
 * trees, -p modes and times, errors per file, paths confined to the backend's root.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generatePrivateKey } from '../../src/keys/index.js';
import { scpExecHandler } from '../../src/scp/index.js';
import { Server } from '../../src/server/server.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { sftpSubsystemHandler } from '../../src/sftp/server.js';
import { startCliServer } from '../e2e/server-helpers.js';
import { OPENSSH_NO_HOST_CHECK, runSsh } from '../helpers/openssh.js';
import { sftpUserKey } from '../helpers/openssh-sftp.js';
import { requirePeer } from '../helpers/peers.js';

const SCP = '/usr/bin/scp';
const SIZES = [0, 1, 64 * 1024, 1024 * 1024];
let dir = '';
let root = '';
let local = '';
let keyPath = '';
let server: Server | undefined;
let port = 0;
const execs: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-scp-server-'));
  root = join(dir, 'root');
  local = join(dir, 'local');
  await mkdir(root);
  await mkdir(join(local, 'tree/sub'), { recursive: true });
  for (const n of SIZES) await writeFile(join(local, `f${n}`), randomBytes(n), { mode: 0o640 });
  await writeFile(join(local, 'tree/a'), 'tree a\n');
  await writeFile(join(local, 'tree/sub/b'), randomBytes(70_001), { mode: 0o600 });
  await utimes(join(local, 'f1'), 1_000_000_000, 1_100_000_000);
  let userKey: import('../../src/keys/index.js').PublicKey;
  ({ keyPath, userKey } = await sftpUserKey(dir));
  server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(userKey),
    authMethods: ['publickey'],
  });
  const backend = new LocalFsBackend(root);
  server.on('session', (s) => s.on('exec', (req: { command: string }) => execs.push(req.command)));
  server.on('session', sftpSubsystemHandler(backend));
  server.on('session', scpExecHandler(backend));
  ({ port } = await server.listen({ port: 0, host: '127.0.0.1' }));
});

after(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** OpenSSH's options for the test's key, without host checks or log noise (scp and ssh take the same). */
function sshOptions(): string[] {
  return [...OPENSSH_NO_HOST_CHECK, '-o', 'IdentitiesOnly=yes', '-o', 'LogLevel=ERROR', '-i', keyPath];
}

/** OpenSSH's scp with `args` against the server on `to` (default: the shared server). */
function scp(args: string[], to = port) {
  return runSsh([...sshOptions(), '-P', String(to), ...args], { bin: SCP, timeoutMs: 60_000 });
}

for (const mode of ['sftp', 'legacy'] as const) {
  const flag = mode === 'legacy' ? ['-O'] : [];
  const up = `up-${mode}`;

  test(`OpenSSH scp ${flag.join('') || '(SFTP)'} → secsh Server: 0 B to 1 MiB up and down byte-identical, -p keeps modes and times`, async (t) => {
    if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
    await mkdir(join(root, up));
    const files = SIZES.map((n) => join(local, `f${n}`));
    const r = await scp([...flag, '-p', ...files, `tester@127.0.0.1:/${up}/`]);
    assert.equal(r.code, 0, r.stderr);
    const st = await stat(join(root, up, 'f1'));
    assert.equal(st.mode & 0o777, 0o640);
    assert.equal(Math.floor(st.mtimeMs / 1000), 1_100_000_000);
    for (const n of SIZES)
      assert.deepEqual(await readFile(join(root, up, `f${n}`)), await readFile(join(local, `f${n}`)));
    const down = join(local, `down-${mode}`);
    await mkdir(down);
    const d = await scp([...flag, '-p', ...SIZES.map((n) => `tester@127.0.0.1:/${up}/f${n}`), down]);
    assert.equal(d.code, 0, d.stderr);
    for (const n of SIZES) assert.deepEqual(await readFile(join(down, `f${n}`)), await readFile(join(local, `f${n}`)));
    const dst = await stat(join(down, 'f1'));
    assert.equal(dst.mode & 0o777, 0o640);
    assert.equal(Math.floor(dst.mtimeMs / 1000), 1_100_000_000);
    if (mode === 'legacy') {
      assert.ok(
        execs.some((c) => /^scp( -[a-z])* -t /.test(c)),
        execs.join('\n'),
      );
      assert.ok(
        execs.some((c) => /^scp( -[a-z])* -f /.test(c)),
        execs.join('\n'),
      );
    }
  });

  test(`OpenSSH scp ${flag.join('') || '(SFTP)'} -r → secsh Server: a tree up and back down`, async (t) => {
    if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
    const r = await scp([...flag, '-r', join(local, 'tree'), `tester@127.0.0.1:/tree-${mode}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(join(root, `tree-${mode}`))).sort(), ['a', 'sub']);
    assert.deepEqual(await readFile(join(root, `tree-${mode}/sub/b`)), await readFile(join(local, 'tree/sub/b')));
    const back = join(local, `tree-back-${mode}`);
    const d = await scp([...flag, '-r', `tester@127.0.0.1:/tree-${mode}`, back]);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(await readFile(join(back, 'sub/b')), await readFile(join(local, 'tree/sub/b')));
    assert.equal(await readFile(join(back, 'a'), 'utf8'), 'tree a\n');
  });

  test(`OpenSSH scp ${flag.join('') || '(SFTP)'} → secsh Server: a missing file fails (exit 1) and the others are copied; paths stay in the root`, async (t) => {
    if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
    const out = join(local, `miss-${mode}`);
    await mkdir(out);
    await writeFile(join(root, `present-${mode}`), 'here\n');
    const r = await scp([...flag, 'tester@127.0.0.1:/absent', `tester@127.0.0.1:/present-${mode}`, out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /scp: \/absent: No such file or directory/);
    assert.equal(await readFile(join(out, `present-${mode}`), 'utf8'), 'here\n');
    const esc = await scp([...flag, join(local, 'f1'), `tester@127.0.0.1:/../../escaped-${mode}`]);
    assert.equal(esc.code, 0, esc.stderr);
    assert.ok(existsSync(join(root, `escaped-${mode}`)));
    assert.ok(!existsSync(join(dir, `escaped-${mode}`)));
  });
}

test('OpenSSH scp (SFTP and -O) → secsh server --sftp-root: both see the same confined files, read-only refuses uploads', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const cliRoot = join(dir, 'cli-root');
  await mkdir(cliRoot);
  await writeFile(join(dir, 'cli_keys'), await readFile(`${keyPath}.pub`));
  const start = (extra: string[]) =>
    startCliServer([
      '--import',
      'tsx',
      'src/cli/main.ts',
      'server',
      '--port',
      '0',
      '--authorized-keys',
      join(dir, 'cli_keys'),
      '--host-key',
      join(dir, 'cli_host_key'),
      '--sftp-root',
      cliRoot,
      ...extra,
    ]);
  const stop = async (p: Awaited<ReturnType<typeof start>>) => {
    process.kill(p.child.pid as number, 'SIGINT');
    await p.exited;
  };
  const cli = await start([]);
  try {
    const run = (args: string[]) => scp(args, cli.port);
    const legacy = await run(['-O', join(local, `f${64 * 1024}`), 'tester@127.0.0.1:/legacy']);
    assert.equal(legacy.code, 0, legacy.stderr);
    const viaSftp = await run([join(local, `f${64 * 1024}`), 'tester@127.0.0.1:/sftp']);
    assert.equal(viaSftp.code, 0, viaSftp.stderr);
    assert.deepEqual(await readFile(join(cliRoot, 'legacy')), await readFile(join(local, `f${64 * 1024}`)));
    assert.deepEqual(await readFile(join(cliRoot, 'sftp')), await readFile(join(local, `f${64 * 1024}`)));
    const back = join(local, 'cli-back');
    const d = await run(['-O', 'tester@127.0.0.1:/sftp', back]);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(await readFile(back), await readFile(join(local, `f${64 * 1024}`)));
  } finally {
    await stop(cli);
  }
  const ro = await start(['--sftp-read-only']);
  try {
    const r = await scp(['-O', join(local, 'f1'), 'tester@127.0.0.1:/ro'], ro.port);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /scp: \/ro: Read-only file system/);
    assert.ok(!existsSync(join(cliRoot, 'ro')));
    // A target the handler cannot parse (a '$' here) is refused, not run by the shell outside the root.
    const shelly = await scp(
      ['-O', join(local, 'f1'), `tester@127.0.0.1:${join(dir, 'shell-escaped')}$nothing`],
      ro.port,
    );
    assert.equal(shelly.code, 1);
    assert.match(shelly.stderr, /scp: command line not supported/);
    assert.ok(!existsSync(join(dir, 'shell-escaped')));
  } finally {
    await stop(ro);
  }
});

test('OpenSSH scp -O → secsh Server with localProcessHandler added before scpExecHandler: scp goes to the backend, other commands still run', async (t) => {
  if (!requirePeer(t, 'ssh')) return;
  const catchAllRoot = join(dir, 'catch-all-root');
  await mkdir(catchAllRoot);
  const { localProcessHandler } = await import('../../src/server/local.js');
  const s = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: (ctx) => ctx.method === 'publickey',
    authMethods: ['publickey'],
  });
  const backend = new LocalFsBackend(catchAllRoot);
  const seen: string[] = [];
  // A listener that only watches, then the catch-all before the scp handler.
  s.on('session', (session) => session.on('exec', (req: { command: string }) => seen.push(req.command)));
  s.on('session', localProcessHandler({ usePty: false, cwd: dir }));
  s.on('session', scpExecHandler(backend));
  const { port: p } = await s.listen({ port: 0, host: '127.0.0.1' });
  try {
    const up = await scp(['-O', join(local, 'f1'), '127.0.0.1:landed'], p);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(await readFile(join(catchAllRoot, 'landed')), await readFile(join(local, 'f1')));
    assert.ok(!existsSync(join(dir, 'landed')), 'the upload did not run the system scp in the cwd');
    const echo = await runSsh([...sshOptions(), '-p', String(p), '127.0.0.1', 'echo', 'still-a-shell'], {
      timeoutMs: 60_000,
    });
    assert.equal(echo.code, 0, echo.stderr);
    assert.equal(echo.stdout, 'still-a-shell\n');
    assert.ok(seen.some((c) => /^scp( -[a-z])* -t /.test(c)));
  } finally {
    await s.close();
  }
});
