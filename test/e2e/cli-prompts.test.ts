/**
 * Prompts without a terminal: ssh-add/ssh-keygen-style prompts read one stdin line each (the next
 * prompt gets the next line), while ssh, sftp and scp never take a password from stdin (it belongs to
 * the session): they fail as ssh does.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAsyncSsh } from '../helpers/asyncssh.js';
import { requirePeer } from '../helpers/peers.js';

/** Runs node with `args` in a new session (no controlling terminal), `input` on stdin. */
function runDetached(
  args: string[],
  input: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

test('without a terminal, successive passphrase prompts read successive stdin lines, then empty at its end', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-prompts-script-'));
  const script = join(dir, 'prompts.mts');
  await writeFile(
    script,
    `const { readPassphrase } = await import(${JSON.stringify(new URL('../../src/cli/prompt.ts', import.meta.url).href)});
const got = [await readPassphrase('one: '), await readPassphrase('two: '), await readPassphrase('three: ')];
process.stdout.write(JSON.stringify(got));
`,
  );
  const r = await runDetached(['--import', 'tsx', script], 'alpha\nbeta\n').finally(() =>
    rm(dir, { recursive: true, force: true }),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), ['alpha', 'beta', '']);
  assert.equal(r.stderr, 'one: two: three: ');
});

test('secsh ssh without a terminal does not read a password from stdin: Permission denied, exit 255, stdin untouched by auth', async (t) => {
  if (!requirePeer(t, 'asyncssh')) return;
  const peer = await startAsyncSsh({ mode: 'password' });
  const home = await mkdtemp(join(tmpdir(), 'secsh-prompts-home-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    delete env.SSH_AUTH_SOCK;
    const r = await runDetached(
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'ssh',
        '-F',
        'none',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        `UserKnownHostsFile=${join(home, 'kh')}`,
        '-p',
        String(peer.port),
        `${peer.username}@127.0.0.1`,
        'cat',
      ],
      // The right password as the first line: it must not be used to log in.
      `${peer.password}\nsession data\n`,
      env,
    );
    assert.equal(r.code, 255, r.stderr);
    assert.match(r.stderr, /Permission denied \(.*password.*\)\.\n$/);
    assert.doesNotMatch(r.stderr, /password: /);
    assert.equal(r.stdout, '');
  } finally {
    await peer.stop();
    await rm(home, { recursive: true, force: true });
  }
});
