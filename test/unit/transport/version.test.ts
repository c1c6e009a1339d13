import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError } from '../../../src/errors.js';
import { VersionReader } from '../../../src/transport/version.js';

test('reads a version line split across chunks, keeps the rest', () => {
  const v = new VersionReader(true);
  assert.equal(v.push(Buffer.from('hello there\r\nSSH-2.0-Open')).done, false);
  const r = v.push(Buffer.from('SSH_9.2\r\n\x00\x00\x00\x0c'));
  assert.ok(r.done);
  if (r.done) {
    assert.equal(r.version, 'SSH-2.0-OpenSSH_9.2');
    assert.deepEqual(r.preBanner, ['hello there']);
    assert.equal(r.rest.length, 4);
  }
});

test('accepts LF-only line ends and SSH-1.99', () => {
  const r = new VersionReader(true).push(Buffer.from('SSH-1.99-x\n'));
  assert.ok(r.done);
});

test('rejects garbage, SSH-1.5, long lines and too many pre-banner lines', () => {
  assert.throws(() => new VersionReader(true).push(Buffer.alloc(300, 0x41)), /not an SSH server/);
  assert.throws(() => new VersionReader(true).push(Buffer.from('SSH-1.5-old\r\n')), ProtocolError);
  assert.throws(() => new VersionReader(true).push(Buffer.from(`SSH-2.0-${'x'.repeat(300)}\r\n`)), /longer than 255/);
  assert.throws(() => new VersionReader(true).push(Buffer.from('line\r\n'.repeat(1025))), /more than 1024 lines/);
  assert.doesNotThrow(() => new VersionReader(true).push(Buffer.from('line\r\n'.repeat(1024))));
});

test('a server rejects lines before the client version', () => {
  assert.throws(() => new VersionReader(false).push(Buffer.from('GET / HTTP/1.1\r\n')), /not an SSH/);
});
