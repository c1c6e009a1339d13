/** Self-tests of the interop helpers against the real OpenSSH binaries. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { OPENSSH_NO_HOST_CHECK } from './openssh.js';
import { requirePeer } from './peers.js';
import { openSshArgs, readBanner, runOpenSsh, startAgent, startSshd } from './sshd.js';

const run = promisify(execFile);

test('startSshd: real ssh logs in with each user key, runs a command, stop() frees the port', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh', 'ssh-keygen')) return;
  const sshd = await startSshd({ extraConfig: ['RekeyLimit 1M'] });
  try {
    assert.match(await readBanner(sshd.port), /^SSH-2\.0-OpenSSH_/);
    assert.ok(sshd.hostKeys.some((k) => k.type === 'ed25519'));
    for (const k of sshd.hostKeys) assert.match(k.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    for (const key of [sshd.userKeys.ed25519, sshd.userKeys.ecdsa, sshd.userKeys.rsa]) {
      const r = await runOpenSsh(sshd, 'echo hi', { key });
      assert.equal(r.stdout, 'hi\n');
    }
    // the pinned host key fingerprint is what ssh sees
    const ed = sshd.hostKeys.find((k) => k.type === 'ed25519');
    const r = await run('ssh', [
      ...openSshArgs(sshd, sshd.userKeys.ed25519),
      '-o',
      'HostKeyAlgorithms=ssh-ed25519',
      '-v',
      sshd.host,
      'true',
    ]);
    assert.ok(r.stderr.includes(ed?.fingerprint ?? '?'), 'ssh -v shows the ed25519 host key fingerprint');
    // AcceptEnv SECSH_*
    const env = await runOpenSsh(sshd, 'echo $SECSH_TEST', {
      args: ['-o', 'SendEnv=SECSH_TEST'],
      env: { SECSH_TEST: '42' },
    });
    assert.equal(env.stdout, '42\n');
    // a legacy cipher is enabled
    const legacy = await runOpenSsh(sshd, 'echo legacy', { args: ['-c', '3des-cbc', '-m', 'hmac-sha1'] });
    assert.equal(legacy.stdout, 'legacy\n');
  } finally {
    await sshd.stop();
  }
  await assert.rejects(readBanner(sshd.port, 500));
  assert.match(sshd.logs(), /Server listening on 127\.0\.0\.1/);
});

test('startAgent: ssh-add adds a key and ssh authenticates through the agent', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh', 'ssh-agent', 'ssh-add')) return;
  const sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
  const agent = await startAgent();
  try {
    assert.deepEqual(await agent.list(), []);
    await agent.add(sshd.userKeys.rsa.privatePath);
    const listed = await agent.list();
    assert.equal(listed.length, 1);
    assert.ok(sshd.userKeys.rsa.publicLine.startsWith(listed[0]?.split(' ').slice(0, 2).join(' ') ?? '?'));
    const r = await run(
      'ssh',
      [...OPENSSH_NO_HOST_CHECK, '-p', String(sshd.port), '-l', sshd.username, sshd.host, 'echo agent'],
      {
        env: { ...process.env, SSH_AUTH_SOCK: agent.sock, HOME: sshd.dir },
      },
    );
    assert.equal(r.stdout, 'agent\n');
  } finally {
    await agent.stop();
    await sshd.stop();
  }
});
