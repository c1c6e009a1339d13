/**
 * Authentication and host key verification against real peers: publickey (ed25519, ecdsa, rsa with
 * rsa-sha2-*) and ssh-agent against OpenSSH sshd; password, keyboard-interactive,
 * publickey-then-password and password change against asyncssh/paramiko servers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Client, generatePrivateKey } from '../../src/index.js';
import { startAsyncSsh } from '../helpers/asyncssh.js';
import { connectSshd, installTripwire, rejectsWithCode, sharedSshd } from '../helpers/interop.js';
import { requirePeer } from '../helpers/peers.js';
import { startAgent } from '../helpers/sshd.js';

installTripwire();
// ssh-rsa (SHA-1) signatures are refused, so an RSA login proves rsa-sha2-256/512
const shared = sharedSshd({
  hostKeyTypes: ['ed25519', 'rsa'],
  extraConfig: [
    'LogLevel DEBUG1',
    'PubkeyAcceptedAlgorithms ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256',
  ],
});

for (const kind of ['ed25519', 'ecdsa', 'rsa'] as const) {
  test(`publickey: ${kind} user key from an ssh-keygen file`, async (t) => {
    if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
    const sshd = await shared.get();
    const key = sshd.userKeys[kind];
    const client = await connectSshd(sshd, { key });
    try {
      assert.equal((await client.exec('echo hi')).stdout, 'hi\n');
    } finally {
      await client.close();
    }
    await new Promise((r) => setTimeout(r, 100)); // let sshd flush its log
    const logs = sshd.logs();
    assert.ok(logs.includes(`Accepted publickey for ${sshd.username}`));
    assert.ok(logs.includes(key.fingerprint), 'sshd accepted this very key');
    if (kind === 'rsa') assert.doesNotMatch(logs, /pkalg ssh-rsa /);
  });
}

test('publickey: a key sshd does not know → ERR_SSH_AUTH', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const stranger = await generatePrivateKey('ed25519');
  await rejectsWithCode(connectSshd(sshd, { privateKey: stranger }), 'ERR_SSH_AUTH');
});

test('agent: keys added with ssh-add to a real ssh-agent', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen', 'ssh-agent', 'ssh-add')) return;
  const sshd = await shared.get();
  for (const kind of ['rsa', 'ecdsa'] as const) {
    const agent = await startAgent();
    try {
      await agent.add(sshd.userKeys[kind].privatePath);
      const client = await Client.connect({
        host: sshd.host,
        port: sshd.port,
        username: sshd.username,
        agent: agent.sock,
        hostVerifier: (k) => sshd.hostKeys.some((h) => h.fingerprint === k.fingerprint()),
      });
      try {
        assert.equal((await client.exec('echo agent')).stdout, 'agent\n');
      } finally {
        await client.close();
      }
    } finally {
      await agent.stop();
    }
  }
});

test('host key: wrong pinned fingerprint → ERR_SSH_HOST_KEY', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const err = await rejectsWithCode(
    connectSshd(sshd, {
      hostVerifier: undefined,
      hostKeyFingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    }),
    'ERR_SSH_HOST_KEY',
  );
  assert.doesNotMatch(err.message, /BEGIN OPENSSH PRIVATE KEY/);
  // the right pin works
  const ed = sshd.hostKeys.find((k) => k.type === 'ed25519');
  assert.ok(ed);
  const ok = await connectSshd(sshd, {
    hostVerifier: undefined,
    hostKeyFingerprint: ed.fingerprint,
    algorithms: { hostKey: ['ssh-ed25519'] },
  });
  await ok.close();
});

test('host key: hostVerifier returning false (sync and async) → ERR_SSH_HOST_KEY', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  let seen = '';
  await rejectsWithCode(
    connectSshd(sshd, {
      hostVerifier: (k) => {
        seen = k.fingerprint();
        return false;
      },
    }),
    'ERR_SSH_HOST_KEY',
  );
  assert.ok(
    sshd.hostKeys.some((h) => h.fingerprint === seen),
    'verifier saw the real host key',
  );
  await rejectsWithCode(connectSshd(sshd, { hostVerifier: async () => false }), 'ERR_SSH_HOST_KEY');
});

test('host key: no verifier at all → ERR_SSH_HOST_KEY with a clear message', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const err = await rejectsWithCode(
    Client.connect({
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      privateKey: readFileSync(sshd.userKeys.ed25519.privatePath, 'utf8'),
    }),
    'ERR_SSH_HOST_KEY',
  );
  assert.match(err.message, /host key/i);
  // the escape hatch, named for what it is
  const c = await Client.connect({
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    privateKey: readFileSync(sshd.userKeys.ed25519.privatePath, 'utf8'),
    insecureAcceptAnyHostKey: true,
  });
  await c.close();
});

test('password against asyncssh; wrong password → ERR_SSH_AUTH', async (t) => {
  if (!requirePeer(t, 'asyncssh')) return;
  const peer = await startAsyncSsh({ mode: 'password' });
  try {
    const base = { host: peer.host, port: peer.port, username: 'alice', hostKeyFingerprint: peer.hostKeyFingerprint };
    const c = await Client.connect({ ...base, password: 'secret' });
    try {
      const r = await c.exec('whoami');
      assert.deepEqual(r, { stdout: 'ok whoami\n', stderr: '', code: 0, signal: null });
    } finally {
      await c.close();
    }
    await rejectsWithCode(Client.connect({ ...base, password: 'wrong' }), 'ERR_SSH_AUTH');
  } finally {
    await peer.stop();
  }
});

test('keyboard-interactive against asyncssh: two prompts with their echo flags', async (t) => {
  if (!requirePeer(t, 'asyncssh')) return;
  const peer = await startAsyncSsh({ mode: 'kbdint' });
  try {
    const seen: { prompt: string; echo: boolean }[] = [];
    const c = await Client.connect({
      host: peer.host,
      port: peer.port,
      username: 'alice',
      hostKeyFingerprint: peer.hostKeyFingerprint,
      onKeyboardInteractive: (req) => {
        seen.push(...req.prompts);
        return req.prompts.map((p) => (p.prompt === 'Password: ' ? 'secret' : '123'));
      },
    });
    try {
      assert.equal((await c.exec('id')).stdout, 'ok id\n');
    } finally {
      await c.close();
    }
    assert.deepEqual(seen, [
      { prompt: 'Password: ', echo: false },
      { prompt: 'Code: ', echo: true },
    ]);
    await rejectsWithCode(
      Client.connect({
        host: peer.host,
        port: peer.port,
        username: 'alice',
        hostKeyFingerprint: peer.hostKeyFingerprint,
        onKeyboardInteractive: (req) => req.prompts.map(() => 'nope'),
      }),
      'ERR_SSH_AUTH',
    );
  } finally {
    await peer.stop();
  }
});

test('publickey then password (partial success) against paramiko', async (t) => {
  if (!requirePeer(t, 'paramiko', 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get(); // for its ssh-keygen user keys
  const peer = await startAsyncSsh({
    mode: 'pubkey-then-password',
    authorizedKeysPath: `${sshd.userKeys.ed25519.privatePath}.pub`,
  });
  try {
    const base = {
      host: peer.host,
      port: peer.port,
      username: 'alice',
      hostKeyFingerprint: peer.hostKeyFingerprint,
      privateKey: readFileSync(sshd.userKeys.ed25519.privatePath, 'utf8'),
    };
    const c = await Client.connect({ ...base, password: 'secret' });
    try {
      assert.equal((await c.exec('uptime')).stdout, 'ok uptime\n');
    } finally {
      await c.close();
    }
    await rejectsWithCode(Client.connect(base), 'ERR_SSH_AUTH'); // key alone is not enough
  } finally {
    await peer.stop();
  }
});

test('password change requested by asyncssh', async (t) => {
  if (!requirePeer(t, 'asyncssh')) return;
  const peer = await startAsyncSsh({ mode: 'password-change' });
  try {
    let prompt: string | undefined;
    const c = await Client.connect({
      host: peer.host,
      port: peer.port,
      username: 'alice',
      hostKeyFingerprint: peer.hostKeyFingerprint,
      password: 'secret',
      onPasswordChange: (p) => {
        prompt = p;
        return 'n3w-secret';
      },
    });
    try {
      assert.equal((await c.exec('true')).stdout, 'ok true\n');
    } finally {
      await c.close();
    }
    assert.match(prompt ?? '', /expired/i);
  } finally {
    await peer.stop();
  }
});
