/**
 * Remote forwarding (`ssh -R`) from a secsh client against OpenSSH sshd: the server listens, a
 * command run on the server connects to that port (or Unix socket), and the bytes reach a local echo
 * server and come back byte-identical; the listener is cancelled on close; refusals are typed.
 */
import assert from 'node:assert/strict';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { ChannelOpenError, ListenError } from '../../src/errors.js';
import type { Forward } from '../../src/forward/types.js';
import { connectSshd, installTripwire, sharedSshd } from '../helpers/interop.js';
import { requirePeer } from '../helpers/peers.js';
import { freePort } from '../helpers/sshd.js';

installTripwire();
const shared = sharedSshd();

/** A local echo server on TCP 127.0.0.1:0 or a Unix socket; counts connections. */
async function echoServer(path?: string): Promise<{ server: NetServer; port: number; count: () => number }> {
  let n = 0;
  const server = createServer({ allowHalfOpen: true }, (s: Socket) => {
    n++;
    s.pipe(s);
  });
  await new Promise<void>((r) => (path ? server.listen(path, r) : server.listen(0, '127.0.0.1', r)));
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : 0, count: () => n };
}

/**
 * A python3 program run on the server: connects to TCP 127.0.0.1:<port> or a Unix socket, sends
 * `size` random bytes, half-closes, reads all that comes back and prints "<sent sha256> <received sha256> <bytes>".
 */
function echoProbe(target: { port: number } | { path: string }, size: number): string {
  const connect =
    'port' in target
      ? `s=socket.create_connection(("127.0.0.1",${target.port}))`
      : `s=socket.socket(socket.AF_UNIX);s.connect(${JSON.stringify(target.path)})`;
  const py = [
    'import socket,os,hashlib,threading',
    connect,
    `d=os.urandom(${size})`,
    'def w():',
    '  s.sendall(d); s.shutdown(socket.SHUT_WR)',
    't=threading.Thread(target=w); t.start()',
    'b=bytearray()',
    'while True:',
    '  c=s.recv(65536)',
    '  if not c: break',
    '  b+=c',
    't.join()',
    'print(hashlib.sha256(d).hexdigest(), hashlib.sha256(b).hexdigest(), len(b))',
  ].join('\n');
  return `/usr/bin/python3 -c '${py}'`;
}

function assertEchoed(stdout: string, size: number): void {
  const [sent, got, len] = stdout.trim().split(' ');
  assert.equal(Number(len), size, `echoed ${len} of ${size} bytes`);
  assert.equal(got, sent, 'the echoed bytes are identical to those sent');
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('forwardRemote with port 0: the server allocates a port, a server-side command reaches the local echo server through it, byte-identical', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const echo = await echoServer();
  const client = await connectSshd(sshd);
  try {
    const fwd = await client.forwardRemote({ bindPort: 0, host: '127.0.0.1', port: echo.port });
    assert.equal(fwd.kind, 'remote');
    const addr = fwd.address as { host: string; port: number };
    assert.ok(addr.port > 0 && addr.port < 65536, `allocated port ${addr.port}`);
    const size = 3 * 1024 * 1024 + 17;
    const r = await client.exec(echoProbe({ port: addr.port }, size));
    assert.equal(r.code, 0, r.stderr);
    assertEchoed(r.stdout, size);
    await waitFor(() => fwd.stats.open === 0);
    assert.equal(fwd.stats.accepted, 1);
    assert.equal(fwd.stats.failed, 0);
    assert.equal(fwd.stats.bytesOut, size);
    assert.equal(fwd.stats.bytesIn, size);
    await fwd.close();
    // cancel-tcpip-forward took the listener away on the server
    const after = await client.exec(
      `/usr/bin/python3 -c 'import socket\ntry:\n  socket.create_connection(("127.0.0.1",${addr.port}),2); print("open")\nexcept OSError: print("refused")'`,
    );
    assert.equal(after.stdout.trim(), 'refused');
    await fwd.close(); // twice is fine
  } finally {
    await client.close();
    echo.server.close();
  }
});

test('forwardRemote with a fixed port: several connections in a row, each echoed, counters balance', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const echo = await echoServer();
  const client = await connectSshd(sshd);
  try {
    const port = await freePort();
    const fwd = await client.forwardRemote({
      bindHost: '127.0.0.1',
      bindPort: port,
      host: '127.0.0.1',
      port: echo.port,
    });
    assert.deepEqual(fwd.address, { host: '127.0.0.1', port });
    for (let i = 0; i < 3; i++) {
      const r = await client.exec(echoProbe({ port }, 100_000 + i));
      assertEchoed(r.stdout, 100_000 + i);
    }
    await waitFor(() => fwd.stats.open === 0);
    assert.equal(fwd.stats.accepted, 3);
    assert.equal(echo.count(), 3);
    await fwd.close();
    assert.equal(client.stats.channels, 0);
  } finally {
    await client.close();
    echo.server.close();
  }
});

test('forwardRemote to a Unix socket path on the server (streamlocal-forward@openssh.com) reaches a local Unix socket', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const localPath = join(sshd.dir, 'local-echo.sock');
  const remotePath = join(sshd.dir, 'remote-fwd.sock');
  const echo = await echoServer(localPath);
  const client = await connectSshd(sshd);
  try {
    const fwd = await client.forwardRemote({ bindPath: remotePath, path: localPath });
    assert.deepEqual(fwd.address, { path: remotePath });
    const r = await client.exec(echoProbe({ path: remotePath }, 500_000));
    assert.equal(r.code, 0, r.stderr);
    assertEchoed(r.stdout, 500_000);
    await waitFor(() => fwd.stats.open === 0);
    assert.equal(fwd.stats.accepted, 1);
    await fwd.close();
    // sshd leaves the socket file behind (it unlinks only on bind, with StreamLocalBindUnlink), but
    // nothing listens there any more
    const after = await client.exec(
      `/usr/bin/python3 -c 'import socket\ns=socket.socket(socket.AF_UNIX)\ntry:\n  s.connect(${JSON.stringify(remotePath)}); print("open")\nexcept OSError: print("refused")'`,
    );
    assert.equal(after.stdout.trim(), 'refused');
  } finally {
    await client.close();
    echo.server.close();
  }
});

test('forwardRemote with onConnection: the callback gets the channel and its origin', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const client = await connectSshd(sshd);
  try {
    const origins: unknown[] = [];
    const fwd = await client.forwardRemote({
      bindPort: 0,
      onConnection: (ch, origin) => {
        origins.push(origin);
        ch.once('data', (d: Buffer) => ch.end(`hello ${d.toString().trim()}\n`));
      },
    });
    const port = (fwd.address as { port: number }).port;
    const r = await client.exec(
      `/usr/bin/python3 -c 'import socket\ns=socket.create_connection(("127.0.0.1",${port}))\ns.sendall(b"world\\n")\nprint(s.makefile().readline().strip())'`,
    );
    assert.equal(r.stdout.trim(), 'hello world');
    assert.equal(origins.length, 1);
    const o = origins[0] as { originHost: string; originPort: number };
    assert.equal(o.originHost, '127.0.0.1');
    assert.ok(o.originPort > 0);
    await waitFor(() => fwd.stats.open === 0);
    assert.equal(fwd.stats.bytesOut, 6);
    assert.equal(fwd.stats.bytesIn, 12);
    await fwd.close();
  } finally {
    await client.close();
  }
});

test('forwardRemote to an unreachable target: that connection fails with a ChannelOpenError event, the forward goes on', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const client = await connectSshd(sshd);
  const dead = await freePort();
  let fwd: Forward | undefined;
  try {
    fwd = await client.forwardRemote({ bindPort: 0, host: '127.0.0.1', port: dead });
    const errors: Error[] = [];
    fwd.on('error', (e: Error) => errors.push(e));
    const port = (fwd.address as { port: number }).port;
    const probe = `/usr/bin/python3 -c 'import socket\ns=socket.create_connection(("127.0.0.1",${port}))\nprint(len(s.recv(10)))'`;
    const r = await client.exec(probe);
    assert.equal(r.stdout.trim(), '0', 'the server closed the connection it could not forward');
    await waitFor(() => errors.length === 1);
    assert.ok(errors[0] instanceof ChannelOpenError);
    assert.equal((errors[0] as ChannelOpenError).reasonCode, 2);
    assert.equal(fwd.stats.failed, 1);
    assert.equal(fwd.stats.open, 0);
    // still listening: a second attempt is handled (and fails the same way)
    await client.exec(probe);
    await waitFor(() => errors.length === 2);
  } finally {
    await fwd?.close();
    await client.close();
  }
});

test('forwardRemote that sshd refuses (the port is taken on the server) rejects with a ListenError', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const client = await connectSshd(sshd);
  try {
    await assert.rejects(
      client.forwardRemote({ bindHost: '127.0.0.1', bindPort: sshd.port, host: '127.0.0.1', port: 1 }),
      (e: unknown) => e instanceof ListenError && e.code === 'ERR_SSH_LISTEN' && e.port === sshd.port,
    );
    // the connection is fine afterwards
    assert.equal((await client.exec('echo ok')).stdout, 'ok\n');
  } finally {
    await client.close();
  }
});

test('forwardRemote carries 20 concurrent connections from the server, each echoed byte-identical, and the counters return to zero', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const echo = await echoServer();
  const client = await connectSshd(sshd);
  try {
    const fwd = await client.forwardRemote({ bindPort: 0, host: '127.0.0.1', port: echo.port });
    const port = (fwd.address as { port: number }).port;
    const py = [
      'import socket,os,threading',
      'bad=[]',
      'def one(i):',
      `  s=socket.create_connection(("127.0.0.1",${port}))`,
      '  d=os.urandom(65536+i)',
      '  w=threading.Thread(target=lambda: (s.sendall(d), s.shutdown(socket.SHUT_WR))); w.start()',
      '  b=bytearray()',
      '  while True:',
      '    c=s.recv(65536)',
      '    if not c: break',
      '    b+=c',
      '  w.join()',
      '  if bytes(b)!=d: bad.append(i)',
      'ts=[threading.Thread(target=one,args=(i,)) for i in range(20)]',
      '[x.start() for x in ts]; [x.join() for x in ts]',
      'print("bad",len(bad))',
    ].join('\n');
    const r = await client.exec('/usr/bin/python3 -', { stdin: py });
    assert.equal(r.stdout.trim(), 'bad 0', r.stderr);
    await waitFor(() => fwd.stats.open === 0);
    assert.equal(fwd.stats.accepted, 20);
    assert.equal(fwd.stats.failed, 0);
    const total = 20 * 65536 + (19 * 20) / 2;
    assert.equal(fwd.stats.bytesOut, total);
    assert.equal(fwd.stats.bytesIn, total);
    await fwd.close();
    await waitFor(() => client.stats.channels === 0);
  } finally {
    await client.close();
    echo.server.close();
  }
});
