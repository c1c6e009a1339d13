/**
 * The ssh2-sftp-client parity operations of the secsh SFTP client against OpenSSH's sftp server:
 * internal-sftp behind a private sshd for the shared scenarios, and the sftp-server program itself
 * (with some requests denied by -P) for failures part-way through a recursive removal.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { after, before, type TestContext, test } from 'node:test';
import { FX } from '../../src/sftp/constants.js';
import { SftpError } from '../../src/sftp/errors.js';
import { SftpClient, SftpFileHandle } from '../../src/sftp/index.js';
import { openSshdSftp, type SshdSftp } from '../helpers/openssh-sftp.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import {
  appendScenario,
  copyScenario,
  dirProgressScenario,
  existsScenario,
  honoursAppend,
  type ParityEnv,
  rmdirScenario,
  rmScenario,
} from '../helpers/sftp-parity.js';

let sshd: SshdSftp | undefined;
let env: ParityEnv | undefined;

before(async () => {
  if (!hasPeer('sshd') || !hasPeer('ssh-keygen')) return;
  sshd = await openSshdSftp('secsh-sftp-parity-');
  const { sftp, dir } = sshd;
  const outside = join(dir, 'outside');
  await mkdir(outside);
  env = { sftp, remote: (rel) => `${dir}/${rel}`, local: (rel) => join(dir, rel), outside, rawNames: true };
});

after(async () => {
  await sshd?.close();
});

function ready(t: TestContext): ParityEnv | undefined {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return undefined;
  return env;
}

test('OpenSSH sftp-server: rm removes files, symlinks (not followed) and trees with bounded concurrency', async (t) => {
  const e = ready(t);
  if (e) await rmScenario(t, e);
});

test('OpenSSH sftp-server: rmdir plain and recursive', async (t) => {
  const e = ready(t);
  if (e) await rmdirScenario(e);
});

test('OpenSSH sftp-server: append (SSH_FXF_APPEND honoured) of text, bytes and streams', async (t) => {
  const e = ready(t);
  if (e) await appendScenario(e);
});

test('OpenSSH sftp-server honours SSH_FXF_APPEND: a write at offset 0 lands at the end', async (t) => {
  const e = ready(t);
  if (e) assert.equal(await honoursAppend(e), true);
});

test('OpenSSH sftp-server: copy by copy-data, and by read+write', async (t) => {
  const e = ready(t);
  if (!e) return;
  assert.ok(e.sftp.has('copy-data'), 'OpenSSH 9.x offers copy-data');
  await copyScenario(t, e);
});

test('OpenSSH sftp-server: exists with and without the type', async (t) => {
  const e = ready(t);
  if (e) await existsScenario(e);
});

test('OpenSSH sftp-server: uploadDir / downloadDir progress in bytes across files', async (t) => {
  const e = ready(t);
  if (e) await dirProgressScenario(e);
});

const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

/** OpenSSH's sftp-server run directly over pipes with `args`; a secsh client on it. */
async function sftpServer(t: TestContext, args: string[]): Promise<SftpClient | undefined> {
  try {
    accessSync(SFTP_SERVER, constants.X_OK);
  } catch {
    if (process.env.CI === 'true') throw new Error(`${SFTP_SERVER} missing — required when CI=true`);
    console.warn(`\n${'!'.repeat(72)}\n!! SKIPPING "${t.name}": ${SFTP_SERVER} missing\n${'!'.repeat(72)}\n`);
    t.skip('sftp-server missing');
    return undefined;
  }
  const child = spawn(SFTP_SERVER, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => {
    child.kill();
  });
  const sftp = await SftpClient.fromChannel(Duplex.from({ readable: child.stdout, writable: child.stdin }));
  t.after(() => sftp.end());
  return sftp;
}

test('OpenSSH sftp-server with REMOVE denied: rm recursive fails naming the file, after the requests sent', async (t) => {
  const sftp = await sftpServer(t, ['-P', 'remove']);
  if (!sftp) return;
  const dir = await mkdtemp(join(tmpdir(), 'secsh-sftp-parity-denied-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'tree/sub'), { recursive: true });
  for (let i = 0; i < 10; i++) await writeFile(join(dir, `tree/sub/f${i}`), 'x');
  await assert.rejects(sftp.rm(join(dir, 'tree'), { recursive: true, concurrency: 4 }), (e: unknown) => {
    assert.ok(e instanceof SftpError, String(e));
    assert.equal(e.status, FX.PERMISSION_DENIED);
    assert.match(e.path ?? '', new RegExp(`^${dir}/tree/sub/f\\d$`));
    assert.equal(sftp.inFlight, 0);
    return true;
  });
  assert.ok(existsSync(join(dir, 'tree/sub/f0')));
  assert.equal(sftp.stats.openHandles, 0);
  // The session is still usable, and force does not hide a failure other than a missing path.
  await assert.rejects(sftp.rm(join(dir, 'tree/sub/f0'), { force: true }), SftpError);
  assert.equal(await sftp.exists(join(dir, 'tree/sub'), { type: true }), 'd');
});

test('OpenSSH sftp-server with copy-data denied (-P): not offered, so copy reads and writes', async (t) => {
  const sftp = await sftpServer(t, ['-P', 'copy-data']);
  if (!sftp) return;
  const dir = await mkdtemp(join(tmpdir(), 'secsh-sftp-parity-nocopy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const data = randomBytes(700_000);
  await writeFile(join(dir, 'src'), data);
  assert.equal(sftp.has('copy-data'), false);
  const copyTo = t.mock.method(SftpFileHandle.prototype, 'copyTo');
  assert.equal(await sftp.copy(join(dir, 'src'), join(dir, 'dst')), data.length);
  assert.ok((await readFile(join(dir, 'dst'))).equals(data));
  assert.equal(copyTo.mock.callCount(), 0);
});
