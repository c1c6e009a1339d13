/** known_hosts lookups and removals against the real `ssh-keygen -F` / `ssh-keygen -R`. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hashKnownHostsName, KnownHosts, knownHostsName } from '../../src/config/known-hosts.js';
import { parsePublicKey } from '../../src/keys/index.js';
import { binPath, requirePeer } from '../helpers/peers.js';

function keygen(args: string[]): { stdout: string; status: number | null } {
  const r = spawnSync(binPath('ssh-keygen'), args, { encoding: 'utf8', timeout: 20_000 });
  return { stdout: r.stdout, status: r.status };
}

test('known_hosts: find() agrees with ssh-keygen -F on a mixed corpus', (t) => {
  if (!requirePeer(t, 'ssh-keygen')) return;
  const dir = mkdtempSync(join(tmpdir(), 'secsh-kh-'));
  try {
    keygen(['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k1')]);
    keygen(['-q', '-t', 'ecdsa', '-N', '', '-f', join(dir, 'k2')]);
    const k1 = readFileSync(join(dir, 'k1.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const k2 = readFileSync(join(dir, 'k2.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    // A line hashed by ssh-keygen -H itself.
    writeFileSync(join(dir, 'tohash'), `host6.example.com ${k1}\n[host6.example.com]:2600 ${k2}\n`);
    assert.equal(keygen(['-H', '-f', join(dir, 'tohash')]).status, 0);
    const hashedByKeygen = readFileSync(join(dir, 'tohash'), 'utf8').trim().split('\n');
    assert.ok(hashedByKeygen.every((l) => l.startsWith('|1|')));
    const lines = [
      '# a comment',
      `host1.example.com ${k1}`,
      `*.example.org,!bad.example.org ${k2}`,
      '',
      `[host2.example.com]:2222 ${k1}`,
      `@revoked revoked.example.net ${k2}`,
      `@cert-authority *.ca.example ${k1}`,
      'garbage line here',
      `${hashKnownHostsName('host3.example.com')} ${k1}`,
      `${hashKnownHostsName('[host4.example.com]:2200')} ${k2}`,
      `h?st5.example.com ${k2}`,
      `192.168.1.?,10.0.0.* ${k1}`,
      `[*.wild.example]:2022 ${k1}`,
      ...hashedByKeygen,
      `@revoked *.example.org ${k1}`,
      `multi1,multi2,[multi3]:23 ${k2}`,
      `!neg.only ${k1}`,
      // ssh-keygen -F also prints a line whose key does not parse (host7); lookups ignore it, as ssh does.
      'host7 ssh-ed25519 AAAA!!!',
      'host8 ssh-ed25519',
      `HOSTUPPER.Example.com ${k1} with a comment`,
      `\thost9.example.com   ${k2}   spaced`,
      `@unknown-marker host10 ${k1}`,
    ];
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const kh = new KnownHosts(readFileSync(file, 'utf8'));
    const queries: [string, number][] = [
      ['host1.example.com', 22],
      ['host1.example.com', 2222],
      ['a.example.org', 22],
      ['bad.example.org', 22],
      ['x.y.example.org', 22],
      ['host2.example.com', 2222],
      ['host2.example.com', 22],
      ['revoked.example.net', 22],
      ['x.ca.example', 22],
      ['host3.example.com', 22],
      ['host3.example.com', 2200],
      ['host4.example.com', 2200],
      ['host4.example.com', 22],
      ['host5.example.com', 22],
      ['hoost5.example.com', 22],
      ['192.168.1.7', 22],
      ['192.168.1.77', 22],
      ['10.0.0.250', 22],
      ['a.wild.example', 2022],
      ['a.wild.example', 22],
      ['host6.example.com', 22],
      ['host6.example.com', 2600],
      ['multi2', 22],
      ['multi3', 23],
      ['multi3', 22],
      ['neg.only', 22],
      ['hostupper.example.com', 22],
      ['host9.example.com', 22],
      ['host10', 22],
      ['nothing.here', 22],
    ];
    for (const [host, port] of queries) {
      const name = knownHostsName(host, port);
      const out = keygen(['-F', name, '-f', file]).stdout;
      const theirs = [...out.matchAll(/^# Host \S+ found: line (\d+) ?(REVOKED|CA)?/gm)].map(
        (m) => `${m[1]}${m[2] ? ` ${m[2]}` : ''}`,
      );
      const ours = kh
        .find(host, port)
        .map((e) => `${e.line}${e.marker === 'revoked' ? ' REVOKED' : e.marker === 'cert-authority' ? ' CA' : ''}`);
      assert.deepEqual(ours, theirs, `lookup of ${name}`);
    }
    // Lookups by key on the same file.
    const pk1 = parsePublicKey(readFileSync(join(dir, 'k1.pub'), 'utf8'));
    const pk2 = parsePublicKey(readFileSync(join(dir, 'k2.pub'), 'utf8'));
    assert.equal(kh.lookup('host1.example.com', 22, pk1).status, 'match');
    assert.equal(kh.lookup('host6.example.com', 2600, pk2).status, 'match');
    assert.equal(kh.lookup('a.example.org', 22, pk2).status, 'match');
    assert.equal(kh.lookup('a.example.org', 22, pk1).status, 'revoked');
    assert.equal(kh.lookup('revoked.example.net', 22, pk2).status, 'revoked');
    assert.equal(kh.lookup('x.ca.example', 22, pk1).status, 'unknown');
    assert.equal(kh.lookup('nothing.here', 22, pk1).status, 'unknown');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('known_hosts: remove() keeps what ssh-keygen -R keeps; added hashed entries are found by ssh-keygen -F', async (t) => {
  if (!requirePeer(t, 'ssh-keygen')) return;
  const dir = mkdtempSync(join(tmpdir(), 'secsh-kh-'));
  try {
    keygen(['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k1')]);
    const k1 = readFileSync(join(dir, 'k1.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const text = [
      '# keep me',
      `host1 ${k1}`,
      `${hashKnownHostsName('host1')} ${k1}`,
      `host2,host1 ${k1}`,
      `@revoked host1 ${k1}`,
      `@cert-authority host1 ${k1}`,
      `[host1]:2200 ${k1}`,
      `host3 ${k1}`,
    ].join('\n');
    const a = join(dir, 'a');
    writeFileSync(a, `${text}\n`);
    keygen(['-R', 'host1', '-f', a]);
    const kh = new KnownHosts(`${text}\n`);
    assert.equal(kh.remove('host1', 22), 3);
    assert.equal(kh.toString(), readFileSync(a, 'utf8'));

    const pk = parsePublicKey(readFileSync(join(dir, 'k1.pub'), 'utf8'));
    const b = join(dir, 'b');
    const added = await KnownHosts.load(b);
    added.add('new.example.com', 22, pk, { hash: true });
    added.add('new.example.com', 2022, pk, { hash: true });
    added.add('plain.example.com', 22, pk);
    await added.save();
    const out = keygen(['-F', '[new.example.com]:2022', '-f', b]).stdout;
    assert.match(out, /found: line 2/);
    assert.match(keygen(['-F', 'new.example.com', '-f', b]).stdout, /found: line 1/);
    assert.match(keygen(['-F', 'plain.example.com', '-f', b]).stdout, /found: line 3/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
