/**
 * OpenSSH 10's `ssh` (Debian trixie, fetched by scripts/fetch-openssh10.sh) against the in-process secsh
 * server with the post-quantum hybrid mlkem768x25519-sha256: forced, chosen by default, and through
 * client-initiated rekeys.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasPeer, openssh10Path, requirePeer } from '../helpers/peers.js';
import { kexAlgorithms, secshServerForSsh } from '../helpers/secsh-server-for-ssh.js';

const KEX = 'mlkem768x25519-sha256';
const target = secshServerForSsh('secsh-mlkem-interop-', () => hasPeer('openssh10-ssh'));

/** OpenSSH 10's ssh with -vv, strict host key checking against our known_hosts, and no user config. */
function ssh(extra: string[], command: string, port?: number) {
  return target.ssh(extra, command, { bin: openssh10Path(), ...(port === undefined ? {} : { port }) });
}

test('OpenSSH 10 ssh with KexAlgorithms=mlkem768x25519-sha256 runs an exec on the secsh server', async (t) => {
  if (!requirePeer(t, 'openssh10-ssh')) return;
  const r = await ssh(['-o', `KexAlgorithms=${KEX}`], 'echo mlkem-ok; echo "$((6 * 7))"');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'mlkem-ok\n42\n');
  assert.match(r.stderr, /debug1: OpenSSH_10\./);
  assert.deepEqual(kexAlgorithms(r.stderr), [KEX]);
  assert.match(r.stderr, /Host '\[127\.0\.0\.1\]:\d+' is known and matches the ED25519 host key/);
});

test('OpenSSH 10 ssh with its default KexAlgorithms negotiates mlkem768x25519-sha256 with the secsh server', async (t) => {
  if (!requirePeer(t, 'openssh10-ssh')) return;
  const r = await ssh([], 'echo default-ok');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'default-ok\n');
  assert.deepEqual(kexAlgorithms(r.stderr), [KEX]);
});

test('OpenSSH 10 ssh rekeys with mlkem768x25519-sha256 (RekeyLimit) while 3 MB flow from the secsh server', async (t) => {
  if (!requirePeer(t, 'openssh10-ssh')) return;
  const r = await ssh(['-o', `KexAlgorithms=${KEX}`, '-o', 'RekeyLimit=1M'], 'head -c 3000000 /dev/zero | tr "\\0" x');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.length, 3_000_000);
  assert.match(r.stdout, /^x+$/);
  const kexes = kexAlgorithms(r.stderr);
  assert.ok(kexes.length >= 2, `expected rekeys, saw ${kexes.length} key exchange(s)`);
  for (const k of kexes) assert.equal(k, KEX);
});

for (const [removed, expected] of [
  [KEX, 'sntrup761x25519-sha512'],
  [`${KEX},sntrup761x25519-sha512*`, 'curve25519-sha256'],
] as const) {
  test(`a secsh server with ${removed} removed: OpenSSH 10 falls back to ${expected}`, async (t) => {
    if (!requirePeer(t, 'openssh10-ssh')) return;
    const classicPort = await target.another({ kex: `-${removed}` });
    const r = await ssh([], 'echo classic-ok', classicPort);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'classic-ok\n');
    assert.deepEqual(kexAlgorithms(r.stderr), [expected]);
  });
}
