/**
 * Destination-constrained keys in the secsh AgentServer, as OpenSSH's regress agent-restrict.sh exercises
 * them: `ssh-add -h host_a` (and `-h "host_a>host_b"`) into the secsh agent, then OpenSSH's ssh — which binds
 * every agent connection with session-bind@openssh.com — reaches sshd A, is refused at sshd B, and reaches
 * B from A over a forwarded agent (`ssh -A host_a ssh host_b`) only when `host_a>host_b` was allowed.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentServer } from '../../src/agent/index.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import { keygen, type Sshd, startAgent, startSshd } from '../helpers/sshd.js';
import { lines, runTool } from './agent-server-helpers.js';

let dir = '';
let a: Sshd | undefined;
let b: Sshd | undefined;
let agent: AgentServer | undefined;
let sock = '';
let key = '';
let cfg = '';
const log: string[] = [];

before(async () => {
  if (!hasPeer('ssh') || !hasPeer('sshd') || !hasPeer('ssh-add') || !hasPeer('ssh-keygen')) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-agent-restrict-'));
  key = join(dir, 'id_restricted');
  await keygen(key, ['-t', 'ed25519'], 'restricted-key');
  [a, b] = await Promise.all([startSshd({ hostKeyTypes: ['ed25519'] }), startSshd({ hostKeyTypes: ['ed25519'] })]);
  const pub = await readFile(`${key}.pub`, 'utf8');
  for (const s of [a, b]) await appendFile(join(s.dir, 'authorized_keys'), pub);
  const kh = join(dir, 'known_hosts');
  const known = (name: string, s: Sshd) =>
    s.hostKeys.map((h) => `${name} ${h.publicKeyLine.split(' ').slice(0, 2).join(' ')}`).join('\n');
  await writeFile(kh, `${known('host_a', a)}\n${known('host_b', b)}\n`);
  cfg = join(dir, 'ssh_config');
  await writeFile(
    cfg,
    [
      'Host host_a',
      '  Hostname 127.0.0.1',
      `  Port ${a.port}`,
      '  HostKeyAlias host_a',
      'Host host_b',
      '  Hostname 127.0.0.1',
      `  Port ${b.port}`,
      '  HostKeyAlias host_b',
      'Host *',
      `  User ${a.username}`,
      `  UserKnownHostsFile ${kh}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '  IdentitiesOnly yes',
      `  IdentityFile ${key}.pub`,
      '  PasswordAuthentication no',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
  agent = new AgentServer({ log: (l) => log.push(l) });
  sock = await agent.listen(join(dir, 'agent.sock'));
});

after(async () => {
  await agent?.close();
  await Promise.all([a?.stop(), b?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const env = () => ({ SSH_AUTH_SOCK: sock });
/** `ssh host …` with the test config; the private key exists only in the agent (IdentityFile is the .pub). */
const ssh = (...args: string[]) => runTool('ssh', ['-F', cfg, ...args], env());
/** Adds the key restricted by `-h` specs (host names looked up in the test known_hosts). */
async function addRestricted(...hops: string[]): Promise<void> {
  await runTool('ssh-add', ['-D'], env());
  const r = await runTool('ssh-add', ['-H', join(dir, 'known_hosts'), ...hops.flatMap((h) => ['-h', h]), key], env());
  assert.equal(r.code, 0, r.stderr);
  assert.match(log.at(-1) ?? '', /added ssh-ed25519 key \(destination-constrained\)/);
}
/** From host A, over the forwarded agent, to host B. */
const viaA = () => ssh('-A', 'host_a', `ssh -F ${cfg} host_b echo reached-b`);

test('a key restricted to host_a signs for sshd A and is refused for sshd B', async (t) => {
  if (!requirePeer(t, 'ssh', 'sshd', 'ssh-add') || !a) return;
  await addRestricted('host_a');
  const toA = await ssh('host_a', 'echo reached-a');
  assert.equal(toA.code, 0, toA.stderr);
  assert.equal(toA.stdout.trim(), 'reached-a');
  const toB = await ssh('host_b', 'echo reached-b');
  assert.notEqual(toB.code, 0, 'the key restricted to host_a logged in to host_b');
  assert.doesNotMatch(toB.stdout, /reached-b/);
});

test('restricted to host_a only, B through A with agent forwarding is refused', async (t) => {
  if (!requirePeer(t, 'ssh', 'sshd', 'ssh-add') || !a) return;
  await addRestricted('host_a');
  const r = await viaA();
  assert.doesNotMatch(r.stdout, /reached-b/, 'the forwarded key reached host_b without host_a>host_b');
  assert.notEqual(r.code, 0);
  // On A the forwarded agent does not even list the key: it may not be used beyond A.
  const listed = await ssh('-A', 'host_a', 'ssh-add -l; echo rc=$?');
  assert.match(listed.stdout, /rc=1/);
});

test('with host_a>host_b allowed, B is reached through A over the forwarded agent (and still not directly)', async (t) => {
  if (!requirePeer(t, 'ssh', 'sshd', 'ssh-add') || !a) return;
  await addRestricted('host_a', 'host_a>host_b');
  const r = await viaA();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'reached-b');
  const listed = await ssh('-A', 'host_a', 'ssh-add -l');
  assert.equal(lines(listed.stdout).length, 1, listed.stdout + listed.stderr);
  const direct = await ssh('host_b', 'echo reached-b');
  assert.notEqual(direct.code, 0, 'host_a>host_b let the key log in to host_b directly');
});

test('a user pattern in the destination (-h user@host) limits the user the key signs for', async (t) => {
  if (!requirePeer(t, 'ssh', 'sshd', 'ssh-add') || !a) return;
  await addRestricted(`nosuchuser@host_a`);
  const wrongUser = await ssh('host_a', 'true');
  assert.notEqual(wrongUser.code, 0, 'the key signed for a user the constraint does not list');
  await addRestricted(`${a.username}@host_a`);
  const right = await ssh('host_a', 'echo ok');
  assert.equal(right.code, 0, right.stderr);
});

test('the same destination scenarios give the same outcomes with OpenSSH ssh-agent and the secsh agent (ssh -A chains and ssh -J)', async (t) => {
  if (!requirePeer(t, 'ssh', 'sshd', 'ssh-add', 'ssh-agent') || !a) return;
  const openAgent = await startAgent();
  try {
    const scenarios: string[][] = [['host_a'], ['host_a', 'host_a>host_b'], ['host_b'], ['host_a', 'host_b']];
    const commands: string[][] = [
      ['host_a', 'echo ok'],
      ['host_b', 'echo ok'],
      ['-A', 'host_a', `ssh -F ${cfg} host_b echo ok`],
      ['-J', 'host_a', 'host_b', 'echo ok'],
      ['-A', 'host_a', 'ssh-add -l >/dev/null && echo ok'],
    ];
    const outcomes = async (sockPath: string) => {
      const e = { SSH_AUTH_SOCK: sockPath };
      const out: string[] = [];
      for (const hops of scenarios) {
        await runTool('ssh-add', ['-D'], e);
        const added = await runTool(
          'ssh-add',
          ['-H', join(dir, 'known_hosts'), ...hops.flatMap((h) => ['-h', h]), key],
          e,
        );
        assert.equal(added.code, 0, added.stderr);
        for (const cmd of commands) {
          const r = await runTool('ssh', ['-F', cfg, ...cmd], e);
          out.push(`${hops.join(',')} | ${cmd.slice(0, -1).join(' ')}: ${r.stdout.trim() === 'ok' ? 'ok' : 'refused'}`);
        }
      }
      return out;
    };
    const theirs = await outcomes(openAgent.sock);
    const ours = await outcomes(sock);
    assert.deepEqual(ours, theirs);
    t.diagnostic(ours.join('; '));
    // The scenarios are not trivial: both outcomes occur.
    assert.ok(theirs.some((l) => l.endsWith('ok')) && theirs.some((l) => l.endsWith('refused')));
  } finally {
    await openAgent.stop();
  }
});

test('a destination named by a host CA (@cert-authority in known_hosts) admits a host whose certificate that CA signed', async (t) => {
  if (!requirePeer(t, 'ssh', 'sshd', 'ssh-add', 'ssh-keygen') || !a) return;
  const ca = join(dir, 'host_ca');
  await keygen(ca, ['-t', 'ed25519'], 'host-ca');
  const hk = join(dir, 'host_c_key');
  await keygen(hk, ['-t', 'ed25519'], 'host-c');
  const signed = await runTool('ssh-keygen', ['-q', '-s', ca, '-h', '-I', 'host_c', '-n', 'host_c', `${hk}.pub`]);
  assert.equal(signed.code, 0, signed.stderr);
  const c = await startSshd({ hostKeyTypes: [], extraConfig: [`HostKey ${hk}`, `HostCertificate ${hk}-cert.pub`] });
  try {
    await appendFile(join(c.dir, 'authorized_keys'), await readFile(`${key}.pub`, 'utf8'));
    const caLine = (await readFile(`${ca}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ');
    const kh = join(dir, 'known_hosts_ca');
    await writeFile(kh, `@cert-authority host_c ${caLine}\n`);
    const cfgC = join(dir, 'ssh_config_c');
    await writeFile(
      cfgC,
      `Host host_c\n  Hostname 127.0.0.1\n  Port ${c.port}\n  HostKeyAlias host_c\n` +
        (await readFile(cfg, 'utf8')).replace(/UserKnownHostsFile \S+/, `UserKnownHostsFile ${kh}`),
    );
    const e = env();
    await runTool('ssh-add', ['-D'], e);
    const added = await runTool('ssh-add', ['-H', kh, '-h', 'host_c', key], e);
    assert.equal(added.code, 0, added.stderr);
    const r = await runTool('ssh', ['-F', cfgC, 'host_c', 'echo reached-c'], e);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'reached-c');
    // Restricted to host_a instead, the same host is refused.
    await runTool('ssh-add', ['-D'], e);
    assert.equal((await runTool('ssh-add', ['-H', join(dir, 'known_hosts'), '-h', 'host_a', key], e)).code, 0);
    const refused = await runTool('ssh', ['-F', cfgC, 'host_c', 'echo reached-c'], e);
    assert.notEqual(refused.code, 0);
  } finally {
    await c.stop();
  }
});
