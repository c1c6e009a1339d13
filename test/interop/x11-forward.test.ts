/**
 * X11 forwarding (`ssh -X` / `-Y`) from a secsh client against OpenSSH sshd (X11Forwarding yes,
 * xauth): a fake local X server listens on /tmp/.X11-unix/X<n>; a program run on the server connects
 * to its $DISPLAY with the (fake) cookie sshd's xauth holds, and the fake X server must receive the
 * setup with the REAL cookie registered locally, the bytes after it untouched. A wrong cookie never
 * reaches the display.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { x11Stats } from '../../src/forward/x11.js';
import { parseX11Setup } from '../../src/forward/x11-setup.js';
import { connectSshd, installTripwire, sharedSshd } from '../helpers/interop.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';

const run = promisify(execFile);
const XAUTH = '/usr/bin/xauth';

installTripwire();
const shared = sharedSshd({
  extraConfig: ['X11Forwarding yes', 'X11UseLocalhost yes', `XAuthLocation ${XAUTH}`, 'X11DisplayOffset 10'],
});

/** What the fake X server saw: one entry per connection. */
interface Seen {
  authName: string;
  authData: string;
  after: string;
}

let dir: string | undefined;
let socketPath: string | undefined;
let fakeX: NetServer | undefined;
let display = '';
let createdDir = false;
const seen: Seen[] = [];
const realCookie = randomBytes(16).toString('hex');

/** The fake X server: records each setup and what follows it within 100 ms, then answers and hangs up. */
function onFakeX(s: Socket): void {
  let buf = Buffer.alloc(0);
  let timer: NodeJS.Timeout | undefined;
  s.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    const setup = parseX11Setup(buf);
    if (typeof setup === 'string' || timer) return;
    // A real client such as xauth then fails at once instead of waiting for its timeout.
    timer = setTimeout(() => {
      seen.push({
        authName: setup.authName.toString('latin1'),
        authData: setup.authData.toString('hex'),
        after: buf.subarray(setup.length).toString('latin1'),
      });
      s.end('FAKE-X-REPLY');
    }, 100);
  });
  s.on('error', () => {});
}

before(async () => {
  if (!existsSync(XAUTH) || !hasPeer('sshd')) return;
  // The fake display's socket is where X clients look: /tmp/.X11-unix/X<n>.
  createdDir = (await mkdir('/tmp/.X11-unix', { recursive: true, mode: 0o1777 })) !== undefined;
  if (createdDir) await chmod('/tmp/.X11-unix', 0o1777);
  // A high display number nobody uses (other X11 tests take 61-79); a socket file that exists, or a
  // listen that fails, means someone may be using it: try the next.
  for (let n = 83; n < 100 && !fakeX; n++) {
    const path = `/tmp/.X11-unix/X${n}`;
    if (existsSync(path)) continue;
    const srv = createServer(onFakeX);
    const ok = await new Promise<boolean>((resolve) => {
      srv.once('error', () => resolve(false));
      srv.listen(path, () => resolve(true));
    });
    if (!ok) continue;
    fakeX = srv;
    display = `:${n}`;
    socketPath = path;
  }
  if (!fakeX) throw new Error('no free fake X display under /tmp/.X11-unix');
  dir = await mkdtemp(join(tmpdir(), 'secsh-x11-'));
  const xauthority = join(dir, 'Xauthority');
  await run(XAUTH, ['-f', xauthority, 'add', display, 'MIT-MAGIC-COOKIE-1', realCookie]);
  process.env.XAUTHORITY = xauthority;
});
after(async () => {
  if (fakeX) await new Promise<void>((r) => (fakeX as NetServer).close(() => r()));
  if (socketPath) await rm(socketPath, { force: true });
  // The folder goes too when this file made it and nothing else is in it (rmdir refuses otherwise).
  if (createdDir) await rmdir('/tmp/.X11-unix').catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Run on the server (python3 from stdin): reads the cookie sshd gave $DISPLAY from xauth (or 16 zero
 * bytes with `wrong`), connects to 127.0.0.1:6000+N, sends an X11 setup (LSB first) and "EXTRA", and
 * prints the cookie it sent and then what the display answered.
 */
const X_CLIENT = `
import os,socket,subprocess,struct,sys
d=os.environ["DISPLAY"]
out=subprocess.run(["xauth","list",d],capture_output=True,text=True).stdout
cookie=bytes.fromhex(out.split()[2])
if sys.argv[1:]==["wrong"]: cookie=bytes(16)
n=int(d.split(":")[1].split(".")[0])
s=socket.create_connection(("127.0.0.1",6000+n))
name=b"MIT-MAGIC-COOKIE-1"
pad=lambda b: b+bytes((4-len(b)%4)%4)
s.sendall(struct.pack("<BxHHHH2x",0x6c,11,0,len(name),len(cookie))+pad(name)+pad(cookie)+b"EXTRA")
print(d, cookie.hex())
b=b""
while True:
  c=s.recv(100)
  if not c: break
  b+=c
print(b.decode() or "(closed)")
`;

test('x11 (trusted): an X client on the server reaches the local display with the real cookie in place of the fake one', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !existsSync(XAUTH)) return t.skip('xauth missing');
  const sshd = await shared.get();
  const client = await connectSshd(sshd);
  try {
    seen.length = 0;
    const r = await client.exec('/usr/bin/python3 -', { x11: { display, trusted: true }, stdin: X_CLIENT });
    assert.equal(r.code, 0, r.stderr);
    const [first, reply] = r.stdout.trim().split('\n');
    const [remoteDisplay, sentCookie] = (first ?? '').split(' ');
    assert.match(remoteDisplay ?? '', /^localhost:1\d\.0$/, 'sshd set DISPLAY to localhost:10+');
    assert.notEqual(sentCookie, realCookie, 'the server only ever sees the fake cookie');
    assert.equal(reply, 'FAKE-X-REPLY');
    assert.deepEqual(seen, [{ authName: 'MIT-MAGIC-COOKIE-1', authData: realCookie, after: 'EXTRA' }]);
    const stats = x11Stats(client.connection);
    assert.equal(stats?.accepted, 1);
    assert.equal(stats?.failed, 0);
  } finally {
    await client.close();
  }
});

test('x11: a setup with a wrong cookie closes the channel and never reaches the display', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !existsSync(XAUTH)) return t.skip('xauth missing');
  const sshd = await shared.get();
  const client = await connectSshd(sshd);
  try {
    seen.length = 0;
    const r = await client.exec('/usr/bin/python3 - wrong', { x11: { display, trusted: true }, stdin: X_CLIENT });
    assert.equal(r.stdout.trim().split('\n')[1], '(closed)');
    assert.deepEqual(seen, []);
    const stats = x11Stats(client.connection);
    assert.equal(stats?.failed, 1);
    assert.equal(stats?.open, 0);
  } finally {
    await client.close();
  }
});

test('x11 untrusted with no SECURITY extension (xauth generate fails): a warning, and the setup goes on with no authorization data', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !existsSync(XAUTH)) return t.skip('xauth missing');
  const sshd = await shared.get();
  const warnings: string[] = [];
  const client = await connectSshd(sshd, { logger: { warn: (m: string) => warnings.push(m) } });
  try {
    seen.length = 0;
    const r = await client.exec('/usr/bin/python3 -', { x11: { display }, stdin: X_CLIENT });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      warnings.some((w) => /no xauth data/.test(w)),
      `warned: ${warnings}`,
    );
    // xauth generate knocked on the fake display first (and failed on its answer), so the
    // forwarded setup is the last one
    const last = seen[seen.length - 1];
    assert.deepEqual(last, { authName: '', authData: '', after: 'EXTRA' });
  } finally {
    await client.close();
  }
});

test('without x11 a session gets no DISPLAY and the connection has no X11 relay', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const client = await connectSshd(sshd);
  try {
    const r = await client.exec('echo "display=$DISPLAY"');
    assert.equal(r.stdout, 'display=\n', 'no x11-req, no DISPLAY');
    assert.equal(x11Stats(client.connection), undefined);
  } finally {
    await client.close();
  }
});
