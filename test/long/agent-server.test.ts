/**
 * OpenSSH's ssh and ssh-add against the secsh AgentServer: ssh authenticates to a private sshd through it
 * with ed25519, ECDSA, RSA (rsa-sha2-256 and rsa-sha2-512, each forced) and a user certificate; ssh-add's
 * -l/-L/-d/-D/-t/-x/-X/-c behave as against OpenSSH's ssh-agent (the listings after each step are compared
 * with a real ssh-agent's), a locked agent refuses to sign, a lifetime expires, and a confirm key asks the
 * onConfirm callback, whose refusal makes ssh fail.
 */
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { AgentServer } from '../../src/agent/index.js';
import type { Certificate, PublicKey } from '../../src/keys/index.js';
import { OPENSSH_NO_HOST_CHECK } from '../helpers/openssh.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import { type Agent, keygen, type Sshd, startAgent, startSshd } from '../helpers/sshd.js';
import { lines, type Ran, runTool } from './agent-server-helpers.js';

let dir = '';
let sshd: Sshd | undefined;
let agent: AgentServer | undefined;
let sock = '';
let confirmAnswer = false;
const confirmAsked: string[] = [];
let certKey = '';
let openAgent: Agent | undefined;

const ready = () => hasPeer('ssh') && hasPeer('sshd') && hasPeer('ssh-add') && hasPeer('ssh-keygen');

before(async () => {
  if (!ready()) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-agent-server-'));
  await keygen(join(dir, 'ca'), ['-t', 'ed25519'], 'user-ca');
  sshd = await startSshd({ extraConfig: [`TrustedUserCAKeys ${join(dir, 'ca.pub')}`] });
  // A key sshd does not list in authorized_keys: it gets in only with its certificate.
  certKey = join(dir, 'id_cert');
  await keygen(certKey, ['-t', 'ed25519'], 'cert-user');
  const signed = await runTool('ssh-keygen', [
    '-q',
    '-s',
    join(dir, 'ca'),
    '-I',
    'agent-test',
    '-n',
    sshd.username,
    `${certKey}.pub`,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  agent = new AgentServer({
    onConfirm: async (key: PublicKey | Certificate, comment: string) => {
      confirmAsked.push(`${'certType' in key ? key.certType : key.type} ${comment}`);
      return confirmAnswer;
    },
  });
  sock = await agent.listen(join(dir, 'agent.sock'));
  // ssh is given only public halves, so every signature must come from the agent.
  for (const [name, k] of Object.entries(sshd.userKeys))
    await copyFile(`${k.privatePath}.pub`, join(dir, `${name}.pub`));
  await copyFile(`${certKey}.pub`, join(dir, 'cert.pub'));
  await copyFile(`${certKey}-cert.pub`, join(dir, 'cert-cert.pub'));
});

after(async () => {
  await agent?.close();
  await openAgent?.stop();
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const env = () => ({ SSH_AUTH_SOCK: sock });

function sshTo(s: Sshd, pub: string, extra: string[] = []): Promise<Ran> {
  return runTool(
    'ssh',
    [
      ...OPENSSH_NO_HOST_CHECK,
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'PasswordAuthentication=no',
      '-i',
      pub,
      ...extra,
      '-p',
      String(s.port),
      '-l',
      s.username,
      s.host,
      'echo agent-auth-ok',
    ],
    env(),
  );
}

test('OpenSSH ssh authenticates through the secsh agent with ed25519, ECDSA and RSA keys', async (t) => {
  if (!requirePeer(t, 'ssh', 'sshd', 'ssh-add') || !sshd) return;
  for (const name of ['ed25519', 'ecdsa', 'rsa'] as const) {
    const added = await runTool('ssh-add', [sshd.userKeys[name].privatePath], env());
    assert.equal(added.code, 0, added.stderr);
    const r = await sshTo(sshd, join(dir, `${name}.pub`), ['-v']);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), 'agent-auth-ok');
    assert.match(r.stderr, /Offering public key: .* (explicit )?agent/, name);
    await runTool('ssh-add', ['-D'], env());
    const without = await sshTo(sshd, join(dir, `${name}.pub`));
    assert.notEqual(without.code, 0, `${name}: ssh got in with the key removed from the agent`);
  }
});

test('RSA through the secsh agent signs with rsa-sha2-256 and with rsa-sha2-512 as ssh asks', async (t) => {
  if (!requirePeer(t, 'ssh', 'sshd', 'ssh-add') || !sshd) return;
  const added = await runTool('ssh-add', [sshd.userKeys.rsa.privatePath], env());
  assert.equal(added.code, 0, added.stderr);
  for (const alg of ['rsa-sha2-256', 'rsa-sha2-512']) {
    const r = await sshTo(sshd, join(dir, 'rsa.pub'), ['-vvv', '-o', `PubkeyAcceptedAlgorithms=${alg}`]);
    assert.equal(r.code, 0, `${alg}: ${r.stderr.slice(-2000)}`);
    assert.match(r.stderr, new RegExp(`signing using ${alg} `), alg);
  }
  await runTool('ssh-add', ['-D'], env());
});

test('a user certificate added with its key authenticates to sshd with TrustedUserCAKeys', async (t) => {
  if (!requirePeer(t, 'ssh', 'sshd', 'ssh-add') || !sshd) return;
  try {
    const added = await runTool('ssh-add', [certKey], env());
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stderr, /Certificate added/);
    // Keep only the certificate identity in the agent (-k: the plain key alone is deleted).
    const removed = await runTool('ssh-add', ['-k', '-d', certKey], env());
    assert.equal(removed.code, 0, removed.stderr);
    const listed = lines((await runTool('ssh-add', ['-l'], env())).stdout);
    assert.equal(listed.length, 1, listed.join('\n'));
    assert.match(listed[0] ?? '', /ED25519-CERT/);
    // The key itself is not in authorized_keys: only the certificate gets it in. ssh offers what the agent
    // lists (no identity files named).
    const s = sshd;
    const viaAgent = () =>
      runTool(
        'ssh',
        [...OPENSSH_NO_HOST_CHECK, '-v', '-p', String(s.port), '-l', s.username, s.host, 'echo agent-auth-ok'],
        env(),
      );
    const r = await viaAgent();
    assert.equal(r.code, 0, r.stderr);
    assert.match(sshd.logs(), /Accepted publickey .* ED25519-CERT/);
    await runTool('ssh-add', ['-D'], env());
    assert.match(r.stderr, /Offering public key: .*ED25519-CERT .* agent/);
    const none = await viaAgent();
    assert.notEqual(none.code, 0, 'ssh got in with an empty agent');
  } finally {
    await runTool('ssh-add', ['-D'], env());
  }
});

test('ssh-add -l/-L/-d/-D/-t lists the same after each step as with OpenSSH ssh-agent', async (t) => {
  if (!requirePeer(t, 'ssh-add', 'ssh-agent') || !sshd) return;
  openAgent = await startAgent();
  const k = sshd.userKeys;
  const steps: string[][] = [
    ['-D'],
    [k.ed25519.privatePath, k.ecdsa.privatePath],
    ['-l'],
    ['-L'],
    ['-E', 'md5', '-l'],
    [k.rsa.privatePath],
    ['-d', `${k.ecdsa.privatePath}.pub`],
    ['-l'],
    ['-d', `${k.ecdsa.privatePath}.pub`],
    ['-D'],
    ['-l'],
    ['-L'],
    ['-t', '3600', k.ed25519.privatePath],
    [certKey],
    ['-l'],
    ['-D'],
  ];
  for (const step of steps) {
    const ours = await runTool('ssh-add', step, env());
    const theirs = await runTool('ssh-add', step, { SSH_AUTH_SOCK: openAgent.sock });
    assert.equal(ours.code, theirs.code, `ssh-add ${step.join(' ')}: exit ${ours.code} vs ${theirs.code}`);
    assert.equal(ours.stdout, theirs.stdout, `ssh-add ${step.join(' ')} stdout`);
    assert.equal(ours.stderr, theirs.stderr, `ssh-add ${step.join(' ')} stderr`);
  }
});

test('ssh-add -x locks the secsh agent (no keys listed, ssh cannot sign), -X with a wrong passphrase fails, the right one unlocks', async (t) => {
  if (!requirePeer(t, 'ssh', 'sshd', 'ssh-add') || !sshd || !agent) return;
  const good = join(dir, 'askpass-good.sh');
  const bad = join(dir, 'askpass-bad.sh');
  await writeFile(good, '#!/bin/sh\necho correct-horse\n');
  await writeFile(bad, '#!/bin/sh\necho wrong-horse\n');
  await chmod(good, 0o700);
  await chmod(bad, 0o700);
  const ask = (p: string) => ({ ...env(), SSH_ASKPASS: p, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' });
  assert.equal((await runTool('ssh-add', [sshd.userKeys.ed25519.privatePath], env())).code, 0);
  const locked = await runTool('ssh-add', ['-x'], ask(good));
  assert.equal(locked.code, 0, locked.stderr);
  assert.match(locked.stderr, /Agent locked/);
  assert.equal(agent.locked, true);
  const list = await runTool('ssh-add', ['-l'], env());
  assert.equal(list.code, 1);
  assert.match(list.stdout, /The agent has no identities/);
  const refused = await sshTo(sshd, join(dir, 'ed25519.pub'));
  assert.notEqual(refused.code, 0, 'ssh authenticated through a locked agent');
  const again = await runTool('ssh-add', ['-x'], ask(good));
  assert.notEqual(again.code, 0, 'locking a locked agent succeeded');
  const wrong = await runTool('ssh-add', ['-X'], ask(bad));
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /Failed to unlock agent/);
  assert.equal(agent.locked, true);
  const unlocked = await runTool('ssh-add', ['-X'], ask(good));
  assert.equal(unlocked.code, 0, unlocked.stderr);
  assert.equal(agent.locked, false);
  const works = await sshTo(sshd, join(dir, 'ed25519.pub'));
  assert.equal(works.code, 0, works.stderr);
  await runTool('ssh-add', ['-D'], env());
});

test('ssh-add -t: the key is gone from the secsh agent after its lifetime, and ssh can no longer use it', async (t) => {
  if (!requirePeer(t, 'ssh', 'sshd', 'ssh-add') || !sshd) return;
  const t0 = Date.now();
  const added = await runTool('ssh-add', ['-t', '6', sshd.userKeys.ecdsa.privatePath], env());
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stderr, /Lifetime set to 6 seconds/);
  assert.equal(lines((await runTool('ssh-add', ['-l'], env())).stdout).length, 1);
  const login = await sshTo(sshd, join(dir, 'ecdsa.pub'));
  // on a loaded machine the login may outlast the lifetime; only one well inside it must succeed
  if (Date.now() - t0 < 4000) assert.equal(login.code, 0);
  await delay(Math.max(0, t0 + 6600 - Date.now()));
  const after = await runTool('ssh-add', ['-l'], env());
  assert.equal(after.code, 1);
  assert.notEqual((await sshTo(sshd, join(dir, 'ecdsa.pub'))).code, 0);
});

test('ssh-add -c: each signature asks onConfirm; refused, ssh fails; allowed, ssh gets in', async (t) => {
  if (!requirePeer(t, 'ssh', 'sshd', 'ssh-add') || !sshd) return;
  const added = await runTool('ssh-add', ['-c', sshd.userKeys.ed25519.privatePath], env());
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stderr, /must confirm each use/);
  confirmAsked.length = 0;
  confirmAnswer = false;
  const refused = await sshTo(sshd, join(dir, 'ed25519.pub'));
  assert.notEqual(refused.code, 0, 'ssh got in although the confirmation was refused');
  assert.ok(confirmAsked.length >= 1, 'onConfirm was not asked');
  assert.match(confirmAsked[0] ?? '', /^ssh-ed25519 user-ed25519/);
  confirmAnswer = true;
  const allowed = await sshTo(sshd, join(dir, 'ed25519.pub'));
  assert.equal(allowed.code, 0, allowed.stderr);
  await runTool('ssh-add', ['-D'], env());
});

test('an agent without onConfirm refuses to sign with a confirm key', async (t) => {
  if (!requirePeer(t, 'ssh', 'sshd', 'ssh-add') || !sshd) return;
  const plain = new AgentServer();
  const path = await plain.listen(join(dir, 'plain.sock'));
  try {
    const e = { SSH_AUTH_SOCK: path };
    assert.equal((await runTool('ssh-add', ['-c', sshd.userKeys.ed25519.privatePath], e)).code, 0);
    const r = await runTool(
      'ssh',
      [
        ...OPENSSH_NO_HOST_CHECK,
        '-o',
        'IdentitiesOnly=yes',
        '-i',
        join(dir, 'ed25519.pub'),
        '-p',
        String(sshd.port),
        '-l',
        sshd.username,
        sshd.host,
        'true',
      ],
      e,
    );
    assert.notEqual(r.code, 0);
  } finally {
    await plain.close();
  }
  assert.equal(
    await readFile(path).then(
      () => true,
      () => false,
    ),
    false,
    'socket left behind',
  );
});
