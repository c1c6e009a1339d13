/**
 * Every counter balances (issue 10, DESIGN.md's principle), client side: channels, opens awaiting
 * confirmation, the peer's opens awaiting our answer, channel and global requests awaiting replies,
 * SFTP requests and handles all return to zero on every path — a channel closed without EOF, closed
 * before its open is confirmed, the connection lost under everything at once, and refusals by the
 * peer's policy or by our own limits. A scripted server (real SSH, crafted connection messages)
 * plays the peer.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import type { ChannelOpenRequest } from '../../src/connection/index.js';
import { ChannelOpenFailure, SshError } from '../../src/errors.js';
import { SftpError } from '../../src/sftp/errors.js';
import { MSG, SshReader, SshWriter } from '../../src/wire/index.js';
import {
  channelClose,
  channelData,
  channelFailure,
  channelSuccess,
  exitStatus,
  openConfirmation,
  openFailure,
  parseChannelOpen,
  parseChannelRequest,
  requestReply,
  type ScriptedServer,
  type ScriptedSession,
  startScriptedServer,
} from '../helpers/hostile-server.js';
import { rejectsTyped, settleWithin, trapProcessErrors, turn } from './settle.js';

type Answer = 'success' | 'failure' | 'ignore';
type OpenHow = 'confirm' | 'refuse' | 'ignore' | 'close-first';

/** How the scripted peer behaves. */
interface Policy {
  /**
   * Our CHANNEL_OPENs: confirmed (default), refused, never answered, or answered by a CLOSE of the
   * unconfirmed id; a function decides per open (`n` counts the connection's opens from 0).
   */
  open?: OpenHow | ((n: number) => OpenHow);
  /** Channel requests by type (default success). */
  requests?: Record<string, Answer>;
  /** Global requests (default success). */
  global?: Answer;
  /** After exec/shell is accepted; `close` sends our CHANNEL_CLOSE (once). */
  onStart?: (ch: number, s: ScriptedSession, close: (ch: number) => void) => void;
  /** The 'sftp' subsystem runs a minimal SFTP server: HANDLE for OPEN (or STATUS 3 when refused), no reply to READ. */
  sftp?: { refuseOpen?: boolean };
}

const servers: ScriptedServer[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

/** SFTP packet: uint32 length, byte type, then `body`. */
function sftpPacket(type: number, body: Buffer): Buffer {
  return new SshWriter(16 + body.length)
    .uint32(1 + body.length)
    .byte(type)
    .raw(body)
    .toBuffer();
}

function sftpResponder(refuseOpen: boolean) {
  let buf = Buffer.alloc(0);
  return (chunk: Buffer): Buffer[] => {
    buf = Buffer.concat([buf, chunk]);
    const out: Buffer[] = [];
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const len = buf.readUInt32BE(0);
      const p = buf.subarray(4, 4 + len);
      buf = buf.subarray(4 + len);
      const type = p[0];
      const id = p.readUInt32BE(1);
      if (type === 1)
        out.push(sftpPacket(2, new SshWriter(4).uint32(3).toBuffer())); // INIT -> VERSION 3
      else if (type === 3 || type === 11) {
        // OPEN / OPENDIR -> HANDLE, or STATUS PERMISSION_DENIED
        if (refuseOpen) {
          out.push(sftpPacket(101, new SshWriter(32).uint32(id).uint32(3).string('no').string('').toBuffer()));
        } else {
          out.push(sftpPacket(102, new SshWriter(16).uint32(id).string(`h${id}`).toBuffer()));
        }
      } else if (type === 4) {
        out.push(sftpPacket(101, new SshWriter(32).uint32(id).uint32(0).string('').string('').toBuffer())); // CLOSE -> OK
      }
      // READ and everything else: no reply (stays pending)
    }
    return out;
  };
}

/** Per connection: channels we sent CLOSE for, SFTP responders by channel, opens so far. */
interface PeerState {
  closed: Set<number>;
  sftp: Map<number, (chunk: Buffer) => Buffer[]>;
  opens: number;
}

async function scripted(policy: Policy): Promise<ScriptedServer> {
  const states = new WeakMap<ScriptedSession, PeerState>();
  const srv = await startScriptedServer((p, s) => {
    let st = states.get(s);
    if (!st) {
      st = { closed: new Set(), sftp: new Map(), opens: 0 };
      states.set(s, st);
    }
    const { closed, sftp } = st;
    const close = (ch: number) => {
      if (closed.has(ch)) return;
      closed.add(ch);
      s.send(channelClose(ch));
    };
    switch (p[0]) {
      case MSG.GLOBAL_REQUEST: {
        const r = new SshReader(p, 1);
        r.string();
        if (!r.bool()) return;
        const a = policy.global ?? 'success';
        if (a !== 'ignore') s.send(requestReply(a === 'success'));
        return;
      }
      case MSG.CHANNEL_OPEN: {
        const o = parseChannelOpen(p);
        const how = typeof policy.open === 'function' ? policy.open(st.opens++) : (policy.open ?? 'confirm');
        if (how === 'confirm') s.send(openConfirmation(o.sender));
        else if (how === 'refuse') s.send(openFailure(o.sender, ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED, 'no'));
        else if (how === 'close-first') s.send(channelClose(o.sender));
        return;
      }
      case MSG.CHANNEL_REQUEST: {
        const r = parseChannelRequest(p);
        const a = policy.requests?.[r.type] ?? 'success';
        if (a === 'ignore') return;
        if (r.wantReply) s.send(a === 'success' ? channelSuccess(r.recipient) : channelFailure(r.recipient));
        if (a !== 'success') return;
        if (r.type === 'subsystem' && policy.sftp) sftp.set(r.recipient, sftpResponder(!!policy.sftp.refuseOpen));
        if (r.type === 'exec' || r.type === 'shell') policy.onStart?.(r.recipient, s, close);
        return;
      }
      case MSG.CHANNEL_DATA: {
        const ch = p.readUInt32BE(1);
        const respond = sftp.get(ch);
        if (!respond) return;
        const data = new SshReader(p, 5).string();
        const out = respond(data);
        if (out.length > 0) s.send(...out.map((b) => channelData(ch, b)));
        return;
      }
      case MSG.CHANNEL_EOF: {
        // As a server whose process exits when its input ends (sftp-server does).
        const ch = p.readUInt32BE(1);
        if (closed.has(ch)) return;
        s.send(exitStatus(ch, 0));
        close(ch);
        return;
      }
      case MSG.CHANNEL_CLOSE: {
        // The client's CLOSE ends the channel: answer it unless ours went first; the number may be reused.
        const ch = p.readUInt32BE(1);
        close(ch);
        closed.delete(ch);
        sftp.delete(ch);
        return;
      }
    }
  });
  servers.push(srv);
  return srv;
}

function connect(srv: ScriptedServer): Promise<Client> {
  return Client.connect({
    host: '127.0.0.1',
    port: srv.port,
    username: 'u',
    hostKeyFingerprint: srv.fingerprint,
    algorithms: { kex: ['curve25519-sha256'] },
  });
}

const ZERO = {
  channels: 0,
  pendingOpens: 0,
  incomingOpens: 0,
  pendingGlobalRequests: 0,
  unansweredGlobalRequests: 0,
  pendingChannelRequests: 0,
};

/** Waits (up to 2 s) for the client's counters to reach zero, then asserts they did. */
async function balanced(c: Client, what: string): Promise<void> {
  for (let i = 0; i < 100 && JSON.stringify(c.stats) !== JSON.stringify(ZERO); i++) await turn(20);
  assert.deepEqual(c.stats, ZERO, what);
}

test('close without EOF: a session the server closes without EOF is released, read or not', async () => {
  const srv = await scripted({
    onStart: (ch, s, close) => {
      s.send(channelData(ch, Buffer.from('out')), exitStatus(ch, 3));
      close(ch);
    },
  });
  const c = await connect(srv);
  const r = await c.exec('x');
  assert.equal(r.code, 3);
  await balanced(c, 'after exec');
  // Nobody reads this one's output: the channel stays a readable stream, but its number is free.
  const p = await c.spawn('y');
  await settleWithin(p.exit, 2000);
  await balanced(c, 'after an unread spawn');
  // A request in flight when the server closes: rejected, not counted.
  const ch = await c.shell();
  const pending = ch.request('pty-req', Buffer.alloc(0)).catch((e: unknown) => e);
  await balanced(c, 'after a request outstanding at close');
  assert.ok((await pending) instanceof SshError);
  await c.close();
  assert.deepEqual(c.stats, ZERO);
});

test('close before the open is confirmed: refused, never answered then lost, a CLOSE for the unconfirmed id, our own close()', async () => {
  const trap = trapProcessErrors();
  try {
    const refuse = await connect(await scripted({ open: 'refuse' }));
    await rejectsTyped(refuse.exec('x'), 2000, 'ERR_SSH_CHANNEL_OPEN');
    await balanced(refuse, 'open refused');
    await refuse.close();

    const silentSrv = await scripted({ open: 'ignore' });
    const silent = await connect(silentSrv);
    const opening = silent.exec('x');
    await turn(50);
    assert.equal(silent.stats.pendingOpens, 1);
    for (const s of silentSrv.sessions) s.socket.destroy();
    await rejectsTyped(opening, 2000, 'ERR_SSH_CONNECTION_LOST');
    assert.deepEqual(silent.stats, ZERO);

    const early = await connect(await scripted({ open: 'close-first' }));
    await rejectsTyped(early.exec('x'), 2000, 'ERR_SSH_PROTOCOL');
    assert.deepEqual(early.stats, ZERO);

    const ours = await connect(await scripted({ open: 'ignore' }));
    const mine = ours.shell();
    await turn(50);
    await ours.close();
    await rejectsTyped(mine, 2000);
    assert.deepEqual(ours.stats, ZERO);
  } finally {
    await turn(20);
    trap.uninstall();
  }
  assert.deepEqual(trap.errors, []);
});

test('connection loss: open and pending channels, channel and global requests, a peer open we never answered, SFTP handles and requests all drop to zero', async () => {
  const trap = trapProcessErrors();
  try {
    const srv = await scripted({
      requests: { 'pty-req': 'ignore' },
      global: 'ignore',
      sftp: {},
      open: (n) => (n < 2 ? 'confirm' : 'ignore'),
    });
    const c = await connect(srv);
    const sftp = await c.sftp();
    const fh = await sftp.open('f', 'r');
    const reads = [fh.read(10, 0), fh.read(10, 10)];
    const shell = await c.shell();
    const pty = shell.requestPty();
    const global = c.connection.globalRequest('keepalive@openssh.com');
    // An open the server starts and the application holds without answering.
    let held: ChannelOpenRequest | undefined;
    c.connection.onChannelOpen = (req) => {
      held = req;
    };
    const s0 = srv.sessions[srv.sessions.length - 1] as ScriptedSession;
    s0.send(new SshWriter(64).byte(MSG.CHANNEL_OPEN).string('x11').uint32(77).uint32(65536).uint32(32768).toBuffer());
    const opening = c.connection.openSession();
    await turn(100);
    assert.deepEqual(sftp.stats, { pendingRequests: 2, openHandles: 1 });
    assert.deepEqual(c.stats, {
      channels: 2,
      pendingOpens: 1,
      incomingOpens: 1,
      pendingGlobalRequests: 1,
      unansweredGlobalRequests: 0,
      pendingChannelRequests: 1,
    });
    s0.socket.destroy();
    for (const p of [...reads, pty, global, opening]) await rejectsTyped(p, 1000);
    assert.deepEqual(c.stats, ZERO);
    assert.deepEqual(sftp.stats, { pendingRequests: 0, openHandles: 0 });
    // A late answer to the dead peer's open changes nothing (accepting it throws the connection's error).
    assert.ok(held);
    held.reject(ChannelOpenFailure.CONNECT_FAILED, 'late');
    assert.throws(() => held?.accept());
    assert.equal(c.stats.incomingOpens, 0);
  } finally {
    await turn(20);
    trap.uninstall();
  }
  assert.deepEqual(trap.errors, []);
});

test('policy refusal: exec, pty and global requests refused, SFTP open refused, and requests too large to send', async () => {
  const srv = await scripted({
    requests: { exec: 'failure', 'pty-req': 'failure' },
    global: 'failure',
    sftp: { refuseOpen: true },
  });
  const c = await connect(srv);
  await rejectsTyped(c.exec('x'), 2000, 'ERR_SSH_CHANNEL');
  await rejectsTyped(c.shell({ pty: true }), 2000, 'ERR_SSH_CHANNEL');
  assert.equal(await c.connection.globalRequest('tcpip-forward@example'), false);
  await balanced(c, 'after refused requests');

  const sftp = await c.sftp();
  const e = await rejectsTyped(sftp.open('f', 'r'), 2000, 'ERR_SSH_SFTP');
  assert.ok(e instanceof SftpError && e.nodeCode === 'EACCES');
  await rejectsTyped(sftp.readdir('.'), 2000, 'ERR_SSH_SFTP');
  assert.deepEqual(sftp.stats, { pendingRequests: 0, openHandles: 0 });
  sftp.end();
  await balanced(c, 'after the SFTP session ended');

  // Too large for one packet: refused locally, and the next request still gets its own reply.
  const huge = Buffer.alloc(300 * 1024);
  await rejectsTyped(c.connection.globalRequest('big@example', huge), 1000, 'ERR_SSH_PROTOCOL');
  assert.equal(c.stats.pendingGlobalRequests, 0);
  const next = await settleWithin(c.connection.globalRequest('small@example'), 2000);
  assert.deepEqual(next, { state: 'fulfilled', value: false });
  const ch = await c.connection.openSession();
  await rejectsTyped(ch.request('big@example', huge), 1000, 'ERR_SSH_PROTOCOL');
  assert.equal(c.stats.pendingChannelRequests, 0);
  const reply = await settleWithin(ch.request('pty-req', Buffer.alloc(0)), 2000);
  assert.deepEqual(reply, { state: 'fulfilled', value: false });
  await rejectsTyped(c.connection.openChannel('session', huge), 1000, 'ERR_SSH_PROTOCOL');
  assert.equal(c.stats.pendingOpens, 0);
  ch.destroy();
  await balanced(c, 'after local refusals');
  await c.close();
});

test('our own limit: opens beyond maxChannels (1024 on a client) are refused and leave the counts as they were', async () => {
  const srv = await scripted({ open: 'ignore' });
  const c = await connect(srv);
  const opens = Array.from({ length: 1024 }, () => c.connection.openSession());
  for (const p of opens) p.catch(() => {});
  await rejectsTyped(c.connection.openSession(), 1000, 'ERR_SSH_CHANNEL_OPEN');
  assert.equal(c.stats.pendingOpens, 1024);
  await c.close();
  for (const p of opens) await rejectsTyped(p, 1000);
  assert.deepEqual(c.stats, ZERO);
});
