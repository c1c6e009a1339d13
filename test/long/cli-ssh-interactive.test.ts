/**
 * `secsh ssh` driven through a real terminal (tmux) against OpenSSH's sshd: a shell prompt, `stty size`
 * following a resize of the pane, `~C` adding a forward, `~.` disconnecting with the local terminal
 * restored (`stty -a` in the pane after), the unknown-host prompt answered `yes` writing known_hosts,
 * and a key passphrase typed at its prompt. The password prompt runs against `secsh server`
 * (the test sshd has no password a test could know: it runs without PAM as the current user).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { startCliServer } from '../e2e/server-helpers.js';
import { binPath, requirePeer } from '../helpers/peers.js';
import { freePort, type Sshd, startSshd } from '../helpers/sshd.js';

const run = promisify(execFile);
const MAIN = join(process.cwd(), 'src/cli/main.ts');

function hasTmux(t: TestContext): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('tmux is required (CI=true)');
    t.skip('tmux not installed');
    return false;
  }
}

let sshd: Sshd;
let dir: string;
let home: string;
let echo: Server;
let echoPort: number;
let sessions = 0;

/** A tmux server of its own running one pane with `cmd`; killed at the end. */
class Pane {
  readonly socket = `secsh-ssh-${process.pid}-${++sessions}`;

  async start(cmd: string): Promise<void> {
    await this.tmux('new-session', '-d', '-x', '80', '-y', '24', cmd);
  }

  async tmux(...args: string[]): Promise<string> {
    const { stdout } = await run('tmux', ['-L', this.socket, ...args]);
    return stdout;
  }

  async keys(...keys: string[]): Promise<void> {
    await this.tmux('send-keys', '-t', '0', ...keys);
  }

  /** Literal text (no key names). */
  async type(text: string): Promise<void> {
    await this.tmux('send-keys', '-t', '0', '-l', '--', text);
  }

  async screen(): Promise<string> {
    return this.tmux('capture-pane', '-p', '-t', '0', '-S', '-200');
  }

  async waitFor(re: RegExp, ms = 20_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = await this.screen().catch(() => '');
      if (re.test(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; screen:\n${s}`);
      await sleep(150);
    }
  }

  async kill(): Promise<void> {
    await run('tmux', ['-L', this.socket, 'kill-server']).catch(() => {});
  }
}

/** The pane's command: secsh ssh with `args`, then its exit status and the terminal's settings. */
function paneCommand(args: string[], env: Record<string, string> = {}): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const vars = Object.entries({ HOME: home, TERM: 'xterm', ...env })
    .map(([k, v]) => `${k}=${q(v)}`)
    .join(' ');
  return `env -u SSH_AUTH_SOCK ${vars} ${q(process.execPath)} --import tsx ${q(MAIN)} ssh ${args.map(q).join(' ')}; echo EXIT=$?; stty -a; sleep 60`;
}

async function writeConfig(name: string, lines: string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

const target = (extra: string[] = []) => [
  'Host target',
  '  HostName 127.0.0.1',
  `  Port ${sshd.port}`,
  `  User ${sshd.username}`,
  '  IdentitiesOnly yes',
  ...extra,
];

before(async () => {
  sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
  dir = await mkdtemp(join(tmpdir(), 'secsh-ssh-tty-'));
  home = join(dir, 'home');
  await mkdir(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoPort = (echo.address() as { port: number }).port;
});

after(async () => {
  echo?.close();
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('interactive: a shell prompt, stty size follows a resize, ~C adds a forward, ~. disconnects and the terminal is restored', async (t) => {
  if (!requirePeer(t, 'sshd') || !hasTmux(t)) return;
  const config = await writeConfig('config-shell', [
    ...target([
      `  IdentityFile ${sshd.userKeys.ed25519.privatePath}`,
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
    ]),
  ]);
  const pane = new Pane();
  try {
    await pane.start(paneCommand(['-F', config, 'target']));
    await pane.waitFor(/[#$]$/m);
    await pane.type("PS1='secsh-prompt$ '");
    await pane.keys('Enter');
    await pane.waitFor(/^secsh-prompt\$$/m);
    await pane.type('stty size; echo "term=$TERM"');
    await pane.keys('Enter');
    await pane.waitFor(/^24 80\nterm=xterm$/m);
    await pane.tmux('resize-window', '-t', '0', '-x', '100', '-y', '30');
    await sleep(300);
    await pane.type('stty size');
    await pane.keys('Enter');
    await pane.waitFor(/^30 100$/m);

    // ~C: a local forward added from the command line, carrying bytes
    const port = await freePort();
    await pane.keys('Enter');
    await pane.type('~C');
    await pane.waitFor(/ssh>$/m);
    await pane.type(`-L ${port}:127.0.0.1:${echoPort}`);
    await pane.keys('Enter');
    await pane.waitFor(/Forwarding port\./);
    const got = await new Promise<string>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => s.write('ping through ~C'));
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.length >= 15) {
          s.destroy();
          resolve(buf);
        }
      });
      s.once('error', reject);
    });
    assert.equal(got, 'ping through ~C');
    // ~# lists it; ~R re-keys and the session goes on
    await pane.keys('Enter');
    await pane.type('~#');
    await pane.waitFor(new RegExp(`#0 local forward 127\\.0\\.0\\.1:${port} to 127\\.0\\.0\\.1:${echoPort}`));
    await pane.type('~R');
    await pane.waitFor(/~R$/m);
    await pane.type('echo after-rekey');
    await pane.keys('Enter');
    await pane.waitFor(/^after-rekey$/m);

    // the escape is only seen after a newline
    await pane.type('echo a~.b');
    await pane.keys('Enter');
    await pane.waitFor(/^a~\.b$/m);
    await pane.keys('Enter');
    await pane.type('~.');
    const after = await pane.waitFor(/EXIT=\d+[\s\S]*werase/);
    assert.match(after, /Connection to 127\.0\.0\.1 closed\.\s*\nEXIT=255/);
    const stty = after.slice(after.lastIndexOf('EXIT='));
    // raw mode undone: canonical input, echo, signals and output processing are back
    for (const flag of ['icanon', 'echo', 'isig', 'icrnl', 'opost'])
      assert.match(stty, new RegExp(`(^|\\s)${flag}(\\s|$)`), flag);
  } finally {
    await pane.kill();
  }
});

test('interactive: the unknown-host prompt answered yes writes known_hosts', async (t) => {
  if (!requirePeer(t, 'sshd') || !hasTmux(t)) return;
  const kh = join(dir, 'known_hosts_new');
  const config = await writeConfig('config-hostkey', [
    ...target([
      `  IdentityFile ${sshd.userKeys.ed25519.privatePath}`,
      '  StrictHostKeyChecking ask',
      `  UserKnownHostsFile ${kh}`,
      '  GlobalKnownHostsFile /dev/null',
    ]),
  ]);
  const pane = new Pane();
  try {
    await pane.start(paneCommand(['-F', config, 'target', 'echo logged-in']));
    const s = await pane.waitFor(/Are you sure you want to continue connecting \(yes\/no\/\[fingerprint\]\)\?$/m);
    assert.ok(s.includes(sshd.hostKeys[0]?.fingerprint as string), s);
    await pane.type('yes');
    await pane.keys('Enter');
    await pane.waitFor(/^logged-in\s*\nEXIT=0/m);
    const text = await readFile(kh, 'utf8');
    const key = (sshd.hostKeys[0]?.publicKeyLine ?? '').split(' ').slice(0, 2).join(' ');
    assert.match(text, new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} `, 'm'));
    assert.ok(text.includes(key));
  } finally {
    await pane.kill();
  }
});

test('interactive: a key passphrase typed at its prompt logs in', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !hasTmux(t)) return;
  const keyPath = join(dir, 'id_encrypted');
  await run(binPath('ssh-keygen'), ['-q', '-t', 'ed25519', '-N', 'correct horse', '-C', 'enc', '-f', keyPath]);
  await appendFile(join(sshd.dir, 'authorized_keys'), await readFile(`${keyPath}.pub`, 'utf8'));
  const config = await writeConfig('config-passphrase', [
    ...target([`  IdentityFile ${keyPath}`, '  StrictHostKeyChecking no', '  UserKnownHostsFile /dev/null']),
  ]);
  const pane = new Pane();
  try {
    await pane.start(paneCommand(['-F', config, 'target', 'echo with-passphrase']));
    await pane.waitFor(new RegExp(`Enter passphrase for key '${keyPath}':$`, 'm'));
    await pane.type('correct horse');
    await pane.keys('Enter');
    const s = await pane.waitFor(/EXIT=\d+/);
    assert.match(s, /^with-passphrase\s*\nEXIT=0/m);
    assert.ok(!s.includes('correct horse'), 'the passphrase is not echoed');
  } finally {
    await pane.kill();
  }
});

test('interactive: a password typed at its prompt logs in (secsh server as the peer)', async (t) => {
  if (!hasTmux(t)) return;
  await writeFile(join(dir, 'passwords'), 'alice:open sesame\n');
  const server = await startCliServer([
    '--import',
    'tsx',
    MAIN,
    'server',
    '--port',
    '0',
    '--password-file',
    join(dir, 'passwords'),
    '--quiet',
  ]);
  const config = await writeConfig('config-password', [
    'Host pw',
    '  HostName 127.0.0.1',
    `  Port ${server.port}`,
    '  User alice',
    '  StrictHostKeyChecking no',
    '  UserKnownHostsFile /dev/null',
    '  PreferredAuthentications password',
  ]);
  const pane = new Pane();
  try {
    await pane.start(paneCommand(['-F', config, 'pw', 'echo with-password']));
    await pane.waitFor(/alice@127\.0\.0\.1's password:$/m);
    await pane.type('wrong');
    await pane.keys('Enter');
    await pane.waitFor(/Permission denied, please try again\.\s*\nalice@127\.0\.0\.1's password:$/m);
    await pane.type('open sesame');
    await pane.keys('Enter');
    const s = await pane.waitFor(/EXIT=\d+/);
    assert.match(s, /^with-password\s*\nEXIT=0/m);
  } finally {
    await pane.kill();
    server.child.kill('SIGINT');
    await server.exited;
  }
});

test('interactive: SIGTERM ends an interactive session with 255 and the terminal restored', async (t) => {
  if (!requirePeer(t, 'sshd') || !hasTmux(t)) return;
  const config = await writeConfig('config-term', [
    ...target([
      `  IdentityFile ${sshd.userKeys.ed25519.privatePath}`,
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
    ]),
  ]);
  const pane = new Pane();
  try {
    await pane.start(paneCommand(['-F', config, 'target']));
    await pane.waitFor(/[#$]$/m);
    // the pane runs sh -c '…'; secsh (node, exec'd by env) is its child
    const shPid = (await pane.tmux('display-message', '-p', '-t', '0', '#{pane_pid}')).trim();
    const { stdout } = await run('ps', ['-o', 'pid=,comm=', '--ppid', shPid]);
    const node = stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .find((f) => f[1] === 'node');
    assert.ok(node?.[0], `no node child of ${shPid}: ${stdout}`);
    process.kill(Number(node[0]), 'SIGTERM');
    const after = await pane.waitFor(/EXIT=\d+[\s\S]*werase/);
    assert.match(after, /EXIT=255/);
    const stty = after.slice(after.lastIndexOf('EXIT='));
    for (const flag of ['icanon', 'echo', 'isig', 'icrnl', 'opost'])
      assert.match(stty, new RegExp(`(^|\\s)${flag}(\\s|$)`), flag);
  } finally {
    await pane.kill();
  }
});

test('interactive: ~^Z suspends secsh to the local shell with the terminal restored, fg resumes the session', async (t) => {
  if (!requirePeer(t, 'sshd') || !hasTmux(t)) return;
  const config = await writeConfig('config-suspend', [
    ...target([
      `  IdentityFile ${sshd.userKeys.ed25519.privatePath}`,
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
    ]),
  ]);
  const pane = new Pane();
  try {
    // a local interactive shell with job control runs secsh
    await pane.start(`env -u SSH_AUTH_SOCK HOME='${home}' TERM=xterm PS1='local$ ' bash --norc --noprofile -i`);
    await pane.waitFor(/^local\$$/m);
    await pane.type(`'${process.execPath}' --import tsx '${MAIN}' ssh -F '${config}' target`);
    await pane.keys('Enter');
    await pane.waitFor(/[#$]$/m);
    await pane.type("PS1='remote$ '");
    await pane.keys('Enter');
    await pane.waitFor(/^remote\$$/m);
    await pane.type('~');
    await pane.keys('C-z');
    await pane.waitFor(/~\^Z \[suspend ssh\][\s\S]*Stopped[\s\S]*local\$$/m);
    await pane.type('stty -a | grep -o -w -e icanon -e echo | sort -u | tr "\\n" " "; echo');
    await pane.keys('Enter');
    await pane.waitFor(/^echo icanon$/m);
    await pane.type('fg');
    await pane.keys('Enter');
    await pane.type('echo resumed-$((6*7))');
    await pane.keys('Enter');
    await pane.waitFor(/^resumed-42$/m);
    await pane.keys('Enter');
    await pane.type('~.');
    await pane.waitFor(/Connection to 127\.0\.0\.1 closed\.\s*\nlocal\$$/m);
  } finally {
    await pane.kill();
  }
});
