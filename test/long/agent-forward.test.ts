/**
 * Agent forwarding (`ssh -A`) from a secsh client against OpenSSH sshd: a private ssh-agent holds a
 * key; with agentForward, `ssh-add -l` run on the server lists it, and OpenSSH's ssh run on the server
 * authenticates a second hop with it. Without agentForward the session has no agent.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { agentRelayStats } from '../../src/forward/agent-relay.js';
import { connectSshd, installTripwire, sharedSshd } from '../helpers/interop.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import { type Agent, startAgent } from '../helpers/sshd.js';

installTripwire();
const shared = sharedSshd();
let agent: Agent | undefined;

before(async () => {
  if (!hasPeer('sshd') || !hasPeer('ssh-agent')) return;
  const sshd = await shared.get();
  agent = await startAgent();
  // The agent holds the RSA user key only; the client itself logs in with the Ed25519 one.
  await agent.add(sshd.userKeys.rsa.privatePath);
});
after(async () => {
  await agent?.stop();
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('agentForward on connect: ssh-add -l on the server lists the local agent key, and ssh from there authenticates a second hop with it', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen', 'ssh-agent', 'ssh-add', 'ssh')) return;
  const sshd = await shared.get();
  const a = agent as Agent;
  const client = await connectSshd(sshd, { agentForward: a.sock });
  try {
    const listed = await client.exec('ssh-add -l');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(sshd.userKeys.rsa.fingerprint.replace(/[+/]/g, '\\$&')));
    assert.doesNotMatch(listed.stdout, /ED25519/);

    const hop = await client.exec(
      `ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -p ${sshd.port} ${sshd.username}@127.0.0.1 echo second-hop`,
    );
    assert.equal(hop.stdout, 'second-hop\n', hop.stderr);
    assert.equal(hop.code, 0);
    const stats = agentRelayStats(client.connection);
    assert.ok(stats && stats.accepted >= 2, 'the agent channels went through the relay');
    await waitFor(() => agentRelayStats(client.connection)?.open === 0);
    assert.equal(stats?.failed, 0);
  } finally {
    await client.close();
  }
});

test('agentForward is off by default and per session: a session without it has no agent, one with it has', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen', 'ssh-agent', 'ssh-add')) return;
  const sshd = await shared.get();
  const a = agent as Agent;
  const client = await connectSshd(sshd);
  try {
    const none = await client.exec('echo "sock=$SSH_AUTH_SOCK"; ssh-add -l');
    assert.match(none.stdout, /^sock=\n/);
    assert.notEqual(none.code, 0, 'no agent in a session that did not ask');
    assert.equal(agentRelayStats(client.connection), undefined);
    const withAgent = await client.exec('ssh-add -l', { agentForward: a.sock });
    assert.equal(withAgent.code, 0, withAgent.stderr);
    assert.match(withAgent.stdout, /\(RSA\)/);
  } finally {
    await client.close();
  }
});

test('agentForward: true takes SSH_AUTH_SOCK; without it the client warns and forwards nothing', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen', 'ssh-agent', 'ssh-add')) return;
  const sshd = await shared.get();
  const a = agent as Agent;
  const saved = process.env.SSH_AUTH_SOCK;
  try {
    process.env.SSH_AUTH_SOCK = a.sock;
    const client = await connectSshd(sshd, { agentForward: true });
    try {
      const r = await client.exec('ssh-add -l');
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await client.close();
    }
    delete process.env.SSH_AUTH_SOCK;
    const warnings: string[] = [];
    const noAgent = await connectSshd(sshd, {
      agentForward: true,
      logger: { warn: (m: string) => warnings.push(m) },
    });
    try {
      assert.ok(
        warnings.some((w) => /SSH_AUTH_SOCK is not set/.test(w)),
        `a warning names the missing agent: ${warnings}`,
      );
      const r = await noAgent.exec('echo "sock=$SSH_AUTH_SOCK"');
      assert.equal(r.stdout, 'sock=\n');
    } finally {
      await noAgent.close();
    }
  } finally {
    if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = saved;
  }
});

test('ssh_config ForwardAgent (an agent socket path, or $VAR) turns agent forwarding on for the host; ForwardAgent no leaves it off', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen', 'ssh-agent', 'ssh-add')) return;
  const sshd = await shared.get();
  const a = agent as Agent;
  const configPath = join(sshd.dir, 'client_config');
  await writeFile(
    configPath,
    [
      'Host fwd-path',
      `  ForwardAgent ${a.sock}`,
      'Host fwd-var',
      '  ForwardAgent $SECSH_TEST_AGENT',
      'Host fwd-no',
      '  ForwardAgent no',
      'Host *',
      '  HostName 127.0.0.1',
      `  Port ${sshd.port}`,
      '  IdentitiesOnly yes',
      '',
    ].join('\n'),
  );
  process.env.SECSH_TEST_AGENT = a.sock;
  try {
    for (const [alias, listed] of [
      ['fwd-path', true],
      ['fwd-var', true],
      ['fwd-no', false],
    ] as const) {
      const client = await connectSshd(sshd, { config: configPath, host: alias });
      try {
        const r = await client.exec('ssh-add -l');
        assert.equal(r.code === 0, listed, `${alias}: ${r.stdout}${r.stderr}`);
      } finally {
        await client.close();
      }
    }
  } finally {
    delete process.env.SECSH_TEST_AGENT;
  }
});
