/**
 * `secsh sftp -b` against OpenSSH's sshd with 100 MiB: put and get byte-identical, with the default
 * request size and with -B 16384 -R 4 (small requests, few in flight); -l limiting the rate.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sftpBatchRun, sha256File } from '../e2e/cli-sftp-helpers.js';
import { hasSftp, requireSftp } from '../helpers/openssh-sftp.js';
import { hasPeer } from '../helpers/peers.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

let sshd: Sshd | undefined;
let dir = '';
let src = '';
let want = '';

before(async () => {
  if (!hasPeer('sshd') || !hasPeer('ssh-keygen') || !hasSftp()) return;
  sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
  dir = await mkdtemp(join(tmpdir(), 'secsh-cli-sftp-100m-'));
  src = join(dir, 'big.bin');
  const fh = await open(src, 'w');
  for (let i = 0; i < 100; i++) await fh.write(randomBytes(1 << 20));
  await fh.close();
  want = await sha256File(src);
});

after(async () => {
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

for (const [label, extra] of [
  ['default requests', []],
  ['-B 16384 -R 4', ['-B', '16384', '-R', '4']],
] as const) {
  test(`secsh sftp -b (${label}): 100 MiB put and get are byte-identical`, async (t) => {
    if (!requireSftp(t) || !sshd) return;
    const work = join(dir, label.replace(/\W+/g, '-'));
    await mkdir(join(work, 'back'), { recursive: true });
    const r = await sftpBatchRun(
      'secsh',
      sshd,
      join(dir, 'known_hosts'),
      [`put ${src} ${work}/up.bin`, `get ${work}/up.bin ${work}/back/down.bin`],
      [...extra],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await sha256File(join(work, 'up.bin')), want);
    assert.equal(await sha256File(join(work, 'back', 'down.bin')), want);
  });
}

test('secsh sftp -l limits the rate: 160 KiB at 640 Kbit/s takes about 2 s each way and arrives intact', async (t) => {
  if (!requireSftp(t) || !sshd) return;
  const d = sshd;
  const src = join(dir, 'limited.bin');
  const data = randomBytes(160 * 1024);
  await writeFile(src, data);
  const started = performance.now();
  const r = await sftpBatchRun(
    'secsh',
    d,
    join(dir, 'known_hosts'),
    [`put ${src} ${src}.up`, `get ${src}.up ${src}.down`],
    ['-l', '640'],
  );
  const seconds = (performance.now() - started) / 1000;
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await readFile(`${src}.up`), data);
  assert.deepEqual(await readFile(`${src}.down`), data);
  // 640 Kbit/s is 80 KiB/s: 2 s per direction at least (the connection's own time comes on top).
  assert.ok(seconds >= 3.8, `took ${seconds.toFixed(2)} s`);
});
