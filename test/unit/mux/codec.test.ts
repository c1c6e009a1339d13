/**
 * The PROTOCOL.mux codec: framing split at every byte, lengths refused before anything is buffered,
 * NEW_SESSION and OPEN_FWD laid out as OpenSSH's mux.c reads them (flags as uint32), proxy frames;
 * and ssh_config's ControlPath/ControlMaster.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveSshConfig } from '../../../src/config/index.js';
import { MuxError } from '../../../src/errors.js';
import {
  decodeHello,
  decodeNewSession,
  encodeForward,
  encodeHello,
  encodeNewSession,
  MUX,
  MuxFramer,
  muxFrame,
} from '../../../src/mux/codec.js';
import { ProxyFramer, proxyFrame } from '../../../src/mux/proxy-link.js';
import { SshReader } from '../../../src/wire/index.js';

test('MuxFramer yields the same messages whether fed whole or one byte at a time', () => {
  const stream = Buffer.concat([encodeHello(), muxFrame(MUX.S_ALIVE, (w) => w.uint32(3).uint32(99)), encodeHello()]);
  const whole = new MuxFramer().push(stream).map((m) => [m.type, m.body.rest().toString('hex')]);
  const f = new MuxFramer();
  const bytewise: Array<[number, string]> = [];
  for (const b of stream)
    for (const m of f.push(Buffer.from([b]))) bytewise.push([m.type, m.body.rest().toString('hex')]);
  assert.deepEqual(bytewise, whole);
  assert.deepEqual(
    whole.map(([t]) => t),
    [MUX.HELLO, MUX.S_ALIVE, MUX.HELLO],
  );
  assert.equal(f.buffered, 0);
});

test('MuxFramer refuses a length over the limit from the 4-byte header alone, and a length below 4', () => {
  const f = new MuxFramer(1024);
  assert.throws(() => f.push(Buffer.from([0, 0, 4, 1])), MuxError);
  assert.throws(() => new MuxFramer().push(Buffer.from([0, 0, 0, 3, 1, 2, 3])), /out of range/);
  // a length at the limit is accepted and waits for its bytes
  const g = new MuxFramer(1024);
  assert.deepEqual(g.push(Buffer.from([0, 0, 4, 0, 0, 0, 0, 1])), []);
  assert.equal(g.buffered, 8);
});

test('HELLO: version 4 with extensions passes; another version or a dangling extension name is a MuxError', () => {
  const ok = muxFrame(MUX.HELLO, (w) => w.uint32(4).string('ext').string('v'));
  decodeHello(new SshReader(ok, 8));
  assert.throws(
    () =>
      decodeHello(
        new SshReader(
          muxFrame(MUX.HELLO, (w) => w.uint32(5)),
          8,
        ),
      ),
    /version 5/,
  );
  const dangling = muxFrame(MUX.HELLO, (w) => w.uint32(4).string('ext'));
  assert.throws(() => decodeHello(new SshReader(dangling, 8)), /malformed HELLO/);
});

test("NEW_SESSION: flags are uint32 as mux.c reads them, fields in PROTOCOL.mux's order, and it decodes back", () => {
  const req = {
    tty: true,
    x11: false,
    agent: false,
    subsystem: true,
    escapeChar: 0xffffffff,
    term: 'xterm',
    command: 'sftp',
    env: ['LANG=C', 'A=b'],
  };
  const frame = encodeNewSession(7, req);
  const r = new SshReader(frame, 4);
  assert.equal(r.uint32(), MUX.C_NEW_SESSION);
  assert.equal(r.uint32(), 7);
  const copy = new SshReader(frame, 12);
  assert.equal(copy.string().length, 0); // reserved
  assert.deepEqual([copy.uint32(), copy.uint32(), copy.uint32(), copy.uint32()], [1, 0, 0, 1]);
  assert.deepEqual(decodeNewSession(r), req);
  const truncated = frame.subarray(0, frame.length - 3);
  assert.throws(() => decodeNewSession(new SshReader(truncated, 12)), MuxError);
});

test('OPEN_FWD: listen and connect ends, a Unix socket path marked by port 0xfffffffe', () => {
  const f = encodeForward(MUX.C_OPEN_FWD, 2, { type: 'remote', listenPort: 0, connectPath: '/run/x.sock' });
  const r = new SshReader(f, 4);
  assert.deepEqual(
    [r.uint32(), r.uint32(), r.uint32(), r.string().toString(), r.uint32(), r.string().toString(), r.uint32()],
    [MUX.C_OPEN_FWD, 2, 2, '', 0, '/run/x.sock', 0xfffffffe],
  );
  r.ensureEnd();
});

test('proxy frames: uint32 length, a zero padding byte, the payload; split anywhere; padding or a bad length refused', () => {
  const a = proxyFrame(Buffer.from([94, 0, 0, 0, 1]));
  assert.deepEqual([...a.subarray(0, 5)], [0, 0, 0, 6, 0]);
  const both = Buffer.concat([a, proxyFrame(Buffer.from([96, 0, 0, 0, 1]))]);
  const f = new ProxyFramer();
  const got: number[] = [];
  for (const b of both) for (const p of f.push(Buffer.from([b]))) got.push(p[0] as number);
  assert.deepEqual(got, [94, 96]);
  assert.throws(() => new ProxyFramer().push(Buffer.from([0, 0, 0, 2, 1, 94])), /padding/);
  assert.throws(() => new ProxyFramer().push(Buffer.from([0, 0x10, 0, 0])), /out of range/);
  assert.throws(() => new ProxyFramer().push(Buffer.from([0, 0, 0, 1, 0])), /out of range/);
});

test('ssh_config: ControlPath is token-expanded (none is absent), ControlMaster kept lowercased', () => {
  const r = resolveSshConfig('web', {
    text: 'Host web\n  HostName 10.1.2.3\n  User bob\n  Port 2200\n  ControlPath ~/.ssh/cm-%r@%h:%p\n  ControlMaster AUTO\n',
    homeDir: '/home/me',
  });
  assert.equal(r.controlPath, '/home/me/.ssh/cm-bob@10.1.2.3:2200');
  assert.equal(r.controlMaster, 'auto');
  const none = resolveSshConfig('web', { text: 'Host web\n  ControlPath none\n', homeDir: '/home/me' });
  assert.equal(none.controlPath, undefined);
  assert.equal(none.controlMaster, undefined);
});
