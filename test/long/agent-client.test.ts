/**
 * AgentClient against OpenSSH's ssh-agent: keys added with each constraint as `ssh-add -l` then shows them,
 * the agent's behaviour under them (a 1 s lifetime expires, confirm asks SSH_ASKPASS), lock and unlock,
 * remove and remove all, and a certificate added through the agent used to log in to an sshd that
 * trusts its CA.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { AgentClient } from '../../src/agent/index.js';
import { Client } from '../../src/client/client.js';
import { AgentError } from '../../src/errors.js';
import { generatePrivateKey, issueCertificate } from '../../src/keys/index.js';
import { binPath, hasPeer, requirePeer } from '../helpers/peers.js';
import { type Sshd, startSshd, stopChild } from '../helpers/sshd.js';

const run = promisify(execFile);
const data = Buffer.from('data to sign');

describe('AgentClient with OpenSSH ssh-agent', { concurrency: false }, () => {
  let dir = '';
  let sock = '';
  let agentProc: ChildProcess | undefined;
  let askAnswer = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secsh-agent-client-'));
    if (!hasPeer('ssh-agent') || !hasPeer('ssh-add')) return;
    sock = join(dir, 'agent.sock');
    // confirm constraints make the agent run SSH_ASKPASS; it answers as the file `answer` says.
    askAnswer = join(dir, 'answer');
    const askpass = join(dir, 'askpass.sh');
    await writeFile(askpass, `#!/bin/sh\nexit "$(cat ${askAnswer})"\n`);
    await chmod(askpass, 0o755);
    await writeFile(askAnswer, '1');
    agentProc = spawn(binPath('ssh-agent'), ['-D', '-a', sock], {
      stdio: 'ignore',
      env: { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' },
    });
    for (let i = 0; i < 200 && !existsSync(sock); i++) await sleep(25);
    assert.ok(existsSync(sock), 'ssh-agent did not start');
  });

  after(async () => {
    if (agentProc) await stopChild(agentProc);
    await rm(dir, { recursive: true, force: true });
  });

  async function sshAddL(flag = '-l'): Promise<string> {
    try {
      const { stdout } = await run(binPath('ssh-add'), [flag], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
      return stdout;
    } catch (e) {
      return (e as { stdout: string }).stdout;
    }
  }

  async function withAgent<T>(fn: (c: AgentClient) => Promise<T>): Promise<T> {
    const c = new AgentClient(sock);
    try {
      return await fn(c);
    } finally {
      c.close();
    }
  }

  test('keys added plain, with a lifetime and with confirm appear in ssh-add -l', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const keys = [
      generatePrivateKey('ed25519', { comment: 'plain' }),
      generatePrivateKey('ecdsa', { bits: 256, comment: 'life' }),
      generatePrivateKey('rsa', { bits: 2048, comment: 'confirm' }),
    ];
    await withAgent(async (c) => {
      await c.removeAll();
      await c.add(keys[0] as (typeof keys)[0]);
      await c.add(keys[1] as (typeof keys)[0], { constraints: { lifetime: 3600 } });
      await c.add(keys[2] as (typeof keys)[0], { constraints: { confirm: true } });
    });
    const listed = await sshAddL();
    for (const k of keys) {
      assert.ok(
        listed.includes(`${k.publicKey.bits} ${k.fingerprint()} ${k.comment} (`),
        `${k.comment} in:\n${listed}`,
      );
    }
  });

  test('an extension constraint the agent does not know makes it refuse the key (AgentError)', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const k = generatePrivateKey('ed25519', { comment: 'ext' });
    await withAgent(async (c) => {
      await assert.rejects(
        c.add(k, { constraints: { extensions: [{ name: 'unknown@secsh.test', data: Buffer.from([0, 0, 0, 0]) }] } }),
        AgentError,
      );
      assert.ok(!(await c.list()).some((i) => i.key.equals(k.publicKey)));
    });
  });

  test('a key added with a 3 s lifetime disappears', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const k = generatePrivateKey('ed25519', { comment: 'short-lived' });
    const t0 = Date.now();
    await withAgent(async (c) => {
      await c.add(k, { constraints: { lifetime: 3 } });
      assert.ok((await c.list()).some((i) => i.key.equals(k.publicKey)));
    });
    const listed = await sshAddL();
    if (Date.now() - t0 < 2000) assert.match(listed, /short-lived/);
    await sleep(Math.max(0, t0 + 4000 - Date.now()));
    assert.doesNotMatch(await sshAddL(), /short-lived/);
  });

  test('a confirm key signs only when SSH_ASKPASS says yes', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const k = generatePrivateKey('ed25519', { comment: 'ask-me' });
    await withAgent(async (c) => {
      await c.add(k, { constraints: { confirm: true } });
      await writeFile(askAnswer, '1');
      await assert.rejects(c.sign(k.publicKey, data, 'ssh-ed25519'), AgentError);
      await writeFile(askAnswer, '0');
      const sig = await c.sign(k.publicKey, data, 'ssh-ed25519');
      assert.ok(k.publicKey.verify(data, sig, 'ssh-ed25519'));
      await c.remove(k.publicKey);
    });
  });

  test('rsa-sha2-256 and rsa-sha2-512 flags give those signatures', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const k = generatePrivateKey('rsa', { bits: 2048, comment: 'rsa-flags' });
    await withAgent(async (c) => {
      await c.add(k);
      for (const alg of ['rsa-sha2-256', 'rsa-sha2-512'] as const) {
        const sig = await c.sign(k.publicKey, data, alg);
        assert.ok(k.publicKey.verify(data, sig, alg), alg);
      }
      await c.remove(k.publicKey);
    });
  });

  test('lock refuses signing and listing; a wrong passphrase does not unlock; unlock restores', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const k = generatePrivateKey('ed25519', { comment: 'locked' });
    await withAgent(async (c) => {
      await c.add(k);
      await c.lock('sesame');
      await assert.rejects(c.sign(k.publicKey, data, 'ssh-ed25519'), AgentError);
      assert.equal((await c.list()).length, 0);
      assert.match(await sshAddL(), /no identities/);
      await assert.rejects(c.unlock('wrong'), AgentError);
      await c.unlock('sesame');
      const sig = await c.sign(k.publicKey, data, 'ssh-ed25519');
      assert.ok(k.publicKey.verify(data, sig, 'ssh-ed25519'));
      await c.remove(k.publicKey);
    });
  });

  test('remove takes one key, removeAll the rest; removing a missing key is an AgentError', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    const a = generatePrivateKey('ed25519', { comment: 'rm-a' });
    const b = generatePrivateKey('ed25519', { comment: 'rm-b' });
    await withAgent(async (c) => {
      await c.removeAll();
      await c.add(a);
      await c.add(b);
      await c.remove(a.publicKey);
      const l = await sshAddL();
      assert.doesNotMatch(l, /rm-a/);
      assert.match(l, /rm-b/);
      await assert.rejects(c.remove(a.publicKey), AgentError);
      await c.removeAll();
    });
    assert.match(await sshAddL(), /The agent has no identities/);
  });

  test('query is refused by an agent without it (OpenSSH 9.2) as an AgentError; a bogus session-bind too', async (t) => {
    if (!requirePeer(t, 'ssh-agent', 'ssh-add')) return;
    await withAgent(async (c) => {
      await assert.rejects(c.query(), AgentError);
      await assert.rejects(
        c.bindSession({
          hostKey: generatePrivateKey('ed25519').publicKey.blob,
          sessionId: Buffer.alloc(32, 1),
          signature: Buffer.alloc(83),
          forwarding: false,
        }),
        AgentError,
      );
      assert.equal(Array.isArray(await c.list()), true, 'the connection still works');
    });
  });

  describe('a certificate added through the agent', () => {
    let sshd: Sshd | undefined;
    const ca = generatePrivateKey('ed25519', { comment: 'ca' });
    const user = generatePrivateKey('ecdsa', { bits: 256, comment: 'cert-user' });

    before(async () => {
      if (!hasPeer('sshd') || !hasPeer('ssh-agent')) return;
      const caPath = join(dir, 'ca.pub');
      await writeFile(caPath, `${ca.publicKey.toString()}\n`);
      sshd = await startSshd({ hostKeyTypes: ['ed25519'], extraConfig: [`TrustedUserCAKeys ${caPath}`] });
    });
    after(async () => {
      await sshd?.stop();
    });

    test('lists as a certificate in ssh-add -l / -L and logs secsh in to an sshd trusting the CA', async (t) => {
      if (!requirePeer(t, 'ssh-agent', 'ssh-add', 'sshd')) return;
      const s = sshd as Sshd;
      const cert = await issueCertificate(ca, user.publicKey, {
        type: 'user',
        keyId: 'cert-id',
        principals: [s.username],
        comment: 'cert-user',
      });
      await withAgent(async (c) => {
        await c.removeAll();
        await c.add(user, { certificate: cert });
        const ids = await c.list();
        assert.equal(ids.length, 1);
        assert.equal(ids[0]?.certificate?.keyId, 'cert-id');
      });
      assert.match(
        await sshAddL(),
        new RegExp(`256 ${user.fingerprint().replace(/[+/]/g, '\\$&')} cert-user \\(ECDSA-CERT\\)`),
      );
      assert.match(await sshAddL('-L'), /^ecdsa-sha2-nistp256-cert-v01@openssh.com AAAA/);
      const client = await Client.connect({
        host: s.host,
        port: s.port,
        username: s.username,
        agent: sock,
        hostKeyFingerprint: (s.hostKeys[0] as { fingerprint: string }).fingerprint,
        authMethods: ['publickey'],
      });
      try {
        assert.equal((await client.exec('echo cert-ok')).stdout.trim(), 'cert-ok');
      } finally {
        await client.close();
      }
      assert.match(s.logs(), /Accepted publickey .*ECDSA-CERT/);
    });
  });
});
