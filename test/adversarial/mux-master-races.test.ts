/**
 * listenControl's edges: a client that closes while its control socket is being set up, a mux client
 * that reads its replies slowly (listeners left per backed-up reply), proxied packets in the same
 * read as PROXY, a proxied message the connection layer does not know, two control connections
 * asking for the same forward at once, and `-O exit` with no master there.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Connection } from '../../src/connection/index.js';
import { ConnectionLostError, MuxError } from '../../src/errors.js';
import type { Forward } from '../../src/forward/types.js';
import { exitControl, MuxClient } from '../../src/mux/client.js';
import { encodeForward, encodeHello, encodeSimpleRequest, MUX, type MuxForwardSpec } from '../../src/mux/codec.js';
import { listenControl } from '../../src/mux/master.js';
import { proxyFrame } from '../../src/mux/proxy-link.js';
import { SshWriter } from '../../src/wire/index.js';

const dir = mkdtempSync(join(tmpdir(), 'secsh-muxr-'));
let n = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

/** A ControlHost whose connection goes nowhere, with a real 'close' event. */
function host(extra: object = {}) {
  const link = { send: () => true, on: () => link, off: () => link };
  const connection = new Connection(link, { role: 'client' });
  const events = new EventEmitter();
  return Object.assign(events, {
    connection,
    close: async () => {
      connection.destroy();
      events.emit('close');
    },
    ...extra,
  });
}

function rawClient(path: string): Promise<{ s: Socket; got: () => Buffer; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const s = netConnect(path);
    let got = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
    });
    s.on('error', reject);
    const ended = new Promise<void>((r) => s.once('close', () => r()));
    s.once('connect', () => resolve({ s, got: () => got, ended }));
  });
}

/** The mux messages (type, request id) at the start of `b`, before any proxy-mode bytes. */
function muxReplies(b: Buffer, count: number): Array<{ type: number; rid: number; end: number }> {
  const out: Array<{ type: number; rid: number; end: number }> = [];
  let at = 0;
  while (out.length < count && b.length - at >= 8 && b.length - at >= 4 + b.readUInt32BE(at)) {
    const len = b.readUInt32BE(at);
    out.push({ type: b.readUInt32BE(at + 4), rid: len >= 8 ? b.readUInt32BE(at + 8) : -1, end: at + 4 + len });
    at += 4 + len;
  }
  return out;
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  for (let t = 0; !cond(); t += 10) {
    if (t > ms) assert.fail(`timed out: ${what}`);
    await delay(10);
  }
}

test('a client that closes while listenControl is still setting up leaves no socket file and no listener, at any point of the setup', async () => {
  for (let turns = 0; turns <= 8; turns++) {
    const h = host();
    const path = join(dir, `setup${n++}.sock`);
    const pending = listenControl(h, path).then(
      (l) => l,
      (e: Error) => e,
    );
    for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
    await h.close();
    const got = await pending;
    if (!(got instanceof Error))
      await delay(50); // set up before the close: closed by it
    else assert.ok(got instanceof ConnectionLostError, `after ${turns} turns: ${String(got)}`);
    assert.equal(existsSync(path), false, `after ${turns} turns the socket file is still there`);
    const left = readdirSync(dir).filter((f) => f.startsWith(`setup${n - 1}.sock`));
    assert.deepEqual(left, [], `after ${turns} turns`);
  }
});

test('replies that back up leave no drain or close listener behind on the control connection', async () => {
  const h = host();
  const path = join(dir, `drain${n++}.sock`);
  const ctl = await listenControl(h, path);
  let served: Socket | undefined;
  const track = ctl.track.bind(ctl);
  ctl.track = (s: Socket) => {
    served = s;
    track(s);
  };
  try {
    const c = await rawClient(path);
    await until(() => served !== undefined, 'connection served');
    const base = (served as Socket).listenerCount('close') + (served as Socket).listenerCount('drain');
    c.s.pause();
    const one = encodeSimpleRequest(MUX.C_ALIVE_CHECK, 1);
    const count = 60_000;
    c.s.write(Buffer.concat([encodeHello(), ...Array.from({ length: count }, () => one)]));
    // Read in short bursts, so that the master waits for 'drain' many times.
    const want = 12 + count * 16; // HELLO (4+4+4) and an ALIVE reply (4+4+4+4) each
    let most = 0;
    for (let i = 0; i < 2000 && c.got().length < want; i++) {
      c.s.resume();
      await new Promise((r) => setImmediate(r));
      c.s.pause();
      await delay(1);
      const s = served as Socket;
      most = Math.max(most, s.listenerCount('close') + s.listenerCount('drain') - base);
    }
    assert.equal(c.got().length, want, 'every reply arrived');
    const s = served as Socket;
    const extra = s.listenerCount('close') + s.listenerCount('drain') - base;
    assert.ok(extra <= 0, `${extra} drain/close listeners left behind after the replies (at most ${most} at once)`);
    c.s.destroy();
  } finally {
    await ctl.close();
  }
});

test('a proxied packet in the same write as PROXY reaches the proxy link (a CHANNEL_OPEN there is answered)', async () => {
  const h = host();
  const path = join(dir, `pipe${n++}.sock`);
  const ctl = await listenControl(h, path);
  try {
    const c = await rawClient(path);
    const open = new SshWriter(64).byte(90).string('no-such-type').uint32(7).uint32(65536).uint32(32768).toBuffer();
    c.s.write(Buffer.concat([encodeHello(), encodeSimpleRequest(MUX.C_PROXY, 1), proxyFrame(open)]));
    const proxied = () => {
      const replies = muxReplies(c.got(), 2);
      const end = replies[1]?.end;
      return end === undefined ? Buffer.alloc(0) : c.got().subarray(end);
    };
    await until(() => proxied().length >= 6, 'the CHANNEL_OPEN answered');
    const replies = muxReplies(c.got(), 2);
    assert.deepEqual(
      replies.map((r) => r.type),
      [MUX.HELLO, MUX.S_PROXY],
    );
    const p = proxied();
    assert.equal(p[5], 92, 'CHANNEL_OPEN_FAILURE');
    assert.equal(p.readUInt32BE(6), 7, 'for the channel asked');
    c.s.destroy();
  } finally {
    await ctl.close();
  }
});

test('a proxy client sending a message number the connection layer does not handle (83-89) is dropped with a MuxError', async () => {
  for (const type of [83, 84, 89]) {
    const h = host();
    const path = join(dir, `type${n++}.sock`);
    const ctl = await listenControl(h, path);
    const errors: Error[] = [];
    ctl.on('error', (e: Error) => errors.push(e));
    try {
      const c = await rawClient(path);
      c.s.write(Buffer.concat([encodeHello(), encodeSimpleRequest(MUX.C_PROXY, 1)]));
      await until(() => muxReplies(c.got(), 2).length === 2, 'PROXY answered');
      c.s.write(proxyFrame(Buffer.from([type, 0, 0, 0, 0])));
      await Promise.race([c.ended, delay(3000).then(() => assert.fail(`${type}: not dropped`))]);
      await until(() => errors.length > 0, `${type}: error reported`);
      assert.ok(errors[0] instanceof MuxError, `${type}: ${String(errors[0])}`);
      assert.match(errors[0]?.message ?? '', new RegExp(`non-connection message \\(${type}\\)`));
    } finally {
      await ctl.close();
    }
  }
});

/** Sends HELLO and one forward request on a new control connection; resolves with the reply's type and id. */
async function askForward(path: string, type: number, rid: number, spec: MuxForwardSpec) {
  const c = await rawClient(path);
  c.s.write(Buffer.concat([encodeHello(), encodeForward(type, rid, spec)]));
  await until(() => muxReplies(c.got(), 2).length === 2, `reply to ${rid}`);
  c.s.destroy();
  const r = muxReplies(c.got(), 2)[1];
  return { type: r?.type, rid: r?.rid };
}

/** A host whose forwardLocal takes 150 ms and then succeeds (or throws, with `fail`), counting starts and closes. */
function slowForwarding(fail = false) {
  const counts = { starts: 0, closes: 0 };
  const fwd = Object.assign(new EventEmitter(), {
    address: { host: '127.0.0.1', port: 40000 },
    close: async () => void counts.closes++,
  }) as unknown as Forward;
  const h = host({
    forwardLocal: async () => {
      counts.starts++;
      await delay(150);
      if (fail) throw new Error('address in use');
      return fwd;
    },
  });
  return { h, counts };
}

const local: MuxForwardSpec = { type: 'local', listenPort: 40000, connectHost: 'example', connectPort: 80 };

test('the same forward asked on two control connections at once starts one listener, and both are answered OK', async () => {
  const { h, counts } = slowForwarding();
  const path = join(dir, `fwd${n++}.sock`);
  const ctl = await listenControl(h, path);
  try {
    const both = await Promise.all([
      askForward(path, MUX.C_OPEN_FWD, 5, local),
      askForward(path, MUX.C_OPEN_FWD, 6, local),
    ]);
    assert.deepEqual(both, [
      { type: MUX.S_OK, rid: 5 },
      { type: MUX.S_OK, rid: 6 },
    ]);
    assert.equal(counts.starts, 1, 'one forward started');
    // A later request finds it running.
    assert.deepEqual(await askForward(path, MUX.C_OPEN_FWD, 7, local), { type: MUX.S_OK, rid: 7 });
    assert.equal(counts.starts, 1);
    assert.equal(counts.closes, 0);
  } finally {
    await ctl.close();
  }
});

test('the same forward asked twice at once, failing, fails both without a second attempt', async () => {
  const { h, counts } = slowForwarding(true);
  const path = join(dir, `fwdfail${n++}.sock`);
  const ctl = await listenControl(h, path);
  try {
    const both = await Promise.all([
      askForward(path, MUX.C_OPEN_FWD, 5, local),
      askForward(path, MUX.C_OPEN_FWD, 6, local),
    ]);
    assert.deepEqual(
      both.map((r) => r.type),
      [MUX.S_FAILURE, MUX.S_FAILURE],
    );
    assert.equal(counts.starts, 1);
  } finally {
    await ctl.close();
  }
});

test('a cancel that comes while the forward is being started closes it once it runs', async () => {
  const { h, counts } = slowForwarding();
  const path = join(dir, `fwdcancel${n++}.sock`);
  const ctl = await listenControl(h, path);
  try {
    const opening = askForward(path, MUX.C_OPEN_FWD, 5, local);
    await delay(50); // the start is under way
    assert.deepEqual(await askForward(path, MUX.C_CLOSE_FWD, 6, local), { type: MUX.S_OK, rid: 6 });
    assert.deepEqual(await opening, { type: MUX.S_OK, rid: 5 });
    assert.equal(counts.closes, 1);
  } finally {
    await ctl.close();
  }
});

test('a master that sends a proxied packet in the same write as its PROXY reply: MuxClient gets it (a global request there is answered)', async () => {
  const path = join(dir, `client-pipe${n++}.sock`);
  let got = Buffer.alloc(0);
  const server = createServer((s) => {
    s.on('error', () => {});
    s.write(encodeHello());
    let buf = Buffer.alloc(0);
    let answered = false;
    s.on('data', (d: Buffer) => {
      if (answered) {
        got = Buffer.concat([got, d]);
        return;
      }
      buf = Buffer.concat([buf, d]);
      const m = muxReplies(buf, 2);
      const proxy = m[1];
      if (proxy?.type !== MUX.C_PROXY) return;
      answered = true;
      const ask = new SshWriter(64).byte(80).string('keepalive@openssh.com').bool(true).toBuffer();
      const reply = encodeSimpleRequest(MUX.S_PROXY, proxy.rid);
      s.write(Buffer.concat([reply, proxyFrame(ask)]));
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  const mux = await MuxClient.connect({ controlPath: path, timeout: 2000 });
  try {
    await until(() => got.length >= 6, 'the global request answered');
    assert.equal(got[5], 82, 'REQUEST_FAILURE');
  } finally {
    await mux.close();
    server.close();
  }
});

test('exit() with no master reached rejects (no socket, or a close before HELLO); a close after HELLO counts as done', async () => {
  const nothing = join(dir, 'nothing-here.sock');
  await assert.rejects(exitControl(nothing, 2000), (e: unknown) => e instanceof ConnectionLostError);
  const hangsUp = createServer((s) => s.destroy());
  const hup = join(dir, `hup${n++}.sock`);
  await new Promise<void>((r) => hangsUp.listen(hup, r));
  await assert.rejects(exitControl(hup, 2000), (e: unknown) => e instanceof ConnectionLostError);
  hangsUp.close();
  const h = host();
  const path = join(dir, `exit${n++}.sock`);
  const ctl = await listenControl(h, path);
  const mux = await MuxClient.connect({ controlPath: path, timeout: 2000 });
  await ctl.close(false); // the file goes; the proxied connection stays
  await assert.rejects(mux.exit(), (e: unknown) => e instanceof ConnectionLostError);
  await mux.close();
  await ctl.close();
});
