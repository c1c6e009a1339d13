/**
 * `secsh keygen`'s slower or interactive proofs against ssh-keygen: key generation's file, passphrase and
 * overwrite prompts answered through a real pty; -A making host keys under a prefix; -Q reading a KRL from
 * ssh-keygen -k; -k (and -k -u) writing KRLs that ssh-keygen -Q reads as its own.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import { both, MAIN, openssh, type Run, secsh, TSX } from '../interop/cli-keygen-helpers.js';

function ok(r: Run, what: string): string {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

describe('secsh keygen prompts, -A, -k and -Q against ssh-keygen', { concurrency: false }, () => {
  let dir = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secsh-keygen-x-'));
    if (!hasPeer('ssh-keygen')) return;
    const make = (args: string[]) => openssh(dir, ['-q', ...args]).then((r) => ok(r, args.join(' ')));
    await Promise.all([
      make(['-t', 'ed25519', '-N', '', '-C', 'ed key', '-f', 'ed']),
      make(['-t', 'ecdsa', '-N', '', '-C', 'ec key', '-f', 'ec']),
      make(['-t', 'ecdsa', '-N', '', '-C', 'other key', '-f', 'other']),
      make(['-t', 'ecdsa', '-N', '', '-m', 'PEM', '-f', 'ecpem']),
      make(['-t', 'ed25519', '-N', '', '-C', 'the CA', '-f', 'ca']),
    ]);
    ok(await openssh(dir, ['-q', '-s', 'ca', '-I', 'cert id', '-z', '9', 'ed.pub']), 'ssh-keygen -s');
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('-A makes the missing host keys under a prefix as ssh-keygen -A; -Q checks keys against a KRL from ssh-keygen -k', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const etc = join(dir, 'prefix', 'etc', 'ssh');
    await mkdir(etc, { recursive: true });
    await copyFile(join(dir, 'ec'), join(etc, 'ssh_host_rsa_key')); // present: kept, no RSA key generated
    const a = await secsh(dir, ['-A', '-f', 'prefix']);
    assert.equal(ok(a, '-A'), 'secsh keygen: generating new host keys: ECDSA ED25519 \n');
    for (const [name, bits, label] of [
      ['ecdsa', 256, 'ECDSA'],
      ['ed25519', 256, 'ED25519'],
    ] as const) {
      const l = ok(await openssh(dir, ['-l', '-f', join(etc, `ssh_host_${name}_key`)]), `-l ${name}`);
      assert.match(l, new RegExp(`^${bits} SHA256:\\S+ \\S+@\\S+ \\(${label}\\)\\n$`));
      assert.equal((await stat(join(etc, `ssh_host_${name}_key`))).mode & 0o777, 0o600);
    }
    assert.equal(ok(await secsh(dir, ['-A', '-f', 'prefix']), '-A again'), '', 'nothing left to make');

    ok(await openssh(dir, ['-k', '-f', 'revoked.krl', 'ed.pub']), 'ssh-keygen -k');
    const { ours, theirs } = await both(dir, ['-Q', '-f', 'revoked.krl', 'ec.pub', 'ed.pub', 'ed-cert.pub']);
    assert.equal(theirs.code, 1, theirs.stderr);
    assert.equal(ours.stdout, theirs.stdout);
    assert.equal(ours.code, 1);
    assert.match(ours.stdout, /^ec\.pub \(ec key\): ok\ned\.pub \(ed key\): REVOKED\n/);
  });

  test('-k writes (and -u extends) a KRL from keys and serial:/id:/hash:/sha1: specs that ssh-keygen -Q reads as its own', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    ok(await openssh(dir, ['-q', '-t', 'ed25519', '-N', '', '-C', 'keep', '-f', 'kept']), 'kept key');
    ok(await openssh(dir, ['-q', '-s', 'ca', '-I', 'by-id', '-z', '0', 'ec.pub']), 'ec cert by id');
    const hash = ok(await openssh(dir, ['-l', '-f', 'ecpem.pub']), '-l').split(' ')[1];
    await writeFile(
      join(dir, 'krl.spec'),
      `# revoked\nserial: 9\nserial: 100-200 # a range\nid: by-id\nhash: ${hash}\nsha1: ${(await readFile(join(dir, 'other.pub'), 'utf8')).trim()}\n`,
    );
    const args = ['-k', '-f', 'secsh.krl', '-s', 'ca.pub', '-z', '3', 'krl.spec'];
    const made = await secsh(dir, args);
    assert.equal(ok(made, '-k'), 'Revoking from krl.spec\n');
    ok(await openssh(dir, ['-k', '-f', 'openssh.krl', '-s', 'ca.pub', '-z', '3', 'krl.spec']), 'ssh-keygen -k');
    const files = ['ed-cert.pub', 'ec-cert.pub', 'ecpem.pub', 'other.pub', 'kept.pub', 'ed.pub'];
    const check = (krl: string) => Promise.all(files.map((f) => openssh(dir, ['-Q', '-f', krl, f])));
    const [ours, theirs] = await Promise.all([check('secsh.krl'), check('openssh.krl')]);
    assert.deepEqual(
      ours.map((r) => r.stdout),
      theirs.map((r) => r.stdout),
    );
    assert.deepEqual(
      ours.map((r) => r.code),
      [1, 1, 1, 1, 0, 0],
    );
    assert.match(ok(await openssh(dir, ['-Q', '-l', '-f', 'secsh.krl']), '-Q -l'), /^# KRL version 3\n/);
    // -u keeps what the KRL revoked and adds to it
    ok(await secsh(dir, ['-q', '-k', '-u', '-f', 'secsh.krl', '-z', '4', 'kept.pub']), '-k -u');
    const after = await openssh(dir, ['-Q', '-f', 'secsh.krl', 'kept.pub', 'other.pub', 'ed-cert.pub', 'ed.pub']);
    assert.equal(
      after.stdout,
      'kept.pub (keep): REVOKED\nother.pub (other key): REVOKED\ned-cert.pub (ed key): REVOKED\ned.pub (ed key): ok\n',
    );
    assert.match(ok(await openssh(dir, ['-Q', '-l', '-f', 'secsh.krl']), '-Q -l'), /^# KRL version 4\n/);
  });

  test('generation asks for the file, the passphrase twice (no echo) and to overwrite, on a real terminal', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const home = join(dir, 'home');
    await mkdir(home);
    const run = (args: string[], answers: string[]) =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        const cmd = [process.execPath, '--import', TSX, MAIN, 'keygen', ...args].map((a) => `'${a}'`).join(' ');
        const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: dir, env: { ...process.env, HOME: home } });
        let output = '';
        let seen = 0;
        child.stdout.on('data', async (d: Buffer) => {
          output += d.toString();
          const prompts = output.match(/(\): |passphrase\): |again: |\(y\/n\)\? )/g)?.length ?? 0;
          while (seen < prompts && seen < answers.length) {
            const a = answers[seen++] as string;
            await sleep(50);
            child.stdin.write(`${a}\r`);
          }
        });
        const timer = setTimeout(() => child.kill(), 20_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, output });
        });
      });
    const first = await run(['-t', 'ed25519', '-C', 'pty'], ['', 'one', 'two', 'tty secret', 'tty secret']);
    assert.equal(first.code, 0, first.output);
    assert.match(first.output, new RegExp(`Enter file in which to save the key \\(${home}/\\.ssh/id_ed25519\\): `));
    assert.match(first.output, /Created directory '.*\/home\/\.ssh'\./);
    assert.match(first.output, /Passphrases do not match\. {2}Try again\./);
    assert.doesNotMatch(first.output, /tty secret|one|two/, 'passphrases are not echoed');
    const key = join(home, '.ssh', 'id_ed25519');
    assert.match(ok(await openssh(dir, ['-y', '-P', 'tty secret', '-f', key]), '-y'), /^ssh-ed25519 \S+ pty\n$/);
    await copyFile(key, join(dir, 'pty-before'));
    const again = await run(['-t', 'ed25519', '-N', '', '-f', key], ['n']);
    assert.equal(again.code, 1, again.output);
    assert.match(again.output, /already exists\.\r?\nOverwrite \(y\/n\)\? /);
    assert.deepEqual(await readFile(key), await readFile(join(dir, 'pty-before')));
  });
});
