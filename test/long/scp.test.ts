/**
 * The slow scp proofs: 100 MiB byte-identical both ways — `secsh scp` (SFTP and -O) against sshd,
 * and OpenSSH's scp (SFTP and -O) against a secsh Server with sftpSubsystemHandler and
 * scpExecHandler — and the progress meter drawn on a terminal (a pty from `script`) but not on a pipe.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generatePrivateKey, parsePublicKey } from '../../src/keys/index.js';
import { scpExecHandler } from '../../src/scp/index.js';
import { Server } from '../../src/server/server.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { sftpSubsystemHandler } from '../../src/sftp/server.js';
import { OPENSSH_NO_HOST_CHECK, runSsh } from '../helpers/openssh.js';
import { requirePeer } from '../helpers/peers.js';
import { sha, shaFile } from '../helpers/sftp-peers.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

const BIG = 100 * 1024 * 1024;
let dir = '';
let bigSha = '';
let sshd: Sshd | undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-scp-long-'));
  const big = randomBytes(BIG);
  bigSha = sha(big);
  await writeFile(join(dir, 'big'), big);
});
after(async () => {
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function scpArgs(s: Sshd, port = s.port): string[] {
  return [
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
  ];
}

function secsh(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'scp', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    p.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

for (const flag of [[], ['-O']]) {
  test(`secsh scp ${flag.join('') || '(SFTP)'} → sshd: 100 MiB up and down byte-identical`, async (t) => {
    if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
    sshd ??= await startSshd({ hostKeyTypes: ['ed25519'] });
    const tag = flag.length ? 'legacy' : 'sftp';
    const up = await secsh([...scpArgs(sshd), ...flag, join(dir, 'big'), `127.0.0.1:${dir}/up-${tag}`]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(await shaFile(join(dir, `up-${tag}`)), bigSha);
    const down = await secsh([...scpArgs(sshd), ...flag, `127.0.0.1:${dir}/big`, join(dir, `down-${tag}`)]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await shaFile(join(dir, `down-${tag}`)), bigSha);
    await rm(join(dir, `up-${tag}`));
    await rm(join(dir, `down-${tag}`));
  });
}

test('OpenSSH scp (SFTP and -O) → secsh Server with scpExecHandler: 100 MiB up and down byte-identical', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const root = join(dir, 'root');
  await mkdir(root);
  const keyPath = join(dir, 'id_ed25519');
  const { keygen } = await import('../helpers/sshd.js');
  await keygen(keyPath, ['-t', 'ed25519']);
  const userKey = parsePublicKey(await readFile(`${keyPath}.pub`, 'utf8'));
  const server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(userKey),
    authMethods: ['publickey'],
  });
  const backend = new LocalFsBackend(root);
  server.on('session', sftpSubsystemHandler(backend));
  server.on('session', scpExecHandler(backend));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  try {
    const base = [...OPENSSH_NO_HOST_CHECK, '-o', 'LogLevel=ERROR', '-i', keyPath, '-P', String(port)];
    for (const flag of [[], ['-O']]) {
      const tag = flag.length ? 'legacy' : 'sftp';
      const up = await runSsh([...base, ...flag, join(dir, 'big'), `tester@127.0.0.1:/${tag}`], {
        bin: '/usr/bin/scp',
        timeoutMs: 240_000,
      });
      assert.equal(up.code, 0, up.stderr);
      assert.equal(await shaFile(join(root, tag)), bigSha, `${tag} up`);
      const down = await runSsh([...base, ...flag, `tester@127.0.0.1:/${tag}`, join(dir, `back-${tag}`)], {
        bin: '/usr/bin/scp',
        timeoutMs: 240_000,
      });
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await shaFile(join(dir, `back-${tag}`)), bigSha, `${tag} down`);
      await rm(join(root, tag));
      await rm(join(dir, `back-${tag}`));
    }
  } finally {
    await server.close();
  }
});

test('secsh scp draws a progress meter (name, 100%, size) on a terminal, none on a pipe or with -q', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  sshd ??= await startSshd({ hostKeyTypes: ['ed25519'] });
  await writeFile(join(dir, 'meter-src'), randomBytes(3 * 1024 * 1024));
  const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const onTty = (extra: string[]) =>
    new Promise<string>((resolve) => {
      const cmd = [
        process.execPath,
        '--import',
        'tsx',
        'src/cli/main.ts',
        'scp',
        ...scpArgs(sshd as Sshd),
        ...extra,
        join(dir, 'meter-src'),
        `127.0.0.1:${dir}/meter-dst`,
      ]
        .map(quote)
        .join(' ');
      const p = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      p.on('close', () => resolve(out));
    });
  for (const flag of [[], ['-O']]) {
    const out = await onTty(flag);
    assert.match(out, /meter-src\s+100%\s+3072KB\s+\S+\/s\s+\d\d:\d\d/, JSON.stringify(out));
  }
  assert.doesNotMatch(await onTty(['-q']), /100%/);
  const piped = await secsh([...scpArgs(sshd), join(dir, 'meter-src'), `127.0.0.1:${dir}/meter-dst`]);
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stdout, '');
  assert.doesNotMatch(piped.stderr, /100%/);
});
