/**
 * copy-data (the OpenSSH extension) between two handles of one file must not copy the server's own
 * output forever. The secsh SFTP client sends the request itself (SftpFileHandle.copyTo). Whatever
 * the length asked for, a copy is bounded by the source's size when it starts; ranges that overlap
 * within one file — found by what the file is (device and inode), not by which handle or path names
 * it — are refused, as OpenSSH's sftp-server refuses copies within one file.
 */
import assert from 'node:assert/strict';
import { link, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FX } from '../../src/sftp/constants.js';
import { SftpError } from '../../src/sftp/errors.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { cappedBackend } from '../helpers/sftp-capped.js';
import { sftpPair } from './sftp/pair.js';

const MiB = 1024 * 1024;
/** The length of the attack: 2^53 − 1, the largest the server takes. */
const HUGE = Number.MAX_SAFE_INTEGER;
/** Bytes a session may write here; a runaway copy hits it (and fails the test) instead of filling the disk. */
const CAP = 16 * MiB;

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'secsh-copy-data-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Rejects within `ms` if `p` has not settled (a copy that never replies). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no reply within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** The SFTP status a copy ended with (FX.OK when it resolved). */
async function copyStatus(p: Promise<void>): Promise<number> {
  try {
    await within(p, 10_000, 'copy-data');
    return FX.OK;
  } catch (e) {
    if (e instanceof SftpError) return e.status;
    throw e;
  }
}

type Client = Awaited<ReturnType<typeof sftpPair>>['client'];

/** Runs `body` with a client of a capped LocalFsBackend on `root`; ends the session whatever happens. */
async function withSession(body: (s: Client) => Promise<void>): Promise<void> {
  const { client, clientStream } = await sftpPair(cappedBackend(new LocalFsBackend(root), CAP));
  try {
    await body(client);
  } finally {
    client.end();
    clientStream.destroy();
  }
}

test('two handles of one file, length 2^53−1, write offset at the end: copies what was there, then EOF', async () => {
  const original = Buffer.alloc(MiB, 0x5a);
  await writeFile(join(root, 'a.bin'), original);
  await withSession(async (s) => {
    const src = await s.open('/a.bin', 'r');
    const dst = await s.open('/a.bin', 'r+');
    // Fewer bytes than asked exist: EOF, as OpenSSH answers a copy that ran out of source.
    assert.equal(await copyStatus(src.copyTo(dst, 0, HUGE, MiB)), FX.EOF);
    assert.equal((await stat(join(root, 'a.bin'))).size, 2 * MiB, 'the copy stopped at the size it started with');
    assert.deepEqual(await readFile(join(root, 'a.bin')), Buffer.concat([original, original]));
    await src.close();
    await dst.close();
  });
});

test('the same through a hard link (two paths, one inode): bounded too', async () => {
  await writeFile(join(root, 'b.bin'), Buffer.alloc(MiB, 1));
  await link(join(root, 'b.bin'), join(root, 'b-link.bin'));
  await withSession(async (s) => {
    const src = await s.open('/b.bin', 'r');
    const dst = await s.open('/b-link.bin', 'r+');
    assert.equal(await copyStatus(src.copyTo(dst, 0, HUGE, MiB)), FX.EOF);
    assert.equal((await stat(join(root, 'b.bin'))).size, 2 * MiB);
    await src.close();
    await dst.close();
  });
});

test('overlapping ranges within one file are refused, whichever handles and paths name it', async () => {
  const content = Buffer.from(Array.from({ length: 4096 }, (_, i) => i & 0xff));
  await writeFile(join(root, 'c.bin'), content);
  await link(join(root, 'c.bin'), join(root, 'c-link.bin'));
  await withSession(async (s) => {
    const a = await s.open('/c.bin', 'r+');
    const b = await s.open('/c.bin', 'r+');
    const viaLink = await s.open('/c-link.bin', 'r+');
    const cases: Array<[string, Promise<void>]> = [
      ['one handle', a.copyTo(a, 0, 2048, 1024)],
      ['two handles, one path', a.copyTo(b, 1024, 2048, 0)],
      ['through a hard link', a.copyTo(viaLink, 0, 0, 100)],
      ['to end of file, write inside the source range', b.copyTo(a, 0, 0, 4095)],
      ['huge length, write after the source start', a.copyTo(b, 0, HUGE, 10)],
    ];
    for (const [what, p] of cases) assert.equal(await copyStatus(p), FX.FAILURE, what);
    assert.deepEqual(await readFile(join(root, 'c.bin')), content, 'nothing was written');
    for (const h of [a, b, viaLink]) await h.close();
  });
});

test('copies between two files, and disjoint ranges within one file, still work', async () => {
  const content = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));
  await writeFile(join(root, 'src.bin'), content);
  await writeFile(join(root, 'dst.bin'), Buffer.alloc(0));
  await withSession(async (s) => {
    const src = await s.open('/src.bin', 'r');
    const dst = await s.open('/dst.bin', 'r+');
    assert.equal(await copyStatus(src.copyTo(dst, 0, 0, 0)), FX.OK);
    assert.deepEqual(await readFile(join(root, 'dst.bin')), content);
    // A length past the end copies what exists and answers EOF.
    assert.equal(await copyStatus(src.copyTo(dst, 2000, 5000, 3000)), FX.EOF);
    assert.deepEqual(await readFile(join(root, 'dst.bin')), Buffer.concat([content, content.subarray(2000)]));
    // Within one file: [0, 1000) to 2000 does not overlap.
    const same = await s.open('/src.bin', 'r+');
    assert.equal(await copyStatus(src.copyTo(same, 0, 1000, 2000)), FX.OK);
    const after = await readFile(join(root, 'src.bin'));
    assert.deepEqual(after.subarray(2000, 3000), content.subarray(0, 1000));
    for (const h of [src, dst, same]) await h.close();
  });
});
