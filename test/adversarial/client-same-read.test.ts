/**
 * The client's promises settle when a fatal packet arrives in the same read as the reply that
 * completes an operation (issue 10, defects 8 and 9): the reply resolves a promise, the fatal packet
 * destroys the connection in the same synchronous pass, and every event of that death has fired
 * before the code awaiting the reply runs. A scripted server (real SSH, crafted connection messages)
 * sends the two in one write.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { ProtocolError } from '../../src/errors.js';
import { encodeVersion } from '../../src/sftp/codec.js';
import { FXP } from '../../src/sftp/constants.js';
import { SftpError } from '../../src/sftp/errors.js';
import { MSG, SshWriter } from '../../src/wire/index.js';
import {
  channelClose,
  channelData,
  channelEof,
  channelRequest,
  channelSuccess,
  exitStatus,
  malformedPayload,
  openConfirmation,
  parseChannelOpen,
  parseChannelRequest,
  type ScriptedServer,
  type ScriptedSession,
  startScriptedServer,
} from '../helpers/hostile-server.js';
import { rejectsTyped, settleWithin, trapProcessErrors, turn } from './settle.js';

/** Larger than the client's maximum packet (32768): a protocol error. */
const OVERSIZED = () => Buffer.alloc(40000, 0x78);
/** exit-status whose uint32 is cut to two bytes. */
const TRUNCATED_EXIT = (ch: number) => channelRequest(ch, 'exit-status', false, Buffer.from([0, 0]));

const servers: ScriptedServer[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

/**
 * A server that confirms session opens and answers exec/shell/subsystem with `onStart` (given the
 * channel number and the session).
 */
async function sessionServer(
  onStart: (ch: number, s: ScriptedSession, type: string) => void,
  opts: {
    onOpen?: (ch: number) => Buffer[];
    afterAuth?: Buffer[];
    onData?: (ch: number, s: ScriptedSession) => void;
  } = {},
): Promise<ScriptedServer> {
  const srv = await startScriptedServer(
    (p, s) => {
      if (p[0] === MSG.CHANNEL_OPEN) {
        const o = parseChannelOpen(p);
        s.send(...(opts.onOpen?.(o.sender) ?? [openConfirmation(o.sender)]));
      } else if (p[0] === MSG.CHANNEL_REQUEST) {
        const r = parseChannelRequest(p);
        if (r.type === 'exec' || r.type === 'shell' || r.type === 'subsystem') onStart(r.recipient, s, r.type);
        else if (r.wantReply) s.send(channelSuccess(r.recipient));
      } else if (p[0] === MSG.CHANNEL_DATA) {
        opts.onData?.(p.readUInt32BE(1), s);
      }
    },
    opts.afterAuth ? { afterAuth: opts.afterAuth } : {},
  );
  servers.push(srv);
  return srv;
}

function connect(srv: ScriptedServer): Promise<Client> {
  return Client.connect({ host: '127.0.0.1', port: srv.port, username: 'u', hostKeyFingerprint: srv.fingerprint });
}

/** Runs `body` with process error traps, and asserts nothing leaked out of it. */
async function trapped(body: () => Promise<void>): Promise<void> {
  const trap = trapProcessErrors();
  try {
    await body();
    await turn(50);
  } finally {
    trap.uninstall();
  }
  assert.deepEqual(trap.errors, []);
}

test('exec rejects with the protocol error when an oversized CHANNEL_DATA shares a read with its CHANNEL_SUCCESS', () =>
  trapped(async () => {
    const srv = await sessionServer((ch, s) => s.send(channelSuccess(ch), channelData(ch, OVERSIZED())));
    const client = await connect(srv);
    const e = await rejectsTyped(client.exec('x'), 2000, 'ERR_SSH_PROTOCOL');
    assert.ok(e instanceof ProtocolError);
    assert.ok(client.closed);
    assert.equal(client.stats.channels, 0);
  }));

test('exec rejects with the protocol error when a truncated exit-status shares a read with its CHANNEL_SUCCESS', () =>
  trapped(async () => {
    const srv = await sessionServer((ch, s) => s.send(channelSuccess(ch), TRUNCATED_EXIT(ch)));
    const client = await connect(srv);
    await rejectsTyped(client.exec('x'), 2000, 'ERR_SSH_PROTOCOL');
    assert.ok(client.closed);
  }));

test('spawn().exit rejects with the protocol error that killed the connection', () =>
  trapped(async () => {
    const srv = await sessionServer((ch, s) => {
      s.send(channelSuccess(ch));
      setTimeout(() => s.send(TRUNCATED_EXIT(ch)), 30);
    });
    const client = await connect(srv);
    const proc = await client.spawn('x');
    proc.stdout.resume();
    await rejectsTyped(proc.exit, 2000, 'ERR_SSH_PROTOCOL');
  }));

test('spawn().exit rejects when the channel died in the same read as the exec reply', () =>
  trapped(async () => {
    const srv = await sessionServer((ch, s) => s.send(channelSuccess(ch), malformedPayload()));
    const client = await connect(srv);
    // spawn itself may resolve (its reply came first) or reject; either way nothing hangs.
    const o = await settleWithin(client.spawn('x'), 2000);
    if (o.state === 'pending') assert.fail('spawn still pending after 2000 ms');
    if (o.state === 'fulfilled') await rejectsTyped(o.value.exit, 2000, 'ERR_SSH_PROTOCOL');
    else await rejectsTyped(Promise.reject(o.error), 10, 'ERR_SSH_PROTOCOL');
  }));

test('spawn().exit still resolves with nulls when the server closes the channel without an exit status', async () => {
  const srv = await sessionServer((ch, s) => {
    s.send(channelSuccess(ch));
    setTimeout(() => s.send(channelEof(ch), channelClose(ch)), 30);
  });
  const client = await connect(srv);
  const proc = await client.spawn('x');
  proc.stdout.resume();
  proc.stderr.resume();
  const o = await settleWithin(proc.exit, 2000);
  assert.deepEqual(o, { state: 'fulfilled', value: { code: null, signal: null } });
  await client.close();
});

test('exec rejects when the connection dies after exit-status but before the output ended (it may be cut)', () =>
  trapped(async () => {
    const srv = await sessionServer((ch, s) =>
      s.send(channelSuccess(ch), channelData(ch, Buffer.from('partial')), exitStatus(ch, 0), malformedPayload()),
    );
    const client = await connect(srv);
    await rejectsTyped(client.exec('x'), 2000, 'ERR_SSH_PROTOCOL');
  }));

test('exec resolves when the server sent output, EOF and exit-status, then disconnected without closing the channel', async () => {
  const bye = new SshWriter(32).byte(MSG.DISCONNECT).uint32(11).string('bye').string('').toBuffer();
  const srv = await sessionServer((ch, s) =>
    s.send(channelSuccess(ch), channelData(ch, Buffer.from('all of it')), channelEof(ch), exitStatus(ch, 7), bye),
  );
  const client = await connect(srv);
  const o = await settleWithin(client.exec('x'), 2000);
  assert.deepEqual(o, { state: 'fulfilled', value: { stdout: 'all of it', stderr: '', code: 7, signal: null } });
});

test('a channel confirmed in the same read as a fatal packet: exec and shell reject, nothing crashes', () =>
  trapped(async () => {
    const srv = await sessionServer(() => {}, { onOpen: (ch) => [openConfirmation(ch), malformedPayload()] });
    const c1 = await connect(srv);
    await rejectsTyped(c1.exec('x'), 2000, 'ERR_SSH_PROTOCOL');
    const c2 = await connect(srv);
    await rejectsTyped(c2.shell({ pty: true }), 2000, 'ERR_SSH_PROTOCOL');
    const c3 = await connect(srv);
    const proc = c3.connection.openSession();
    // The raw channel API: the open resolves (its reply came first); requests then reject at once.
    const o = await settleWithin(proc, 2000);
    assert.equal(o.state, 'fulfilled');
    if (o.state === 'fulfilled') {
      assert.ok(o.value.destroyed);
      assert.ok(o.value.connectionError instanceof ProtocolError);
      await rejectsTyped(o.value.exec('x'), 500, 'ERR_SSH_PROTOCOL');
    }
  }));

test('connect rejects when USERAUTH_SUCCESS shares a read with a fatal packet', () =>
  trapped(async () => {
    const srv = await sessionServer(() => {}, { afterAuth: [malformedPayload()] });
    await rejectsTyped(connect(srv), 2000, 'ERR_SSH_PROTOCOL');
  }));

test('sftp() rejects when the subsystem reply shares a read with a fatal packet', () =>
  trapped(async () => {
    const srv = await sessionServer((ch, s) => s.send(channelSuccess(ch), malformedPayload()));
    const client = await connect(srv);
    const e = await rejectsTyped(client.sftp({ handshakeTimeout: 30000 }), 2000);
    assert.ok(e instanceof ProtocolError || (e instanceof SftpError && e.cause instanceof ProtocolError), e.message);
  }));

test('sftp() rejects when SSH_FXP_VERSION shares a read with a fatal packet', () =>
  trapped(async () => {
    const version = encodeVersion(3, new Map([['limits@openssh.com', '1']]), FXP.VERSION);
    const srv = await sessionServer((ch, s) => s.send(channelSuccess(ch)), {
      onData: (ch, s) => s.send(channelData(ch, version), malformedPayload()),
    });
    const client = await connect(srv);
    const e = await rejectsTyped(client.sftp({ handshakeTimeout: 30000 }), 2000, 'ERR_SSH_SFTP');
    assert.ok(e.cause instanceof ProtocolError, String(e.cause));
  }));
