/**
 * OpenSSH's `ssh -X` (ForwardX11Trusted) against the secsh server's localProcessHandler({
 * x11Forwarding: true }). ssh's side has a fake X server (a Unix listener at /tmp/.X11-unix/X<N>,
 * DISPLAY=:N, its real cookie in a private XAUTHORITY file); the session runs a small Python X client
 * that takes DISPLAY and the cookie `xauth list` shows (the fake one ssh sent in x11-req, added by the
 * server with xauth), connects to 127.0.0.1:6000+display and sends an X11 connection setup. The fake
 * X server must receive that setup with the REAL cookie — ssh substitutes it only when the cookie that
 * came over the `x11` channel is the one it sent — which proves the whole chain: x11-req, DISPLAY,
 * xauth, the listener, the x11 channel open and the relay both ways. Without the option, ssh reports
 * the refusal and the command has no DISPLAY.
 */

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { generatePrivateKey, parsePublicKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import { sshArgs } from '../helpers/openssh.js';
import { binPath, hasPeer, PYTHON, requirePeer } from '../helpers/peers.js';
import { keygen } from '../helpers/sshd.js';

const XAUTH = '/usr/bin/xauth';
const X11_DIR = '/tmp/.X11-unix';
const run = promisify(execFile);

let dir = '';
let keyPath = '';
let madeX11Dir = false;
let xSocketPath = '';
let xDisplay = 0;
let xServer: NetServer | undefined;
const realCookie = randomBytes(16).toString('hex');
let clientXauth = '';
let serverXauth = '';
let scriptPath = '';
const servers: Server[] = [];
let portOn = 0;
let portOff = 0;
/** Connection setups the fake X server received: auth protocol name and data (hex). */
const setups: { name: string; data: string }[] = [];

/** The X client the session runs: DISPLAY and the cookie from xauth, then a connection setup. */
const X_CLIENT = `
import os, re, socket, struct, subprocess
d = os.environ.get('DISPLAY', '')
print('DISPLAY=' + d, flush=True)
m = re.match(r'^localhost:(\\d+)\\.(\\d+)$', d)
n = int(m.group(1))
cookie = None
for line in subprocess.run(['xauth', 'list'], capture_output=True, text=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and re.search(r':%d(\\.\\d+)?$' % n, parts[0]) and parts[1] == 'MIT-MAGIC-COOKIE-1':
        cookie = parts[2]
print('SESSION-COOKIE=' + str(cookie), flush=True)
name = b'MIT-MAGIC-COOKIE-1'
data = bytes.fromhex(cookie)
pad = lambda b: b + b'\\0' * ((4 - len(b) % 4) % 4)
s = socket.create_connection(('127.0.0.1', 6000 + n))
s.sendall(struct.pack('<BxHHHHxx', 0x6c, 11, 0, len(name), len(data)) + pad(name) + pad(data))
reply = b''
while True:
    b = s.recv(4096)
    if not b:
        break
    reply += b
print('REPLY=' + reply.decode(), flush=True)
`;

/** A fake X server: parses the connection setup (little-endian), records it, answers and closes. */
function onXConnection(sock: Socket): void {
  let buf = Buffer.alloc(0);
  sock.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    if (buf.length < 12) return;
    const nameLen = buf.readUInt16LE(6);
    const dataLen = buf.readUInt16LE(8);
    const padded = (n: number) => n + ((4 - (n % 4)) % 4);
    const total = 12 + padded(nameLen) + padded(dataLen);
    if (buf.length < total) return;
    const name = buf.subarray(12, 12 + nameLen).toString('latin1');
    const dataStart = 12 + padded(nameLen);
    setups.push({ name, data: buf.subarray(dataStart, dataStart + dataLen).toString('hex') });
    sock.end('hello-from-x');
  });
  sock.on('error', () => {});
}

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, XAUTHORITY: serverXauth };
  delete env.DISPLAY;
  return env;
}

async function startServer(x11Forwarding: boolean): Promise<number> {
  const userKey = parsePublicKey(await readFile(`${keyPath}.pub`, 'utf8'));
  const server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(userKey),
    authMethods: ['publickey'],
  });
  server.on('session', localProcessHandler({ x11Forwarding, env: baseEnv(), shell: '/bin/sh' }));
  servers.push(server);
  return (await server.listen({ port: 0, host: '127.0.0.1' })).port;
}

before(async () => {
  if (!hasPeer('ssh') || !hasPeer('ssh-keygen') || !existsSync(XAUTH) || !existsSync(PYTHON)) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-server-x11-'));
  keyPath = join(dir, 'id_ed25519');
  await keygen(keyPath, ['-t', 'ed25519']);
  clientXauth = join(dir, 'client.Xauthority');
  serverXauth = join(dir, 'server.Xauthority');
  scriptPath = join(dir, 'xclient.py');
  await writeFile(scriptPath, X_CLIENT);
  // Made when missing (and removed at the end if still empty); another test may be making it too.
  madeX11Dir = (await mkdir(X11_DIR, { recursive: true, mode: 0o1777 })) !== undefined;
  // A high display number nobody uses (a stale socket file means someone may: try the next one).
  for (let n = 61; n < 80; n++) {
    const path = join(X11_DIR, `X${n}`);
    if (existsSync(path)) continue;
    const srv = createServer(onXConnection);
    const ok = await new Promise<boolean>((resolve) => {
      srv.once('error', () => resolve(false));
      srv.listen(path, () => resolve(true));
    });
    if (!ok) continue;
    xServer = srv;
    xSocketPath = path;
    xDisplay = n;
    break;
  }
  if (!xServer) throw new Error('no free fake X display under /tmp/.X11-unix');
  await run(XAUTH, ['-f', clientXauth, 'add', `:${xDisplay}`, 'MIT-MAGIC-COOKIE-1', realCookie]);
  portOn = await startServer(true);
  portOff = await startServer(false);
});

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  if (xServer) await new Promise<void>((resolve) => xServer?.close(() => resolve()));
  if (xSocketPath) await rm(xSocketPath, { force: true });
  if (madeX11Dir) await rmdir(X11_DIR).catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

function sshX(port: number, command: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = sshArgs(
    { port, keyPath },
    ['-X', '-o', 'ForwardX11=yes', '-o', 'ForwardX11Trusted=yes', '-o', `XAuthLocation=${XAUTH}`, '-v'],
    command,
  );
  return new Promise((resolve, reject) => {
    const p = spawn(binPath('ssh'), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DISPLAY: `:${xDisplay}`, XAUTHORITY: clientXauth },
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    p.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: out, stderr: err });
    });
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

test('ssh -X: an X client in the session reaches the fake X server with the real cookie ssh substituted', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  if (!existsSync(XAUTH) || !existsSync(PYTHON)) {
    if (process.env.CI === 'true') assert.fail('xauth and python3 are required in CI');
    t.skip('xauth or /usr/bin/python3 missing');
    return;
  }
  setups.length = 0;
  const r = await sshX(portOn, `${PYTHON} ${scriptPath}`);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const display = Number(/^DISPLAY=localhost:(\d+)\.0$/m.exec(r.stdout)?.[1]);
  assert.ok(display >= 10, r.stdout);
  // The session's cookie is ssh's fake one (added by the server with xauth), not the real one.
  const sessionCookie = /^SESSION-COOKIE=([0-9a-f]+)$/m.exec(r.stdout)?.[1];
  assert.ok(sessionCookie, r.stdout);
  assert.notEqual(sessionCookie, realCookie);
  assert.match(r.stdout, /^REPLY=hello-from-x$/m);
  assert.deepEqual(setups, [{ name: 'MIT-MAGIC-COOKIE-1', data: realCookie }]);
  // The display's listener is gone with the session.
  const deadline = Date.now() + 5000;
  while (!(await refused(6000 + display)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  assert.ok(await refused(6000 + display), `display ${display} still listening after the session`);
});

test('ssh -X against a server without x11Forwarding: ssh reports the refusal, no DISPLAY in the session', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  if (!existsSync(XAUTH) || !existsSync(PYTHON)) {
    if (process.env.CI === 'true') assert.fail('xauth and python3 are required in CI');
    t.skip('xauth or /usr/bin/python3 missing');
    return;
  }
  setups.length = 0;
  const r = await sshX(portOff, 'echo "[$' + '{DISPLAY-unset}]"');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\[unset\]$/m);
  assert.match(r.stderr, /X11 forwarding request failed/);
  assert.equal(setups.length, 0);
});
