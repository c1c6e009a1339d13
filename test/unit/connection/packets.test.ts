import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Channel } from '../../../src/connection/index.js';
import { Connection } from '../../../src/connection/index.js';
import { ProtocolError } from '../../../src/errors.js';
import { MSG, SshReader, SshWriter } from '../../../src/wire/index.js';
import { CaptureLink, settle } from './link.js';

const w = (): SshWriter => new SshWriter();

/** A client connection with one open channel (local id 0, remote id 7) whose peer is hand-driven. */
async function opened(
  opts: { windowSize?: number; maxPacket?: number; peerWindow?: number; type?: string } = {},
): Promise<{ conn: Connection; link: CaptureLink; ch: Channel }> {
  const link = new CaptureLink();
  const conn = new Connection(link, {
    role: 'client',
    windowSize: opts.windowSize ?? 1024,
    maxPacket: opts.maxPacket ?? 512,
  });
  const p = conn.openChannel(opts.type ?? 'direct-tcpip');
  const open = new SshReader(link.sent[0] as Buffer);
  assert.equal(open.byte(), MSG.CHANNEL_OPEN);
  assert.equal(open.string().toString(), opts.type ?? 'direct-tcpip');
  assert.equal(open.uint32(), 0);
  assert.equal(open.uint32(), opts.windowSize ?? 1024);
  assert.equal(open.uint32(), opts.maxPacket ?? 512);
  conn.handlePacket(
    w()
      .byte(MSG.CHANNEL_OPEN_CONFIRMATION)
      .uint32(0)
      .uint32(7)
      .uint32(opts.peerWindow ?? 1000)
      .uint32(300)
      .toBuffer(),
  );
  return { conn, link, ch: await p };
}

const data = (id: number, d: Buffer): Buffer => w().byte(MSG.CHANNEL_DATA).uint32(id).string(d).toBuffer();
const adjust = (id: number, n: number): Buffer => w().byte(MSG.CHANNEL_WINDOW_ADJUST).uint32(id).uint32(n).toBuffer();
const bare = (msg: number, id: number): Buffer => w().byte(msg).uint32(id).toBuffer();

test('window adjust past 2^32-1 is a ProtocolError; up to it is fine', async () => {
  const { conn } = await opened({ peerWindow: 0xffff0000 });
  conn.handlePacket(adjust(0, 0xffff));
  assert.throws(() => conn.handlePacket(adjust(0, 1)), ProtocolError);
});

test('data beyond the window, larger than max packet, after EOF, or for unknown channels is a ProtocolError', async () => {
  const { conn } = await opened({ windowSize: 1024, maxPacket: 512 });
  assert.throws(() => conn.handlePacket(data(0, Buffer.alloc(513))), ProtocolError);
  conn.handlePacket(data(0, Buffer.alloc(512)));
  conn.handlePacket(data(0, Buffer.alloc(500)));
  assert.throws(() => conn.handlePacket(data(0, Buffer.alloc(13))), /beyond window/);
  conn.handlePacket(data(0, Buffer.alloc(12)));
  assert.throws(() => conn.handlePacket(data(1, Buffer.alloc(1))), /unknown channel/);
  const b = await opened();
  b.conn.handlePacket(bare(MSG.CHANNEL_EOF, 0));
  assert.throws(() => b.conn.handlePacket(data(0, Buffer.from('x'))), /after EOF/);
  const ext = w().byte(MSG.CHANNEL_EXTENDED_DATA).uint32(0).uint32(1).string('x').toBuffer();
  assert.throws(() => b.conn.handlePacket(ext), ProtocolError);
});

test('malformed messages: truncation, trailing bytes, unsolicited replies, unknown numbers', async () => {
  const { conn } = await opened();
  const cases: Buffer[] = [
    Buffer.from([MSG.CHANNEL_DATA, 0, 0, 0]),
    Buffer.concat([data(0, Buffer.from('ab')), Buffer.from([0])]),
    Buffer.concat([bare(MSG.CHANNEL_EOF, 0), Buffer.from([0])]),
    adjust(0, 5).subarray(0, 8),
    w().byte(MSG.CHANNEL_DATA).uint32(0).uint32(10).raw(Buffer.from('short')).toBuffer(),
    bare(MSG.CHANNEL_SUCCESS, 0),
    w().byte(MSG.REQUEST_SUCCESS).toBuffer(),
    w().byte(MSG.CHANNEL_OPEN_CONFIRMATION).uint32(5).uint32(1).uint32(1).uint32(1).toBuffer(),
    w().byte(MSG.CHANNEL_OPEN_FAILURE).uint32(5).uint32(1).string('').string('').toBuffer(),
    w().byte(MSG.CHANNEL_REQUEST).uint32(0).string('exit-status').bool(false).uint32(1).byte(0).toBuffer(),
    Buffer.from([89]),
    Buffer.from([127]),
  ];
  for (const c of cases) assert.throws(() => conn.handlePacket(c), ProtocolError, c.toString('hex'));
});

test('the receive window is credited only as the application consumes, about half a window at a time', async () => {
  const { conn, link, ch } = await opened({ windowSize: 1024, maxPacket: 512 });
  const adjusts = (): number[] => link.ofType(MSG.CHANNEL_WINDOW_ADJUST).map((p) => p.readUInt32BE(5));
  conn.handlePacket(data(0, Buffer.alloc(400, 1)));
  conn.handlePacket(data(0, Buffer.alloc(400, 2)));
  await settle();
  assert.deepEqual(adjusts(), [], 'nothing read, nothing credited');
  const first = ch.read(300) as Buffer;
  assert.equal(first.length, 300);
  assert.deepEqual(adjusts(), [], 'below half the window');
  ch.read(300);
  assert.deepEqual(adjusts(), [600]);
  assert.equal(link.last()?.readUInt32BE(1), 7, 'adjust goes to the remote id');
  // the peer may now send 1024 - 800 + 600 = 824 more bytes, and not one more
  conn.handlePacket(data(0, Buffer.alloc(512)));
  conn.handlePacket(data(0, Buffer.alloc(312)));
  assert.throws(() => conn.handlePacket(data(0, Buffer.alloc(1))), /beyond window/);
});

test('received data is not copied: handlePacket takes ownership of the payload', async () => {
  const { conn, ch } = await opened();
  const pkt = data(0, Buffer.from('hello'));
  conn.handlePacket(pkt);
  const got = ch.read() as Buffer;
  assert.equal(got.toString(), 'hello');
  assert.equal(got.buffer, pkt.buffer, 'the chunk is a view of the packet');
});

test('sending: chunks respect the peer max packet and window; writes wait for WINDOW_ADJUST', async () => {
  const { conn, link, ch } = await opened({ peerWindow: 1000 });
  let done = false;
  ch.write(Buffer.alloc(1500, 9), () => {
    done = true;
  });
  await settle();
  const sizes = (): number[] => link.ofType(MSG.CHANNEL_DATA).map((p) => p.readUInt32BE(5));
  assert.deepEqual(sizes(), [300, 300, 300, 100]);
  assert.equal(done, false);
  conn.handlePacket(adjust(0, 450));
  await settle();
  assert.deepEqual(sizes(), [300, 300, 300, 100, 300, 150]);
  assert.equal(done, false);
  conn.handlePacket(adjust(0, 10_000));
  await settle();
  assert.deepEqual(sizes(), [300, 300, 300, 100, 300, 150, 50]);
  assert.equal(done, true);
  for (const p of link.ofType(MSG.CHANNEL_DATA)) assert.equal(p.readUInt32BE(1), 7);
});

test('a backed-up link holds the write callback until drain', async () => {
  const link = new CaptureLink();
  let accept = true;
  link.send = (p: Buffer): boolean => {
    link.sent.push(Buffer.from(p));
    return accept;
  };
  const conn = new Connection(link, { role: 'client' });
  const p = conn.openChannel('direct-tcpip');
  conn.handlePacket(
    w()
      .byte(MSG.CHANNEL_OPEN_CONFIRMATION)
      .uint32(0)
      .uint32(1)
      .uint32(1 << 20)
      .uint32(1000)
      .toBuffer(),
  );
  const ch = await p;
  accept = false;
  let done = 0;
  ch.write(Buffer.alloc(2500), () => done++);
  await settle();
  assert.equal(link.ofType(MSG.CHANNEL_DATA).length, 1, 'stops sending once the link is backed up');
  assert.equal(done, 0);
  accept = true;
  link.emit('drain');
  await settle();
  assert.equal(link.ofType(MSG.CHANNEL_DATA).length, 3);
  assert.equal(done, 1);
  // a write that fits in one packet still waits for drain when that packet backed the link up
  accept = false;
  ch.write(Buffer.alloc(10), () => done++);
  await settle();
  assert.equal(link.ofType(MSG.CHANNEL_DATA).length, 4);
  assert.equal(done, 1);
  accept = true;
  link.emit('drain');
  await settle();
  assert.equal(done, 2);
});

test("client session: EOF both ways does not send CLOSE; the server's CLOSE is answered, exit first", async () => {
  const { conn, link, ch } = await opened({ type: 'session' });
  const events: string[] = [];
  ch.on('exit', () => events.push('exit'));
  ch.on('close', () => events.push('close'));
  ch.resume();
  ch.end();
  await settle();
  assert.equal(link.ofType(MSG.CHANNEL_EOF).length, 1);
  conn.handlePacket(bare(MSG.CHANNEL_EOF, 0));
  await settle();
  assert.equal(link.ofType(MSG.CHANNEL_CLOSE).length, 0);
  conn.handlePacket(w().byte(MSG.CHANNEL_REQUEST).uint32(0).string('exit-status').bool(false).uint32(0).toBuffer());
  conn.handlePacket(bare(MSG.CHANNEL_CLOSE, 0));
  await settle();
  assert.equal(link.ofType(MSG.CHANNEL_CLOSE).length, 1);
  assert.deepEqual(events, ['exit', 'close']);
  assert.equal(conn.channelCount, 0);
  assert.throws(() => conn.handlePacket(bare(MSG.CHANNEL_CLOSE, 0)), /unknown channel/);
});

test('a WINDOW_ADJUST for a channel that is gone (closed both ways, or never opened) is ignored, as sshd does; other messages for it are not', async () => {
  const { conn, link, ch } = await opened({ type: 'session' });
  ch.resume();
  conn.handlePacket(bare(MSG.CHANNEL_EOF, 0));
  conn.handlePacket(bare(MSG.CHANNEL_CLOSE, 0));
  await settle();
  assert.equal(conn.channelCount, 0);
  const sent = link.sent.length;
  // paramiko's reader thread may credit the window after its transport thread answered our CLOSE
  conn.handlePacket(adjust(0, 65536));
  conn.handlePacket(adjust(42, 1));
  await settle();
  assert.equal(link.sent.length, sent, 'nothing is sent in reply');
  const reopened = conn.openChannel('session');
  conn.handlePacket(w().byte(MSG.CHANNEL_OPEN_CONFIRMATION).uint32(0).uint32(8).uint32(1000).uint32(300).toBuffer());
  assert.equal((await reopened).localId, 0, 'the id is free for the next channel');
  // still checked: its shape, and data or requests for a channel that is gone
  assert.throws(() => conn.handlePacket(Buffer.concat([adjust(5, 1), Buffer.from([0])])), ProtocolError);
  assert.throws(() => conn.handlePacket(data(5, Buffer.from('x'))), /unknown channel/);
  assert.throws(() => conn.handlePacket(bare(MSG.CHANNEL_EOF, 5)), /unknown channel/);
});

test('non-session channel: both EOFs send CLOSE; the id is freed only when CLOSE went both ways', async () => {
  const { conn, link, ch } = await opened();
  ch.resume();
  ch.end();
  conn.handlePacket(bare(MSG.CHANNEL_EOF, 0));
  await settle();
  assert.equal(link.ofType(MSG.CHANNEL_CLOSE).length, 1);
  assert.equal(conn.channelCount, 1);
  conn.handlePacket(bare(MSG.CHANNEL_CLOSE, 0));
  assert.equal(conn.channelCount, 0);
  // the freed id is reused by the next open
  void conn.openChannel('x');
  assert.equal(new SshReader(link.last() as Buffer, 1 + 4 + 1).uint32(), 0);
});

test('destroying a channel sends CLOSE; late data until the peer CLOSE is dropped', async () => {
  const { conn, link, ch } = await opened();
  ch.destroy();
  assert.equal(link.ofType(MSG.CHANNEL_CLOSE).length, 1);
  conn.handlePacket(data(0, Buffer.from('late')));
  conn.handlePacket(bare(MSG.CHANNEL_EOF, 0));
  conn.handlePacket(bare(MSG.CHANNEL_CLOSE, 0));
  assert.equal(link.ofType(MSG.CHANNEL_CLOSE).length, 1);
  assert.equal(conn.channelCount, 0);
});

test('incoming opens: default refusal, limits, accept confirms with our window', () => {
  const link = new CaptureLink();
  const conn = new Connection(link, { role: 'server', maxChannels: 1, windowSize: 5000, maxPacket: 600 });
  const open = (type: string, sender: number): Buffer =>
    w().byte(MSG.CHANNEL_OPEN).string(type).uint32(sender).uint32(100).uint32(100).toBuffer();
  conn.handlePacket(open('session', 3));
  let r = new SshReader(link.last() as Buffer);
  assert.deepEqual(
    [r.byte(), r.uint32(), r.uint32(), r.string().toString()],
    [MSG.CHANNEL_OPEN_FAILURE, 3, 3, 'unknown channel type'],
  );
  conn.onChannelOpen = (req) => req.accept();
  conn.handlePacket(open('session', 4));
  r = new SshReader(link.last() as Buffer);
  assert.deepEqual(
    [r.byte(), r.uint32(), r.uint32(), r.uint32(), r.uint32()],
    [MSG.CHANNEL_OPEN_CONFIRMATION, 4, 0, 5000, 600],
  );
  r.ensureEnd();
  conn.handlePacket(open('session', 5));
  r = new SshReader(link.last() as Buffer);
  assert.deepEqual([r.byte(), r.uint32(), r.uint32()], [MSG.CHANNEL_OPEN_FAILURE, 5, 4]);
});

test('a reply due for a request of a destroyed channel is ignored; an unsolicited one is not', async () => {
  const { conn, ch } = await opened();
  const exec = ch.request('exec', Buffer.from([0, 0, 0, 0]));
  ch.destroy();
  await assert.rejects(exec);
  conn.handlePacket(bare(MSG.CHANNEL_SUCCESS, 0));
  assert.throws(() => conn.handlePacket(bare(MSG.CHANNEL_FAILURE, 0)), /unexpected channel request reply/);
});

test('an open handler that throws refuses the open (code 1) and reports on error', () => {
  const link = new CaptureLink();
  const conn = new Connection(link, { role: 'server' });
  const errors: unknown[] = [];
  conn.on('error', (e) => errors.push(e));
  conn.onChannelOpen = () => {
    throw new Error('handler bug');
  };
  conn.handlePacket(w().byte(MSG.CHANNEL_OPEN).string('session').uint32(9).uint32(100).uint32(100).toBuffer());
  const r = new SshReader(link.last() as Buffer);
  assert.deepEqual([r.byte(), r.uint32(), r.uint32()], [MSG.CHANNEL_OPEN_FAILURE, 9, 1]);
  assert.equal(errors.length, 1);
  assert.equal(conn.channelCount, 0);
});
