/**
 * `secsh agent` as a program, used by OpenSSH's ssh-add: in the foreground on a given socket (-D -a), as a
 * detached daemon whose -s/-c lines are what ssh-agent prints and which -k kills (removing its socket), and
 * running a command with SSH_AUTH_SOCK set; bad flags exit 1 with ssh-agent's messages.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import { keygen } from '../helpers/sshd.js';
import { lines, type Ran, runTool } from './agent-server-helpers.js';

let dir = '';
let key = '';
const children: ChildProcess[] = [];

before(async () => {
  if (!hasPeer('ssh-add') || !hasPeer('ssh-keygen')) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-agent-cli-'));
  key = join(dir, 'id_ed25519');
  await keygen(key, ['-t', 'ed25519'], 'cli-key');
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs `secsh agent …` to its end. */
function secshAgent(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'agent', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('secsh agent -D -a SOCK serves ssh-add in the foreground; the socket is 0600 and removed on SIGTERM', async (t) => {
  if (!requirePeer(t, 'ssh-add')) return;
  const sock = join(dir, 'fg.sock');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'agent', '-D', '-s', '-a', sock], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  for (let i = 0; i < 200 && !out.includes('echo Agent pid'); i++) await delay(50);
  assert.equal(out, `SSH_AUTH_SOCK=${sock}; export SSH_AUTH_SOCK;\necho Agent pid ${child.pid};\n`);
  assert.equal((await stat(sock)).mode & 0o777, 0o600);
  const env = { SSH_AUTH_SOCK: sock };
  assert.equal((await runTool('ssh-add', [key], env)).code, 0);
  const listed = await runTool('ssh-add', ['-l'], env);
  assert.equal(listed.code, 0);
  assert.match(listed.stdout, /^256 SHA256:\S+ cli-key \(ED25519\)\n$/);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  assert.equal(existsSync(sock), false, 'socket left after SIGTERM');
});

test('secsh agent -a refuses a path that exists (exit 1), as ssh-agent fails to bind', async (t) => {
  if (!requirePeer(t, 'ssh-add')) return;
  const r = await secshAgent(['-D', '-a', key]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /already exists/);
});

test('secsh agent -s prints the sh lines of a detached agent; ssh-add uses it; -k kills it and removes the socket', async (t) => {
  if (!requirePeer(t, 'ssh-add')) return;
  const started = await secshAgent(['-s']);
  assert.equal(started.code, 0, started.stderr);
  const m =
    /^SSH_AUTH_SOCK=(\S+); export SSH_AUTH_SOCK;\nSSH_AGENT_PID=(\d+); export SSH_AGENT_PID;\necho Agent pid \2;\n$/.exec(
      started.stdout,
    );
  assert.ok(m, started.stdout);
  const [, sock = '', pid = ''] = m;
  assert.equal((await stat(dirname(sock))).mode & 0o777, 0o700);
  assert.equal((await stat(sock)).mode & 0o777, 0o600);
  const env = { SSH_AUTH_SOCK: sock, SSH_AGENT_PID: pid };
  assert.equal((await runTool('ssh-add', [key], env)).code, 0);
  assert.equal(lines((await runTool('ssh-add', ['-L'], env)).stdout).length, 1);
  const killed = await secshAgent(['-k'], env);
  assert.equal(killed.code, 0, killed.stderr);
  assert.equal(killed.stdout, `unset SSH_AUTH_SOCK;\nunset SSH_AGENT_PID;\necho Agent pid ${pid} killed;\n`);
  for (let i = 0; i < 100 && existsSync(sock); i++) await delay(50);
  assert.equal(existsSync(sock), false, 'socket left after -k');
  assert.equal(existsSync(dirname(sock)), false, 'socket directory left after -k');
  assert.notEqual((await runTool('ssh-add', ['-l'], env)).code, 0);
});

test('secsh agent -c prints csh lines; -k -c prints unsetenv', async (t) => {
  if (!requirePeer(t, 'ssh-add')) return;
  const started = await secshAgent(['-c']);
  assert.equal(started.code, 0, started.stderr);
  const m = /^setenv SSH_AUTH_SOCK (\S+);\nsetenv SSH_AGENT_PID (\d+);\necho Agent pid \2;\n$/.exec(started.stdout);
  assert.ok(m, started.stdout);
  const [, sock = '', pid = ''] = m;
  const killed = await secshAgent(['-k', '-c'], { SSH_AGENT_PID: pid });
  assert.equal(killed.stdout, `unsetenv SSH_AUTH_SOCK;\nunsetenv SSH_AGENT_PID;\necho Agent pid ${pid} killed;\n`);
  for (let i = 0; i < 100 && existsSync(sock); i++) await delay(50);
  assert.equal(existsSync(sock), false);
});

test('secsh agent COMMAND runs it with SSH_AUTH_SOCK and SSH_AGENT_PID set and exits with its status', async (t) => {
  if (!requirePeer(t, 'ssh-add')) return;
  const r = await secshAgent(['sh', '-c', `ssh-add -q ${key} && ssh-add -l && echo "pid=$SSH_AGENT_PID"; exit 7`]);
  assert.equal(r.code, 7, r.stderr);
  assert.match(r.stdout, /cli-key \(ED25519\)\npid=\d+\n/);
});

test('secsh agent: bad lifetime, -k without SSH_AGENT_PID and unknown flags exit 1 with ssh-agent messages', async () => {
  const bad = await secshAgent(['-t', '5x']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Invalid lifetime\nusage:/);
  const env = { ...process.env };
  delete env.SSH_AGENT_PID;
  const noPid = await new Promise<Ran>((resolve) => {
    const c = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'agent', '-k'], { env, stdio: 'pipe' });
    let stderr = '';
    c.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    c.once('close', (code) => resolve({ code, stdout: '', stderr }));
  });
  assert.equal(noPid.code, 1);
  assert.equal(noPid.stderr, 'SSH_AGENT_PID not set, cannot kill agent\n');
  const unknown = await secshAgent(['-Z']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown option -- Z/);
});

test('secsh agent asks $SSH_ASKPASS (SSH_ASKPASS_PROMPT=confirm) before a confirm key signs; a refusal fails ssh-add -T', async (t) => {
  if (!requirePeer(t, 'ssh-add')) return;
  const asked = join(dir, 'asked');
  for (const [answer, status] of [
    ['yes', 0],
    ['no', 1],
  ] as const) {
    const script = join(dir, `askpass-${answer}.sh`);
    await writeFile(script, `#!/bin/sh\necho "$SSH_ASKPASS_PROMPT|$1" >> ${asked}\nexit ${status}\n`, { mode: 0o700 });
    const sock = join(dir, `confirm-${answer}.sock`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'agent', '-D', '-a', sock], {
      env: { ...process.env, SSH_ASKPASS: script },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.push(child);
    for (let i = 0; i < 200 && !existsSync(sock); i++) await delay(50);
    const env = { SSH_AUTH_SOCK: sock };
    assert.equal((await runTool('ssh-add', ['-c', key], env)).code, 0);
    const tested = await runTool('ssh-add', ['-T', `${key}.pub`], env);
    if (answer === 'yes') assert.equal(tested.code, 0, tested.stderr);
    else assert.notEqual(tested.code, 0, 'the key signed although askpass refused');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  const prompts = await readFile(asked, 'utf8');
  assert.match(
    prompts,
    /^confirm\|Allow use of key cli-key\?\nKey fingerprint SHA256:\S+\.\nconfirm\|Allow use of key cli-key\?/,
  );
});
