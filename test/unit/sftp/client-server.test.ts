import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FX } from '../../../src/sftp/constants.js';
import { LocalFsBackend } from '../../../src/sftp/local-backend.js';
import { sftpPair, shortReads } from './pair.js';
import { rejectsWith, sandbox } from './sandbox.js';

let base: string;
let root: string;
before(async () => {
  ({ base, root } = await sandbox('secsh-sftp-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('file and directory operations against LocalFsBackend', async () => {
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  assert.equal(s.version, 3);
  assert.ok(s.has('posix-rename@openssh.com') && s.has('limits@openssh.com'));
  assert.equal(s.limits?.maxReadLength, 261120);
  assert.equal(await s.realpath('.'), '/');
  await s.mkdir('/a/b/c', { recursive: true });
  await s.mkdir('/a/b/c', { recursive: true });
  await rejectsWith(s.mkdir('/a'), FX.FAILURE);
  await s.writeFile('/a/f.txt', 'hello world', { mode: 0o600 });
  assert.equal((await s.readFile('/a/f.txt')).toString(), 'hello world');
  const st = await s.stat('/a/f.txt');
  assert.equal(st.size, 11);
  assert.ok(st.isFile() && !st.isDirectory());
  assert.equal((st.mode ?? 0) & 0o777, 0o600);
  await s.chmod('/a/f.txt', 0o640);
  assert.equal((await stat(join(root, 'a/f.txt'))).mode & 0o777, 0o640);
  await s.utimes('/a/f.txt', 1_000_000, new Date(2_000_000_000));
  assert.equal((await s.stat('/a/f.txt')).mtime, 2_000_000);
  const names = (await s.readdir('/a')).map((e) => e.filename).sort();
  assert.deepEqual(names, ['b', 'f.txt']);
  const entry = (await s.readdir('/a')).find((e) => e.filename === 'f.txt');
  assert.match(entry?.longname ?? '', /^-rw-r-----/);
  await s.symlink('f.txt', '/a/link');
  assert.equal(await s.readlink('/a/link'), 'f.txt');
  assert.ok((await s.lstat('/a/link')).isSymbolicLink());
  assert.equal((await s.stat('/a/link')).size, 11);
  await s.link('/a/f.txt', '/a/hard');
  assert.equal((await stat(join(root, 'a/hard'))).nlink, 2);
  await s.writeFile('/a/other', 'other');
  await s.rename('/a/other', '/a/hard'); // posix-rename replaces
  assert.equal(await s.exists('/a/other'), false);
  assert.equal((await s.readFile('/a/hard')).toString(), 'other');
  await s.unlink('/a/hard');
  assert.equal(await s.exists('/a/f.txt'), true);
  await s.unlink('/a/link');
  await rejectsWith(s.stat('/a/nope'), FX.NO_SUCH_FILE, 'ENOENT');
  await rejectsWith(s.rmdir('/a'), FX.FAILURE);
  await s.rmdir('/a/b/c');
  const vfs = await s.statvfs('/');
  assert.ok(vfs.bsize > 0n && vfs.blocks > 0n);
  const fh = await s.open('/a/f.txt', 'r+');
  await fh.write(Buffer.from('HELLO'), 0);
  assert.equal((await fh.read(100, 0)).toString(), 'HELLO world');
  assert.equal((await fh.read(100, 11)).length, 0);
  await fh.truncate(5);
  assert.equal((await fh.stat()).size, 5);
  await fh.sync();
  assert.ok((await fh.statvfs()).bsize > 0n);
  const dst = await s.open('/a/copy', 'w');
  await fh.copyTo(dst);
  await dst.close();
  await fh.close();
  assert.equal(readFileSync(join(root, 'a/copy'), 'utf8'), 'HELLO');
  assert.equal(await s.expandPath('~/a'), '/a');
  assert.equal(await s.homeDirectory('anyone'), '/');
  const ug = await s.usersGroupsById([0, 4_000_000_000], [0]);
  assert.equal(ug.users[0], 'root');
  assert.equal(ug.users[1], '');
  await rejectsWith(s.open('/a/copy', 'wx'), FX.FAILURE);
  s.end();
});

test('sizes around request boundaries round-trip exactly (pipelined)', async () => {
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  for (const n of [0, 1, 32767, 32768, 32769, 262143, 262144, 262145, 3_000_001]) {
    const data = randomBytes(n);
    await s.writeFile(`/sz${n}`, data);
    assert.equal(sha(readFileSync(join(root, `sz${n}`))), sha(data), `write ${n}`);
    assert.equal(sha(await s.readFile(`/sz${n}`)), sha(data), `read ${n}`);
    const local = join(base, `dl${n}`);
    assert.equal(await s.download(`/sz${n}`, local), n);
    assert.equal(sha(readFileSync(local)), sha(data));
    assert.equal(existsSync(`${local}.sftp-part`), false);
    assert.equal(await s.upload(local, `/up${n}`, { atomic: true }), n);
    assert.equal(sha(readFileSync(join(root, `up${n}`))), sha(data));
  }
  s.end();
});

test('random short reads: downloads, readFile and streams stay exact', async () => {
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const { client: s } = await sftpPair(shortReads(new LocalFsBackend(root), rand));
  const data = randomBytes(2_500_000);
  writeFileSync(join(root, 'short.bin'), data);
  const local = join(base, 'short.dl');
  let last = 0;
  await s.download('/short.bin', local, { onProgress: (p) => (last = p.transferred) });
  assert.equal(last, data.length);
  assert.equal(sha(readFileSync(local)), sha(data));
  assert.equal(sha(await s.readFile('/short.bin')), sha(data));
  const parts: Buffer[] = [];
  for await (const c of s.createReadStream('/short.bin', { start: 1000, end: 1_999_999 })) parts.push(c);
  assert.equal(sha(Buffer.concat(parts)), sha(data.subarray(1000, 2_000_000)));
  s.end();
});

test('pipelined reads keep READs going while the consumer holds a chunk, with bounded read-ahead', async () => {
  let served = 0;
  const backend = new LocalFsBackend(root);
  const counting = new Proxy(backend, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function') return v;
      if (prop !== 'open') return v.bind(target);
      return async (...args: Parameters<LocalFsBackend['open']>) => {
        const f = await target.open(...args);
        const read = f.read.bind(f);
        f.read = (off: number, len: number) => {
          served++;
          return read(off, len);
        };
        const readInto = f.readInto?.bind(f);
        if (readInto)
          f.readInto = (target: Buffer, off: number) => {
            served++;
            return readInto(target, off);
          };
        return f;
      };
    },
  });
  const { client: s } = await sftpPair(counting);
  const data = randomBytes(64 * 1024);
  writeFileSync(join(root, 'ahead.bin'), data);
  const fh = await s.open('/ahead.bin', 'r');
  const parts: Buffer[] = [];
  let duringPause = 0;
  for await (const c of fh.readChunks({ chunkSize: 1024, concurrency: 4 })) {
    if (parts.length === 0) {
      const before = served;
      await new Promise((r) => setTimeout(r, 100));
      duringPause = served - before;
    }
    parts.push(c);
  }
  await fh.close();
  // Replies landing while the first chunk is held top the pipeline up (not just the 3 already in
  // flight), but no more than about 2 × concurrency chunks are read ahead of the consumer.
  assert.ok(duringPause > 3, `only ${duringPause} READs served while the consumer was busy`);
  assert.ok(duringPause <= 8, `${duringPause} READs served while the consumer was busy`);
  assert.equal(sha(Buffer.concat(parts)), sha(data));
  s.end();
});

test('createWriteStream keeps writes in flight and finishes after all acks', async () => {
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  const data = randomBytes(1_000_003);
  const ws = s.createWriteStream('/ws.bin');
  for (let i = 0; i < data.length; i += 77_777) ws.write(data.subarray(i, i + 77_777));
  await new Promise<void>((resolve, reject) => ws.end(resolve).on('error', reject));
  assert.equal(sha(readFileSync(join(root, 'ws.bin'))), sha(data));
  s.end();
});

test('resume continues a partial download and upload; a mismatch starts over', async () => {
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  const data = randomBytes(700_000);
  writeFileSync(join(root, 'res.bin'), data);
  const local = join(base, 'res.dl');
  writeFileSync(`${local}.sftp-part`, data.subarray(0, 300_000));
  let first = -1;
  await s.download('/res.bin', local, {
    resume: true,
    onProgress: (p) => {
      if (first < 0) first = p.transferred;
    },
  });
  assert.ok(first > 300_000, 'started after the partial prefix');
  assert.equal(sha(readFileSync(local)), sha(data));
  const bad = Buffer.from(data.subarray(0, 300_000));
  bad.writeUInt8((bad.readUInt8(299_999) + 1) % 256, 299_999);
  writeFileSync(`${local}.sftp-part`, bad);
  await s.download('/res.bin', local, { resume: true });
  assert.equal(sha(readFileSync(local)), sha(data));
  const src = join(base, 'res.src');
  writeFileSync(src, data);
  writeFileSync(join(root, 'res.up'), data.subarray(0, 123_456));
  await s.upload(src, '/res.up', { resume: true, preserve: true });
  assert.equal(sha(readFileSync(join(root, 'res.up'))), sha(data));
  s.end();
});

test('abort leaves no file at the destination', async () => {
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  writeFileSync(join(root, 'big.bin'), randomBytes(4_000_000));
  const ac = new AbortController();
  const local = join(base, 'abort.dl');
  const p = s.download('/big.bin', local, {
    signal: ac.signal,
    concurrency: 2,
    chunkSize: 32768,
    onProgress: (x) => {
      if (x.transferred > 100_000) ac.abort();
    },
  });
  await assert.rejects(p, { code: 'ERR_SSH_ABORTED' });
  assert.equal(existsSync(local), false);
  assert.equal(existsSync(`${local}.sftp-part`), false);
  s.end();
});

test('path confinement: .., absolute paths, symlinks out, NUL', async () => {
  await symlink(join(base, 'secret'), join(root, 'out-file'));
  await symlink(base, join(root, 'out-dir'));
  await symlink(join(base, 'nothing-here'), join(root, 'dangling'));
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  assert.equal(await s.realpath('/../../..'), '/');
  assert.equal(await s.realpath('../x'), '/x');
  await rejectsWith(s.readFile('/../secret'), FX.NO_SUCH_FILE);
  await rejectsWith(s.readFile('../../secret'), FX.NO_SUCH_FILE);
  await rejectsWith(s.readFile(join(base, 'secret')), FX.NO_SUCH_FILE);
  await rejectsWith(s.readFile('/out-file'), FX.PERMISSION_DENIED);
  await rejectsWith(s.readFile('/out-dir/secret'), FX.PERMISSION_DENIED);
  await rejectsWith(s.readdir('/out-dir'), FX.PERMISSION_DENIED);
  await rejectsWith(s.stat('/out-dir'), FX.PERMISSION_DENIED);
  await rejectsWith(s.writeFile('/out-dir/new', 'x'), FX.PERMISSION_DENIED);
  // (a link that leads out is refused before anything outside is looked at: no host-path existence oracle)
  await rejectsWith(s.writeFile('/dangling', 'x'), FX.PERMISSION_DENIED);
  assert.equal(existsSync(join(base, 'nothing-here')), false);
  await rejectsWith(s.setstat('/out-file', { mode: 0o777 }), FX.PERMISSION_DENIED);
  await rejectsWith(s.stat('/a\0b'), FX.NO_SUCH_FILE);
  // the link itself may be inspected and removed
  assert.ok((await s.lstat('/out-file')).isSymbolicLink());
  await s.unlink('/out-file');
  assert.equal(readFileSync(join(base, 'secret'), 'utf8'), 'outside');
  // an absolute symlink target is the client's namespace
  await s.writeFile('/t.txt', 'inside');
  await s.symlink('/t.txt', '/abs-link');
  assert.equal(await s.readlink('/abs-link'), '/t.txt');
  assert.equal((await s.readFile('/abs-link')).toString(), 'inside');
  await rejectsWith(s.rmdir('/'), FX.PERMISSION_DENIED);
  s.end();
});

test('read-only mode refuses every modification', async () => {
  writeFileSync(join(root, 'ro.txt'), 'ro');
  const { client: s } = await sftpPair(new LocalFsBackend(root, { readOnly: true }));
  assert.equal((await s.readFile('/ro.txt')).toString(), 'ro');
  await rejectsWith(s.writeFile('/ro2.txt', 'x'), FX.PERMISSION_DENIED, 'EACCES');
  await rejectsWith(s.open('/ro.txt', 'r+'), FX.PERMISSION_DENIED);
  await rejectsWith(s.unlink('/ro.txt'), FX.PERMISSION_DENIED);
  await rejectsWith(s.mkdir('/d'), FX.PERMISSION_DENIED);
  await rejectsWith(s.rename('/ro.txt', '/x'), FX.PERMISSION_DENIED);
  await rejectsWith(s.chmod('/ro.txt', 0o777), FX.PERMISSION_DENIED);
  await rejectsWith(s.symlink('ro.txt', '/l'), FX.PERMISSION_DENIED);
  assert.equal((await s.statvfs('/')).flag & 1n, 1n);
  s.end();
});

test('request ids wrap past 2^32-1', async () => {
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  (s as unknown as { nextId: number }).nextId = 0xffffffff - 3;
  await Promise.all(Array.from({ length: 10 }, () => s.stat('/')));
  assert.equal((s as unknown as { nextId: number }).nextId, 6);
  s.end();
});

test('handle limit and bad handles', async () => {
  writeFileSync(join(root, 'h.txt'), 'h');
  const { client: s } = await sftpPair(new LocalFsBackend(root), { maxHandles: 3 });
  const hs = await Promise.all([s.open('/h.txt'), s.open('/h.txt'), s.open('/h.txt')]);
  await rejectsWith(s.open('/h.txt'), FX.FAILURE);
  for (const h of hs) await h.close();
  const h = await s.open('/h.txt');
  await h.close();
  await rejectsWith(h.client.closeHandle(h.handle), FX.FAILURE);
  s.end();
});

test('a closed session fails pending and later requests', async () => {
  const { client: s, clientStream } = await sftpPair(new LocalFsBackend(root));
  const p = s.stat('/');
  clientStream.destroy();
  await assert.rejects(p, { code: 'ERR_SSH_SFTP' });
  await assert.rejects(s.stat('/'), { code: 'ERR_SSH_SFTP' });
});

test('server ignores reads past 2^53 and refuses an oversize packet by closing', async () => {
  const { client: s, served } = await sftpPair(new LocalFsBackend(root));
  const fh = await s.open('/h.txt');
  const r = await s.request(5, (w) =>
    w
      .string(fh.handle)
      .uint64(2n ** 63n)
      .uint32(10),
  );
  assert.equal(r.type === 101 && r.code, FX.EOF);
  const hdr = Buffer.alloc(4);
  hdr.writeUInt32BE(300 * 1024);
  (s as unknown as { stream: import('node:stream').Duplex }).stream.write(hdr);
  await served;
  await assert.rejects(s.stat('/'), { code: 'ERR_SSH_SFTP' });
  assert.ok(readFile);
});

test('downloadDir / uploadDir: trees with a filter, several files at once', async () => {
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  const src = join(base, 'tree');
  const want = new Map<string, string>();
  for (const p of ['a.txt', 'sub/b.bin', 'sub/deeper/c.bin', 'skip/x', 'sub/skip.tmp']) {
    const data = randomBytes(1000 + p.length * 7919);
    await mkdir(join(src, p, '..'), { recursive: true });
    writeFileSync(join(src, p), data);
    want.set(p, sha(data));
  }
  const filter = (p: string) => !p.startsWith('skip') && !p.endsWith('.tmp');
  const up = await s.uploadDir(src, '/tree-up', { filter, parallel: 3 });
  assert.equal(up.files, 3);
  for (const p of ['a.txt', 'sub/b.bin', 'sub/deeper/c.bin'])
    assert.equal(sha(readFileSync(join(root, 'tree-up', p))), want.get(p));
  assert.equal(existsSync(join(root, 'tree-up/skip')), false);
  assert.equal(existsSync(join(root, 'tree-up/sub/skip.tmp')), false);
  const seen: string[] = [];
  const down = await s.downloadDir('/tree-up', join(base, 'tree-down'), { onFile: (p) => seen.push(p) });
  assert.equal(down.files, 3);
  assert.deepEqual(seen.sort(), ['a.txt', 'sub/b.bin', 'sub/deeper/c.bin']);
  for (const p of seen) assert.equal(sha(readFileSync(join(base, 'tree-down', p))), want.get(p));
  s.end();
});
