/**
 * A hostile, authenticated scp client against scpExecHandler's sink and source over an SFTP backend
 * (LocalFsBackend, as secsh server wires it): modes that would set setuid/setgid/sticky bits, exec
 * strings the handler cannot parse, and what the root and read-only settings promise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import {
  appendFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { type ScpFs, type ScpSessionLike, scpExecHandler, scpSink, scpSource } from '../../src/scp/index.js';
import { Server } from '../../src/server/server.js';
import { LocalFsBackend } from '../../src/sftp/index.js';
import { duplexPair as pair } from '../helpers/duplex-pair.js';

/** An scp error line (`\x01` then the text) as a regular expression; `pattern` is the text after the `\x01`. */
function scpError(anchored: boolean, pattern: string): RegExp {
  return new RegExp(`${anchored ? '^' : ''}${String.fromCharCode(1)}${pattern}`);
}

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-scp-server-hostile-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the sink into a fresh LocalFsBackend root against a client that sends `script` and ends. */
async function sinkInto(script: string[], opts: Parameters<typeof scpSink>[3] = {}) {
  const root = await mkdtemp(join(dir, 'root-'));
  const [mine, theirs] = pair();
  theirs.on('data', () => {});
  for (const s of script) theirs.write(s);
  theirs.end();
  const result = await scpSink(mine, '/', new LocalFsBackend(root), opts);
  return { root, result };
}

async function modeOf(p: string): Promise<number> {
  return (await stat(p)).mode & 0o7777;
}

test('scp sink without -p: setuid, setgid and sticky bits of C and D modes are cleared, as OpenSSH scp does', async () => {
  const { root, result } = await sinkInto(['C4755 1 a\n', 'x', '\0', 'C6555 1 b\n', 'y', '\0', 'D7777 0 d\n', 'E\n'], {
    recursive: true,
    umask: 0o022,
  });
  assert.equal(result.errors, 0);
  assert.equal(await modeOf(join(root, 'a')), 0o755);
  assert.equal(await modeOf(join(root, 'b')), 0o555);
  assert.equal(await modeOf(join(root, 'd')), 0o755);
});

/** A session as scpExecHandler sees it: an exec request, what the handler answered and sent. */
async function execThrough(command: string, opts: Parameters<typeof scpExecHandler>[1] = {}) {
  const root = await mkdtemp(join(dir, 'exec-'));
  const [mine, theirs] = pair();
  const sent: Buffer[] = [];
  theirs.on('data', (c: Buffer) => sent.push(c));
  let answer: 'accepted' | 'rejected' | undefined;
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    const session = Object.assign(new EventEmitter(), {
      channel: mine,
      username: 'u',
      exit(code: number | null) {
        exitCode = code;
        resolve();
      },
    }) as unknown as ScpSessionLike;
    scpExecHandler(new LocalFsBackend(root), opts)(session);
    (session as unknown as EventEmitter).emit('exec', {
      command,
      accept() {
        answer = 'accepted';
        return true;
      },
      reject() {
        answer = 'rejected';
        resolve();
      },
    });
  });
  // A sink (-f) speaks first: the client acknowledges; then the client goes away.
  theirs.write('\0');
  theirs.end();
  await exited;
  await new Promise((resolve) => setImmediate(resolve));
  return { answer, exitCode, sent: Buffer.concat(sent).toString('latin1') };
}

for (const [command, message] of [
  ['scp -t /x$z', scpError(true, 'scp: .*not supported')],
  ["scp -t 'a'; touch b", scpError(true, 'scp: .*not supported')],
  ['scp -f $(id)', scpError(true, 'scp: .*not supported')],
  ['scp -t a b', scpError(true, String.raw`scp: ambiguous target\n$`)],
  ['scp -S prog -t x', scpError(true, 'scp: .*not supported')],
  ['scp -t', scpError(true, 'scp: .*not supported')],
] as const) {
  test(`scpExecHandler: ${JSON.stringify(command)} is refused with an scp error, never left to the shell to run outside the root`, async () => {
    const r = await execThrough(command, { readOnly: true });
    assert.equal(r.answer, 'accepted');
    assert.match(r.sent, message);
    assert.equal(r.exitCode, 1);
  });
}

for (const command of ['echo scp -t x', 'scp -v a host:b', 'ls -t', 'scpx -t y']) {
  test(`scpExecHandler: ${JSON.stringify(command)} (not scp -t/-f) is left to the other handlers`, async () => {
    const r = await execThrough(command);
    assert.equal(r.answer, 'rejected');
    assert.equal(r.sent, '');
  });
}

test('scpExecHandler: /usr/bin/scp -f serves from the backend like scp -f', async () => {
  const r = await execThrough('/usr/bin/scp -f /missing');
  assert.equal(r.answer, 'accepted');
  assert.match(r.sent, scpError(true, String.raw`scp: /missing: No such file or directory\n`));
  assert.equal(r.exitCode, 1);
});

/** A client that acknowledges once and then never takes another byte (never grants window). */
function stalledClient(): Duplex {
  const d = new Duplex({
    highWaterMark: 1024,
    read() {},
    write(_chunk: Buffer, _enc, _cb) {
      // never done: the data stays queued, as on a channel whose window the client never opens
    },
  });
  // It acknowledges the start and the C line, then takes none of the file's bytes.
  d.push(Buffer.of(0, 0));
  return d;
}

test('scp source (-f): a client that stops reading is given up after idleTimeout (ScpError timeout), not waited on forever', async () => {
  const root = await mkdtemp(join(dir, 'stall-'));
  await writeFile(join(root, 'big'), Buffer.alloc(1024 * 1024));
  const started = Date.now();
  await assert.rejects(scpSource(stalledClient(), ['/big'], new LocalFsBackend(root), { idleTimeout: 300 }), {
    name: 'ScpError',
    kind: 'timeout',
  });
  assert.ok(Date.now() - started < 5000);
});

test('scp sink (-t): a client that stops reading the acknowledgements is given up after idleTimeout', async () => {
  const root = await mkdtemp(join(dir, 'stall-sink-'));
  const d = new Duplex({
    highWaterMark: 1,
    read() {},
    write(_chunk: Buffer, _enc, _cb) {},
  });
  // The sink's first acknowledgement is never taken: every later write waits for 'drain'.
  for (let i = 0; i < 50; i++) d.push(Buffer.from(`C0644 1 f${i}\nx\0`));
  await assert.rejects(scpSink(d, '/', new LocalFsBackend(root), { idleTimeout: 300 }), {
    name: 'ScpError',
    kind: 'timeout',
  });
});

/** A root with symlinks leading out of it (to `out`, which holds `secret`), and a FIFO. */
async function trap() {
  const base = await mkdtemp(join(dir, 'trap-'));
  const root = join(base, 'root');
  const out = join(base, 'out');
  await mkdir(root);
  await mkdir(out);
  await writeFile(join(out, 'secret'), 'secret');
  await symlink('../out', join(root, 'linkdir'));
  await symlink(out, join(root, 'abslink'));
  await symlink('../out/secret', join(root, 'linkfile'));
  await symlink('../out/new', join(root, 'dangling'));
  execFileSync('mkfifo', [join(root, 'fifo')]);
  return { root, out };
}

async function sinkAt(root: string, target: string, script: string[]) {
  const [mine, theirs] = pair();
  const sent: Buffer[] = [];
  theirs.on('data', (c: Buffer) => sent.push(c));
  for (const s of script) theirs.write(s);
  theirs.end();
  const result = await scpSink(mine, target, new LocalFsBackend(root), { recursive: true, idleTimeout: 2000 }).catch(
    (e: unknown) => e,
  );
  return { result, sent: Buffer.concat(sent).toString('latin1') };
}

test('scp sink: targets and names that are symlinks out of the root, ../ targets and a FIFO write nothing outside, and do not hang', async () => {
  const { root, out } = await trap();
  const file = ['C0644 3 x\n', 'abc', '\0'];
  for (const [target, script] of [
    ['/linkdir', file],
    ['/abslink', file],
    ['/linkdir/x', file],
    ['/', ['C0644 3 linkfile\n', 'abc', '\0']],
    ['/', ['C0644 3 dangling\n', 'abc', '\0']],
    ['/', ['D0755 0 linkdir\n', ...file, 'E\n']],
    ['/', ['D0755 0 abslink\n', ...file, 'E\n']],
    [`../../../../..${out}`, file],
    ['/', ['C0644 3 fifo\n', 'abc', '\0']],
    ['/', [`C0644 3 ${'y'.repeat(300)}\n`, 'abc', '\0']],
    ['/', ['C0644 3 a\0b\n', 'abc', '\0']],
    [`/${'z'.repeat(250)}/`.repeat(20), file],
  ] as const) {
    const r = await sinkAt(root, target, [...script]);
    assert.ok(!(r.result instanceof Error) || r.result.name === 'ScpError', `${target}: ${String(r.result)}`);
    assert.match(r.sent, scpError(false, 'scp: '), `${target} ${script[0]}: the client is told`);
    // ... in words that do not give away where the root lies on the server.
    assert.ok(!r.sent.includes(root), `${target} ${script[0]}: ${JSON.stringify(r.sent)}`);
  }
  assert.deepEqual((await readdir(out)).sort(), ['secret']);
  assert.equal(await readFile(join(out, 'secret'), 'utf8'), 'secret');
});

test('scp source (-f, -r): symlinks out of the root and a FIFO are refused, without a hang; files inside are sent', async () => {
  const { root } = await trap();
  await writeFile(join(root, 'ok'), 'fine');
  const [mine, theirs] = pair();
  const got: Buffer[] = [];
  theirs.on('data', (c: Buffer) => {
    got.push(c);
    theirs.write(Buffer.of(0)); // acknowledge everything
  });
  theirs.write(Buffer.of(0));
  const r = await scpSource(mine, ['/linkfile', '/abslink', '/fifo', '/dangling', '/'], new LocalFsBackend(root), {
    recursive: true,
    idleTimeout: 2000,
  });
  const text = Buffer.concat(got).toString('latin1');
  assert.doesNotMatch(text, /secret/);
  assert.ok(!text.includes(root), text);
  assert.match(text, /C0644 4 ok\nfine/);
  assert.ok(r.errors >= 4, text);
});

test("scp sink -rp: a directory's times or mode that cannot be set after its E are not sent as an extra error (the client's next acknowledgement stays in step)", async () => {
  const root = await mkdtemp(join(dir, 'dir-times-'));
  const backend = new LocalFsBackend(root);
  // A directory whose times the server may not change (owned by someone else, say): EPERM.
  const fs: ScpFs = {
    stat: (p) => backend.stat(p),
    opendir: (p) => backend.opendir(p),
    mkdir: (p, a) => backend.mkdir(p, a),
    open: (p, f, a) => backend.open(p, f, a),
    setstat: (p, a) =>
      p.endsWith('/d')
        ? Promise.reject(Object.assign(new Error('not owner'), { code: 'EPERM' }))
        : backend.setstat(p, a),
  };
  const [mine, theirs] = pair();
  const sent: Buffer[] = [];
  theirs.on('data', (c: Buffer) => sent.push(c));
  for (const s of ['T1700000000 0 1700000000 0\n', 'D0755 0 d\n', 'E\n', 'C0644 1 f\n', 'x', '\0']) theirs.write(s);
  theirs.end();
  const r = await scpSink(mine, '/', fs, { recursive: true, preserve: true });
  // start, T, D, E, C, end of f: six acknowledgements and nothing else, as OpenSSH's sink answers.
  assert.equal(Buffer.concat(sent).toString('latin1'), '\0'.repeat(6));
  assert.equal(r.files, 1);
  assert.ok(r.errors >= 1);
});

test('scp source -r: a huge directory is sent as it is listed, not gathered whole first (one batch of names held at a time)', async () => {
  const batches = 200;
  let read = 0;
  let readBeforeD: number | undefined;
  const fs: ScpFs = {
    stat: async (p) => ({ mode: p === '/big' ? 0o040755 : 0o010644, size: 0 }),
    mkdir: async () => {},
    setstat: async () => {},
    open: async () => {
      throw new Error('not used');
    },
    opendir: async () => ({
      read: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        if (read >= batches) return null;
        read++;
        return Array.from({ length: 100 }, (_, i) => ({ filename: `n${read}-${i}`, longname: '', attrs: {} }));
      },
      close: async () => {},
    }),
  };
  const [mine, theirs] = pair();
  theirs.on('data', (c: Buffer) => {
    if (readBeforeD === undefined && c.toString('latin1').startsWith('D')) readBeforeD = read;
    theirs.write(Buffer.of(0));
  });
  theirs.write(Buffer.of(0));
  const r = await scpSource(mine, ['/big'], fs, { recursive: true });
  assert.equal(readBeforeD, 1);
  assert.equal(r.errors, batches * 100); // every entry is a FIFO here: refused, one by one
});

test('scp source: a file that shrinks or grows while it is sent keeps the announced size (padded, then an error; or cut), no hang', async () => {
  const root = await mkdtemp(join(dir, 'resize-'));
  const size = 1024 * 1024;
  for (const [name, change] of [
    ['shrinks', () => truncate(join(root, 'shrinks'), 1000)],
    ['grows', () => appendFile(join(root, 'grows'), Buffer.alloc(size, 1))],
  ] as const) {
    await writeFile(join(root, name), Buffer.alloc(size, 7));
    const [mine, theirs] = pair();
    const got: Buffer[] = [];
    let changed: Promise<void> | undefined;
    theirs.on('data', (c: Buffer) => {
      got.push(c);
      if (c.toString('latin1').startsWith('C')) changed = change();
      theirs.write(Buffer.of(0));
    });
    theirs.write(Buffer.of(0));
    const r = await scpSource(mine, [`/${name}`], new LocalFsBackend(root), {
      chunkSize: 16 * 1024,
      idleTimeout: 5000,
    });
    await changed;
    const all = Buffer.concat(got);
    const header = `C0644 ${size} ${name}\n`;
    assert.equal(all.subarray(0, header.length).toString('latin1'), header);
    const tail = all.subarray(header.length + size);
    if (name === 'grows') {
      assert.deepEqual([...tail], [0]);
      assert.equal(r.errors, 0);
    } else {
      assert.match(tail.toString('latin1'), scpError(true, 'scp: /shrinks: '));
      assert.equal(r.errors, 1);
    }
  }
});

test('scpExecHandler over a real channel: a client that runs scp -f and then grants no window gets its channel closed after idleTimeout', async () => {
  const root = await mkdtemp(join(dir, 'window-'));
  await writeFile(join(root, 'big'), Buffer.alloc(16 * 1024 * 1024));
  const server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'pw',
    authMethods: ['password'],
  });
  server.on('session', scpExecHandler(new LocalFsBackend(root), { idleTimeout: 300 }));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'pw',
    hostVerifier: () => true,
  });
  try {
    const p = await client.spawn('scp -f /big');
    // Acknowledge the start and the C line, then read nothing: the window closes after 4 MiB or so.
    p.stdin.write(Buffer.of(0, 0));
    const closed = new Promise<string>((resolve) => p.channel.once('released', () => resolve('closed')));
    const verdict = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('still open'), 5000))]);
    assert.equal(verdict, 'closed');
  } finally {
    await client.close();
    await server.close();
  }
});

test('scpExecHandler over a real channel: a client sending faster than the backend writes is held back by the window (bounded buffering)', async () => {
  const root = await mkdtemp(join(dir, 'slow-'));
  const backend = new LocalFsBackend(root);
  let written = 0;
  // A backend whose writes take 20 ms each.
  const slow: ScpFs = {
    stat: (p) => backend.stat(p),
    opendir: (p) => backend.opendir(p),
    mkdir: (p, a) => backend.mkdir(p, a),
    setstat: (p, a) => backend.setstat(p, a),
    open: async (p, f, a) => {
      const file = await backend.open(p, f, a);
      return {
        read: (o, n) => file.read(o, n),
        setstat: (x) => file.setstat(x),
        close: () => file.close(),
        write: async (o, d) => {
          await new Promise((r) => setTimeout(r, 20));
          await file.write(o, d);
          written += d.length;
        },
      };
    },
  };
  const server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'pw',
    authMethods: ['password'],
  });
  // Bytes the channel handed to the scp reader but the backend has not written yet.
  let delivered = 0;
  let most = 0;
  server.on('session', (session: ScpSessionLike) => {
    session.channel.on('data', (c: Buffer) => {
      delivered += c.length;
      most = Math.max(most, delivered - written);
    });
  });
  server.on('session', scpExecHandler(slow as unknown as LocalFsBackend, { idleTimeout: 10_000 }));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'pw',
    hostVerifier: () => true,
  });
  try {
    const size = 16 * 1024 * 1024;
    const p = await client.spawn('scp -t /f');
    const exit = new Promise((resolve) => p.channel.once('exit', resolve));
    p.stdout.resume();
    p.stdin.write(`C0644 ${size} f\n`);
    const chunk = Buffer.alloc(1024 * 1024, 3);
    for (let i = 0; i < 16; i++) p.stdin.write(chunk); // all at once: the client does not wait
    p.stdin.end(Buffer.of(0));
    assert.equal(await exit, 0);
    assert.equal((await stat(join(root, 'f'))).size, size);
    // The reader pauses the channel at 1 MiB (plus a write of 256 KiB gathering): the rest waits in
    // the channel's window, never granted more while unread.
    assert.ok(most <= 2 * 1024 * 1024, `${most} bytes read off the channel but not yet written`);
  } finally {
    await client.close();
    await server.close();
  }
});

for (const command of [
  'scp -oStrictHostKeyChecking=no a host:b',
  'scp -i key_ft a host:b',
  'scp -P 22 -c aes128-ctr a host:b',
]) {
  test(`scpExecHandler: ${JSON.stringify(command)} (scp as a client, options with arguments) is left to the other handlers`, async () => {
    const r = await execThrough(command);
    assert.equal(r.answer, 'rejected');
  });
}

test('scp source -r: a directory symlink loop inside the root ends (ELOOP, or the depth limit), reported, no hang', async () => {
  const root = await mkdtemp(join(dir, 'loop-'));
  await mkdir(join(root, 'd'));
  await writeFile(join(root, 'd', 'f'), 'f');
  await symlink('.', join(root, 'd', 'loop'));
  const [mine, theirs] = pair();
  let files = 0;
  theirs.on('data', (c: Buffer) => {
    if (c.toString('latin1').startsWith('C')) files++;
    theirs.write(Buffer.of(0));
  });
  theirs.write(Buffer.of(0));
  const r = await scpSource(mine, ['/d'], new LocalFsBackend(root), { recursive: true, idleTimeout: 5000 });
  assert.ok(files > 1 && files <= 130, `${files} files sent`);
  assert.ok(r.errors >= 1);
});
