/**
 * `secsh keygen -Y` against `ssh-keygen -Y`: signatures made by either verify in the other (files, stdin, a
 * certificate under a cert-authority line), and verify, check-novalidate and find-principals print what
 * ssh-keygen prints and exit as it does for good, tampered, wrongly named and unknown signers.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { binPath, hasPeer, requirePeer } from '../helpers/peers.js';
import { startAgent } from '../helpers/sshd.js';
import { both, openssh, type Run, secsh } from '../interop/cli-keygen-helpers.js';

function ok(r: Run, what: string): string {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

describe('secsh keygen -Y against ssh-keygen -Y', { concurrency: false }, () => {
  let dir = '';
  const data = 'the data that was signed\n';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secsh-keygen-y-'));
    if (!hasPeer('ssh-keygen')) return;
    const make = (args: string[]) => openssh(dir, ['-q', ...args]).then((r) => ok(r, args.join(' ')));
    await Promise.all([
      make(['-t', 'ed25519', '-N', '', '-C', 'alice key', '-f', 'alice']),
      make(['-t', 'ecdsa', '-N', 'pw', '-C', 'bob key', '-f', 'bob']),
      make(['-t', 'ed25519', '-N', '', '-C', 'ca', '-f', 'ca']),
      make(['-t', 'ed25519', '-N', '', '-C', 'carol key', '-f', 'carol']),
    ]);
    ok(await openssh(dir, ['-q', '-s', 'ca', '-I', 'carol', '-n', 'carol@example', 'carol.pub']), 'cert');
    const line = async (f: string) => (await readFile(join(dir, f), 'utf8')).split(' ').slice(0, 2).join(' ');
    await writeFile(
      join(dir, 'allowed_signers'),
      `alice@example ${await line('alice.pub')}\n` +
        `bob@example namespaces="git" ${await line('bob.pub')}\n` +
        `*@example cert-authority ${await line('ca.pub')}\n`,
    );
    await writeFile(join(dir, 'msg'), data);
    await writeFile(join(dir, 'msg2'), data);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a file signed by secsh verifies in ssh-keygen, and one signed by ssh-keygen in secsh, with the same output', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const s = await secsh(dir, ['-Y', 'sign', '-f', 'alice', '-n', 'file', 'msg']);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(s.stderr, 'Signing file msg\nWrite signature to msg.sig\n');
    const o = await openssh(dir, ['-Y', 'sign', '-f', 'bob', '-P', 'pw', '-n', 'git', 'msg2']);
    assert.equal(o.code, 0, o.stderr);
    for (const [sig, who, ns] of [
      ['msg.sig', 'alice@example', 'file'],
      ['msg2.sig', 'bob@example', 'git'],
    ] as const) {
      const args = ['-Y', 'verify', '-f', 'allowed_signers', '-I', who, '-n', ns, '-s', sig];
      const { ours, theirs } = await both(dir, args, data);
      assert.equal(theirs.code, 0, theirs.stderr);
      assert.match(theirs.stdout, new RegExp(`^Good "${ns}" signature for ${who} with (ED25519|ECDSA) key SHA256:`));
      assert.equal(ours.stdout, theirs.stdout);
      assert.equal(ours.code, 0);
      if (sig !== 'msg.sig') continue;
      const check = await both(dir, ['-Y', 'check-novalidate', '-n', ns, '-s', sig], data);
      assert.equal(check.ours.stdout, check.theirs.stdout);
      assert.equal(check.ours.code, 0);
      const find = await both(dir, ['-Y', 'find-principals', '-s', sig, '-f', 'allowed_signers']);
      assert.equal(find.ours.stdout, `${who}\n`);
      assert.equal(find.ours.stdout, find.theirs.stdout);
    }
  });

  test('signing stdin (a secsh key with a passphrase, and a certificate) verifies in ssh-keygen', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const s = await secsh(dir, ['-Y', 'sign', '-f', 'bob', '-P', 'pw', '-n', 'git'], data);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /^-----BEGIN SSH SIGNATURE-----\n[\s\S]+\n-----END SSH SIGNATURE-----\n$/);
    await writeFile(join(dir, 'stdin.sig'), s.stdout);
    const v = await openssh(
      dir,
      ['-Y', 'verify', '-f', 'allowed_signers', '-I', 'bob@example', '-n', 'git', '-s', 'stdin.sig'],
      data,
    );
    assert.equal(v.code, 0, v.stdout + v.stderr);

    const c = await secsh(dir, ['-Y', 'sign', '-f', 'carol-cert.pub', '-n', 'file'], data);
    assert.equal(c.code, 0, c.stderr);
    await writeFile(join(dir, 'cert.sig'), c.stdout);
    const args = ['-Y', 'verify', '-f', 'allowed_signers', '-I', 'carol@example', '-n', 'file', '-s', 'cert.sig'];
    const { ours, theirs } = await both(dir, args, data);
    assert.equal(theirs.code, 0, theirs.stdout + theirs.stderr);
    assert.match(theirs.stdout, /^Good "file" signature for carol@example with ED25519-CERT key SHA256:/);
    assert.equal(ours.stdout, theirs.stdout);
  });

  test('-U signs with the key in ssh-agent (only a public key file given), -s -U certifies with a CA held there', async (t) => {
    if (!requirePeer(t, 'ssh-keygen', 'ssh-agent', 'ssh-add')) return;
    const agent = await startAgent();
    try {
      const env = { SSH_AUTH_SOCK: agent.sock };
      await promisify(execFile)(binPath('ssh-add'), ['-q', join(dir, 'alice'), join(dir, 'ca')], { env });
      const s = await secsh(dir, ['-Y', 'sign', '-U', '-f', 'alice.pub', '-n', 'file'], data, env);
      assert.equal(s.code, 0, s.stderr);
      await writeFile(join(dir, 'agent.sig'), s.stdout);
      const args = ['-Y', 'verify', '-f', 'allowed_signers', '-I', 'alice@example', '-n', 'file', '-s', 'agent.sig'];
      assert.equal((await openssh(dir, args, data)).code, 0);
      const none = await secsh(dir, ['-Y', 'sign', '-U', '-f', 'bob.pub', '-n', 'file'], data, env);
      assert.equal(none.code, 255);
      assert.equal(none.stderr, "Couldn't find key in agent\n");
      const c = await secsh(
        dir,
        ['-q', '-s', 'ca.pub', '-U', '-I', 'by agent', '-n', 'bob@example', 'bob.pub'],
        '',
        env,
      );
      assert.equal(c.code, 0, c.stderr);
      assert.match(ok(await openssh(dir, ['-L', '-f', 'bob-cert.pub']), '-L'), /Key ID: "by agent"/);
    } finally {
      await agent.stop();
    }
  });

  test('tampered data, another principal, a namespace the line refuses, an unreadable revocation list and an unknown key fail as in ssh-keygen (255)', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const cases: [string[], string][] = [
      [['-Y', 'verify', '-f', 'allowed_signers', '-I', 'alice@example', '-n', 'file', '-s', 'msg.sig'], 'tampered\n'],
      [['-Y', 'verify', '-f', 'allowed_signers', '-I', 'bob@example', '-n', 'file', '-s', 'msg.sig'], data],
      [['-Y', 'verify', '-f', 'allowed_signers', '-I', 'alice@example', '-n', 'git', '-s', 'msg.sig'], data],
      // a revoked-keys file that cannot be read refuses, it does not revoke nothing
      [
        [
          '-Y',
          'verify',
          '-f',
          'allowed_signers',
          '-I',
          'alice@example',
          '-n',
          'file',
          '-s',
          'msg.sig',
          '-r',
          'absent.krl',
        ],
        data,
      ],
    ];
    for (const [args, input] of cases) {
      const { ours, theirs } = await both(dir, args, input);
      assert.equal(theirs.code, 255, args.join(' '));
      assert.equal(ours.code, 255, args.join(' '));
      assert.equal(ours.stdout, 'Could not verify signature.\n');
      assert.equal(ours.stdout, theirs.stdout);
    }
    await writeFile(join(dir, 'nobody'), '');
    const none = await both(dir, ['-Y', 'find-principals', '-s', 'msg.sig', '-f', 'nobody']);
    assert.equal(none.theirs.code, 255);
    assert.equal(none.ours.code, 255);
    assert.equal(none.ours.stderr, 'No principal matched.\n');
    const missing = await both(dir, ['-Y', 'sign', '-f', 'alice', 'msg']);
    assert.equal(missing.ours.code, missing.theirs.code);
    // (OpenSSH's log lines end in CRLF on stderr; secsh keygen writes plain lines)
    assert.equal(missing.ours.stderr, missing.theirs.stderr.replace(/\r\n/g, '\n'));
  });
});
