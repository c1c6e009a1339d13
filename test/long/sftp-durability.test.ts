/**
 * Durability: `secsh server` (the CLI, in a child process) is killed with SIGKILL at random points
 * during an upload — every byte the client saw acknowledged is on disk, and `resume` then completes
 * the file exactly; a download killed midway never leaves a file at the destination, and `resume`
 * completes it exactly.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';

const CLI = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../src/cli/main.ts');
let dir = '';
let root = '';
let pwFile = '';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-sftp-durable-'));
  root = join(dir, 'root');
  await mkdir(root);
  pwFile = join(dir, 'pw');
  writeFileSync(pwFile, 'tester:sesame\n', { mode: 0o600 });
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Starts `secsh server` serving `root`; resolves with the child and its port. */
function startCli(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'server', '--port', '0', '--password-file', pwFile, '--sftp-root', root, '--quiet'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`secsh server exited (${code})`)));
  });
}

async function connect(port: number) {
  const c = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'tester',
    password: 'sesame',
    insecureAcceptAnyHostKey: true,
  });
  return { c, s: await c.sftp() };
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGKILL');
  });
}

test('SIGKILL at 20 random points during an upload: acknowledged bytes are on disk; resume completes exactly', async () => {
  const data = randomBytes(24 * 1024 * 1024);
  const src = join(dir, 'up.src');
  writeFileSync(src, data);
  const remote = join(root, 'up.bin');
  let kills = 0;
  let done = false;
  for (let attempt = 0; attempt < 40 && !done; attempt++) {
    const { child, port } = await startCli();
    let acked = -1;
    try {
      const { c, s } = await connect(port);
      const killAt = kills < 20 ? 5 + Math.random() * 60 : undefined;
      const timer = killAt !== undefined ? setTimeout(() => child.kill('SIGKILL'), killAt) : undefined;
      try {
        await s.upload(src, '/up.bin', {
          resume: true,
          concurrency: 16,
          chunkSize: 32768,
          onProgress: (p) => {
            acked = p.transferred;
          },
        });
        done = true;
      } catch (e) {
        assert.ok((e as { code?: string }).code?.startsWith('ERR_SSH'), String(e));
        kills++;
      } finally {
        clearTimeout(timer);
        c.close();
      }
    } finally {
      await killed(child);
    }
    if (!done && acked > 0) {
      const onDisk = readFileSync(remote);
      assert.ok(onDisk.length >= acked, `attempt ${attempt}: ${onDisk.length} bytes on disk, ${acked} acknowledged`);
      assert.ok(
        onDisk.subarray(0, acked).equals(data.subarray(0, acked)),
        `attempt ${attempt}: acknowledged prefix differs`,
      );
    }
  }
  assert.ok(done, 'upload completed');
  assert.ok(kills >= 20, `${kills} kills`);
  assert.equal(sha(readFileSync(remote)), sha(data));
});

test('a download killed midway leaves nothing at the destination; resume completes it exactly', async () => {
  const data = randomBytes(16 * 1024 * 1024);
  writeFileSync(join(root, 'down.bin'), data);
  const dest = join(dir, 'down.out');
  let kills = 0;
  let done = false;
  for (let attempt = 0; attempt < 20 && !done; attempt++) {
    const { child, port } = await startCli();
    try {
      const { c, s } = await connect(port);
      const timer = kills < 3 ? setTimeout(() => child.kill('SIGKILL'), 5 + Math.random() * 40) : undefined;
      try {
        await s.download('/down.bin', dest, { resume: true, concurrency: 8, chunkSize: 32768 });
        done = true;
      } catch {
        kills++;
        assert.equal(existsSync(dest), false, 'no file at the destination after a failed download');
      } finally {
        clearTimeout(timer);
        c.close();
      }
    } finally {
      await killed(child);
    }
  }
  assert.ok(done);
  assert.ok(kills >= 1, `${kills} kills`);
  assert.equal(sha(readFileSync(dest)), sha(data));
  assert.equal(existsSync(`${dest}.sftp-part`), false);
});
