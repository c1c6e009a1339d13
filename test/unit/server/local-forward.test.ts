/**
 * Agent and X11 requests of a Session served by localProcessHandler, over an in-memory connection
 * pair: what is accepted and refused, what the command's environment gets, and that the agent socket's
 * directory goes when the session ends.
 */
import assert from 'node:assert/strict';
import childProcess from 'node:child_process';
import fs, { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import type { Channel, Connection } from '../../../src/connection/index.js';
import type { LocalProcessOptions } from '../../../src/server/local.js';
import { localProcessHandler } from '../../../src/server/local.js';
import { Session } from '../../../src/server/session.js';
import { SshWriter } from '../../../src/wire/index.js';
import { pair } from '../connection/link.js';

function x11Data(cookie: string, protocol = 'MIT-MAGIC-COOKIE-1', single = false, screen = 0): Buffer {
  return new SshWriter(64).bool(single).string(protocol).string(cookie).uint32(screen).toBuffer();
}

/** A client session channel to a server whose sessions run localProcessHandler(opts). */
async function setup(
  opts: LocalProcessOptions,
  withConnection = true,
  extra?: (s: Session) => void,
): Promise<{ ch: Channel; sessions: Session[]; client: Connection }> {
  const { client, server } = pair();
  const sessions: Session[] = [];
  server.onChannelOpen = (req) => {
    const s = new Session(req.accept(), 'tester', withConnection ? { connection: server } : {});
    sessions.push(s);
    extra?.(s);
    localProcessHandler({ shell: '/bin/sh', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, ...opts })(s);
  };
  const ch = await client.openSession();
  return { ch, sessions, client };
}

/** Runs `command` on the session and returns its stdout. */
async function exec(ch: Channel, command: string): Promise<string> {
  const parts: Buffer[] = [];
  ch.on('data', (b: Buffer) => parts.push(b));
  const ended = new Promise<void>((resolve) => ch.once('end', resolve));
  assert.equal(await ch.request('exec', new SshWriter().string(command).toBuffer()), true);
  await ended;
  return Buffer.concat(parts).toString();
}

const COOKIE = '0123456789abcdef0123456789abcdef';

test('auth-agent-req twice: both succeed and share one socket; its directory goes when the session ends', async () => {
  const { ch, sessions, client } = await setup({ agentForwarding: true });
  client.onChannelOpen = (req) => req.reject(1, 'no agent here');
  const [a, b] = await Promise.all([
    ch.request('auth-agent-req@openssh.com'),
    ch.request('auth-agent-req@openssh.com'),
  ]);
  assert.deepEqual([a, b], [true, true]);
  assert.equal(await ch.request('auth-agent-req@openssh.com'), true);
  assert.equal(sessions[0]?.agentForwarding, true);
  const out = await exec(ch, 'echo "$SSH_AUTH_SOCK"; ls "$(dirname "$SSH_AUTH_SOCK")"');
  const [sock, listing] = out.trim().split('\n');
  assert.ok(sock && existsSync(sock), out);
  assert.match(listing ?? '', /^agent\.\d+$/);
  ch.destroy();
  const deadline = Date.now() + 3000;
  while (existsSync(dirname(sock)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(!existsSync(dirname(sock)));
});

test('without the options, auth-agent-req and x11-req are refused and the command gets neither variable', async () => {
  const { ch } = await setup({});
  assert.equal(await ch.request('auth-agent-req@openssh.com'), false);
  assert.equal(await ch.request('x11-req', x11Data(COOKIE)), false);
  const out = await exec(ch, 'echo "[$' + '{SSH_AUTH_SOCK-unset}][$' + '{DISPLAY-unset}]"');
  assert.equal(out, '[unset][unset]\n');
});

test('x11-req with data that could reach xauth as commands (newline, space) or an odd protocol is refused', async () => {
  const { ch } = await setup({ x11Forwarding: { xauthPath: null } });
  assert.equal(await ch.request('x11-req', x11Data(`${COOKIE}\nremove *`)), false);
  assert.equal(await ch.request('x11-req', x11Data(`${COOKIE} x`)), false);
  assert.equal(await ch.request('x11-req', x11Data(COOKIE, 'MIT MAGIC')), false);
  assert.equal(await ch.request('x11-req', x11Data('')), false);
  // A good one still works afterwards.
  assert.equal(await ch.request('x11-req', x11Data(COOKIE, 'MIT-MAGIC-COOKIE-1', false, 2)), true);
  const out = await exec(ch, 'echo "$DISPLAY"');
  assert.match(out, /^localhost:\d+\.2\n$/);
  const display = Number(/:(\d+)\./.exec(out)?.[1]);
  assert.ok(display >= 10);
});

test('x11-req: a second one, or one after the command started, is refused', async () => {
  const { ch } = await setup({ x11Forwarding: { xauthPath: null } });
  assert.equal(await ch.request('x11-req', x11Data(COOKIE)), true);
  assert.equal(await ch.request('x11-req', x11Data(COOKIE)), false);
  const second = await setup({ x11Forwarding: { xauthPath: null } });
  const parts: Buffer[] = [];
  second.ch.on('data', (b: Buffer) => parts.push(b));
  assert.equal(await second.ch.request('exec', new SshWriter().string('sleep 0.2').toBuffer()), true);
  assert.equal(await second.ch.request('x11-req', x11Data(COOKIE)), false);
  assert.equal(await second.ch.request('auth-agent-req@openssh.com'), false);
  ch.destroy();
  second.ch.destroy();
});

test('a session that knows no connection refuses agent and X11 forwarding', async () => {
  const { ch } = await setup({ agentForwarding: true, x11Forwarding: true }, false);
  assert.equal(await ch.request('auth-agent-req@openssh.com'), false);
  assert.equal(await ch.request('x11-req', x11Data(COOKIE)), false);
  ch.destroy();
});

test('another handler may take x11-req and auth-agent-req through the typed events', async () => {
  const { ch, sessions } = await setup({}, true, (s) => {
    s.on('x11', (req) => req.accept());
    s.on('agent-forward', (req) => req.accept());
  });
  assert.equal(await ch.request('x11-req', x11Data(COOKIE, 'MIT-MAGIC-COOKIE-1', true, 1)), true);
  assert.equal(await ch.request('auth-agent-req@openssh.com'), true);
  assert.deepEqual(sessions[0]?.x11, {
    singleConnection: true,
    authProtocol: 'MIT-MAGIC-COOKIE-1',
    authCookie: COOKIE,
    screen: 1,
  });
  ch.destroy();
});

test("without 'x11' and 'agent-forward' listeners, the requests still reach 'request' listeners", async () => {
  const { client, server } = pair();
  const seen: string[] = [];
  server.onChannelOpen = (req) => {
    const s = new Session(req.accept(), 'tester', { connection: server });
    s.on('request', (ev) => {
      seen.push(ev.type);
      ev.accept();
    });
  };
  const ch = await client.openSession();
  assert.equal(await ch.request('x11-req', x11Data(COOKIE)), true);
  assert.equal(await ch.request('auth-agent-req@openssh.com'), true);
  assert.deepEqual(seen, ['x11-req', 'auth-agent-req@openssh.com']);
  ch.destroy();
});

test('x11-req is refused when the xauth program is missing, as sshd does', async () => {
  const { ch } = await setup({ x11Forwarding: { xauthPath: '/nonexistent/xauth' } });
  assert.equal(await ch.request('x11-req', x11Data(COOKIE)), false);
  const out = await exec(ch, 'echo "[$' + '{DISPLAY-unset}]"');
  assert.equal(out, '[unset]\n');
});

test('serving agent and X11 forwarding (sockets, directory, xauth) makes no synchronous fs or child_process call', async () => {
  type Fn = (...args: unknown[]) => unknown;
  const calls: string[] = [];
  const restore: Array<() => void> = [];
  const wrap = (obj: Record<string, unknown>, label: string, name: string) => {
    const orig = obj[name];
    if (typeof orig !== 'function') return;
    obj[name] = function (this: unknown, ...args: unknown[]) {
      const ours = (new Error().stack ?? '').split('\n').find((l) => /[/\\]src[/\\]/.test(l));
      if (ours) calls.push(`${label}.${name} ${ours.trim()}`);
      return (orig as Fn).apply(this, args);
    };
    restore.push(() => {
      obj[name] = orig;
    });
  };
  const dir = await mkdtemp(join(tmpdir(), 'secsh-fwd-sync-'));
  const xauthority = join(dir, 'Xauthority');
  const { ch, client } = await setup({
    agentForwarding: true,
    x11Forwarding: existsSync('/usr/bin/xauth') ? true : { xauthPath: null },
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', XAUTHORITY: xauthority },
  });
  client.onChannelOpen = (req) => req.reject(1, 'no');
  for (const name of Object.keys(fs)) if (name.endsWith('Sync')) wrap(fs as never, 'fs', name);
  for (const name of ['spawnSync', 'execSync', 'execFileSync']) wrap(childProcess as never, 'child_process', name);
  syncBuiltinESMExports();
  try {
    assert.equal(await ch.request('auth-agent-req@openssh.com'), true);
    assert.equal(await ch.request('x11-req', x11Data(COOKIE)), true);
    const out = await exec(ch, 'test -S "$SSH_AUTH_SOCK" && echo "$DISPLAY"');
    assert.match(out, /^localhost:\d+\.0\n$/);
  } finally {
    for (const r of restore) r();
    syncBuiltinESMExports();
    await rm(dir, { recursive: true, force: true });
  }
  assert.deepEqual(calls, []);
});
