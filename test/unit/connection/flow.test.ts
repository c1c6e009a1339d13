import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { test } from 'node:test';
import { MAX_OUR_PACKET } from '../../../src/connection/connection.js';
import type { Channel } from '../../../src/connection/index.js';
import { MAX_PACKET_LENGTH } from '../../../src/transport/packet-codec.js';
import { pair, settle } from './link.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Writes `data` in `chunk`-sized writes honouring backpressure, then ends. */
async function writeAll(ch: Channel, data: Buffer, chunk: number): Promise<void> {
  for (let off = 0; off < data.length; off += chunk) {
    if (!ch.write(data.subarray(off, off + chunk))) await once(ch, 'drain');
  }
  ch.end();
}

async function readAll(ch: Channel): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of ch) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

test('8 MiB both ways arrives byte-identical through small windows and a congested link', async () => {
  const { client, server, c2s, s2c } = pair({ windowSize: 48 * 1024, maxPacket: 8192 }, 16 * 1024);
  const up = randomBytes(8 * 1024 * 1024);
  const down = randomBytes(8 * 1024 * 1024);
  let serverGot: Promise<Buffer> | undefined;
  server.onChannelOpen = (req) => {
    const ch = req.accept();
    serverGot = readAll(ch);
    void writeAll(ch, down, 100_000);
  };
  const ch = await client.openChannel('direct-tcpip');
  const clientGot = readAll(ch);
  await writeAll(ch, up, 65_536);
  const [gotDown, gotUp] = await Promise.all([clientGot, serverGot]);
  assert.equal(gotDown.length, down.length);
  assert.equal(sha(gotDown), sha(down));
  assert.equal(sha(gotUp as Buffer), sha(up));
  // the windows were really exercised: many adjusts, and the link really pushed back
  assert.ok(c2s.count(93) > 100, `client sent ${c2s.count(93)} window adjusts`);
  assert.ok(s2c.count(93) > 100);
  assert.equal(c2s.errors.length + s2c.errors.length, 0);
  await settle();
  assert.equal(client.channelCount, 0);
});

test('a reader that does not read stops the writer at the window; reading resumes it', async () => {
  const window = 64 * 1024;
  const { client, server, c2s } = pair({ windowSize: window, maxPacket: 16 * 1024 });
  let chS: Channel | undefined;
  server.onChannelOpen = (req) => {
    chS = req.accept(); // nobody reads
  };
  const ch = await client.openChannel('direct-tcpip');
  const chunk = 8 * 1024;
  const data = randomBytes(1024 * 1024);
  let completed = 0;
  for (let off = 0; off < data.length; off += chunk) {
    ch.write(data.subarray(off, off + chunk), () => {
      completed += chunk;
    });
  }
  ch.end();
  await settle(200);
  assert.ok(completed <= window, `write callbacks completed for ${completed} bytes, window is ${window}`);
  assert.ok(completed >= window - chunk, 'the window was used');
  assert.equal(c2s.dataBytes, window, 'exactly one window of data on the wire');
  assert.equal(chS?.readableLength, window, 'the unread data sits in the reader, bounded by the window');
  assert.equal(c2s.count(93), 0);
  const s = chS as Channel;
  const got = await readAll(s);
  assert.equal(completed, data.length);
  assert.equal(sha(got), sha(data));
});

test('stdout and stderr share the window; a destroyed stderr is dropped but credited', async () => {
  const window = 32 * 1024;
  const { client, server } = pair({ windowSize: window, maxPacket: 4096 });
  let chS: Channel | undefined;
  server.onChannelOpen = (req) => {
    chS = req.accept();
  };
  const ch = await client.openSession();
  const s = chS as Channel;
  const bulk = randomBytes(256 * 1024);
  // nothing is read on the client: stdout plus stderr may not exceed one window
  s.write(bulk.subarray(0, 20 * 1024));
  s.stderrOut.write(bulk.subarray(0, 20 * 1024));
  await settle(100);
  assert.equal(ch.readableLength + ch.stderr.readableLength, window);
  // destroying stderr frees its share; stdout still has to be read to go on
  ch.stderr.destroy();
  let stdoutDone = false;
  s.stderrOut.write(bulk, () => {
    stdoutDone = true;
  });
  await settle(100);
  assert.equal(stdoutDone, false, 'the unread stdout still holds the window');
  ch.resume();
  await settle(200);
  assert.equal(stdoutDone, true, 'stderr data dropped yet credited');
});

test('the largest maximum packet size a connection advertises still fits a full CHANNEL_DATA in a transport packet', () => {
  // padding_length byte, type, channel id, data length, the data, and the most padding allowed
  assert.ok(1 + 1 + 4 + 4 + MAX_OUR_PACKET + 255 <= MAX_PACKET_LENGTH);
  assert.throws(() => pair({ maxPacket: MAX_OUR_PACKET + 1 }), /maxPacket must be an integer/);
});
