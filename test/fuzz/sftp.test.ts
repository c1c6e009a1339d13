/**
 * SFTP messages in both directions. Client side: every reply decoder (STATUS, HANDLE, DATA, NAME,
 * ATTRS, EXTENDED_REPLY and its statvfs/limits/users-groups bodies, VERSION) and the framer, fed
 * mutated real replies: only ProtocolError; round trips of the encoders. Server side: serveSftp over
 * a LocalFsBackend sandbox fed mutated real requests of every type (OPEN, READ, WRITE, …, and every
 * extension): each session ends within a bounded time, answers at most once per request, and every
 * reply it writes decodes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { ProtocolError, SshError } from '../../src/errors.js';
import type { SftpBackend, SftpBackendFile } from '../../src/sftp/backend.js';
import { SftpClient } from '../../src/sftp/client.js';
import {
  buildData,
  decodeLimits,
  decodeResponse,
  decodeStatvfs,
  decodeUsersGroups,
  decodeVersion,
  encodeLimits,
  encodeNames,
  encodeStatvfs,
  encodeVersion,
  PacketFramer,
  type SftpLimits,
  type SftpStatvfs,
} from '../../src/sftp/codec.js';
import { FX, FXP } from '../../src/sftp/constants.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { serveSftp } from '../../src/sftp/server.js';
import { SshWriter } from '../../src/wire/index.js';
import { duplexPair } from '../unit/sftp/pair.js';
import { bytesFrom, fuzz, fuzzAsync, mutated, only, runs } from './harness.js';

/** Frames an SFTP packet body (type byte first) with its uint32 length. */
const frame = (p: Buffer) => new SshWriter().string(p).toBuffer();

const attrsBytes = (w: SshWriter) =>
  w.uint32(0x0f).uint64(1234n).uint32(1000).uint32(1000).uint32(0o100644).uint32(1).uint32(2);

const replySeeds: Buffer[] = [
  new SshWriter().byte(FXP.STATUS).uint32(1).uint32(FX.NO_SUCH_FILE).string('No such file').string('en').toBuffer(),
  new SshWriter().byte(FXP.STATUS).uint32(2).uint32(FX.OK).toBuffer(),
  new SshWriter()
    .byte(FXP.HANDLE)
    .uint32(3)
    .string(Buffer.from([0, 0, 0, 1]))
    .toBuffer(),
  buildData(4, Buffer.alloc(64, 0x61)).subarray(4),
  (() => {
    const w = new SshWriter().byte(FXP.NAME).uint32(5);
    encodeNames(w, [
      { filename: 'a.txt', longname: '-rw-r--r-- 1 u g 1234 Jan 1 00:00 a.txt', attrs: { size: 1234, mode: 0o100644 } },
      { filename: 'dir', longname: '', attrs: { mode: 0o40755, uid: 1, gid: 2, atime: 3, mtime: 4 } },
    ]);
    return w.toBuffer();
  })(),
  attrsBytes(new SshWriter().byte(FXP.ATTRS).uint32(6)).toBuffer(),
  new SshWriter().byte(FXP.EXTENDED_REPLY).uint32(7).uint64(4096n).uint64(4096n).toBuffer(),
  encodeVersion(
    3,
    new Map([
      ['posix-rename@openssh.com', '1'],
      ['limits@openssh.com', '1'],
    ]),
  ).subarray(4),
];

const statvfs: SftpStatvfs = {
  bsize: 4096n,
  frsize: 4096n,
  blocks: 1000n,
  bfree: 10n,
  bavail: 5n,
  files: 100n,
  ffree: 50n,
  favail: 40n,
  fsid: 7n,
  flag: 0n,
  namemax: 255n,
};
const limits: SftpLimits = { maxPacketLength: 34000, maxReadLength: 32768, maxWriteLength: 32768, maxOpenHandles: 256 };

test('SFTP client side: mutated replies throw only ProtocolError from every decoder', () => {
  const sv = new SshWriter();
  encodeStatvfs(sv, statvfs);
  const lw = new SshWriter();
  encodeLimits(lw, limits);
  const ug = new SshWriter()
    .string(new SshWriter().string('root').string('').toBuffer())
    .string(new SshWriter().string('wheel').toBuffer());
  const bodies = [sv.toBuffer(), lw.toBuffer(), ug.toBuffer()];
  fuzz(
    'sftp reply decode',
    bytesFrom(replySeeds, 400),
    (p) => {
      if (p[0] === FXP.VERSION) decodeVersion(p);
      else decodeResponse(p);
    },
    { numRuns: runs(3000), allowed: only(ProtocolError) },
  );
  fuzz(
    'sftp extended reply bodies (statvfs, limits, users-groups)',
    fc.tuple(fc.nat({ max: 2 }), bytesFrom(bodies, 200)),
    ([kind, b]) => (kind === 0 ? decodeStatvfs(b) : kind === 1 ? decodeLimits(b) : decodeUsersGroups(b)),
    { numRuns: runs(1500), allowed: only(ProtocolError) },
  );
  const framed = replySeeds.map(frame);
  fuzz(
    'sftp framer',
    fc.tuple(fc.array(bytesFrom(framed, 400), { minLength: 1, maxLength: 4 }), fc.nat({ max: 70_000 })),
    ([chunks, max]) => {
      const f = new PacketFramer(Math.max(1, max));
      for (const c of chunks) f.push(c);
    },
    {
      numRuns: runs(1500),
      allowed: only(ProtocolError),
      maxAlloc: ([chunks]) => 2 * chunks.reduce((n, c) => n + c.length, 0) + 1024,
    },
  );
});

test('SFTP codecs: decode(encode(x)) = x for NAME, statvfs, limits, VERSION and DATA', () => {
  const u32 = fc.nat({ max: 0xffffffff });
  const name = fc.record({
    filename: fc.string({ maxLength: 30 }),
    longname: fc.string({ maxLength: 40 }),
    attrs: fc.record({ size: fc.nat({ max: Number.MAX_SAFE_INTEGER }), mode: u32 }, { requiredKeys: [] }),
  });
  fuzz(
    'sftp round trip',
    fc.tuple(
      fc.array(name, { maxLength: 5 }),
      fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { minLength: 11, maxLength: 11 }),
      fc.array(u32, { minLength: 4, maxLength: 4 }),
      fc.array(fc.tuple(fc.stringMatching(/^[a-z@.-]{1,20}$/), fc.string({ maxLength: 8 })), { maxLength: 4 }),
      fc.uint8Array({ maxLength: 100 }),
    ),
    ([names0, sv, lim, exts, data]) => {
      const names = names0.map((n) => ({ ...n, attrs: { ...n.attrs } }));
      const w = new SshWriter().byte(FXP.NAME).uint32(9);
      encodeNames(w, names);
      const r = decodeResponse(w.toBuffer());
      assert.deepEqual(r, { type: FXP.NAME, id: 9, names });
      const keys = Object.keys(statvfs) as (keyof SftpStatvfs)[];
      const s = Object.fromEntries(keys.map((k, i) => [k, sv[i] as bigint])) as unknown as SftpStatvfs;
      const sw = new SshWriter();
      encodeStatvfs(sw, s);
      assert.deepEqual(decodeStatvfs(sw.toBuffer()), s);
      const l: SftpLimits = {
        maxPacketLength: lim[0] as number,
        maxReadLength: lim[1] as number,
        maxWriteLength: lim[2] as number,
        maxOpenHandles: lim[3] as number,
      };
      const lw = new SshWriter();
      encodeLimits(lw, l);
      assert.deepEqual(decodeLimits(lw.toBuffer()), l);
      const m = new Map(exts);
      assert.deepEqual(decodeVersion(encodeVersion(3, m).subarray(4)), { version: 3, extensions: m });
      const d = decodeResponse(buildData(5, data).subarray(4));
      assert.ok(d.type === FXP.DATA);
      assert.deepEqual(new Uint8Array(d.data ?? Buffer.concat(d.parts ?? [])), data);
    },
    { numRuns: runs(500), allowed: () => false },
  );
});

// ---- the server side ----

/** Files a fuzzed session may write grow to at most this much (a mutated WRITE or copy-data must not fill the disk). */
const MAX_FILE = 4 * 1024 * 1024;

/** LocalFsBackend with writes and truncation capped at {@link MAX_FILE}. */
function capped(inner: SftpBackend): SftpBackend {
  const wrap = (f: SftpBackendFile): SftpBackendFile => {
    const out: SftpBackendFile = {
      read: (o, n) => f.read(o, n),
      write: (o, d) => (o + d.length > MAX_FILE ? Promise.reject(new Error('quota')) : f.write(o, d)),
      stat: () => f.stat(),
      setstat: (a) => ((a.size ?? 0) > MAX_FILE ? Promise.reject(new Error('quota')) : f.setstat(a)),
      close: () => f.close(),
    };
    if (f.sync) out.sync = () => (f.sync as () => Promise<void>)();
    if (f.statvfs) out.statvfs = () => (f.statvfs as NonNullable<SftpBackendFile['statvfs']>)();
    return out;
  };
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'open') {
        return async (path: string, pflags: number, attrs: Parameters<SftpBackend['open']>[2]) =>
          wrap(await target.open(path, pflags, attrs));
      }
      if (prop === 'setstat' || prop === 'lsetstat') {
        const fn = Reflect.get(target, prop, receiver) as SftpBackend['setstat'] | undefined;
        if (!fn) return undefined;
        return (path: string, a: Parameters<SftpBackend['setstat']>[1]) =>
          (a.size ?? 0) > MAX_FILE ? Promise.reject(new Error('quota')) : fn.call(target, path, a);
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

const H0 = Buffer.from([0, 0, 0, 0]);
const H1 = Buffer.from([0, 0, 0, 1]);
const rq = (type: number, id: number) => new SshWriter().byte(type).uint32(id);
const ext = (id: number, name: string) => rq(FXP.EXTENDED, id).string(name);
const noAttrs = (w: SshWriter) => w.uint32(0);

/** One request of every type, using handles 0 and 1 (the first two OPEN/OPENDIR replies). */
const requestSeeds: Buffer[] = [
  noAttrs(rq(FXP.OPEN, 1).string('a').uint32(0x01)).toBuffer(),
  noAttrs(rq(FXP.OPEN, 2).string('new').uint32(0x1a)).toBuffer(),
  rq(FXP.OPENDIR, 3).string('d').toBuffer(),
  rq(FXP.READ, 4).string(H0).uint64(0n).uint32(100).toBuffer(),
  rq(FXP.WRITE, 5).string(H1).uint64(10n).string('hello').toBuffer(),
  rq(FXP.READDIR, 6).string(H1).toBuffer(),
  rq(FXP.FSTAT, 7).string(H0).toBuffer(),
  attrsBytes(rq(FXP.FSETSTAT, 8).string(H1)).toBuffer(),
  rq(FXP.CLOSE, 9).string(H0).toBuffer(),
  rq(FXP.LSTAT, 10).string('a').toBuffer(),
  rq(FXP.STAT, 11).string('d/../a').toBuffer(),
  new SshWriter().byte(FXP.SETSTAT).uint32(12).string('a').uint32(0x04).uint32(0o600).toBuffer(),
  rq(FXP.REMOVE, 13).string('new').toBuffer(),
  noAttrs(rq(FXP.MKDIR, 14).string('d2')).toBuffer(),
  rq(FXP.RMDIR, 15).string('d2').toBuffer(),
  rq(FXP.REALPATH, 16).string('.').toBuffer(),
  rq(FXP.RENAME, 17).string('a').string('b').toBuffer(),
  rq(FXP.READLINK, 18).string('l').toBuffer(),
  rq(FXP.SYMLINK, 19).string('l2').string('a').toBuffer(),
  ext(20, 'posix-rename@openssh.com').string('b').string('a').toBuffer(),
  ext(21, 'statvfs@openssh.com').string('.').toBuffer(),
  ext(22, 'fstatvfs@openssh.com').string(H0).toBuffer(),
  ext(23, 'hardlink@openssh.com').string('a').string('hl').toBuffer(),
  ext(24, 'fsync@openssh.com').string(H1).toBuffer(),
  noAttrs(ext(25, 'lsetstat@openssh.com').string('l')).toBuffer(),
  ext(26, 'limits@openssh.com').toBuffer(),
  ext(27, 'expand-path@openssh.com').string('~/d').toBuffer(),
  ext(28, 'copy-data').string(H0).uint64(0n).uint64(100n).string(H1).uint64(0n).toBuffer(),
  ext(29, 'home-directory').string('alice').toBuffer(),
  ext(30, 'users-groups-by-id@openssh.com')
    .string(new SshWriter().uint32(0).toBuffer())
    .string(new SshWriter().uint32(0).toBuffer())
    .toBuffer(),
  ext(31, 'unknown@example.com').string('x').toBuffer(),
];

let base = '';
before(() => {
  base = mkdtempSync(join(tmpdir(), 'secsh-fuzz-sftp-'));
});
after(() => rmSync(base, { recursive: true, force: true }));

let sandboxes = 0;

test('SFTP server side: mutated requests of every type get at most one well-formed reply each, and the session ends', async () => {
  const init = frame(new SshWriter().byte(FXP.INIT).uint32(3).toBuffer());
  const request = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...requestSeeds) },
    { weight: 3, arbitrary: mutated(requestSeeds) },
  );
  await fuzzAsync(
    'sftp server requests',
    fc.tuple(fc.array(request, { minLength: 1, maxLength: 10 }), fc.boolean()),
    async ([reqs, rawFrame]) => {
      const root = join(base, String(sandboxes++));
      mkdirSync(join(root, 'd'), { recursive: true });
      writeFileSync(join(root, 'a'), Buffer.alloc(1000, 0x61));
      const [c, s] = duplexPair();
      const served = serveSftp(s, capped(new LocalFsBackend(root)));
      const replies: Buffer[] = [];
      const framer = new PacketFramer();
      let badFrame: unknown;
      c.on('data', (d: Buffer) => {
        try {
          replies.push(...framer.push(d));
        } catch (e) {
          badFrame = e;
        }
      });
      c.on('error', () => {});
      c.write(init);
      for (const q of reqs) {
        // Framed as the client would (most runs), or the bytes as they are (reaching the server's framer).
        c.write(rawFrame && q.length % 5 === 0 ? q : frame(q));
      }
      c.end();
      await served;
      await new Promise((r) => setImmediate(r));
      assert.equal(badFrame, undefined, `the server wrote a bad frame: ${String(badFrame)}`);
      // A bad frame may end the session before VERSION is out; otherwise VERSION comes first.
      if (replies.length > 0) assert.equal((replies[0] as Buffer)[0], FXP.VERSION, 'the first reply is not VERSION');
      for (const p of replies.slice(1)) decodeResponse(p);
      assert.ok(replies.length - 1 <= reqs.length, `${replies.length - 1} replies to ${reqs.length} requests`);
      rmSync(root, { recursive: true, force: true });
    },
    { numRuns: runs(120, 10), allowed: () => false, maxMs: 10_000 },
  );
});

// ---- the client facing a hostile server ----

/** A fake SFTP server: VERSION (with extensions), then one planned reply per request, given the request's id or not. */
function hostileServer(
  stream: Duplex,
  plan: { bytes: Buffer; keepId: boolean; twice: boolean }[],
  version: Buffer,
): void {
  const framer = new PacketFramer();
  let i = 0;
  stream.on('error', () => {});
  stream.on('data', (d: Buffer) => {
    let packets: Buffer[];
    try {
      packets = framer.push(d);
    } catch {
      stream.destroy();
      return;
    }
    for (const p of packets) {
      if (p[0] === FXP.INIT) {
        stream.write(frame(version));
        continue;
      }
      const step = plan[i++];
      if (!step) {
        stream.destroy(); // out of replies: the session ends, and every pending call must reject
        return;
      }
      const reply = Buffer.from(step.bytes);
      if (!step.keepId && reply.length >= 5 && p.length >= 5) p.copy(reply, 1, 1, 5);
      stream.write(frame(reply));
      if (step.twice) stream.write(frame(reply));
    }
  });
}

test('SFTP client facing a hostile server: every call settles, with SshError only', async () => {
  let connected = 0;
  let callsMade = 0;
  const answers = replySeeds.filter((p) => p[0] !== FXP.VERSION);
  const version = encodeVersion(
    3,
    new Map([
      ['posix-rename@openssh.com', '1'],
      ['statvfs@openssh.com', '2'],
      ['limits@openssh.com', '1'],
      ['expand-path@openssh.com', '1'],
      ['users-groups-by-id@openssh.com', '1'],
    ]),
  ).subarray(4);
  const step = fc.record({
    bytes: fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...answers) }, { weight: 1, arbitrary: mutated(answers) }),
    keepId: fc.constantFrom(false, false, false, true),
    twice: fc.constantFrom(false, false, false, false, false, false, false, true),
  });
  const ops = [
    'stat',
    'readdir',
    'readFile',
    'realpath',
    'readlink',
    'statvfs',
    'open-read',
    'mkdir',
    'usersGroups',
  ] as const;
  await fuzzAsync(
    'sftp client vs hostile server',
    fc.tuple(
      fc.oneof({ weight: 4, arbitrary: fc.constant(version) }, { weight: 1, arbitrary: mutated([version]) }),
      fc.array(step, { maxLength: 12 }),
      fc.array(fc.constantFrom(...ops), { minLength: 1, maxLength: 4 }),
    ),
    async ([v, plan, calls]) => {
      const [c, s] = duplexPair();
      hostileServer(s, plan, v);
      const settle = async (p: Promise<unknown>) => {
        try {
          await p;
        } catch (e) {
          if (!(e instanceof SshError)) throw e;
        }
      };
      let client: SftpClient | undefined;
      const start = SftpClient.fromChannel(c, { handshakeTimeout: 2000 }).then((x) => {
        client = x;
      });
      await settle(start);
      const pending = client
        ? calls.map((op) => {
            const cl = client as SftpClient;
            switch (op) {
              case 'stat':
                return settle(cl.stat('a'));
              case 'readdir':
                return settle(cl.readdir('d'));
              case 'readFile':
                return settle(cl.readFile('a'));
              case 'realpath':
                return settle(cl.realpath('.'));
              case 'readlink':
                return settle(cl.readlink('l'));
              case 'statvfs':
                return settle(cl.statvfs('.'));
              case 'mkdir':
                return settle(cl.mkdir('x/y', { recursive: true }));
              case 'usersGroups':
                return settle(cl.usersGroupsById([0, 1], [0]));
              default:
                return settle(cl.open('a', 'r').then((h) => h.read(100, 0).finally(() => h.close())));
            }
          })
        : [];
      await Promise.all(pending);
      s.destroy();
      if (client) connected++;
      if (client) callsMade += calls.length;
    },
    { numRuns: runs(400, 5), allowed: () => false, maxMs: 5000 },
  );
  console.log(`sftp client vs hostile server: ${connected} sessions past the handshake, ${callsMade} calls in them`);
  assert.ok(connected > 0);
});
