/**
 * The legacy scp protocol against OpenSSH's own scp in its remote roles, with no ssh in between:
 * `scp -t dir` (sink) fed by secsh's source, and `scp -f paths` (source) read by secsh's sink, over
 * the child's pipes. Files of 0 B, 1 B, 64 KiB and 1 MiB arrive byte-identical; -r trees and -p
 * modes and times survive both ways; errors are per file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { after, before, test } from 'node:test';
import { localScpFs, scpSink, scpSource } from '../../src/scp/index.js';

const SCP = '/usr/bin/scp';
let dir: string;
const SIZES = [0, 1, 64 * 1024, 1024 * 1024];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-scp-proto-'));
  await mkdir(join(dir, 'src/tree/sub'), { recursive: true });
  for (const n of SIZES) await writeFile(join(dir, 'src', `f${n}`), randomBytes(n), { mode: 0o640 });
  await writeFile(join(dir, 'src/tree/a'), 'a-data');
  await writeFile(join(dir, 'src/tree/sub/b'), randomBytes(70_000), { mode: 0o600 });
  await utimes(join(dir, 'src/f1'), 1_000_000_000, 1_100_000_000);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function openssh(args: string[]): { stream: Duplex; exit: Promise<number | null>; stderr: () => string } {
  const child = spawn(SCP, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exit = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  // stdout and stdin as one Duplex: the child's stdout ending is the stream's end, end() closes stdin.
  const stream = new Duplex({
    read() {
      child.stdout.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      child.stdin.write(chunk, cb);
    },
    final(cb) {
      child.stdin.end(cb);
    },
  });
  child.stdin.on('error', () => {});
  child.stdout.on('data', (c: Buffer) => {
    if (!stream.push(c)) child.stdout.pause();
  });
  child.stdout.on('end', () => stream.push(null));
  return { stream, exit, stderr: () => err };
}

async function same(a: string, b: string): Promise<void> {
  assert.deepEqual(await readFile(b), await readFile(a), `${b} differs from ${a}`);
}

test('secsh source → OpenSSH scp -t: files of 0 B to 1 MiB byte-identical, -p keeps mode and times', async () => {
  const out = join(dir, 'up1');
  await mkdir(out);
  const peer = openssh(['-p', '-d', '-t', out]);
  const paths = SIZES.map((n) => join(dir, 'src', `f${n}`));
  const r = await scpSource(peer.stream, paths, localScpFs, { preserve: true });
  peer.stream.end();
  assert.equal(await peer.exit, 0, peer.stderr());
  assert.deepEqual(r, { errors: 0, files: 4, bytes: 1 + 64 * 1024 + 1024 * 1024 });
  const st = await stat(join(out, 'f1'));
  assert.equal(st.mode & 0o777, 0o640);
  assert.equal(Math.floor(st.mtimeMs / 1000), 1_100_000_000);
  assert.equal(Math.floor(st.atimeMs / 1000), 1_000_000_000);
  for (const n of SIZES) await same(join(dir, 'src', `f${n}`), join(out, `f${n}`));
});

test('secsh source → OpenSSH scp -r -t: a tree arrives; a missing file is reported and the rest go on', async () => {
  const out = join(dir, 'up2');
  await mkdir(out);
  const peer = openssh(['-r', '-d', '-t', out]);
  const errors: string[] = [];
  const r = await scpSource(peer.stream, [join(dir, 'nope'), join(dir, 'src/tree')], localScpFs, {
    recursive: true,
    onError: (m) => errors.push(m),
  });
  peer.stream.end();
  assert.equal(await peer.exit, 1, 'scp -t counts the error it was sent');
  assert.deepEqual(errors, [`${join(dir, 'nope')}: No such file or directory`]);
  assert.equal(r.files, 2);
  await same(join(dir, 'src/tree/a'), join(out, 'tree/a'));
  await same(join(dir, 'src/tree/sub/b'), join(out, 'tree/sub/b'));
});

test('OpenSSH scp -f → secsh sink: files byte-identical, -p modes and times, missing source reported', async () => {
  const out = join(dir, 'down1');
  await mkdir(out);
  const peer = openssh(['-p', '-f', join(dir, 'missing'), ...SIZES.map((n) => join(dir, 'src', `f${n}`))]);
  const errors: string[] = [];
  const r = await scpSink(peer.stream, out, localScpFs, {
    preserve: true,
    targetIsDirectory: true,
    onError: (m, o) => errors.push(`${o}:${m}`),
  });
  assert.equal(await peer.exit, 1);
  assert.deepEqual(errors, [`peer:scp: ${join(dir, 'missing')}: No such file or directory`]);
  assert.equal(r.files, 4);
  for (const n of SIZES) await same(join(dir, 'src', `f${n}`), join(out, `f${n}`));
  const st = await stat(join(out, 'f1'));
  assert.equal(st.mode & 0o777, 0o640);
  assert.equal(Math.floor(st.mtimeMs / 1000), 1_100_000_000);
});

test('OpenSSH scp -r -f → secsh sink: a tree, into a new directory name', async () => {
  const out = join(dir, 'down2');
  const peer = openssh(['-r', '-f', join(dir, 'src/tree')]);
  const r = await scpSink(peer.stream, out, localScpFs, { recursive: true });
  assert.equal(await peer.exit, 0, peer.stderr());
  assert.equal(r.errors, 0);
  assert.deepEqual((await readdir(out)).sort(), ['a', 'sub']);
  await same(join(dir, 'src/tree/sub/b'), join(out, 'sub/b'));
});

test('a directory without -r is refused by the secsh sink as a protocol error (typed)', async () => {
  const peer = openssh(['-r', '-f', join(dir, 'src/tree')]);
  await assert.rejects(scpSink(peer.stream, join(dir, 'down3'), localScpFs, {}), {
    code: 'ERR_SSH_SCP',
    kind: 'protocol',
    message: /received directory without -r/,
  });
  await peer.exit;
});
