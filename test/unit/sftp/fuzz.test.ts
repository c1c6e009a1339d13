import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { SshError } from '../../../src/errors.js';
import type { SftpAttrs } from '../../../src/sftp/attrs.js';
import { decodeAttrs, encodeAttrs } from '../../../src/sftp/attrs.js';
import { decodeResponse, decodeVersion, PacketFramer } from '../../../src/sftp/codec.js';
import { FXP } from '../../../src/sftp/constants.js';
import { LocalFsBackend } from '../../../src/sftp/local-backend.js';
import { serveSftp } from '../../../src/sftp/server.js';
import { SshReader, SshWriter } from '../../../src/wire/index.js';
import { duplexPair } from './pair.js';

const u32 = fc.nat({ max: 0xffffffff });

test('attrs: decode(encode(x)) = x', () => {
  const attrs = fc.record(
    {
      size: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      uid: u32,
      gid: u32,
      mode: u32,
      atime: u32,
      mtime: u32,
      extended: fc.array(
        fc.record({
          type: fc.string({ maxLength: 20 }),
          data: fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)),
        }),
        {
          minLength: 1,
          maxLength: 3,
        },
      ),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(attrs, (a0) => {
      const a: SftpAttrs = { ...a0 };
      if (a0.extended) a.extended = a0.extended.map((e) => ({ type: e.type, data: e.data }));
      // uid/gid and atime/mtime travel in pairs.
      if ((a.uid === undefined) !== (a.gid === undefined)) {
        a.uid ??= 0xffffffff;
        a.gid ??= 0xffffffff;
      }
      if ((a.atime === undefined) !== (a.mtime === undefined)) {
        a.atime ??= a.mtime;
        a.mtime ??= a.atime;
      }
      const w = new SshWriter();
      encodeAttrs(w, a);
      const r = new SshReader(w.toBuffer());
      assert.deepEqual(decodeAttrs(r), a);
      r.ensureEnd();
    }),
  );
});

test('reply decoders and the framer throw only SshError on random input', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(101, 102, 103, 104, 105, 201, 2, 7),
      fc.uint8Array({ maxLength: 300 }),
      (type, body) => {
        const p = Buffer.concat([Buffer.from([type]), body]);
        for (const f of [() => decodeResponse(p), () => decodeVersion(p), () => new PacketFramer(1000).push(p)]) {
          try {
            f();
          } catch (e) {
            assert.ok(e instanceof SshError, String(e));
          }
        }
      },
    ),
  );
});

test('the server survives random request packets and keeps answering', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-sftp-fuzz-'));
  try {
    const [c, s] = duplexPair();
    const served = serveSftp(s, new LocalFsBackend(dir));
    const replies: Buffer[] = [];
    const framer = new PacketFramer();
    c.on('data', (d: Buffer) => replies.push(...framer.push(d)));
    const frame = (b: Buffer) => {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(b.length);
      return Buffer.concat([h, b]);
    };
    c.write(frame(Buffer.from([FXP.INIT, 0, 0, 0, 3])));
    const samples = fc.sample(
      fc.tuple(
        fc.integer({ min: 3, max: 20 }).chain((t) => fc.constant(t)),
        u32,
        fc.uint8Array({ maxLength: 80 }),
      ),
      { numRuns: 400, seed: 42 },
    );
    for (const [type, id, body] of samples) {
      const h = Buffer.alloc(5);
      h[0] = type;
      h.writeUInt32BE(id, 1);
      c.write(frame(Buffer.concat([h, body])));
    }
    // A well-formed request after the noise is still answered.
    const ok = Buffer.alloc(5);
    ok[0] = FXP.REALPATH;
    ok.writeUInt32BE(7777, 1);
    c.write(frame(Buffer.concat([ok, new SshWriter().string('.').toBuffer()])));
    for (let i = 0; i < 200 && !replies.some((r) => r[0] === FXP.NAME && r.readUInt32BE(1) === 7777); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(replies.some((r) => r[0] === FXP.NAME && r.readUInt32BE(1) === 7777));
    assert.equal(replies.length, samples.length + 2);
    c.end();
    await served;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
