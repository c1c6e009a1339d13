/**
 * The connection layer: Connection.handlePacket in both roles with random and mutated real messages
 * (channel opens of every type, global requests, channel requests with real tails, data, window
 * adjusts, replies), and the typed request codecs (session requests, tcpip opens, terminal modes):
 * round trips, and nothing but SshError (ProtocolError for the decoders) on any input.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Channel } from '../../src/connection/index.js';
import {
  Connection,
  decodeSessionRequest,
  decodeTcpipOpen,
  decodeTerminalModes,
  encodeTerminalModes,
  TERMINAL_MODES,
} from '../../src/connection/index.js';
import {
  encodeEnv,
  encodePtyRequest,
  encodeString,
  encodeTcpipOpen,
  encodeWindowChange,
} from '../../src/connection/requests.js';
import { ProtocolError, SshError } from '../../src/errors.js';
import { MSG, SshWriter } from '../../src/wire/index.js';
import { CaptureLink } from '../unit/connection/link.js';
import { bytesFrom, fuzz, fuzzAsync, mutated, only, runs } from './harness.js';

/** A connection with channels 0..2 open (one per role-relevant type) plus handlers installed. */
function setup(role: 'client' | 'server'): Connection {
  const conn = new Connection(new CaptureLink(), { role, windowSize: 4096, maxPacket: 1024, maxChannels: 8 });
  conn.onChannelOpen = (req) => {
    const ch = req.accept();
    ch.on('error', () => {});
    ch.on('request', (ev) => ev.accept());
  };
  conn.onGlobalRequest = () => true;
  for (const type of ['session', 'direct-tcpip', 'session']) {
    void conn.openChannel(type).then(
      (ch: Channel) => ch.on('error', () => {}),
      () => {},
    );
  }
  for (let id = 0; id < 3; id++) {
    conn.handlePacket(
      new SshWriter()
        .byte(91)
        .uint32(id)
        .uint32(id + 10)
        .uint32(10_000)
        .uint32(500)
        .toBuffer(),
    );
  }
  void conn.globalRequest('g').catch(() => {});
  return conn;
}

/** Messages 80..127 with a small channel id and a random tail, or fully random bytes. */
const message = fc.oneof(
  fc
    .tuple(fc.integer({ min: 80, max: 127 }), fc.integer({ min: 0, max: 4 }), fc.uint8Array({ maxLength: 64 }))
    .map(([msg, id, tail]) => new SshWriter().byte(msg).uint32(id).raw(tail).toBuffer()),
  fc
    .tuple(fc.constantFrom(94, 95), fc.integer({ min: 0, max: 3 }), fc.uint8Array({ maxLength: 48 }))
    .map(([msg, id, tail]) => {
      const w = new SshWriter().byte(msg).uint32(id);
      if (msg === 95) w.uint32(tail.length % 3);
      return w
        .string(tail)
        .raw(tail.subarray(0, tail.length % 4 === 0 ? 1 : 0))
        .toBuffer();
    }),
  fc
    .tuple(
      fc.integer({ min: 0, max: 3 }),
      fc.constantFrom('exit-status', 'exit-signal', 'pty-req', 'env', 'exec', 'subsystem', 'x', 'window-change'),
      fc.boolean(),
      fc.array(
        fc.oneof(
          fc.nat({ max: 0xffffffff }).map((n) => new SshWriter().uint32(n).toBuffer()),
          fc.uint8Array({ maxLength: 12 }).map((b) => new SshWriter().string(b).toBuffer()),
          fc.uint8Array({ maxLength: 3 }).map((b) => Buffer.from(b)),
        ),
        { maxLength: 6 },
      ),
    )
    .map(([id, name, wantReply, parts]) =>
      new SshWriter().byte(98).uint32(id).string(name).bool(wantReply).raw(Buffer.concat(parts)).toBuffer(),
    ),
  fc.uint8Array({ minLength: 0, maxLength: 80 }).map((b) => Buffer.from(b)),
);

function runMessages(role: 'client' | 'server', msgs: readonly Buffer[]): void {
  const conn = setup(role);
  try {
    for (const m of msgs) {
      try {
        conn.handlePacket(m);
      } catch (e) {
        assert.ok(e instanceof SshError, `non-SshError thrown: ${String(e)}`);
      }
    }
  } finally {
    conn.destroy();
  }
}

/** Each run lets the event loop turn once, so what a destroyed connection queued (stream 'close' events) runs. */
const drained = () => new Promise<void>((r) => setImmediate(r));

test('random payloads to handlePacket throw only SshError subclasses', async () => {
  await fuzzAsync(
    'connection handlePacket (random)',
    fc.tuple(fc.constantFrom<'client' | 'server'>('client', 'server'), fc.array(message, { maxLength: 20 })),
    async ([role, msgs]) => {
      runMessages(role, msgs);
      await drained();
    },
    { numRuns: runs(2000), allowed: () => false },
  );
});

const req = (id: number, type: string, tail: Buffer, wantReply = true) =>
  new SshWriter().byte(MSG.CHANNEL_REQUEST).uint32(id).string(type).bool(wantReply).raw(tail).toBuffer();
const open = (type: string, tail: Buffer, sender = 7) =>
  new SshWriter().byte(MSG.CHANNEL_OPEN).string(type).uint32(sender).uint32(65536).uint32(32768).raw(tail).toBuffer();
const global = (name: string, tail: Buffer, wantReply = true) =>
  new SshWriter().byte(MSG.GLOBAL_REQUEST).string(name).bool(wantReply).raw(tail).toBuffer();

/** Every connection message, well formed, addressed to the channels setup() opened. */
export const CONNECTION_SEEDS: readonly Buffer[] = [
  open('session', Buffer.alloc(0)),
  open('direct-tcpip', encodeTcpipOpen({ host: 'example.com', port: 22, originHost: '10.0.0.1', originPort: 5555 })),
  open('forwarded-tcpip', encodeTcpipOpen({ host: '127.0.0.1', port: 8080, originHost: '10.0.0.2', originPort: 1 })),
  open('x11', new SshWriter().string('127.0.0.1').uint32(6010).toBuffer()),
  open('auth-agent@openssh.com', Buffer.alloc(0)),
  open('direct-streamlocal@openssh.com', new SshWriter().string('/tmp/s').string('').uint32(0).toBuffer()),
  global('tcpip-forward', new SshWriter().string('0.0.0.0').uint32(0).toBuffer()),
  global('cancel-tcpip-forward', new SshWriter().string('0.0.0.0').uint32(8080).toBuffer()),
  global('keepalive@openssh.com', Buffer.alloc(0)),
  global('hostkeys-00@openssh.com', new SshWriter().string(Buffer.alloc(51, 1)).toBuffer(), false),
  Buffer.from([MSG.REQUEST_SUCCESS, 0, 0, 0x1f, 0x90]),
  Buffer.from([MSG.REQUEST_FAILURE]),
  new SshWriter().byte(MSG.CHANNEL_OPEN_CONFIRMATION).uint32(3).uint32(30).uint32(1000).uint32(500).toBuffer(),
  new SshWriter().byte(MSG.CHANNEL_OPEN_FAILURE).uint32(3).uint32(2).string('no').string('en').toBuffer(),
  new SshWriter().byte(MSG.CHANNEL_WINDOW_ADJUST).uint32(0).uint32(4096).toBuffer(),
  new SshWriter().byte(MSG.CHANNEL_DATA).uint32(1).string(Buffer.alloc(100, 0x61)).toBuffer(),
  new SshWriter().byte(MSG.CHANNEL_EXTENDED_DATA).uint32(0).uint32(1).string('err').toBuffer(),
  new SshWriter().byte(MSG.CHANNEL_EOF).uint32(2).toBuffer(),
  new SshWriter().byte(MSG.CHANNEL_CLOSE).uint32(2).toBuffer(),
  new SshWriter().byte(MSG.CHANNEL_SUCCESS).uint32(0).toBuffer(),
  new SshWriter().byte(MSG.CHANNEL_FAILURE).uint32(0).toBuffer(),
  req(0, 'pty-req', encodePtyRequest({ term: 'xterm', cols: 80, rows: 24, modes: { ECHO: 1, TTY_OP_ISPEED: 38400 } })),
  req(0, 'x11-req', new SshWriter().bool(false).string('MIT-MAGIC-COOKIE-1').string('00ff').uint32(0).toBuffer()),
  req(0, 'env', encodeEnv('LANG', 'C.UTF-8')),
  req(0, 'shell', Buffer.alloc(0)),
  req(2, 'exec', encodeString('ls -l')),
  req(2, 'subsystem', encodeString('sftp')),
  req(0, 'window-change', encodeWindowChange(100, 40, 0, 0), false),
  req(0, 'xon-xoff', Buffer.from([1]), false),
  req(0, 'signal', encodeString('INT'), false),
  req(0, 'auth-agent-req@openssh.com', Buffer.alloc(0)),
  req(0, 'exit-status', new SshWriter().uint32(3).toBuffer(), false),
  req(0, 'exit-signal', new SshWriter().string('TERM').bool(false).string('killed').string('').toBuffer(), false),
  req(1, 'eow@openssh.com', Buffer.alloc(0), false),
];

test('mutated real connection messages (both roles) throw only SshError subclasses', async () => {
  await fuzzAsync(
    'connection handlePacket (mutated)',
    fc.tuple(
      fc.constantFrom<'client' | 'server'>('client', 'server'),
      fc.array(fc.oneof(fc.constantFrom(...CONNECTION_SEEDS), mutated(CONNECTION_SEEDS)), {
        minLength: 1,
        maxLength: 12,
      }),
    ),
    async ([role, msgs]) => {
      runMessages(role, msgs);
      await drained();
    },
    { numRuns: runs(2000), allowed: () => false },
  );
});

const tails: Record<string, Buffer[]> = {
  'pty-req': [encodePtyRequest({ term: 'vt100', modes: { ECHO: 0, VINTR: 3 } })],
  'x11-req': [new SshWriter().bool(true).string('MIT-MAGIC-COOKIE-1').string('abcd').uint32(1).toBuffer()],
  env: [encodeEnv('A', 'b')],
  shell: [Buffer.alloc(0)],
  'auth-agent-req@openssh.com': [Buffer.alloc(0)],
  exec: [encodeString('echo hi')],
  subsystem: [encodeString('sftp')],
  'window-change': [encodeWindowChange(1, 2, 3, 4)],
  'xon-xoff': [Buffer.from([0])],
  signal: [encodeString('HUP')],
};

test('session request, tcpip open and terminal mode decoders throw only ProtocolError on mutated tails', () => {
  const types = Object.keys(tails);
  const all = Object.values(tails).flat();
  fuzz(
    'session request decode',
    fc.tuple(fc.constantFrom(...types, 'unknown'), bytesFrom(all)),
    ([type, data]) => decodeSessionRequest(type, data),
    { numRuns: runs(2000), allowed: only(ProtocolError) },
  );
  const tcp = [encodeTcpipOpen({ host: 'h', port: 1, originHost: 'o', originPort: 2 })];
  fuzz('tcpip open decode', bytesFrom(tcp), (d) => decodeTcpipOpen(d), {
    numRuns: runs(1000),
    allowed: only(ProtocolError),
  });
  const modes = [encodeTerminalModes({ ECHO: 1, ICANON: 0, TTY_OP_ISPEED: 38400, VINTR: 3 })];
  fuzz('terminal modes decode', bytesFrom(modes), (d) => decodeTerminalModes(d), {
    numRuns: runs(1000),
    allowed: only(ProtocolError),
  });
});

test('session requests, tcpip opens and terminal modes: decode(encode(x)) = x', () => {
  const u32 = fc.nat({ max: 0xffffffff });
  const text = fc.string({ maxLength: 40 });
  const modeNames = Object.keys(TERMINAL_MODES).filter((k) => k !== 'TTY_OP_END');
  const modes = fc.dictionary(fc.constantFrom(...modeNames), u32, { maxKeys: 10 });
  fuzz(
    'session request round trip',
    fc.tuple(text, u32, u32, u32, u32, modes, text, text),
    ([term, cols, rows, width, height, dict, name, value]) => {
      const m = { ...dict }; // fast-check's dictionaries have no prototype
      assert.deepEqual(
        decodeSessionRequest('pty-req', encodePtyRequest({ term, cols, rows, width, height, modes: m })),
        {
          type: 'pty-req',
          term,
          cols,
          rows,
          width,
          height,
          modes: m,
        },
      );
      assert.deepEqual(decodeSessionRequest('window-change', encodeWindowChange(cols, rows, width, height)), {
        type: 'window-change',
        cols,
        rows,
        width,
        height,
      });
      assert.deepEqual(decodeSessionRequest('env', encodeEnv(name, value)), { type: 'env', name, value });
      assert.deepEqual(decodeSessionRequest('exec', encodeString(value)), { type: 'exec', command: value });
      assert.deepEqual(decodeSessionRequest('subsystem', encodeString(name)), { type: 'subsystem', name });
      assert.deepEqual(decodeTerminalModes(encodeTerminalModes(m)), m);
    },
    { numRuns: runs(500), allowed: () => false },
  );
  fuzz(
    'tcpip open round trip',
    fc.record({ host: text, port: u32, originHost: text, originPort: u32 }),
    (t) => assert.deepEqual(decodeTcpipOpen(encodeTcpipOpen(t)), { ...t }),
    { numRuns: runs(500), allowed: () => false },
  );
});
