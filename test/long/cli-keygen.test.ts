/**
 * `secsh keygen` against OpenSSH's ssh-keygen on the same files: -l, -y, -e, -i and -L print byte for byte
 * what ssh-keygen prints; keys, passphrase and comment changes and certificates made by secsh keygen are read
 * by ssh-keygen (-l, -y -P, -L); a key and certificate from secsh keygen log in to sshd with OpenSSH's ssh.
 * (-A, -k, -Q and the terminal prompts are proved in test/long/cli-keygen-extras.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { binPath, hasPeer, requirePeer } from '../helpers/peers.js';
import { SoftwareAuthenticator } from '../helpers/sk-authenticator.js';
import { openSshArgs, startSshd } from '../helpers/sshd.js';
import { both, openssh, type Run, secsh } from '../interop/cli-keygen-helpers.js';

const exec = promisify(execFile);

function ok(r: Run, what: string): string {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

describe('secsh keygen against ssh-keygen', { concurrency: false }, () => {
  let dir = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secsh-keygen-'));
    if (!hasPeer('ssh-keygen')) return;
    const make = (args: string[]) => openssh(dir, ['-q', ...args]).then((r) => ok(r, args.join(' ')));
    await Promise.all([
      make(['-t', 'ed25519', '-N', '', '-C', 'ed key', '-f', 'ed']),
      make(['-t', 'ecdsa', '-b', '384', '-N', 'pw', '-C', 'ec key', '-f', 'ec']),
      make(['-t', 'rsa', '-b', '2048', '-N', '', '-C', 'rsa key', '-f', 'rsa']),
      make(['-t', 'ecdsa', '-N', '', '-m', 'PEM', '-f', 'ecpem']),
      make(['-t', 'ed25519', '-N', '', '-C', 'the CA', '-f', 'ca']),
    ]);
    ok(
      await openssh(
        dir,
        ['-q', '-s', 'ca', '-I', 'cert id', '-n', 'alice,bob', '-z', '9', '-V', '20200101:20300101'].concat([
          '-O',
          'force-command=/bin/true',
          '-O',
          'critical:x-crit=val',
          '-O',
          'extension:x-ext',
          'ed.pub',
        ]),
      ),
      'ssh-keygen -s',
    );
    const ed = (await readFile(join(dir, 'ed.pub'), 'utf8')).trim();
    const ec = (await readFile(join(dir, 'ec.pub'), 'utf8')).trim();
    await writeFile(
      join(dir, 'authorized_keys'),
      `# keys\n${ed}\ncommand="echo \\"a b\\"",no-pty ${ec}\nrestrict ${ed.split(' ').slice(0, 2).join(' ')}\nnot a key\n`,
    );
    await writeFile(
      join(dir, 'known_hosts'),
      `host1,10.0.0.1 ${ed}\n[host2]:2222 ${ec}\n@cert-authority *.example ${ed}\n`,
    );
    // a security-key file as ssh-keygen -t ecdsa-sk writes it (the secret stays on the token)
    const token = new SoftwareAuthenticator('ecdsa', { comment: 'token key' });
    await writeFile(join(dir, 'sk'), token.privateKeyFile(), { mode: 0o600 });
    await writeFile(join(dir, 'ed.rfc'), ok(await openssh(dir, ['-e', '-f', 'ed.pub']), '-e'));
    await writeFile(join(dir, 'ec.spki'), ok(await openssh(dir, ['-e', '-m', 'PKCS8', '-f', 'ec.pub']), '-e'));
    await writeFile(join(dir, 'rsa.pkcs1'), ok(await openssh(dir, ['-e', '-m', 'PEM', '-f', 'rsa.pub']), '-e'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('-l, -r, -y, -e, -i and -L print what ssh-keygen prints, byte for byte, with the same exit status', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const cases = [
      ['-lv', '-E', 'md5', '-f', 'ec'],
      ['-r', 'h.example', '-g', '-f', 'rsa'],
      ['-l', '-f', 'authorized_keys'],
      ['-lv', '-f', 'known_hosts'],
      ['-l', '-f', 'ed-cert.pub'],
      ['-y', '-P', 'pw', '-f', 'ec'],
      ['-y', '-f', 'ecpem'],
      ['-y', '-f', 'sk'],
      ['-l', '-f', 'sk'],
      ['-e', '-m', 'PKCS8', '-f', 'rsa.pub'],
      ['-e', '-m', 'PEM', '-f', 'rsa'],
      ['-i', '-f', 'ed.rfc'],
      ['-i', '-m', 'PKCS8', '-f', 'ec.spki'],
      ['-i', '-m', 'PEM', '-f', 'rsa.pkcs1'],
      ['-L', '-f', 'ed-cert.pub'],
      ['-l', '-f', 'missing'],
    ];
    for (let i = 0; i < cases.length; i += 3) {
      const batch = cases.slice(i, i + 3);
      const runs = await Promise.all(batch.map((args) => both(dir, args)));
      batch.forEach((args, j) => {
        const { ours, theirs } = runs[j] as Awaited<ReturnType<typeof both>>;
        assert.equal(ours.stdout, theirs.stdout, `stdout of ${args.join(' ')}`);
        assert.equal(ours.code, theirs.code, `exit status of ${args.join(' ')}: ${ours.stderr}`);
      });
    }
    // RFC 4716 export names the user and host in its comment, which both compute alike
    const { ours, theirs } = await both(dir, ['-e', '-f', 'ed.pub']);
    assert.equal(ours.stdout, theirs.stdout);
    assert.match(ours.stdout, /^---- BEGIN SSH2 PUBLIC KEY ----\nComment: "256-bit ED25519, converted by /);
  });

  test("generating: ssh-keygen's messages and randomart; ssh-keygen reads the key, its passphrase and the .pub", async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const r = await secsh(dir, ['-t', 'ed25519', '-f', 'gen_ed', '-N', 'secret pass', '-C', 'gen comment', '-a', '8']);
    const out = ok(r, 'secsh keygen -t ed25519');
    const pub = (await readFile(join(dir, 'gen_ed.pub'), 'utf8')).trim();
    const fp = ok(await openssh(dir, ['-l', '-f', 'gen_ed.pub']), 'ssh-keygen -l').split(' ')[1] as string;
    const art = ok(await openssh(dir, ['-lv', '-f', 'gen_ed.pub']), 'ssh-keygen -lv')
      .split('\n')
      .slice(1)
      .join('\n');
    assert.equal(
      out,
      'Generating public/private ed25519 key pair.\nYour identification has been saved in gen_ed\n' +
        `Your public key has been saved in gen_ed.pub\nThe key fingerprint is:\n${fp} gen comment\n` +
        `The key's randomart image is:\n${art}`,
    );
    assert.equal((await stat(join(dir, 'gen_ed'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'gen_ed.pub'))).mode & 0o777, 0o644);
    assert.equal(ok(await openssh(dir, ['-y', '-P', 'secret pass', '-f', 'gen_ed']), 'ssh-keygen -y'), `${pub}\n`);
    assert.equal((await openssh(dir, ['-y', '-P', 'wrong', '-f', 'gen_ed'])).code, 255);

    const q = await secsh(dir, ['-q', '-t', 'ecdsa', '-b', '521', '-m', 'PEM', '-N', '', '-f', 'gen_ec']);
    assert.equal(ok(q, 'secsh keygen -q -m PEM'), '');
    assert.match(await readFile(join(dir, 'gen_ec'), 'utf8'), /^-----BEGIN EC PRIVATE KEY-----\n/);
    const ecPub = (await readFile(join(dir, 'gen_ec.pub'), 'utf8')).trim();
    assert.equal(
      ok(await openssh(dir, ['-y', '-f', 'gen_ec']), 'ssh-keygen -y PEM'),
      `${ecPub.split(' ').slice(0, 2).join(' ')}\n`,
    );
    assert.match(ok(await openssh(dir, ['-l', '-f', 'gen_ec.pub']), '-l'), /^521 SHA256:\S+ \S+@\S+ \(ECDSA\)\n$/);

    const no = await secsh(dir, ['-t', 'ed25519', '-N', '', '-f', 'gen_ec'], 'n\n');
    assert.equal(no.code, 1);
    assert.equal(no.stdout, 'Generating public/private ed25519 key pair.\ngen_ec already exists.\nOverwrite (y/n)? ');
    assert.match(await readFile(join(dir, 'gen_ec'), 'utf8'), /EC PRIVATE KEY/, 'the key was not overwritten');
    const bad = await secsh(dir, ['-t', 'ecdsa', '-b', '1000', '-f', 'x']);
    assert.equal(bad.code, 255);
    assert.equal(bad.stderr, 'Invalid ECDSA key length: valid lengths are 256, 384 or 521 bits\n');
  });

  test('-p changes the passphrase and -c the comment of a key ssh-keygen then reads with them', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    ok(await openssh(dir, ['-q', '-t', 'ed25519', '-N', 'old', '-C', 'before', '-f', 'chg']), 'ssh-keygen');
    const wrong = await secsh(dir, ['-p', '-P', 'nope', '-N', 'new', '-f', 'chg']);
    assert.equal(wrong.code, 255);
    assert.equal(wrong.stderr, 'Failed to load key chg: incorrect passphrase supplied to decrypt private key\n');
    const p = await secsh(dir, ['-p', '-P', 'old', '-N', 'new', '-f', 'chg']);
    assert.equal(
      ok(p, '-p'),
      "Key has comment 'before'\nYour identification has been saved with the new passphrase.\n",
    );
    assert.equal((await openssh(dir, ['-y', '-P', 'old', '-f', 'chg'])).code, 255);
    const c = await secsh(dir, ['-c', '-P', 'new', '-C', 'after', '-f', 'chg']);
    assert.equal(ok(c, '-c'), "Old comment: before\nComment 'after' applied\n");
    assert.match(ok(await openssh(dir, ['-y', '-P', 'new', '-f', 'chg']), '-y'), / after\n$/);
    assert.match(await readFile(join(dir, 'chg.pub'), 'utf8'), /^ssh-ed25519 \S+ after\n$/);
  });

  test("certificates: secsh keygen -s writes what ssh-keygen -L shows as secsh -L does, with ssh-keygen's message", async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    ok(await openssh(dir, ['-q', '-t', 'ecdsa', '-N', '', '-C', 'user key', '-f', 'certme']), 'ssh-keygen');
    const s = await secsh(dir, [
      '-s',
      'ca',
      '-I',
      'user@example',
      '-n',
      'alice,bob',
      '-z',
      '42',
      '-V',
      '20200101000000:20300101000000',
      '-O',
      'no-pty',
      '-O',
      'source-address=10.0.0.0/8',
      '-O',
      'critical:x-crit=v',
      '-O',
      'extension:x-ext',
      'certme.pub',
    ]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(
      s.stderr,
      'Signed user key certme-cert.pub: id "user@example" serial 42 for alice,bob valid from 2020-01-01T00:00:00 to 2030-01-01T00:00:00\n',
    );
    const { ours, theirs } = await both(dir, ['-L', '-f', 'certme-cert.pub']);
    assert.equal(theirs.code, 0, theirs.stderr);
    assert.equal(ours.stdout, theirs.stdout);
    assert.match(theirs.stdout, /Signing CA: ED25519 \S+ \(using ssh-ed25519\)\n/);
    assert.match(theirs.stdout, /Critical Options: \n {16}source-address 10\.0\.0\.0\/8\n {16}x-crit UNKNOWN OPTION: /);
    assert.match(theirs.stdout, /Extensions: \n {16}permit-X11-forwarding\n {16}permit-agent-forwarding\n/);
    assert.doesNotMatch(theirs.stdout, /permit-pty/);

    const bad = await both(dir, ['-q', '-s', 'ca', '-I', 'x', '-O', 'source-address=10.0.0.1/8', 'certme.pub']);
    assert.equal(bad.theirs.code, 255, 'ssh-keygen refuses a network with host bits set');
    assert.equal(bad.ours.code, 255);
    assert.equal(bad.ours.stderr, 'Invalid source-address list\n');

    const h = await secsh(dir, ['-q', '-s', 'ca', '-h', '-I', 'host', '-n', 'h.example', 'rsa.pub']);
    assert.equal(h.code, 0, h.stderr);
    const hl = ok(await openssh(dir, ['-L', '-f', 'rsa-cert.pub']), 'ssh-keygen -L host');
    assert.match(hl, /Type: ssh-rsa-cert-v01@openssh\.com host certificate\n/);
    assert.match(
      hl,
      /Valid: forever\n {8}Principals: \n {16}h\.example\n {8}Critical Options: \(none\)\n {8}Extensions: \(none\)\n$/,
    );
  });

  test('a key and a user certificate made by secsh keygen log in to sshd with OpenSSH ssh', async (t) => {
    if (!requirePeer(t, 'ssh-keygen', 'sshd', 'ssh')) return;
    ok(await secsh(dir, ['-q', '-t', 'ed25519', '-N', '', '-C', 'secsh ca', '-f', 'login_ca']), 'ca');
    ok(await secsh(dir, ['-q', '-t', 'ecdsa', '-N', '', '-C', 'secsh user', '-f', 'login_user']), 'user');
    const sshd = await startSshd({
      hostKeyTypes: ['ed25519'],
      extraConfig: [`TrustedUserCAKeys ${join(dir, 'login_ca.pub')}`],
    });
    try {
      const s = await secsh(dir, [
        '-q',
        '-s',
        'login_ca',
        '-I',
        'login',
        '-n',
        sshd.username,
        '-V',
        '+1h',
        'login_user.pub',
      ]);
      assert.equal(s.code, 0, s.stderr);
      const key = { privatePath: join(dir, 'login_user'), publicLine: '', fingerprint: '' };
      const args = [...openSshArgs(sshd, key), '-o', `CertificateFile=${join(dir, 'login_user-cert.pub')}`];
      const { stdout } = await exec(binPath('ssh'), [...args, sshd.host, 'echo logged-in']);
      assert.equal(stdout, 'logged-in\n');
      assert.match(sshd.logs(), /Accepted publickey for \S+ from 127\.0\.0\.1 .*ECDSA-CERT SHA256:\S+ ID login/);
    } finally {
      await sshd.stop();
    }
  });
});
