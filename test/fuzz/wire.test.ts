import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SshError } from '../../src/errors.js';
import { decodeKexInit } from '../../src/transport/kexinit.js';
import { VersionReader } from '../../src/transport/version.js';
import { SshReader, SshWriter } from '../../src/wire/index.js';

test('decode(encode(x)) = x for strings, uint32, mpint', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 0xffffffff }), fc.bigInt(), (bytes, n, big) => {
      const buf = new SshWriter().string(bytes).uint32(n).mpint(big).toBuffer();
      const r = new SshReader(buf);
      assert.deepEqual(new Uint8Array(r.string()), bytes);
      assert.equal(r.uint32(), n);
      assert.equal(r.mpint(), big);
      r.ensureEnd();
    }),
  );
});

test('KEXINIT decoder throws only SshError on random input', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      try {
        decodeKexInit(Buffer.concat([Buffer.from([20]), Buffer.from(bytes)]));
      } catch (e) {
        assert.ok(e instanceof SshError, String(e));
      }
    }),
  );
});

test('version reader throws only SshError on random input', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }), (chunks) => {
      const v = new VersionReader(true);
      try {
        for (const c of chunks) if (v.push(Buffer.from(c)).done) break;
      } catch (e) {
        assert.ok(e instanceof SshError, String(e));
      }
    }),
  );
});
