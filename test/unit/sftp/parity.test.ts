/**
 * The ssh2-sftp-client parity operations against secsh's own SFTP server (LocalFsBackend over an
 * in-memory pair): the shared scenarios, servers that do not honour APPEND or list hostile names,
 * failures naming their path, and the README's block run as written.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { SftpBackend } from '../../../src/sftp/backend.js';
import { FX, FXF } from '../../../src/sftp/constants.js';
import { SftpError } from '../../../src/sftp/errors.js';
import { LocalFsBackend } from '../../../src/sftp/local-backend.js';
import {
  appendScenario,
  copyScenario,
  dirProgressScenario,
  existsScenario,
  honoursAppend,
  type ParityEnv,
  rejectsAbout,
  rmdirScenario,
  rmScenario,
} from '../../helpers/sftp-parity.js';
import { sftpPair } from './pair.js';
import { sandbox } from './sandbox.js';

let base: string;
let root: string;
before(async () => {
  ({ base, root } = await sandbox('secsh-sftp-parity-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A session to `backend` (LocalFsBackend at the root by default) and the paths both ways. */
async function env(backend: SftpBackend = new LocalFsBackend(root)): Promise<ParityEnv> {
  const { client } = await sftpPair(backend);
  const outside = join(base, 'outside');
  await mkdir(outside, { recursive: true });
  return { sftp: client, remote: (rel) => `/${rel}`, local: (rel) => join(root, rel), outside, rawNames: false };
}

/** `backend` with `open`, `opendir` or `remove` replaced (the rest passed through). */
function patched(backend: SftpBackend, over: Partial<Pick<SftpBackend, 'open' | 'opendir' | 'remove'>>): SftpBackend {
  return new Proxy(backend, {
    get(target, prop, recv) {
      if (prop === 'open' && over.open) return over.open;
      if (prop === 'opendir' && over.opendir) return over.opendir;
      if (prop === 'remove' && over.remove) return over.remove;
      const v = Reflect.get(target, prop, recv);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

test('rm: files, symlinks not followed, trees with recursive and bounded concurrency, force', async (t) => {
  const e = await env();
  await rmScenario(t, e);
  e.sftp.end();
});

test('rmdir: plain, and recursive for directories only', async () => {
  const e = await env();
  await rmdirScenario(e);
  e.sftp.end();
});

test('append: text, bytes and streams, in order, after what is there', async () => {
  const e = await env();
  await appendScenario(e);
  e.sftp.end();
});

test('copy: copy-data when offered, read+write otherwise, nothing preserved unless asked', async (t) => {
  const e = await env();
  assert.ok(e.sftp.has('copy-data'));
  await copyScenario(t, e);
  e.sftp.end();
});

test('exists: a boolean, or with { type: true } the type letter of the entry itself', async () => {
  const e = await env();
  await existsScenario(e);
  e.sftp.end();
});

test('uploadDir / downloadDir: onProgress in bytes across files', async () => {
  const e = await env();
  await dirProgressScenario(e);
  e.sftp.end();
});

test("secsh's server honours SSH_FXF_APPEND: a write at offset 0 lands at the end", async () => {
  const e = await env();
  assert.equal(await honoursAppend(e), true);
  e.sftp.end();
});

test('append: a server that ignores SSH_FXF_APPEND still gets the data after the current end', async () => {
  const local = new LocalFsBackend(root);
  const opened: number[] = [];
  const e = await env(
    patched(local, {
      open: (p, pflags, attrs) => {
        opened.push(pflags);
        return local.open(p, pflags & ~FXF.APPEND, attrs);
      },
    }),
  );
  await writeFile(join(root, 'no-append'), 'existing\n');
  await e.sftp.append('/no-append', 'one\n');
  await e.sftp.append('/no-append', Buffer.alloc(600_000, 0x62));
  const got = await readFile(join(root, 'no-append'));
  assert.equal(got.subarray(0, 13).toString(), 'existing\none\n');
  assert.equal(got.length, 13 + 600_000);
  assert.ok(got.subarray(13).every((c) => c === 0x62));
  assert.deepEqual(opened, [FXF.WRITE | FXF.CREAT | FXF.APPEND, FXF.WRITE | FXF.CREAT | FXF.APPEND]);
  e.sftp.end();
});

test('rm recursive: the first failure names its path, and rm settles only after every request sent', async () => {
  const local = new LocalFsBackend(root);
  let failing: string | undefined;
  const e = await env(
    patched(local, {
      remove: async (p) => {
        // The first file the removal reaches (listing order is the file system's) cannot be removed.
        failing ??= p;
        if (p === failing) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
        return local.remove(p);
      },
    }),
  );
  await mkdir(join(root, 'fail/wide'), { recursive: true });
  for (let i = 0; i < 30; i++) await writeFile(join(root, `fail/wide/f${i}`), 'x');
  await assert.rejects(e.sftp.rm('/fail', { recursive: true, concurrency: 3 }), (err: unknown) => {
    assert.ok(err instanceof SftpError, String(err));
    assert.equal(err.status, FX.PERMISSION_DENIED);
    assert.equal(err.path, failing);
    assert.equal(e.sftp.inFlight, 0, 'nothing still in flight when rm rejects');
    return true;
  });
  // Removals not started before the failure are not started after it: of 3 in flight, 1 failed.
  await new Promise((r) => setTimeout(r, 20));
  const left = (await readdir(join(root, 'fail/wide'))).length;
  assert.ok(left >= 28, `rm stopped at the failure (${left} of 30 files left)`);
  assert.ok(existsSync(join(root, (failing ?? '').slice(1))));
  await rejectsAbout(e.sftp.rmdir('/fail', { recursive: true, concurrency: 1 }), 'EACCES', failing ?? '');
  e.sftp.end();
});

test('rm recursive: a listed name that is not a plain file name is refused, nothing outside removed', async () => {
  const local = new LocalFsBackend(root);
  await mkdir(join(root, 'hostile'), { recursive: true });
  await writeFile(join(root, 'victim'), 'still here');
  const e = await env(
    patched(local, {
      opendir: async (p) => {
        if (p !== '/hostile') return local.opendir(p);
        let done = false;
        return {
          read: async () => {
            if (done) return null;
            done = true;
            return [{ filename: '../victim', longname: '', attrs: { mode: 0o100644 } }];
          },
          close: async () => {},
        };
      },
    }),
  );
  await rejectsAbout(e.sftp.rm('/hostile', { recursive: true }), 'EBADMSG', '/hostile');
  assert.equal(await readFile(join(root, 'victim'), 'utf8'), 'still here');
  e.sftp.end();
});

test('rm recursive: a server listing a directory in every directory without end is stopped at 2048 levels', async () => {
  const local = new LocalFsBackend(root);
  await mkdir(join(root, 'deep'), { recursive: true });
  let listed = 0;
  const e = await env(
    patched(local, {
      opendir: async (p) => {
        if (!p.startsWith('/deep')) return local.opendir(p);
        listed++;
        let done = false;
        return {
          read: async () => {
            if (done) return null;
            done = true;
            return [{ filename: 'd', longname: '', attrs: { mode: 0o040755 } }];
          },
          close: async () => {},
        };
      },
    }),
  );
  await assert.rejects(e.sftp.rm('/deep', { recursive: true }), (err: unknown) => {
    assert.ok(err instanceof SftpError, String(err));
    assert.match(err.message, /deeper than 2048 levels/);
    assert.equal(err.path, `/deep${'/d'.repeat(2049)}`);
    return true;
  });
  assert.equal(listed, 2049);
  assert.equal(e.sftp.stats.openHandles, 0);
  e.sftp.end();
});

test('uploadDir: after a file fails no further file starts, and it rejects once the running ones ended', async () => {
  const local = new LocalFsBackend(root);
  const opened: string[] = [];
  const e = await env(
    patched(local, {
      open: async (p, pflags, attrs) => {
        opened.push(p);
        if (opened.length === 3) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
        return local.open(p, pflags, attrs);
      },
    }),
  );
  const src = join(base, 'fail-up');
  await mkdir(src, { recursive: true });
  for (let i = 0; i < 20; i++) await writeFile(join(src, `f${i}`), Buffer.alloc(50_000, i));
  await assert.rejects(e.sftp.uploadDir(src, '/fail-up', { parallel: 2 }), (err: unknown) => {
    assert.ok(err instanceof SftpError, String(err));
    assert.equal(err.path, opened[2]);
    assert.equal(e.sftp.inFlight, 0, 'nothing still in flight when uploadDir rejects');
    return true;
  });
  const seen = opened.length;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(opened.length, seen, 'no file opened after the rejection');
  assert.ok(seen <= 4, `at most the 2 running files finished after the failure (${seen} opened)`);
  e.sftp.end();
});

test("the README's SFTP parity block runs as written", async () => {
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((m) => m[1] as string)
    .find((b) => b.includes('sftp.append('));
  assert.ok(block, 'the README has the block');
  await mkdir(join(root, 'srv/app/releases/41/static'), { recursive: true });
  await writeFile(join(root, 'srv/app/app.conf'), 'port = 8080\n');
  await writeFile(join(root, 'srv/app/releases/41/static/x.js'), 'x');
  await mkdir(join(base, 'cwd/site/css'), { recursive: true });
  await writeFile(join(base, 'cwd/site/index.html'), '<h1>hi</h1>');
  await writeFile(join(base, 'cwd/site/css/a.css'), 'h1{}');
  const e = await env();
  const printed: string[] = [];
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
    ...args: string[]
  ) => (sftp: unknown, console: unknown) => Promise<void>;
  const run = new AsyncFunction('sftp', 'console', block);
  const cwd = process.cwd();
  process.chdir(join(base, 'cwd'));
  try {
    await run(e.sftp, { log: (s: string) => printed.push(s) });
  } finally {
    process.chdir(cwd);
  }
  assert.equal(await readFile(join(root, 'srv/app/deploy.log'), 'utf8'), 'released 42\n');
  assert.equal(await readFile(join(root, 'srv/app/app.conf.bak'), 'utf8'), 'port = 8080\n');
  assert.equal(existsSync(join(root, 'srv/app/releases/41')), false);
  assert.equal(await readFile(join(root, 'srv/www/css/a.css'), 'utf8'), 'h1{}');
  assert.match(printed.at(-1) ?? '', /^15\/15 bytes, 2\/2 files, (index\.html|css\/a\.css)$/);
  e.sftp.end();
});
