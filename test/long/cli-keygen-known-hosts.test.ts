/**
 * `secsh keygen -F/-R/-H` against ssh-keygen on copies of the same known_hosts: -F prints the same lines
 * (plain, -l, hashed names, [host]:port, markers) and exit status; -R leaves the same file and the same
 * `.old`; -H hashes so that ssh-keygen -F finds the same keys on the same lines in both results.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import { both, openssh, type Run, secsh } from '../interop/cli-keygen-helpers.js';

function ok(r: Run, what: string): string {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

const HOSTS = ['HOST1', '[host2]:2222', 'host3', 'hashed.example', 'x.example'];

describe('secsh keygen -F/-R/-H against ssh-keygen', { concurrency: false }, () => {
  let dir = '';
  let known = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secsh-keygen-kh-'));
    if (!hasPeer('ssh-keygen')) return;
    const make = (args: string[]) => openssh(dir, ['-q', ...args]).then((r) => ok(r, args.join(' ')));
    await Promise.all([make(['-t', 'ed25519', '-N', '', '-f', 'k1']), make(['-t', 'ecdsa', '-N', '', '-f', 'k2'])]);
    const k1 = (await readFile(join(dir, 'k1.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
    const k2 = (await readFile(join(dir, 'k2.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
    await writeFile(join(dir, 'one'), `hashed.example ${k2}\n`);
    ok(await openssh(dir, ['-H', '-f', 'one']), 'hash one');
    const hashed = (await readFile(join(dir, 'one'), 'utf8')).trim();
    known =
      `# a comment\nhost1,alias.example,10.0.0.1 ${k1}\n[host2]:2222 ${k2} with a comment\n\n` +
      `*.wild.example ${k1}\n@cert-authority *.example ${k2}\n@revoked host1 ${k2}\n${hashed}\nhost3 ${k2}\nhost1 ${k2}\n`;
    await writeFile(join(dir, 'known_hosts'), known);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('-F, -lF and -HF print what ssh-keygen prints and exit 1 when the host is not there', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const cases = HOSTS.map((h) => ['-F', h]).concat([
      ['-l', '-F', 'host1'],
      ['-lv', '-F', '[host2]:2222'],
    ]);
    for (let i = 0; i < cases.length; i += 3) {
      const batch = cases.slice(i, i + 3);
      const runs = await Promise.all(batch.map((args) => both(dir, [...args, '-f', 'known_hosts'])));
      batch.forEach((args, j) => {
        const { ours, theirs } = runs[j] as Awaited<ReturnType<typeof both>>;
        assert.equal(ours.stdout, theirs.stdout, args.join(' '));
        assert.equal(ours.code, theirs.code, args.join(' '));
      });
    }
    // -HF hashes the names it prints (random salts): the same lines with a hashed host field
    const { ours, theirs } = await both(dir, ['-H', '-F', 'host1', '-f', 'known_hosts']);
    const unsalted = (s: string) => s.replace(/^\|1\|[^ ]+ /gm, '|1|… ');
    assert.equal(unsalted(ours.stdout), unsalted(theirs.stdout));
    assert.match(ours.stdout, /^\|1\|/m);
  });

  async function copies(name: string): Promise<[string, string]> {
    const a = join(dir, `${name}-ssh-keygen`);
    const b = join(dir, `${name}-secsh`);
    await Promise.all([mkdir(a), mkdir(b)]);
    await Promise.all([writeFile(join(a, 'known_hosts'), known), writeFile(join(b, 'known_hosts'), known)]);
    await Promise.all([chmod(join(a, 'known_hosts'), 0o640), chmod(join(b, 'known_hosts'), 0o640)]);
    return [a, b];
  }

  test('-R removes the same lines, keeps the same .old and mode, and says the same as ssh-keygen', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const hosts = ['host1', 'hashed.example', 'absent.example'];
    const dirs = await Promise.all(hosts.map((h) => copies(`R-${h.replace(/\W/g, '_')}`)));
    const runs = await Promise.all(
      hosts.map((host, i) => {
        const [a, b] = dirs[i] as [string, string];
        return Promise.all([
          openssh(a, ['-R', host, '-f', 'known_hosts']),
          secsh(b, ['-R', host, '-f', 'known_hosts']),
        ]);
      }),
    );
    for (const [i, host] of hosts.entries()) {
      const [a, b] = dirs[i] as [string, string];
      const [theirs, ours] = runs[i] as [Run, Run];
      assert.equal(ours.code, theirs.code);
      assert.equal(ours.stdout, theirs.stdout, host);
      assert.equal(ours.stderr, theirs.stderr.replace(/\r\n/g, '\n'), host);
      assert.equal(await readFile(join(b, 'known_hosts'), 'utf8'), await readFile(join(a, 'known_hosts'), 'utf8'));
      assert.equal(
        (await stat(join(b, 'known_hosts'))).mode & 0o777,
        (await stat(join(a, 'known_hosts'))).mode & 0o777,
      );
      const old = async (d: string) => readFile(join(d, 'known_hosts.old'), 'utf8').catch(() => 'none');
      assert.equal(await old(b), await old(a));
    }
  });

  test('-H hashes every plain name: ssh-keygen -F finds the same keys on the same lines in both files', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const [a, b] = await copies('H');
    const [theirs, ours] = await Promise.all([
      openssh(a, ['-H', '-f', 'known_hosts']),
      secsh(b, ['-H', '-f', 'known_hosts']),
    ]);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout, theirs.stdout);
    assert.equal(ours.stderr, theirs.stderr.replace(/\r\n/g, '\n'));
    assert.equal(await readFile(join(b, 'known_hosts.old'), 'utf8'), known);
    const hashedA = await readFile(join(a, 'known_hosts'), 'utf8');
    const hashedB = await readFile(join(b, 'known_hosts'), 'utf8');
    assert.equal(hashedB.split('\n').length, hashedA.split('\n').length);
    assert.doesNotMatch(hashedB, /^(host1|host3|\[host2\])[ ,:]/m, 'plain names are hashed (marked lines are kept)');
    for (const host of HOSTS) {
      const [fa, fb] = await Promise.all([
        openssh(a, ['-F', host, '-f', 'known_hosts']),
        openssh(b, ['-F', host, '-f', 'known_hosts']),
      ]);
      const unsalted = (s: string) => s.replace(/^\|1\|[^ ]+ /gm, '|1|… ');
      assert.equal(unsalted(fb.stdout), unsalted(fa.stdout), host);
      assert.equal(fb.code, fa.code, host);
    }
  });
});
