/**
 * `secsh sftp` at an interactive prompt on a real terminal (a tmux pane) against OpenSSH's sshd:
 * `ls -l`, TAB completion of a remote name, a progress meter during `get`, `get -r`, history, quit.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { sftpCommandLine, sftpTargetArgs } from '../e2e/cli-sftp-helpers.js';
import { hasSftp, requireSftp } from '../helpers/openssh-sftp.js';
import { hasPeer } from '../helpers/peers.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

const run = promisify(execFile);
const TMUX = '/usr/bin/tmux';
const SOCKET = `secsh-sftp-tty-${process.pid}`;

let sshd: Sshd | undefined;
let dir = '';

before(async () => {
  if (!hasPeer('sshd') || !hasPeer('ssh-keygen') || !hasSftp() || !existsSync(TMUX)) return;
  sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
  dir = await mkdtemp(join(tmpdir(), 'secsh-cli-sftp-tty-'));
});

after(async () => {
  await run(TMUX, ['-L', SOCKET, 'kill-server']).catch(() => {});
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function requireTmux(t: TestContext): boolean {
  if (existsSync(TMUX)) return true;
  if (process.env.CI === 'true') throw new Error('tmux missing — required when CI=true');
  console.warn(`\n${'!'.repeat(72)}\n!! SKIPPING "${t.name}": tmux missing\n${'!'.repeat(72)}\n`);
  t.skip('tmux missing');
  return false;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function pane(): Promise<string> {
  return (await run(TMUX, ['-L', SOCKET, 'capture-pane', '-p', '-J', '-S', '-200'])).stdout;
}

/** Waits until the pane's text matches `re`; fails with the pane's text after `ms`. */
async function waitFor(re: RegExp, ms = 20_000): Promise<string> {
  const deadline = Date.now() + ms;
  let text = '';
  while (Date.now() < deadline) {
    text = await pane();
    if (re.test(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`pane never matched ${re}:\n${text}`);
}

async function keys(...k: string[]): Promise<void> {
  await run(TMUX, ['-L', SOCKET, 'send-keys', ...k]);
}

test('secsh sftp on a terminal: ls -l, TAB completes a remote name, get shows a progress meter, get -r copies a tree', async (t) => {
  if (!requireSftp(t) || !requireTmux(t) || !sshd) return;
  const remote = join(dir, 'remote');
  const local = join(dir, 'local');
  await mkdir(join(remote, 'tree', 'inner'), { recursive: true });
  await mkdir(local);
  const big = randomBytes(3 * 1024 * 1024);
  await writeFile(join(remote, 'uniquely-named.bin'), big);
  await writeFile(join(remote, 'other.txt'), 'other\n');
  await writeFile(join(remote, 'tree', 'inner', 'leaf.txt'), 'leaf\n');
  const [file, argv] = sftpCommandLine('secsh', sftpTargetArgs(sshd, join(dir, 'known_hosts')), [
    `${sshd.username}@127.0.0.1:${remote}`,
  ]);
  const cmd = `${[file, ...argv].map(quote).join(' ')}; echo "EXITED $?"; sleep 60`;
  await run(TMUX, ['-L', SOCKET, '-f', '/dev/null', 'new-session', '-d', '-x', '100', '-y', '30', '-c', local, cmd]);
  await waitFor(/^sftp> $/m);
  assert.match(await pane(), new RegExp(`^Changing to: ${remote}$`, 'm'));

  await keys('ls -l', 'Enter');
  await waitFor(/^-rw-r--r-- +\? \S+ +\S+ +3145728 \w{3} [ \d]\d \d\d:\d\d uniquely-named\.bin$/m);

  await keys('get uniq', 'Tab');
  await waitFor(/^sftp> get uniquely-named\.bin $/m);
  await keys('Enter');
  const after = await waitFor(/^uniquely-named\.bin +100% +3072KB +\S+\/s +\d\d:\d\d +$/m);
  assert.match(after, new RegExp(`^Fetching ${remote}/uniquely-named\\.bin to uniquely-named\\.bin$`, 'm'));
  assert.deepEqual(await readFile(join(local, 'uniquely-named.bin')), big);

  await keys('get -r tree', 'Enter');
  await waitFor(new RegExp(`^Retrieving ${remote}/tree/inner$`, 'm'));
  await waitFor(/^sftp> $/m);
  assert.equal(await readFile(join(local, 'tree', 'inner', 'leaf.txt'), 'utf8'), 'leaf\n');

  // History: three times Up goes back past both gets to `ls -l`.
  await keys('Up', 'Up', 'Up');
  await waitFor(/^sftp> ls -l$/m);
  await keys('C-u', 'progress', 'Enter');
  await waitFor(/^Progress meter disabled$/m);
  await keys('quit', 'Enter');
  await waitFor(/^EXITED 0$/m);
});
