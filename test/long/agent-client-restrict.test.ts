/**
 * Destination-constrained keys (ssh-add -h, restrict-destination-v00@openssh.com) added by AgentClient to
 * OpenSSH's ssh-agent, used by secsh's Client (which binds its agent socket with session-bind@openssh.com)
 * and by OpenSSH's ssh, as OpenSSH's regress agent-restrict.sh does: host A (one sshd) is allowed, host B
 * (another sshd, another host key) is not; `A>B` lets the key reach B only through A with the agent forwarded.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { AgentClient } from '../../src/agent/index.js';
import { Client } from '../../src/client/client.js';
import { AuthError } from '../../src/errors.js';
import { generatePrivateKey, type PublicKey, parsePublicKey } from '../../src/keys/index.js';
import { binPath, hasPeer, requirePeer } from '../helpers/peers.js';
import { type Agent, type Sshd, startAgent, startSshd } from '../helpers/sshd.js';

const run = promisify(execFile);
const PEERS = ['sshd', 'ssh', 'ssh-agent', 'ssh-add'] as const;

function sshArgs(port: number, user: string): string[] {
  return [
    '-F',
    '/dev/null',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'PasswordAuthentication=no',
    '-o',
    'KbdInteractiveAuthentication=no',
    '-p',
    String(port),
    '-l',
    user,
  ];
}

describe('destination-constrained agent keys (OpenSSH ssh-agent)', { concurrency: false }, () => {
  let a: Sshd | undefined;
  let b: Sshd | undefined;
  let agent: Agent | undefined;
  let hostA: PublicKey;
  let hostB: PublicKey;
  const key = generatePrivateKey('ed25519', { comment: 'restricted' });

  before(async () => {
    if (!PEERS.every((p) => hasPeer(p))) return;
    [a, b, agent] = await Promise.all([
      startSshd({ hostKeyTypes: ['ed25519'] }),
      startSshd({ hostKeyTypes: ['ed25519'] }),
      startAgent(),
    ]);
    const line = `${key.publicKey.toString()}\n`;
    await appendFile(`${a.dir}/authorized_keys`, line);
    await appendFile(`${b.dir}/authorized_keys`, line);
    hostA = parsePublicKey((a.hostKeys[0] as { publicKeyLine: string }).publicKeyLine);
    hostB = parsePublicKey((b.hostKeys[0] as { publicKeyLine: string }).publicKeyLine);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop(), agent?.stop()]);
  });

  async function addRestricted(destinations: Parameters<AgentClient['add']>[1]): Promise<void> {
    const c = new AgentClient((agent as Agent).sock);
    try {
      await c.removeAll();
      await c.add(key, destinations);
    } finally {
      c.close();
    }
  }

  function secshTo(s: Sshd, extra: { agentForward?: string } = {}): Promise<Client> {
    return Client.connect({
      host: s.host,
      port: s.port,
      username: s.username,
      agent: (agent as Agent).sock,
      hostKeyFingerprint: (s.hostKeys[0] as { fingerprint: string }).fingerprint,
      authMethods: ['publickey'],
      ...extra,
    });
  }

  async function opensshTo(s: Sshd): Promise<boolean> {
    try {
      const { stdout } = await run(binPath('ssh'), [...sshArgs(s.port, s.username), s.host, 'echo ok'], {
        env: { ...process.env, SSH_AUTH_SOCK: (agent as Agent).sock },
      });
      return stdout.trim() === 'ok';
    } catch {
      return false;
    }
  }

  test('a key restricted to host A authenticates secsh to A and is refused at B; ssh agrees', async (t) => {
    if (!requirePeer(t, ...PEERS)) return;
    await addRestricted({
      constraints: { destinations: [{ to: { hostname: 'host-a', hostKeys: [{ key: hostA }] } }] },
    });
    const ca = await secshTo(a as Sshd);
    try {
      assert.equal((await ca.exec('echo ok')).stdout.trim(), 'ok');
    } finally {
      await ca.close();
    }
    await assert.rejects(secshTo(b as Sshd), AuthError);
    assert.equal(await opensshTo(a as Sshd), true, 'ssh to A through the agent');
    assert.equal(await opensshTo(b as Sshd), false, 'ssh to B through the agent');
  });

  test('a user in the to hop limits the key to that user', async (t) => {
    if (!requirePeer(t, ...PEERS)) return;
    await addRestricted({
      constraints: { destinations: [{ to: { user: 'nobody-else', hostname: 'host-a', hostKeys: [{ key: hostA }] } }] },
    });
    await assert.rejects(secshTo(a as Sshd), AuthError);
    await addRestricted({
      constraints: {
        destinations: [{ to: { user: (a as Sshd).username, hostname: 'host-a', hostKeys: [{ key: hostA }] } }],
      },
    });
    const ca = await secshTo(a as Sshd);
    await ca.close();
  });

  test('A>B: through A with the agent forwarded by secsh, ssh on A reaches B; without A>B it is refused', async (t) => {
    if (!requirePeer(t, ...PEERS)) return;
    const toA = { to: { hostname: 'host-a', hostKeys: [{ key: hostA }] } };
    const aToB = {
      from: { hostname: 'host-a', hostKeys: [{ key: hostA }] },
      to: { hostname: 'host-b', hostKeys: [{ key: hostB }] },
    };
    const hop = `${binPath('ssh')} ${sshArgs((b as Sshd).port, (b as Sshd).username).join(' ')} ${(b as Sshd).host} echo via-a`;
    await addRestricted({ constraints: { destinations: [toA, aToB] } });
    let ca = await secshTo(a as Sshd, { agentForward: (agent as Agent).sock });
    try {
      const r = await ca.exec(hop);
      assert.equal(r.stdout.trim(), 'via-a', `ssh on A to B failed: ${r.stderr}`);
    } finally {
      await ca.close();
    }
    await addRestricted({ constraints: { destinations: [toA] } });
    ca = await secshTo(a as Sshd, { agentForward: (agent as Agent).sock });
    try {
      const r = await ca.exec(hop);
      assert.notEqual(r.code, 0);
      assert.doesNotMatch(r.stdout, /via-a/);
    } finally {
      await ca.close();
    }
  });
  test('secsh as the next hop: ssh -A to A, secsh on A reaches B with the forwarded agent (host-bound publickey)', async (t) => {
    if (!requirePeer(t, ...PEERS)) return;
    const sb = b as Sshd;
    const toA = { to: { hostname: 'host-a', hostKeys: [{ key: hostA }] } };
    const aToB = {
      from: { hostname: 'host-a', hostKeys: [{ key: hostA }] },
      to: { hostname: 'host-b', hostKeys: [{ key: hostB }] },
    };
    await addRestricted({ constraints: { destinations: [toA, aToB] } });
    const dir = await mkdtemp(join(tmpdir(), 'secsh-hop-'));
    try {
      const script = join(dir, 'hop.mts');
      await writeFile(
        script,
        `import { Client } from ${JSON.stringify(join(process.cwd(), 'src/client/client.ts'))};\n` +
          `const c = await Client.connect({ host: '127.0.0.1', port: ${sb.port}, username: ${JSON.stringify(sb.username)}, agent: true, hostKeyFingerprint: ${JSON.stringify((sb.hostKeys[0] as { fingerprint: string }).fingerprint)}, authMethods: ['publickey'] });\n` +
          `process.stdout.write((await c.exec('echo secsh-hop')).stdout);\nawait c.close();\n`,
      );
      const remote = `cd ${process.cwd()} && ${process.execPath} --import tsx ${script}`;
      const sa = a as Sshd;
      const { stdout } = await run(binPath('ssh'), ['-A', ...sshArgs(sa.port, sa.username), sa.host, remote], {
        env: { ...process.env, SSH_AUTH_SOCK: (agent as Agent).sock },
      });
      assert.equal(stdout.trim(), 'secsh-hop');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
