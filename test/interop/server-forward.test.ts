/**
 * OpenSSH's `ssh` forwarding through the secsh server's `Server` API (`forwarding` option): -L to
 * TCP and to a Unix socket, -R with port 0 and a fixed port, -D with curl, -W; and each refused when
 * the policy says no, with OpenSSH reporting the refusal. Host keys are checked strictly.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ForwardRequest } from '../../src/forward/policy.js';
import type { PrivateKey } from '../../src/keys/index.js';
import { generatePrivateKey, parsePublicKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';
import { runSshRaw, type SshTarget, sshArgs } from '../helpers/openssh.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import { freePort, keygen } from '../helpers/sshd.js';
import { backgroundSsh, echoServer, requireCurl, roundTrip, waitListening } from './server-forward-helpers.js';

let dir = '';
let server: Server | undefined;
let target: SshTarget;
let echo: Awaited<ReturnType<typeof echoServer>> | undefined;
let unixEcho: Awaited<ReturnType<typeof echoServer>> | undefined;
let unixEchoPath = '';
let http: HttpServer | undefined;
let httpPort = 0;
const hostKey: PrivateKey = generatePrivateKey('ed25519');
/** Request kinds the policy refuses in the current test. */
const deny = new Set<ForwardRequest['kind']>();
const seen: ForwardRequest[] = [];

before(async () => {
  if (!hasPeer('ssh') || !hasPeer('ssh-keygen')) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-server-forward-'));
  const keyPath = join(dir, 'id_ed25519');
  await keygen(keyPath, ['-t', 'ed25519']);
  const userKey = parsePublicKey(await readFile(`${keyPath}.pub`, 'utf8'));
  server = new Server({
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(userKey),
    authMethods: ['publickey'],
    forwarding: {
      allowTcp: true,
      allowStreamLocal: true,
      policy: (req) => {
        seen.push(req);
        return !deny.has(req.kind);
      },
    },
  });
  const port = (await server.listen({ port: 0, host: '127.0.0.1' })).port;
  const knownHosts = join(dir, 'known_hosts');
  await writeFile(knownHosts, `[127.0.0.1]:${port} ${hostKey.publicKey.toString()}\n`);
  target = { port, keyPath, knownHosts };
  echo = await echoServer();
  unixEchoPath = join(dir, 'echo.sock');
  unixEcho = await echoServer(unixEchoPath);
  http = createHttpServer((_req, res) => res.end('hello through socks\n'));
  await new Promise<void>((r) => http?.listen(0, '127.0.0.1', r));
  const a = http.address();
  httpPort = a && typeof a === 'object' ? a.port : 0;
});

after(async () => {
  await server?.close();
  await echo?.close();
  await unixEcho?.close();
  await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function ready(t: Parameters<typeof requirePeer>[0]): boolean {
  deny.clear();
  seen.length = 0;
  return requirePeer(t, 'ssh', 'ssh-keygen');
}

function curl(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('/usr/bin/curl', ['-sS', '--max-time', '20', ...args], (err, stdout) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout });
    });
  });
}

test('ssh -L carries 1 MiB both ways to a TCP echo server behind the secsh server', async (t) => {
  if (!ready(t)) return;
  const lport = await freePort();
  const ssh = backgroundSsh(
    sshArgs(target, ['-N', '-o', 'ExitOnForwardFailure=yes', '-L', `${lport}:127.0.0.1:${echo?.port}`]),
  );
  try {
    await waitListening({ port: lport });
    const data = randomBytes(1024 * 1024);
    const back = await roundTrip({ port: lport, host: '127.0.0.1' }, data);
    assert.ok(back.equals(data), `echoed ${back.length} bytes, not the ${data.length} sent`);
    const req = seen.find((r) => r.kind === 'direct-tcpip');
    assert.ok(req && req.kind === 'direct-tcpip');
    assert.equal(req.host, '127.0.0.1');
    assert.equal(req.port, echo?.port);
    assert.equal(req.username, 'tester');
  } finally {
    await ssh.stop();
  }
});

test('ssh -L refused by the policy: the channel open fails, ssh says so, the echo server is never reached', async (t) => {
  if (!ready(t)) return;
  deny.add('direct-tcpip');
  const accepted = echo?.accepted() ?? 0;
  const lport = await freePort();
  const ssh = backgroundSsh(sshArgs(target, ['-N', '-L', `${lport}:127.0.0.1:${echo?.port}`]));
  try {
    await waitListening({ port: lport });
    const back = await roundTrip({ port: lport, host: '127.0.0.1' }, Buffer.from('nope')).catch(
      (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? Buffer.alloc(0) : Promise.reject(e)),
    );
    assert.equal(back.length, 0);
    await ssh.waitFor(/open failed: administratively prohibited/);
    assert.equal(echo?.accepted(), accepted);
  } finally {
    await ssh.stop();
  }
});

test('ssh -R 0 prints the allocated port, and a connection to it on the server reaches the client side target', async (t) => {
  if (!ready(t)) return;
  const ssh = backgroundSsh(
    sshArgs(target, ['-N', '-o', 'ExitOnForwardFailure=yes', '-R', `0:127.0.0.1:${echo?.port}`]),
  );
  try {
    const m = await ssh.waitFor(/Allocated port (\d+) for remote forward/);
    const port = Number(m[1]);
    assert.ok(port > 0);
    const data = randomBytes(256 * 1024);
    const back = await roundTrip({ port, host: '127.0.0.1' }, data);
    assert.ok(back.equals(data));
    const req = seen.find((r) => r.kind === 'tcpip-forward');
    assert.ok(req && req.kind === 'tcpip-forward' && req.bindPort === 0);
  } finally {
    await ssh.stop();
  }
});

test('ssh -R with a fixed port listens on it, and the listener is gone when ssh exits', async (t) => {
  if (!ready(t)) return;
  const rport = await freePort();
  const ssh = backgroundSsh(
    sshArgs(target, ['-N', '-o', 'ExitOnForwardFailure=yes', '-R', `${rport}:127.0.0.1:${echo?.port}`]),
  );
  try {
    await waitListening({ port: rport });
    const back = await roundTrip({ port: rport, host: '127.0.0.1' }, Buffer.from('fixed port\n'));
    assert.equal(back.toString(), 'fixed port\n');
  } finally {
    await ssh.stop();
  }
  // The connection ended: the server closed the listener.
  const end = Date.now() + 5000;
  let refused = false;
  while (!refused && Date.now() < end) {
    refused = await roundTrip({ port: rport, host: '127.0.0.1' }, Buffer.alloc(0)).then(
      () => false,
      (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED',
    );
    if (!refused) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(refused, 'the remote-forward port still accepts connections after ssh exited');
});

test('ssh -R refused by the policy: ExitOnForwardFailure makes ssh exit 255 with "remote port forwarding failed"', async (t) => {
  if (!ready(t)) return;
  deny.add('tcpip-forward');
  const r = await runSshRaw(
    sshArgs(target, ['-N', '-o', 'ExitOnForwardFailure=yes', '-R', `0:127.0.0.1:${echo?.port}`]),
    { timeoutMs: 30_000 },
  );
  assert.equal(r.code, 255);
  assert.match(r.stderr, /remote port forwarding failed for listen port 0/);
});

test('ssh -D with curl --socks5-hostname fetches a page through the secsh server', async (t) => {
  if (!ready(t) || !requireCurl(t)) return;
  const lport = await freePort();
  const ssh = backgroundSsh(sshArgs(target, ['-N', '-o', 'ExitOnForwardFailure=yes', '-D', `127.0.0.1:${lport}`]));
  try {
    await waitListening({ port: lport });
    const r = await curl(['--socks5-hostname', `127.0.0.1:${lport}`, `http://localhost:${httpPort}/`]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'hello through socks\n');
    const req = seen.find((x) => x.kind === 'direct-tcpip');
    assert.ok(req && req.kind === 'direct-tcpip' && req.host === 'localhost', 'the name is resolved by the server');
  } finally {
    await ssh.stop();
  }
});

test('ssh -D refused by the policy: curl gets a SOCKS failure', async (t) => {
  if (!ready(t) || !requireCurl(t)) return;
  deny.add('direct-tcpip');
  const lport = await freePort();
  const ssh = backgroundSsh(sshArgs(target, ['-N', '-D', `127.0.0.1:${lport}`]));
  try {
    await waitListening({ port: lport });
    const r = await curl(['--socks5-hostname', `127.0.0.1:${lport}`, `http://localhost:${httpPort}/`]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    await ssh.waitFor(/open failed: administratively prohibited/);
  } finally {
    await ssh.stop();
  }
});

test('ssh -W host:port relays stdin and stdout to the destination', async (t) => {
  if (!ready(t)) return;
  const data = randomBytes(200 * 1024);
  const r = await runSshRaw(sshArgs(target, ['-W', `127.0.0.1:${echo?.port}`]), { input: data, timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.equals(data));
});

test('ssh -W refused by the policy, and to a closed port: ssh exits 255 naming the reason', async (t) => {
  if (!ready(t)) return;
  deny.add('direct-tcpip');
  const r = await runSshRaw(sshArgs(target, ['-W', `127.0.0.1:${echo?.port}`]), { input: 'x', timeoutMs: 30_000 });
  assert.equal(r.code, 255);
  assert.match(r.stderr, /open failed: administratively prohibited/);
  deny.clear();
  const closed = await freePort();
  const r2 = await runSshRaw(sshArgs(target, ['-W', `127.0.0.1:${closed}`]), { input: 'x', timeoutMs: 30_000 });
  assert.equal(r2.code, 255);
  assert.match(r2.stderr, /open failed: connect failed: Connection refused/);
});

test('ssh -L from a local Unix socket to a Unix socket on the server side', async (t) => {
  if (!ready(t)) return;
  const local = join(dir, 'local.sock');
  const ssh = backgroundSsh(
    sshArgs(target, ['-N', '-o', 'ExitOnForwardFailure=yes', '-L', `${local}:${unixEchoPath}`]),
  );
  try {
    await waitListening({ path: local });
    const data = randomBytes(300 * 1024);
    const back = await roundTrip({ path: local }, data);
    assert.ok(back.equals(data));
    const req = seen.find((x) => x.kind === 'direct-streamlocal');
    assert.ok(req && req.kind === 'direct-streamlocal' && req.path === unixEchoPath);
  } finally {
    await ssh.stop();
    await rm(local, { force: true });
  }
});

test('ssh -L port:/unix/socket refused by the policy: the open fails and ssh says so', async (t) => {
  if (!ready(t)) return;
  deny.add('direct-streamlocal');
  const lport = await freePort();
  const ssh = backgroundSsh(sshArgs(target, ['-N', '-L', `${lport}:${unixEchoPath}`]));
  try {
    await waitListening({ port: lport });
    const back = await roundTrip({ port: lport, host: '127.0.0.1' }, Buffer.from('nope')).catch(
      (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? Buffer.alloc(0) : Promise.reject(e)),
    );
    assert.equal(back.length, 0);
    await ssh.waitFor(/open failed: administratively prohibited/);
  } finally {
    await ssh.stop();
  }
});

test('ssh -R from a Unix socket on the server side to the client side target; the socket file goes with ssh', async (t) => {
  if (!ready(t)) return;
  const remote = join(dir, 'remote.sock');
  const ssh = backgroundSsh(
    sshArgs(target, ['-N', '-o', 'ExitOnForwardFailure=yes', '-R', `${remote}:127.0.0.1:${echo?.port}`]),
  );
  try {
    await waitListening({ path: remote });
    const data = randomBytes(128 * 1024);
    assert.ok((await roundTrip({ path: remote }, data)).equals(data));
    const req = seen.find((x) => x.kind === 'streamlocal-forward');
    assert.ok(req && req.kind === 'streamlocal-forward' && req.path === remote);
  } finally {
    await ssh.stop();
  }
  const end = Date.now() + 5000;
  let gone = false;
  while (!gone && Date.now() < end) {
    gone = await stat(remote).then(
      () => false,
      () => true,
    );
    if (!gone) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(gone, 'the remote-forward socket file is still there after ssh exited');
});

test('ssh -R of a Unix socket refused by the policy: ssh exits 255 and no socket file is made', async (t) => {
  if (!ready(t)) return;
  deny.add('streamlocal-forward');
  const remote = join(dir, 'refused.sock');
  const r = await runSshRaw(
    sshArgs(target, ['-N', '-o', 'ExitOnForwardFailure=yes', '-R', `${remote}:127.0.0.1:${echo?.port}`]),
    { timeoutMs: 30_000 },
  );
  assert.equal(r.code, 255);
  assert.match(r.stderr, /remote port forwarding failed for listen path/);
  await assert.rejects(stat(remote));
});
