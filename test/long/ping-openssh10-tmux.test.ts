/**
 * OpenSSH 10's `ssh -tt -o ObscureKeystrokeTiming=yes` in a real terminal (tmux) against the secsh
 * server: the server announces ping@openssh.com, so ssh sends its keystroke-timing chaff as
 * SSH2_MSG_PING among the typed keys. The server answers each with a PONG (counted here), and the
 * shell on the secsh side echoes exactly what was typed.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { generatePrivateKey } from '../../src/keys/index.js';
import { findScript, localProcessHandler } from '../../src/server/local.js';
import { Server, type ServerConnection } from '../../src/server/server.js';
import { MSG } from '../../src/wire/index.js';
import { OPENSSH_NO_HOST_CHECK } from '../helpers/openssh.js';
import { hasPeer, openssh10Path, requirePeer } from '../helpers/peers.js';

const run = promisify(execFile);
const userKey = generatePrivateKey('ed25519');
let dir = '';
let server: Server | undefined;
let port = 0;
let pings = 0;
let pongs = 0;
const socket = `secsh-ping-${process.pid}`;

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

const tmux = async (...args: string[]) => (await run('tmux', ['-L', socket, ...args])).stdout;

before(async () => {
  if (!hasPeer('openssh10-ssh')) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-ping-tmux-'));
  await writeFile(join(dir, 'id'), userKey.toOpenSSH(), { mode: 0o600 });
  server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authMethods: ['publickey'],
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(userKey.publicKey),
  });
  server.on('session', localProcessHandler({ shell: '/bin/sh', cwd: dir, env: { PATH: '/usr/bin:/bin', HOME: dir } }));
  server.on('connection', (c: ServerConnection) => {
    // Every PING the transport reads goes through its handler; count them, and the PONGs it sends.
    const t = c.transport as unknown as { handlePayload(p: Buffer): void; send(p: Buffer): boolean };
    const handle = t.handlePayload.bind(t);
    t.handlePayload = (p: Buffer) => {
      if (p[0] === MSG.PING) pings++;
      handle(p);
    };
    const send = t.send.bind(t);
    t.send = (p: Buffer) => {
      if (p[0] === MSG.PONG) pongs++;
      return send(p);
    };
  });
  port = (await server.listen({ port: 0, host: '127.0.0.1' })).port;
});

after(async () => {
  await run('tmux', ['-L', socket, 'kill-server']).catch(() => {});
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('OpenSSH 10 ssh -tt with ObscureKeystrokeTiming: typed input is echoed intact while its PING chaff is answered', async (t) => {
  if (!requirePeer(t, 'openssh10-ssh') || !hasTmux(t)) return;
  if (!findScript()) {
    t.skip('util-linux script is needed for the server-side pty');
    return;
  }
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const args = [
    ...OPENSSH_NO_HOST_CHECK,
    '-tt',
    '-o',
    'ObscureKeystrokeTiming=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-i',
    join(dir, 'id'),
    '-p',
    String(port),
    '-E',
    join(dir, 'ssh.log'),
    '-vvv',
    'tester@127.0.0.1',
  ];
  await tmux('new-session', '-d', '-x', '100', '-y', '30', `${[openssh10Path(), ...args].map(q).join(' ')}; sleep 30`);
  const screen = async () => tmux('capture-pane', '-p', '-t', '0');
  const waitFor = async (re: RegExp, ms = 20_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const s = await screen().catch(() => '');
      if (re.test(s)) return s;
      if (Date.now() > end) throw new Error(`timed out waiting for ${re}; screen:\n${s}`);
      await sleep(100);
    }
  };
  await waitFor(/^[#$] ?$/m); // the shell's prompt
  // Typed one key at a time, as a person types: ssh obscures the timing of interactive keystrokes.
  const typed = 'echo typed-$((6*7))-ok';
  for (const ch of typed) {
    await tmux('send-keys', '-t', '0', '-l', '--', ch);
    await sleep(60);
  }
  await tmux('send-keys', '-t', '0', 'Enter');
  const s = await waitFor(/^typed-42-ok$/m);
  assert.ok(s.includes(typed), `the command line is echoed as typed:\n${s}`);
  await sleep(500);
  await tmux('send-keys', '-t', '0', '-l', '--', 'exit');
  await tmux('send-keys', '-t', '0', 'Enter');
  await sleep(500);
  const log = await readFile(join(dir, 'ssh.log'), 'utf8');
  assert.match(log, /obfuscate_keystroke_timing: starting/);
  t.diagnostic(`PINGs from ssh: ${pings}, PONGs from the server: ${pongs}`);
  assert.ok(pings > 0, 'ssh sent PINGs (keystroke-timing chaff)');
  assert.equal(pongs, pings, 'each PING answered with a PONG');
});
