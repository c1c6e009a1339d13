/**
 * Hostile control sockets. A fake master that sends garbage, wrong versions, wrong request ids,
 * floods, or nothing: MuxClient.connect, check() and exit() settle with a typed error (MuxError,
 * ConnectionLostError, TimeoutError), never hang. After PROXY, bad frames end the MuxClient and its
 * pending calls reject. And hostile mux clients against listenControl: each is dropped while the
 * master keeps answering others, and its connection count returns to zero.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Connection } from '../../src/connection/index.js';
import { ConnectionLostError, MuxError, SshError, TimeoutError } from '../../src/errors.js';
import { checkControl, exitControl, MuxClient } from '../../src/mux/client.js';
import { encodeHello, encodeNewSession, encodeSimpleRequest, MUX, muxFrame } from '../../src/mux/codec.js';
import { listenControl } from '../../src/mux/master.js';
import { proxyFrame } from '../../src/mux/proxy-link.js';
import { SshWriter } from '../../src/wire/index.js';

const dir = mkdtempSync(join(tmpdir(), 'secsh-muxh-'));
let n = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fake master: `onConn` gets each accepted socket and the messages it reads (type, request id). */
async function fakeMaster(onConn: (s: Socket, read: () => Promise<{ type: number; rid: number }>) => void): Promise<{
  path: string;
  server: Server;
}> {
  const path = join(dir, `f${n++}.sock`);
  const server = createServer((s) => {
    let buf = Buffer.alloc(0);
    const waiting: Array<(m: { type: number; rid: number }) => void> = [];
    const queued: Array<{ type: number; rid: number }> = [];
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0);
        const m = { type: buf.readUInt32BE(4), rid: len >= 8 ? buf.readUInt32BE(8) : -1 };
        buf = buf.subarray(4 + len);
        const w = waiting.shift();
        if (w) w(m);
        else queued.push(m);
      }
    });
    const read = () =>
      new Promise<{ type: number; rid: number }>((resolve) => {
        const q = queued.shift();
        if (q) resolve(q);
        else waiting.push(resolve);
      });
    onConn(s, read);
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, server };
}

const reply = (type: number, rid: number, tail?: (w: SshWriter) => void) =>
  muxFrame(type, (w) => {
    w.uint32(rid);
    tail?.(w);
  });

/** Answers HELLO, then hands the PROXY request (or whatever comes) to `then`. */
function afterHello(then: (s: Socket, m: { type: number; rid: number }) => void) {
  return (s: Socket, read: () => Promise<{ type: number; rid: number }>) => {
    s.write(encodeHello());
    void (async () => {
      const hello = await read();
      assert.equal(hello.type, MUX.HELLO);
      then(s, await read());
    })();
  };
}

async function expectConnectError(path: string, check: (e: unknown) => boolean, timeout = 2000): Promise<void> {
  const started = Date.now();
  await assert.rejects(MuxClient.connect({ controlPath: path, timeout }), (e: unknown) => {
    assert.ok(check(e), `unexpected error: ${String(e)}`);
    return true;
  });
  assert.ok(Date.now() - started < timeout + 1000, 'settled in time');
}

const isMux = (re?: RegExp) => (e: unknown) => e instanceof MuxError && (re === undefined || re.test(e.message));

test('hostile master before PROXY: forged lengths, wrong version, no HELLO, truncated HELLO, extension flood → MuxError', async () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['length 0xffffffff', Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1]), /length 4294967295 is out of range/],
    ['length 2', Buffer.from([0, 0, 0, 2, 0, 1]), /length 2 is out of range/],
    ['version 3', muxFrame(MUX.HELLO, (w) => w.uint32(3)), /unsupported multiplexing protocol version 3/],
    ['no HELLO first', reply(MUX.S_OK, 0), /expected HELLO/],
    ['HELLO without a version', muxFrame(MUX.HELLO), /malformed HELLO/],
    [
      'HELLO with 100 extensions',
      muxFrame(MUX.HELLO, (w) => {
        w.uint32(4);
        for (let i = 0; i < 100; i++) w.string(`e${i}`).string('');
      }),
      /more than 64 extensions/,
    ],
  ];
  for (const [name, bytes, re] of cases) {
    const { path, server } = await fakeMaster((s) => s.write(bytes));
    await expectConnectError(path, isMux(re)).catch((e: Error) => {
      throw new Error(`${name}: ${e.message}`);
    });
    server.close();
  }
});

test('hostile master answering PROXY: wrong request id, wrong reply type, refusal with control characters, unrequested flood → MuxError', async () => {
  const cases: Array<[string, (s: Socket, rid: number) => void, RegExp]> = [
    ['wrong id', (s, rid) => s.write(reply(MUX.S_PROXY, rid + 7)), /carries request id \d+, expected \d+/],
    ['S_ALIVE for PROXY', (s, rid) => s.write(reply(MUX.S_ALIVE, rid, (w) => w.uint32(1))), /unexpected reply/],
    [
      'exit message as reply',
      (s, rid) => s.write(reply(MUX.S_EXIT_MESSAGE, rid, (w) => w.uint32(0))),
      /unexpected message/,
    ],
    [
      'refusal',
      (s, rid) => s.write(reply(MUX.S_FAILURE, rid, (w) => w.string('no\x1b[31m way\n'))),
      /PROXY failed: no\?\[31m way\?/,
    ],
    [
      'S_PROXY with trailing bytes',
      (s, rid) => s.write(reply(MUX.S_PROXY, rid, (w) => w.uint32(9))),
      /malformed PROXY reply/,
    ],
    [
      'flood of unrequested messages',
      (s) => {
        for (let i = 0; i < 40; i++) s.write(reply(MUX.S_TTY_ALLOC_FAIL, i));
      },
      /more than 16 unrequested|unexpected message/,
    ],
  ];
  for (const [name, act, re] of cases) {
    const { path, server } = await fakeMaster(afterHello((s, m) => act(s, m.rid)));
    await expectConnectError(path, isMux(re)).catch((e: Error) => {
      throw new Error(`${name}: ${e.message}`);
    });
    server.close();
  }
});

test('hostile master: closing at once is ConnectionLostError; saying nothing is TimeoutError; no socket at all is ConnectionLostError', async () => {
  const closing = await fakeMaster((s) => s.destroy());
  await expectConnectError(closing.path, (e) => e instanceof ConnectionLostError);
  closing.server.close();
  const silent = await fakeMaster(() => {});
  await expectConnectError(silent.path, (e) => e instanceof TimeoutError, 300);
  silent.server.close();
  await expectConnectError(join(dir, 'nothing-here.sock'), (e) => e instanceof ConnectionLostError);
});

test('check() rejects an ALIVE reply with trailing bytes; exit() counts a close without reply as done (as ssh -O exit does)', async () => {
  const alive = await fakeMaster(
    afterHello((s, m) => s.write(reply(MUX.S_ALIVE, m.rid, (w) => w.uint32(1234).uint32(5)))),
  );
  await assert.rejects(checkControl(alive.path, 2000), isMux(/ALIVE reply/));
  alive.server.close();
  const good = await fakeMaster(afterHello((s, m) => s.write(reply(MUX.S_ALIVE, m.rid, (w) => w.uint32(4321)))));
  assert.equal(await checkControl(good.path, 2000), 4321);
  good.server.close();
  const quits = await fakeMaster(afterHello((s) => s.destroy()));
  await exitControl(quits.path, 2000);
  quits.server.close();
});

test('hostile master after PROXY: padding, a non-connection message, an oversized frame, a reply for no channel, or a close — the MuxClient ends and a pending exec rejects with an SshError', async () => {
  const openConfirmForNobody = () => {
    const w = new SshWriter(32)
      .byte(91)
      .uint32(77)
      .uint32(0)
      .uint32(1 << 20)
      .uint32(32768);
    return proxyFrame(w.toBuffer());
  };
  const cases: Array<[string, (s: Socket) => void]> = [
    // a well-formed GLOBAL_REQUEST "x" (no reply wanted) followed by one padding byte
    ['padding', (s) => s.write(Buffer.from([0, 0, 0, 9, 1, 80, 0, 0, 0, 1, 0x78, 0, 0xee]))],
    ['KEXINIT', (s) => s.write(proxyFrame(Buffer.from([20, 1, 2, 3])))],
    ['oversized', (s) => s.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0]))],
    ['confirmation for no channel', (s) => s.write(openConfirmForNobody())],
    ['close', (s) => s.destroy()],
  ];
  for (const [name, act] of cases) {
    let sock: Socket | undefined;
    const { path, server } = await fakeMaster(
      afterHello((s, m) => {
        s.write(reply(MUX.S_PROXY, m.rid));
        sock = s;
      }),
    );
    const mux = await MuxClient.connect({ controlPath: path, timeout: 2000 });
    const closed = new Promise<Error | undefined>((r) => mux.once('close', r));
    const pending = mux.exec('true');
    await delay(20); // the CHANNEL_OPEN is on its way
    assert.ok(sock, name);
    act(sock);
    await assert.rejects(pending, (e: unknown) => e instanceof SshError, name);
    const err = await closed;
    if (name === 'confirmation for no channel') assert.ok(err instanceof SshError, `${name}: ${String(err)}`);
    else if (name !== 'close') assert.ok(err instanceof MuxError, `${name}: close reason ${String(err)}`);
    server.close();
  }
});

/** A ControlHost whose connection goes nowhere (enough for the control requests). */
function idleHost() {
  const link = { send: () => true, on: () => link, off: () => link };
  const connection = new Connection(link, { role: 'client' });
  let closed = 0;
  return {
    host: { connection, close: async () => void closed++, once: () => undefined },
    closes: () => closed,
  };
}

function rawClient(path: string): Promise<{ s: Socket; got: () => Buffer; ended: Promise<void> }> {
  return new Promise((resolve) => {
    const s = netConnect(path);
    let got = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
    });
    s.on('error', () => {});
    const ended = new Promise<void>((r) => s.once('close', () => r()));
    s.once('connect', () => resolve({ s, got: () => got, ended }));
  });
}

test('hostile mux clients against listenControl: garbage, no HELLO, two HELLOs, a proxied KEXINIT are dropped; NEW_SESSION is refused; unknown requests get FAILURE; the master keeps answering', async () => {
  const { host } = idleHost();
  const path = join(dir, 'm.sock');
  const ctl = await listenControl(host, path, { maxConnections: 4 });
  try {
    const drops: Array<[string, Buffer[]]> = [
      ['huge length', [Buffer.from([0xff, 0xff, 0xff, 0xff])]],
      ['request before HELLO', [encodeSimpleRequest(MUX.C_ALIVE_CHECK, 0)]],
      ['two HELLOs', [encodeHello(), encodeHello()]],
      ['KEXINIT after PROXY', [encodeHello(), encodeSimpleRequest(MUX.C_PROXY, 1)]],
    ];
    for (const [name, frames] of drops) {
      const c = await rawClient(path);
      for (const f of frames) c.s.write(f);
      if (name === 'KEXINIT after PROXY') {
        await delay(50);
        c.s.write(proxyFrame(Buffer.from([20, 0, 0])));
      }
      await Promise.race([c.ended, delay(3000).then(() => assert.fail(`${name}: not dropped`))]);
    }
    // NEW_SESSION: a refusal naming -O proxy, then the connection ends.
    const ns = await rawClient(path);
    ns.s.write(encodeHello());
    const req = {
      tty: false,
      x11: false,
      agent: false,
      subsystem: false,
      escapeChar: 0xffffffff,
      term: '',
      command: 'id',
      env: [],
    };
    ns.s.write(encodeNewSession(3, req));
    await Promise.race([ns.ended, delay(3000).then(() => assert.fail('NEW_SESSION: not ended'))]);
    assert.match(ns.got().toString('latin1'), /use ssh -O proxy/);
    // An unknown request: FAILURE, and the connection goes on.
    const un = await rawClient(path);
    un.s.write(encodeHello());
    un.s.write(encodeSimpleRequest(0x10000077, 5));
    un.s.write(encodeSimpleRequest(MUX.C_ALIVE_CHECK, 6));
    for (let i = 0; i < 100 && !un.got().toString('latin1').includes('unsupported request'); i++) await delay(20);
    assert.match(un.got().toString('latin1'), /unsupported request/);
    un.s.destroy();
    assert.equal(await checkControl(path, 2000), process.pid);
    for (let i = 0; i < 100 && ctl.connections > 0; i++) await delay(20);
    assert.equal(ctl.connections, 0);
  } finally {
    await ctl.close();
  }
});

test('listenControl closes connections beyond maxConnections at once and serves again when they go', async () => {
  const { host, closes } = idleHost();
  const path = join(dir, 'max.sock');
  const ctl = await listenControl(host, path, { maxConnections: 2 });
  try {
    const a = await rawClient(path);
    const b = await rawClient(path);
    const c = await rawClient(path);
    await Promise.race([c.ended, delay(3000).then(() => assert.fail('third connection kept'))]);
    a.s.destroy();
    b.s.destroy();
    for (let i = 0; i < 100 && ctl.connections > 0; i++) await delay(20);
    assert.equal(await checkControl(path, 2000), process.pid);
    await exitControl(path, 2000);
    for (let i = 0; i < 100 && closes() === 0; i++) await delay(20);
    assert.equal(closes(), 1, 'TERMINATE closed the host');
  } finally {
    await ctl.close();
  }
});

test('a mux client that floods requests and never reads its replies is held back: the master stops reading it', async () => {
  const { host } = idleHost();
  const path = join(dir, 'flood.sock');
  const ctl = await listenControl(host, path);
  try {
    const c = await rawClient(path);
    c.s.pause(); // never read the replies
    const one = encodeSimpleRequest(MUX.C_ALIVE_CHECK, 1);
    const burst = Buffer.concat([encodeHello(), ...Array.from({ length: 150_000 }, () => one)]); // 1.8 MB
    c.s.write(burst);
    // Unpaused, the master reads it all and queues 3 MB of replies; held back, most stays with us.
    let pending = c.s.writableLength;
    for (let i = 0; i < 30 && pending > 0; i++) {
      await delay(100);
      pending = c.s.writableLength;
    }
    assert.ok(pending > 512 * 1024, `only ${pending} bytes still waiting to be sent`);
    c.s.destroy();
    for (let i = 0; i < 100 && ctl.connections > 0; i++) await delay(20);
    assert.equal(ctl.connections, 0);
    assert.equal(await checkControl(path, 2000), process.pid);
  } finally {
    await ctl.close();
  }
});
