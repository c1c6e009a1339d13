import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { SftpBackendDir, SftpBackendFile } from '../../src/sftp/backend.js';
import { FX } from '../../src/sftp/constants.js';
import { SftpError } from '../../src/sftp/errors.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { sftpPair } from './sftp/pair.js';

let base: string;
let root: string;
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'secsh-sftp-review-cli-'));
  root = join(base, 'root');
  await mkdir(join(root, 'tree'), { recursive: true });
  await writeFile(join(root, 'tree', 'ok.txt'), 'ok');
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A server that lists hostile names (as a malicious or broken server could) beside a real file. */
class HostileNames extends LocalFsBackend {
  override async opendir(p: string): Promise<SftpBackendDir> {
    const real = await super.opendir(p);
    let sent = false;
    const file = { mode: 0o100644, size: 2 };
    return {
      read: async () => {
        if (sent) return real.read();
        sent = true;
        return ['', '.', '..', '../escape', 'a/b', '/abs', 'nul\0x'].map((filename) => ({
          filename,
          longname: '',
          attrs: file,
        }));
      },
      close: () => real.close(),
    };
  }
}

test('downloadDir ignores entry names that are not a single path component', async () => {
  const local = join(base, 'dl', 'into');
  await mkdir(join(base, 'dl'));
  const { client: s } = await sftpPair(new HostileNames(root));
  const r = await s.downloadDir('/tree', local);
  assert.deepEqual(r, { files: 1, bytes: 2 });
  assert.deepEqual((await readdir(join(base, 'dl'))).sort(), ['into']);
  assert.deepEqual((await readdir(local)).sort(), ['ok.txt']);
  assert.equal(await readFile(join(local, 'ok.txt'), 'utf8'), 'ok');
  s.end();
});

/** Files end early on reads at or past `at`, whatever their size says (a file cut short mid-transfer). */
class CutShort extends LocalFsBackend {
  constructor(
    dir: string,
    private readonly at: number,
  ) {
    super(dir);
  }
  override async open(p: string, f: number, a: object): Promise<SftpBackendFile> {
    const file = await super.open(p, f, a);
    const at = this.at;
    return {
      read: async (off: number, len: number) => {
        if (off >= at) return Buffer.alloc(0);
        // a short read first, so the re-request of the tail meets the end
        const d = await file.read(off, Math.min(len, at - off));
        return d.subarray(0, Math.max(1, Math.floor(d.length / 2)));
      },
      write: file.write.bind(file),
      stat: file.stat.bind(file),
      setstat: file.setstat.bind(file),
      close: file.close.bind(file),
    };
  }
}

test('EOF in the middle of a pipelined read: exactly the bytes before it, no hole', async () => {
  const data = Buffer.alloc(300_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
  await writeFile(join(root, 'cut.bin'), data);
  const { client: s } = await sftpPair(new CutShort(root, 123_457));
  const got = await s.readFile('/cut.bin');
  assert.equal(got.length, 123_457);
  assert.ok(got.equals(data.subarray(0, 123_457)));
  const n = await s.download('/cut.bin', join(base, 'cut.out'), { chunkSize: 10_000, concurrency: 16 });
  assert.equal(n, 123_457);
  assert.ok((await readFile(join(base, 'cut.out'))).equals(data.subarray(0, 123_457)));
  s.end();
});

test('errors are SftpError with status, Node code and path', async () => {
  const { client: s } = await sftpPair(new LocalFsBackend(root));
  for (const [p, op] of [
    ['/nope', () => s.stat('/nope')],
    ['/nope', () => s.readFile('/nope')],
    ['/nope', () => s.readdir('/nope')],
    ['/nope', () => s.download('/nope', join(base, 'never'))],
  ] as const) {
    await assert.rejects(op(), (e: unknown) => {
      assert.ok(e instanceof SftpError, String(e));
      assert.equal(e.status, FX.NO_SUCH_FILE);
      assert.equal(e.nodeCode, 'ENOENT');
      assert.equal(e.path, p);
      return true;
    });
  }
  s.end();
});

/** A server whose directory listings never end. */
class EndlessDir extends LocalFsBackend {
  constructor(
    dir: string,
    private readonly batch: number,
  ) {
    super(dir);
  }
  override async opendir(): Promise<SftpBackendDir> {
    let i = 0;
    return {
      read: async () =>
        Array.from({ length: this.batch }, () => ({ filename: `f${i++}`, longname: '', attrs: { mode: 0o100644 } })),
      close: async () => {},
    };
  }
}

test('readdir of a listing that never ends fails with SftpError instead of growing forever', async () => {
  const full = await sftpPair(new EndlessDir(root, 1000));
  await assert.rejects(full.client.readdir('/x', { maxEntries: 5000 }), (e: unknown) => {
    assert.ok(e instanceof SftpError);
    assert.equal(e.status, FX.FAILURE);
    assert.match(e.message, /exceeds 5000 entries/);
    return true;
  });
  // the session is still usable (the handle was closed)
  assert.ok((await full.client.stat('/tree')).isDirectory());
  full.client.end();
});

/** Records every size change a client asks of an open file. */
class SizeWatch extends LocalFsBackend {
  readonly sizes: number[] = [];
  override async open(
    p: string,
    pflags: number,
    attrs: Parameters<LocalFsBackend['open']>[2],
  ): Promise<SftpBackendFile> {
    const f = await super.open(p, pflags, attrs);
    const setstat = f.setstat.bind(f);
    f.setstat = async (a) => {
      if (a.size !== undefined) this.sizes.push(a.size);
      return setstat(a);
    };
    return f;
  }
}

test('a resumed upload changes no remote file size (servers built on paramiko reopen the file "w+" for that)', async () => {
  const backend = new SizeWatch(root);
  const { client: s } = await sftpPair(backend);
  const data = Buffer.alloc(300_000, 7);
  const local = join(base, 'resume-src.bin');
  await writeFile(local, data);
  await writeFile(join(root, 'resume.bin'), data.subarray(0, 100_000));
  assert.equal(await s.upload(local, '/resume.bin', { resume: true }), data.length);
  assert.ok((await readFile(join(root, 'resume.bin'))).equals(data));
  // and once more, with nothing left to send
  assert.equal(await s.upload(local, '/resume.bin', { resume: true }), data.length);
  assert.ok((await readFile(join(root, 'resume.bin'))).equals(data));
  assert.deepEqual(backend.sizes, []);
  s.end();
});
