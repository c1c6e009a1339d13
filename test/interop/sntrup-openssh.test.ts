/**
 * sntrup761x25519-sha512 against OpenSSH: the secsh client with its default algorithms against
 * OpenSSH 9.2's sshd (no ML-KEM) negotiates sntrup761 under the name sshd's KEXINIT offers — Debian 12's
 * 9.2p1 offers both names (it backported the IETF one), upstream 9.0–9.8 only `@openssh.com`, which a
 * second sshd configured with upstream's default list checks; OpenSSH 9.2's `ssh` (forced and by
 * default) and OpenSSH 10's `ssh` (both names, forced) run an exec on the secsh server.
 */

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { decodeKexInit } from '../../src/transport/kexinit.js';
import { connectSshd, sharedSshd } from '../helpers/interop.js';
import { hasPeer, openssh10Path, requirePeer } from '../helpers/peers.js';
import { kexAlgorithms, secshServerForSsh } from '../helpers/secsh-server-for-ssh.js';
import { sshQuery } from '../helpers/sshd.js';

const OPENSSH_NAME = 'sntrup761x25519-sha512@openssh.com';
const IETF_NAME = 'sntrup761x25519-sha512';
const shared = sharedSshd({ hostKeyTypes: ['ed25519'] });
/** sshd with upstream OpenSSH 9.2's default KexAlgorithms (Ubuntu 22.04/24.04 and RHEL 9 offer the same). */
const upstream92 = sharedSshd({
  hostKeyTypes: ['ed25519'],
  extraConfig: [
    `KexAlgorithms ${OPENSSH_NAME},curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256`,
  ],
});

/** The key exchange methods in a server's KEXINIT, read from a raw connection before any key exchange. */
function serverKexMethods(port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let bannerDone = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no KEXINIT from the server'));
    }, 10_000);
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.write('SSH-2.0-secsh_probe\r\n');
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!bannerDone) {
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        buf = buf.subarray(nl + 1);
        bannerDone = true;
      }
      if (buf.length < 5) return;
      const length = buf.readUInt32BE(0);
      if (buf.length < 4 + length) return;
      const padding = buf[4] as number;
      const payload = buf.subarray(5, 4 + length - padding);
      clearTimeout(timer);
      socket.destroy();
      try {
        resolve(decodeKexInit(payload).kex);
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** Connects with secsh's default algorithms; checks the kex chosen, an exec, a rekey and another exec. */
async function defaultClientNegotiates(sshd: Awaited<ReturnType<typeof shared.get>>, expected: string): Promise<void> {
  const client = await connectSshd(sshd);
  try {
    assert.equal(client.algorithms.kex, expected);
    assert.equal((await client.exec('echo sntrup-ok')).stdout, 'sntrup-ok\n');
    await client.rekey();
    assert.equal(client.algorithms.kex, expected);
    assert.equal((await client.exec('echo after-rekey')).stdout, 'after-rekey\n');
  } finally {
    await client.close();
  }
}

test('secsh client, default algorithms, against OpenSSH 9.2 sshd: negotiates the sntrup761 name its KEXINIT offers', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const offered = await serverKexMethods(sshd.port);
  const sntrup = offered.filter((n) => n.startsWith('sntrup761x25519-sha512'));
  t.diagnostic(
    `sshd offers ${sntrup.join(', ')}${offered.includes('mlkem768x25519-sha256') ? ' and mlkem768x25519-sha256' : ''}`,
  );
  assert.ok(sntrup.includes(OPENSSH_NAME), `sshd offers no ${OPENSSH_NAME}: ${offered.join(',')}`);
  assert.ok(!offered.includes('mlkem768x25519-sha256'), 'OpenSSH 9.2 has no ML-KEM');
  // secsh prefers the IETF name; Debian 12's 9.2p1 has it too (a backport), upstream 9.2 only the other.
  await defaultClientNegotiates(sshd, sntrup.includes(IETF_NAME) ? IETF_NAME : OPENSSH_NAME);
});

test('secsh client, default algorithms, against sshd with upstream OpenSSH 9.0-9.8 KexAlgorithms: sntrup761x25519-sha512@openssh.com', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await upstream92.get();
  const offered = await serverKexMethods(sshd.port);
  assert.deepEqual(
    offered.filter((n) => n.startsWith('sntrup')),
    [OPENSSH_NAME],
  );
  await defaultClientNegotiates(sshd, OPENSSH_NAME);
});

const target = secshServerForSsh('secsh-sntrup-interop-', () => hasPeer('ssh') || hasPeer('openssh10-ssh'));

function ssh(extra: string[], command: string, bin?: string) {
  return target.ssh(extra, command, bin ? { bin } : {});
}

for (const name of [OPENSSH_NAME, IETF_NAME]) {
  test(`OpenSSH 9.2 ssh with KexAlgorithms=${name} runs an exec on the secsh server`, async (t) => {
    if (!requirePeer(t, 'ssh')) return;
    if (name === IETF_NAME && !(await sshQuery('kex')).includes(name)) {
      t.skip(`this ssh has no ${name} (upstream 9.2 has only the @openssh.com name; Debian 12's backports it)`);
      return;
    }
    const r = await ssh(['-o', `KexAlgorithms=${name}`], 'echo sntrup92-ok; echo "$((6 * 7))"');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'sntrup92-ok\n42\n');
    assert.match(r.stderr, /OpenSSH_9\.2/);
    assert.deepEqual(kexAlgorithms(r.stderr), [name]);
    assert.match(r.stderr, /Host '\[127\.0\.0\.1\]:\d+' is known and matches the ED25519 host key/);
  });
}

test('OpenSSH 9.2 ssh with its default KexAlgorithms negotiates sntrup761 (the name its own proposal lists first) with the secsh server', async (t) => {
  if (!requirePeer(t, 'ssh')) return;
  const r = await ssh([], 'echo default92-ok');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'default92-ok\n');
  const proposal = /local client KEXINIT proposal\s+debug2: KEX algorithms: (\S+)/.exec(r.stderr)?.[1] ?? '';
  const first = proposal.split(',').find((n) => n.startsWith('sntrup761x25519-sha512'));
  assert.ok(first, `ssh proposes no sntrup761: ${proposal}`);
  t.diagnostic(`ssh proposes ${first} first of the sntrup761 names`);
  assert.deepEqual(kexAlgorithms(r.stderr), [first]);
});

for (const name of [IETF_NAME, OPENSSH_NAME]) {
  test(`OpenSSH 10 ssh with KexAlgorithms=${name} runs an exec on the secsh server`, async (t) => {
    if (!requirePeer(t, 'openssh10-ssh')) return;
    const r = await ssh(['-o', `KexAlgorithms=${name}`], 'echo sntrup10-ok', openssh10Path());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'sntrup10-ok\n');
    assert.match(r.stderr, /debug1: OpenSSH_10\./);
    assert.deepEqual(kexAlgorithms(r.stderr), [name]);
  });
}
