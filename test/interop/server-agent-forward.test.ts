/**
 * OpenSSH's `ssh -A` against the secsh server's localProcessHandler({ agentForwarding: true }): the
 * command finds SSH_AUTH_SOCK, a 0600 socket in a 0700 directory, and `ssh-add -l` run there lists
 * the key of the client's own ssh-agent (carried over auth-agent@openssh.com channels), on a pty too,
 * and an `ssh` run there authenticates to a second hop with it (the agent signs); the socket and
 * its directory are gone when the session ends, also when the client dies mid-session. With the
 * option off (the library's default) the request is refused and the command has no SSH_AUTH_SOCK.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { generatePrivateKey, parsePublicKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import { sshArgs } from '../helpers/openssh.js';
import { binPath, hasPeer, requirePeer } from '../helpers/peers.js';
import type { Agent } from '../helpers/sshd.js';
import { fingerprintOf, keygen, startAgent } from '../helpers/sshd.js';

let dir = '';
let keyPath = '';
let agentKeyFingerprint = '';
let agent: Agent | undefined;
const servers: Server[] = [];
let portOn = 0;
let portOff = 0;
let portHop = 0;

/** The server's own environment minus the agent it may have inherited, so that "unset" means unset. */
function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.SSH_AUTH_SOCK;
  return env;
}

async function startServer(agentForwarding: boolean): Promise<number> {
  const userKey = parsePublicKey(await readFile(`${keyPath}.pub`, 'utf8'));
  const server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(userKey),
    authMethods: ['publickey'],
  });
  server.on('session', localProcessHandler({ agentForwarding, env: baseEnv(), shell: '/bin/sh' }));
  servers.push(server);
  return (await server.listen({ port: 0, host: '127.0.0.1' })).port;
}

before(async () => {
  if (!hasPeer('ssh') || !hasPeer('ssh-keygen') || !hasPeer('ssh-agent') || !hasPeer('ssh-add')) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-server-agent-'));
  keyPath = join(dir, 'id_ed25519');
  await keygen(keyPath, ['-t', 'ed25519']);
  const agentKey = join(dir, 'agent_key');
  await keygen(agentKey, ['-t', 'ed25519'], 'forwarded-agent-key');
  agentKeyFingerprint = await fingerprintOf(`${agentKey}.pub`);
  agent = await startAgent();
  await agent.add(agentKey);
  portOn = await startServer(true);
  portOff = await startServer(false);
  // A second hop that accepts only the agent's key.
  const agentPub = parsePublicKey(await readFile(`${agentKey}.pub`, 'utf8'));
  const hop = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(agentPub),
    authMethods: ['publickey'],
  });
  hop.on('session', localProcessHandler({ env: baseEnv(), shell: '/bin/sh' }));
  servers.push(hop);
  portHop = (await hop.listen({ port: 0, host: '127.0.0.1' })).port;
});

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await agent?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `ssh -A` to `port` with the test agent in SSH_AUTH_SOCK; `onStdout` sees output as it comes. */
function sshA(
  port: number,
  command: string,
  onStdout?: (soFar: string, kill: () => void) => void,
  extra: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = sshArgs({ port, keyPath }, ['-A', '-o', 'ForwardAgent=yes', '-v', ...extra], command);
  return new Promise((resolve, reject) => {
    const p = spawn(binPath('ssh'), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SSH_AUTH_SOCK: agent?.sock ?? '' },
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      onStdout?.(out, () => p.kill('SIGKILL'));
    });
    p.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: out, stderr: err });
    });
  });
}

async function gone(path: string, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (existsSync(path)) {
    if (Date.now() > deadline) return false;
    await delay(25);
  }
  return true;
}

test('ssh -A: ssh-add -l in the session lists the client agent key; the socket is 0600 in a 0700 directory and removed at the end', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen', 'ssh-agent', 'ssh-add')) return;
  const r = await sshA(
    portOn,
    'echo "sock=$SSH_AUTH_SOCK"; stat -c "%a %F" "$SSH_AUTH_SOCK" "$(dirname "$SSH_AUTH_SOCK")"; ssh-add -l; echo "rc=$?"',
  );
  assert.equal(r.code, 0, r.stderr);
  const sock = /^sock=(.+)$/m.exec(r.stdout)?.[1] ?? '';
  assert.ok(sock.startsWith(tmpdir()), r.stdout);
  assert.match(r.stdout, /^600 socket\n700 directory$/m);
  assert.ok(r.stdout.includes(agentKeyFingerprint), `${agentKeyFingerprint} not in ${r.stdout}`);
  assert.match(r.stdout, /forwarded-agent-key/);
  assert.match(r.stdout, /^rc=0$/m);
  assert.ok(await gone(dirname(sock)), `${dirname(sock)} still exists after the session`);
});

test('ssh -A: two agent connections in one session (ssh-add -l twice) both reach the agent', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen', 'ssh-agent', 'ssh-add')) return;
  const r = await sshA(portOn, 'ssh-add -l && ssh-add -L');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes(agentKeyFingerprint));
  assert.match(r.stdout, /^ssh-ed25519 AAAA\S+ forwarded-agent-key$/m);
});

test('ssh -A: from the session, a second hop authenticates with the forwarded agent key (agent signs)', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen', 'ssh-agent', 'ssh-add')) return;
  const hopSsh = [
    binPath('ssh'),
    '-F none -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR',
    `-p ${portHop} tester@127.0.0.1 echo hop-ok`,
  ].join(' ');
  const r = await sshA(portOn, hopSsh);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.equal(r.stdout, 'hop-ok\n');
  // Without the forwarded agent the hop refuses.
  const off = await sshA(portOff, hopSsh);
  assert.notEqual(off.code, 0);
  assert.ok(!off.stdout.includes('hop-ok'));
});

test('ssh -A -tt: the command on a pty gets the forwarded agent too', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen', 'ssh-agent', 'ssh-add')) return;
  const r = await sshA(portOn, 'test -t 0 && ssh-add -l', undefined, ['-tt']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes(agentKeyFingerprint), r.stdout);
});

test('ssh -A: the socket directory is removed when the client dies mid-session', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen', 'ssh-agent', 'ssh-add')) return;
  let sock = '';
  const r = await sshA(portOn, 'echo "sock=$SSH_AUTH_SOCK"; exec sleep 30', (soFar, kill) => {
    const m = /^sock=(.+)\n/m.exec(soFar);
    if (m && !sock) {
      sock = m[1] ?? '';
      kill();
    }
  });
  assert.notEqual(r.code, 0);
  assert.ok(sock.length > 0, r.stdout);
  assert.ok(await gone(dirname(sock)), `${dirname(sock)} still exists after the connection died`);
});

test('ssh -A against a server without agentForwarding: no SSH_AUTH_SOCK, ssh-add -l cannot connect', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen', 'ssh-agent', 'ssh-add')) return;
  const r = await sshA(portOff, 'echo "[$' + '{SSH_AUTH_SOCK-unset}]"; ssh-add -l; echo "rc=$?"');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\[unset\]$/m);
  assert.match(r.stdout, /^rc=2$/m);
  assert.ok(!r.stdout.includes(agentKeyFingerprint));
  assert.match(r.stderr, /Requesting authentication agent forwarding/);
});
