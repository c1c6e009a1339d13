import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import type { Channel, ChannelRequestEvent } from '../../../src/connection/index.js';
import { ChannelError, ChannelOpenError } from '../../../src/errors.js';
import { pair, settle } from './link.js';

function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  stream.on('data', (d: Buffer) => parts.push(d));
  return new Promise((resolve, reject) => {
    stream.on('end', () => resolve(Buffer.concat(parts)));
    stream.on('error', reject);
  });
}

/** Server side that accepts sessions and hands each to `onSession`. */
function serveSessions(server: ReturnType<typeof pair>['server'], onSession: (ch: Channel) => void): void {
  server.onChannelOpen = (req) => {
    if (req.type !== 'session') return req.reject(3, 'unknown channel type');
    onSession(req.accept());
  };
}

test('exec reaches the server; output, stderr and exit-status come back; exit fires before close', async () => {
  const { client, server } = pair();
  const seen: ChannelRequestEvent[] = [];
  serveSessions(server, (ch) => {
    ch.on('request', (ev: ChannelRequestEvent) => {
      seen.push(ev);
      if (ev.details?.type !== 'exec') return ev.reject();
      ev.accept();
      ch.write(`ran: ${ev.details.command}\n`);
      ch.stderrOut.write('warn\n');
      ch.sendExitStatus(3);
      ch.end();
    });
    ch.resume();
  });
  const ch = await client.openSession();
  assert.equal(ch.type, 'session');
  const out = collect(ch);
  const err = collect(ch.stderr);
  const events: string[] = [];
  ch.on('exit', (code, signal) => events.push(`exit ${code} ${signal}`));
  ch.on('close', () => events.push('close'));
  await ch.exec('echo hi');
  ch.end();
  assert.equal((await out).toString(), 'ran: echo hi\n');
  assert.equal((await err).toString(), 'warn\n');
  await once(ch, 'close');
  assert.deepEqual(events, ['exit 3 null', 'close']);
  assert.equal(ch.exitStatus, 3);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]?.wantReply, true);
  await settle();
  assert.equal(client.channelCount, 0);
  assert.equal(server.channelCount, 0);
});

test('exit-signal is delivered with its fields', async () => {
  const { client, server } = pair();
  serveSessions(server, (ch) => {
    ch.on('request', (ev: ChannelRequestEvent) => {
      ev.accept();
      ch.sendExitSignal('TERM', true, 'killed');
      ch.end();
    });
    ch.resume();
  });
  const ch = await client.openSession();
  ch.resume();
  const exit = once(ch, 'exit');
  await ch.shell();
  assert.deepEqual(await exit, [null, 'TERM', true, 'killed']);
  assert.deepEqual(ch.exitSignal, { signal: 'TERM', coreDumped: true, message: 'killed' });
  assert.equal(ch.exitStatus, undefined);
  ch.end();
  await once(ch, 'close');
});

test('session requests are decoded on the server; refusals reject with ChannelError', async () => {
  const { client, server } = pair();
  const details: unknown[] = [];
  serveSessions(server, (ch) => {
    ch.on('request', (ev: ChannelRequestEvent) => {
      details.push(ev.details);
      if (ev.type === 'subsystem') ev.reject();
      else ev.accept();
    });
  });
  const ch = await client.openSession();
  await ch.requestPty({
    term: 'xterm-256color',
    cols: 100,
    rows: 40,
    modes: { ECHO: 0, VINTR: 3, TTY_OP_OSPEED: 38400 },
  });
  await ch.setEnv('LANG', 'C.UTF-8');
  await ch.setEnv('X', 'y', true);
  ch.windowChange(120, 50, 800, 600);
  ch.signal('INT');
  await assert.rejects(ch.subsystem('sftp'), ChannelError);
  assert.equal(await ch.request('custom@example.com', Buffer.from([1, 2, 3])), true);
  assert.deepEqual(details, [
    {
      type: 'pty-req',
      term: 'xterm-256color',
      cols: 100,
      rows: 40,
      width: 0,
      height: 0,
      modes: { ECHO: 0, VINTR: 3, TTY_OP_OSPEED: 38400 },
    },
    { type: 'env', name: 'LANG', value: 'C.UTF-8' },
    { type: 'env', name: 'X', value: 'y' },
    { type: 'window-change', cols: 120, rows: 50, width: 800, height: 600 },
    { type: 'signal', name: 'INT' },
    { type: 'subsystem', name: 'sftp' },
    undefined,
  ]);
});

test('channel requests without a listener are refused; replies keep request order when answered out of order', async () => {
  const { client, server } = pair();
  let chS: Channel | undefined;
  serveSessions(server, (ch) => {
    chS = ch;
  });
  const ch = await client.openSession();
  await assert.rejects(ch.exec('x'), ChannelError);
  const held: ChannelRequestEvent[] = [];
  chS?.on('request', (ev: ChannelRequestEvent) => held.push(ev));
  const a = ch.request('a');
  const b = ch.request('b');
  await settle();
  assert.equal(held.length, 2);
  held[1]?.accept(); // answer b first: nothing may go out before a's reply
  held[0]?.reject();
  assert.deepEqual(await Promise.all([a, b]), [false, true]);
});

test('unknown channel type is refused with code 3; maxChannels refuses with RESOURCE_SHORTAGE (4)', async () => {
  const { client, server } = pair({ maxChannels: 2 });
  await assert.rejects(client.openChannel('x11'), (e: unknown) => {
    assert.ok(e instanceof ChannelOpenError);
    assert.equal(e.reasonCode, 3);
    assert.equal(e.description, 'unknown channel type');
    return true;
  });
  serveSessions(server, () => {});
  await client.openSession();
  // the server now holds one channel; a client-side limit of 2 allows one more, the server's refuses beyond 2
  const p2 = pair({ maxChannels: 1 });
  serveSessions(p2.server, () => {});
  await p2.client.openSession();
  await assert.rejects(p2.client.openSession(), (e: unknown) => e instanceof ChannelOpenError && e.reasonCode === 4);
  const p3 = pair({ maxChannels: 4 });
  p3.server.onChannelOpen = (req) => req.accept();
  const big = new (await import('../../../src/connection/index.js')).Connection(p3.c2s, {
    role: 'client',
    maxChannels: 8,
  });
  p3.s2c.peer = big;
  const opened = await Promise.allSettled([1, 2, 3, 4, 5].map(() => big.openSession()));
  const refused = opened.filter((r) => r.status === 'rejected');
  assert.equal(refused.length, 1);
  assert.ok(refused[0]?.status === 'rejected' && refused[0].reason instanceof ChannelOpenError);
  assert.equal((refused[0] as PromiseRejectedResult).reason.reasonCode, 4);
});

test('open rejected by handler carries code and description', async () => {
  const { client, server } = pair();
  server.onChannelOpen = (req) => req.reject(1, 'not here');
  await assert.rejects(client.openChannel('direct-tcpip', Buffer.alloc(0)), (e: unknown) => {
    return e instanceof ChannelOpenError && e.reasonCode === 1 && e.description === 'not here';
  });
});

test('half close: end() reaches the peer as end, which can still write back', async () => {
  const { client, server } = pair();
  let serverDone: Promise<void> | undefined;
  server.onChannelOpen = (req) => {
    const ch = req.accept();
    serverDone = (async () => {
      const got = await collect(ch);
      ch.end(`echo:${got.toString()}`);
      await once(ch, 'close');
    })();
  };
  const ch = await client.openChannel('direct-tcpip');
  const reply = collect(ch);
  ch.end('ping');
  assert.equal((await reply).toString(), 'echo:ping');
  await once(ch, 'close');
  await serverDone;
  await settle();
  assert.equal(client.channelCount, 0);
  assert.equal(server.channelCount, 0);
});

test('global requests: default refusal, data replies, order kept across async handlers', async () => {
  const { client, server } = pair();
  assert.equal(await client.globalRequest('keepalive@openssh.com'), false);
  assert.equal(await client.globalRequest('no-reply', undefined, false), true);
  server.onGlobalRequest = async (name) => {
    if (name === 'slow') await new Promise((r) => setTimeout(r, 20));
    if (name === 'tcpip-forward') return Buffer.from([0, 0, 0x1f, 0x90]);
    return name !== 'no';
  };
  const results = await Promise.all([
    client.globalRequest('slow'),
    client.globalRequest('tcpip-forward', Buffer.from('x')),
    client.globalRequest('no'),
  ]);
  assert.deepEqual(results, [true, Buffer.from([0, 0, 0x1f, 0x90]), false]);
});

test('destroy() rejects pending opens and requests and errors open channels', async () => {
  const { client, server } = pair();
  let chS: Channel | undefined;
  server.onChannelOpen = (req) => {
    if (req.type === 'session') chS = req.accept();
    // other types: never answered
  };
  const ch = await client.openSession();
  chS?.on('request', () => {}); // never answered
  const exec = ch.exec('sleep');
  const hanging = client.openChannel('direct-tcpip');
  const global = client.globalRequest('never', undefined, true);
  server.onGlobalRequest = () => new Promise(() => {});
  await settle();
  const boom = new Error('transport died');
  const errors: unknown[] = [];
  ch.on('error', (e) => errors.push(e));
  const closed = new Promise((r) => ch.on('close', r));
  client.destroy(boom);
  await assert.rejects(hanging, (e) => e === boom);
  await assert.rejects(exec, (e) => e === boom);
  await assert.rejects(global, (e) => e === boom);
  await closed;
  assert.deepEqual(errors, [boom]);
  await assert.rejects(client.openSession(), (e) => e === boom);
});
