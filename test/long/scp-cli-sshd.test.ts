/**
 * `secsh scp` (SFTP, its default, and the legacy protocol with -O) against OpenSSH's sshd: files of
 * 0 B, 1 B, 64 KiB and 1 MiB and a -r tree up and down byte-identical, -p modes and times, a missing
 * file reported in scp's words while the others are copied (exit 1), a copy between two remote
 * paths through this host, and a refused connection. (Each case is one secsh process: few of them.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { requirePeer } from '../helpers/peers.js';
import { freePort, type Sshd, startSshd } from '../helpers/sshd.js';

const SIZES = [0, 1, 64 * 1024, 1024 * 1024];
let sshd: Sshd | undefined;
let dir = '';
let local = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-scp-cli-'));
  local = join(dir, 'local');
  await mkdir(join(local, 'tree/sub'), { recursive: true });
  for (const n of SIZES) await writeFile(join(local, `f${n}`), randomBytes(n), { mode: 0o640 });
  await writeFile(join(local, 'tree/a'), 'tree a\n', { mode: 0o604 });
  await writeFile(join(local, 'tree/sub/b'), randomBytes(70_001));
  await utimes(join(local, 'f1'), 1_000_000_000, 1_100_000_000);
  await utimes(join(local, 'tree/a'), 1_200_000_000, 1_300_000_000);
});

after(async () => {
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function server(): Promise<Sshd> {
  sshd ??= await startSshd({ hostKeyTypes: ['ed25519'] });
  return sshd;
}

function secshScp(
  s: Sshd,
  args: string[],
  port = s.port,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const argv = [
    '--import',
    'tsx',
    'src/cli/main.ts',
    'scp',
    '-F',
    'none',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-B',
    '-i',
    s.userKeys.ed25519.privatePath,
    '-P',
    String(port),
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    p.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`secsh scp did not exit: ${stderr}`));
    }, 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function same(a: string, b: string): Promise<void> {
  assert.deepEqual(await readFile(b), await readFile(a), `${b} differs from ${a}`);
}

for (const mode of ['sftp', 'legacy'] as const) {
  const flag = mode === 'legacy' ? ['-O'] : [];
  const label = mode === 'legacy' ? 'secsh scp -O' : 'secsh scp';

  test(`${label} → sshd: 0 B to 1 MiB and a -r tree up and back down, -p modes and times; a missing file is reported as scp reports it, the others copied, exit 1`, async (t) => {
    if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
    const s = await server();
    const remote = join(dir, `remote-${mode}`);
    await mkdir(remote);
    const files = SIZES.map((n) => join(local, `f${n}`));
    const up = await secshScp(s, [...flag, '-r', '-p', ...files, join(local, 'tree'), `127.0.0.1:${remote}/`]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout, '', 'no progress meter when stdout is not a terminal');
    for (const n of SIZES) await same(join(local, `f${n}`), join(remote, `f${n}`));
    await same(join(local, 'tree/sub/b'), join(remote, 'tree/sub/b'));
    const st = await stat(join(remote, 'tree/a'));
    assert.equal(st.mode & 0o777, 0o604);
    assert.equal(Math.floor(st.mtimeMs / 1000), 1_300_000_000);

    const back = join(dir, `back-${mode}`);
    await mkdir(back);
    const down = await secshScp(s, [
      ...flag,
      '-r',
      '-p',
      `127.0.0.1:${dir}/absent`,
      ...SIZES.map((n) => `127.0.0.1:${remote}/f${n}`),
      `127.0.0.1:${remote}/tree`,
      back,
    ]);
    assert.equal(down.code, 1);
    assert.equal(down.stderr, `scp: ${dir}/absent: No such file or directory\n`);
    for (const n of SIZES) await same(join(local, `f${n}`), join(back, `f${n}`));
    await same(join(local, 'tree/sub/b'), join(back, 'tree/sub/b'));
    const bst = await stat(join(back, 'f1'));
    assert.equal(bst.mode & 0o777, 0o640);
    assert.equal(Math.floor(bst.mtimeMs / 1000), 1_100_000_000);
    assert.deepEqual((await readdir(join(back, 'tree'))).sort(), ['a', 'sub']);
  });

  test(`${label} → sshd: remote to remote goes through this host`, async (t) => {
    if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
    const s = await server();
    const r = await secshScp(s, [...flag, `127.0.0.1:${local}/f${1024 * 1024}`, `127.0.0.1:${dir}/across-${mode}`]);
    assert.equal(r.code, 0, r.stderr);
    await same(join(local, `f${1024 * 1024}`), join(dir, `across-${mode}`));
  });
}

test('secsh scp: a refused connection prints ssh\'s line and "scp: Connection closed" (255), -O "lost connection" (1)', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const s = await server();
  const port = await freePort();
  const r = await secshScp(s, [join(local, 'f1'), '127.0.0.1:/tmp/x'], port);
  assert.equal(r.code, 255);
  assert.match(r.stderr, new RegExp(`connect to host 127\\.0\\.0\\.1 port ${port}: Connection refused\\n`));
  assert.match(r.stderr, /scp: Connection closed\n$/);
  const o = await secshScp(s, ['-O', join(local, 'f1'), '127.0.0.1:/tmp/x'], port);
  assert.equal(o.code, 1);
  assert.match(o.stderr, /lost connection\n$/);
});
