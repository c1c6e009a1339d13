/**
 * `secsh add` against OpenSSH's ssh-agent, checked with `ssh-add -l` after each step: an encrypted key's
 * passphrase typed into a real pty (`script -qc`, echo off), lists equal to ssh-add's, delete, delete all,
 * lock/unlock through the pty, -t lifetime, -c, -h with host keys from a -H file, default keys from
 * ~/.ssh, and ssh-add's messages and exit codes.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { AgentClient } from '../../src/agent/index.js';
import { generatePrivateKey, type PrivateKey } from '../../src/keys/index.js';
import { binPath, hasPeer, requirePeer } from '../helpers/peers.js';
import { type Agent, startAgent } from '../helpers/sshd.js';

const run = promisify(execFile);
const MAIN = join(process.cwd(), 'src/cli/main.ts');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe('secsh add against OpenSSH ssh-agent', { concurrency: false }, () => {
  let dir = '';
  let agent: Agent | undefined;
  const keys: Record<string, PrivateKey> = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secsh-add-'));
    if (!hasPeer('ssh-agent') || !hasPeer('ssh-add')) return;
    agent = await startAgent();
    keys.ed = generatePrivateKey('ed25519', { comment: 'ed-key' });
    keys.rsa = generatePrivateKey('rsa', { bits: 2048, comment: 'rsa-key' });
    keys.enc = generatePrivateKey('ecdsa', { bits: 256, comment: 'enc-key' });
    await writeFile(join(dir, 'ed'), keys.ed.toOpenSSH(), { mode: 0o600 });
    await writeFile(join(dir, 'rsa'), keys.rsa.toOpenSSH(), { mode: 0o600 });
    await writeFile(join(dir, 'enc'), keys.enc.export({ passphrase: 'hunter22', rounds: 4 }), { mode: 0o600 });
  });

  after(async () => {
    await agent?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string> = {}) => ({
    ...process.env,
    SSH_AUTH_SOCK: (agent as Agent).sock,
    ...extra,
  });

  async function secshAdd(args: string[], extraEnv: Record<string, string> = {}): Promise<Result> {
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', MAIN, 'add', ...args], {
        env: env(extraEnv),
        cwd: process.cwd(),
      });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, stdout: x.stdout, stderr: x.stderr };
    }
  }

  async function sshAdd(args: string[]): Promise<Result> {
    try {
      const { stdout, stderr } = await run(binPath('ssh-add'), args, { env: env() });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, stdout: x.stdout, stderr: x.stderr };
    }
  }

  /** Runs `secsh add args` in a pty and answers each prompt matching `prompt` with the next of `answers`. */
  function inPty(args: string[], answers: string[]): Promise<{ code: number | null; output: string }> {
    const quoted = ['node', '--import', 'tsx', MAIN, 'add', ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`);
    const child = spawn('script', ['-qec', quoted.join(' '), '/dev/null'], { env: env(), cwd: process.cwd() });
    let output = '';
    let seen = 0;
    child.stdout.on('data', async (d: Buffer) => {
      output += d.toString();
      const prompts = output.match(/((passphrase|try again) for [^:]*|lock password|Again): /g)?.length ?? 0;
      while (seen < prompts && seen < answers.length) {
        const a = answers[seen++] as string;
        await sleep(50);
        child.stdin.write(`${a}\r`);
      }
    });
    const timer = setTimeout(() => child.kill(), 20_000); // a prompt never answered fails the test, not the run
    return new Promise((resolve) =>
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      }),
    );
  }

  test('an encrypted key: the passphrase is asked on the terminal without echo, then listed as ssh-add lists it', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    await sshAdd(['-D']);
    const r = await inPty([join(dir, 'enc')], ['wrong-one', 'hunter22']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /Enter passphrase for .*enc: /);
    assert.match(r.output, /Bad passphrase, try again for .*enc: /);
    assert.match(r.output, /Identity added: .*enc \(enc-key\)/);
    assert.doesNotMatch(r.output, /hunter22|wrong-one/, 'the passphrase is not echoed');
    const l = await sshAdd(['-l']);
    assert.match(
      l.stdout,
      new RegExp(`^256 ${keys.enc?.fingerprint().replace(/[+/]/g, '\\$&')} enc-key \\(ECDSA\\)$`, 'm'),
    );
  });

  test('an empty passphrase gives up on the key (exit 1), as ssh-add does', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const r = await inPty([join(dir, 'enc')], ['']);
    assert.equal(r.code, 1, r.output);
  });

  test('-l, -L and -E md5 -l print exactly what ssh-add prints; add messages and exit codes match', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const added = await secshAdd([join(dir, 'ed'), join(dir, 'rsa')]);
    assert.equal(added.code, 0);
    assert.equal(
      added.stderr,
      `Identity added: ${join(dir, 'ed')} (ed-key)\nIdentity added: ${join(dir, 'rsa')} (rsa-key)\n`,
    );
    for (const flags of [['-l'], ['-L'], ['-E', 'md5', '-l'], ['-E', 'sha256', '-l']]) {
      const ours = await secshAdd(flags);
      const theirs = await sshAdd(flags);
      assert.equal(ours.stdout, theirs.stdout, flags.join(' '));
      assert.equal(ours.code, theirs.code);
    }
  });

  test("-d removes one key with ssh-add's message; -D removes all; an empty agent exits 1 like ssh-add", async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    await writeFile(join(dir, 'ed.pub'), `${keys.ed?.publicKey.toString()}\n`);
    const d = await secshAdd(['-d', join(dir, 'ed')]);
    assert.equal(d.code, 0);
    assert.equal(d.stderr, `Identity removed: ${join(dir, 'ed')} ED25519 (ed-key)\n`);
    assert.doesNotMatch((await sshAdd(['-l'])).stdout, /ed-key/);
    const again = await secshAdd(['-d', join(dir, 'ed')]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /Could not remove identity ".*ed": agent refused operation/);
    const all = await secshAdd(['-D']);
    assert.equal(all.stderr, 'All identities removed.\n');
    const empty = await secshAdd(['-l']);
    const theirs = await sshAdd(['-l']);
    assert.equal(empty.code, 1);
    assert.equal(empty.stdout, theirs.stdout);
    assert.equal(empty.stdout, 'The agent has no identities.\n');
  });

  test('-x locks after the password is typed twice, -X unlocks; mismatched passwords do not lock', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    await secshAdd([join(dir, 'rsa')]);
    const bad = await inPty(['-x'], ['one', 'two']);
    assert.equal(bad.code, 1);
    assert.match(bad.output, /Passwords do not match\./);
    assert.match((await sshAdd(['-l'])).stdout, /rsa-key/);
    const lock = await inPty(['-x'], ['pw', 'pw']);
    assert.equal(lock.code, 0, lock.output);
    assert.match(lock.output, /Agent locked\./);
    assert.equal((await sshAdd(['-l'])).code, 1, 'a locked agent lists nothing');
    const wrong = await inPty(['-X'], ['nope']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.output, /Failed to unlock agent/);
    const unlock = await inPty(['-X'], ['pw']);
    assert.equal(unlock.code, 0, unlock.output);
    assert.match(unlock.output, /Agent unlocked\./);
    assert.match((await sshAdd(['-l'])).stdout, /rsa-key/);
    await secshAdd(['-D']);
  });

  test('-t 4 adds a key that the agent drops after its lifetime; -c says each use must be confirmed', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const started = Date.now();
    const r = await secshAdd(['-t', '4', join(dir, 'ed')]);
    // The key went in between `started` and now: it must be listed before started + 4 s and gone after now + 4 s.
    const added = Date.now();
    assert.equal(r.stderr, `Identity added: ${join(dir, 'ed')} (ed-key)\nLifetime set to 4 seconds\n`);
    // a loaded machine may take a while to list: only a listing well inside the lifetime must show the key
    const listed = await sshAdd(['-l']);
    if (Date.now() - started < 3000) assert.match(listed.stdout, /ed-key/);
    await sleep(Math.max(0, added + 5000 - Date.now()));
    assert.doesNotMatch((await sshAdd(['-l'])).stdout, /ed-key/);
    const c = await secshAdd(['-c', '-q', join(dir, 'rsa')]);
    assert.equal(c.code, 0);
    assert.equal(c.stderr, '', '-q is quiet');
    assert.match((await sshAdd(['-l'])).stdout, /rsa-key/);
    await secshAdd(['-D']);
  });

  test('-h with host keys from a -H file adds a constrained key; an unknown host is fatal (255) as in ssh-add', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const hostKey = generatePrivateKey('ed25519').publicKey;
    const kh = join(dir, 'known');
    await writeFile(kh, `host-a ${hostKey.toString()}\n`);
    const r = await secshAdd(['-H', kh, '-h', 'host-a', '-h', 'host-a>me@host-a', join(dir, 'ed')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match((await sshAdd(['-l'])).stdout, /ed-key/);
    // constrained: an unbound connection may list the key but not sign with it
    const c = new AgentClient((agent as Agent).sock);
    try {
      await assert.rejects(c.sign(keys.ed?.publicKey as PrivateKey['publicKey'], Buffer.from('x'), 'ssh-ed25519'));
    } finally {
      c.close();
    }
    const bad = await secshAdd(['-H', kh, '-h', 'host-b', join(dir, 'ed')]);
    const theirs = await sshAdd(['-H', kh, '-h', 'host-b', join(dir, 'ed')]);
    assert.equal(bad.code, 255);
    assert.equal(bad.code, theirs.code);
    assert.equal(bad.stderr, 'No host keys found for destination "host-b"\n');
    await secshAdd(['-D']);
  });

  test('without arguments the ~/.ssh default keys are added', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const home = join(dir, 'home');
    await mkdir(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    await writeFile(join(home, '.ssh', 'id_ed25519'), (keys.ed as PrivateKey).toOpenSSH(), { mode: 0o600 });
    await writeFile(join(home, '.ssh', 'id_rsa'), (keys.rsa as PrivateKey).toOpenSSH(), { mode: 0o600 });
    const r = await secshAdd([], { HOME: home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      `Identity added: ${join(home, '.ssh', 'id_rsa')} (rsa-key)\nIdentity added: ${join(home, '.ssh', 'id_ed25519')} (ed-key)\n`,
    );
    await secshAdd(['-D']);
  });

  test("no agent: exit 2 with ssh-add's messages, no stack trace", async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const none = await secshAdd(['-l'], { SSH_AUTH_SOCK: '' });
    assert.equal(none.code, 2);
    assert.equal(none.stderr, 'Could not open a connection to your authentication agent.\n');
    const gone = await secshAdd(['-l'], { SSH_AUTH_SOCK: join(dir, 'no-such.sock') });
    assert.equal(gone.code, 2);
    assert.equal(gone.stderr, 'Error connecting to agent: No such file or directory\n');
    const badOpt = await secshAdd(['-t', 'soon']);
    assert.equal(badOpt.code, 1);
    assert.equal(badOpt.stderr, 'Invalid lifetime\n');
  });
});
