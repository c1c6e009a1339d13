/**
 * The whole X11 forwarding chain in secsh: a secsh client with `x11` against the secsh server's
 * localProcessHandler({ x11Forwarding }). A Python X client run by the server connects to its
 * DISPLAY with the cookie the server's xauth holds (the client's fake one); the client's fake local X
 * server must receive the setup with the REAL cookie registered on the client side. (The OpenSSH sshd
 * proof is x11-forward.test.ts.)
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
import { Client } from '../../src/client/client.js';
import { x11Stats } from '../../src/forward/x11.js';
import { parseX11Setup } from '../../src/forward/x11-setup.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import { installTripwire } from '../helpers/interop.js';
import { PYTHON } from '../helpers/peers.js';

const run = promisify(execFile);
const XAUTH = '/usr/bin/xauth';
installTripwire();

let dir = '';
let fakeX: NetServer | undefined;
let socketPath = '';
let display = '';
let createdDir = false;
const realCookie = randomBytes(16).toString('hex');
const seen: Array<{ name: string; data: string }> = [];

function onFakeX(s: Socket): void {
  let buf = Buffer.alloc(0);
  s.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    const setup = parseX11Setup(buf);
    if (typeof setup === 'string') return;
    s.removeAllListeners('data');
    seen.push({ name: setup.authName.toString('latin1'), data: setup.authData.toString('hex') });
    s.end('FAKE-X-REPLY');
  });
  s.on('error', () => {});
}

before(async () => {
  if (!existsSync(XAUTH) || !existsSync(PYTHON)) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-x11-chain-'));
  createdDir = (await mkdir('/tmp/.X11-unix', { recursive: true, mode: 0o1777 })) !== undefined;
  if (createdDir) await chmod('/tmp/.X11-unix', 0o1777);
  for (let n = 100; n < 120 && !fakeX; n++) {
    const path = `/tmp/.X11-unix/X${n}`;
    if (existsSync(path)) continue;
    const srv = createServer(onFakeX);
    if (!(await new Promise<boolean>((r) => srv.once('error', () => r(false)).listen(path, () => r(true))))) continue;
    fakeX = srv;
    socketPath = path;
    display = `:${n}`;
  }
  if (!fakeX) throw new Error('no free fake X display under /tmp/.X11-unix');
  const clientXauth = join(dir, 'client.Xauthority');
  await run(XAUTH, ['-f', clientXauth, 'add', display, 'MIT-MAGIC-COOKIE-1', realCookie]);
  process.env.XAUTHORITY = clientXauth; // what the client's xauth reads
});
after(async () => {
  if (fakeX) await new Promise<void>((r) => (fakeX as NetServer).close(() => r()));
  if (socketPath) await rm(socketPath, { force: true });
  if (createdDir) await rmdir('/tmp/.X11-unix').catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The X client the server runs: the cookie from `xauth list $DISPLAY`, a setup to 127.0.0.1:6000+N. */
const X_CLIENT = `
import os,socket,subprocess,struct
d=os.environ["DISPLAY"]
cookie=bytes.fromhex(subprocess.run(["${XAUTH}","list",d],capture_output=True,text=True).stdout.split()[2])
n=int(d.split(":")[1].split(".")[0])
s=socket.create_connection(("127.0.0.1",6000+n))
name=b"MIT-MAGIC-COOKIE-1"
pad=lambda b: b+bytes((4-len(b)%4)%4)
s.sendall(struct.pack("<BxHHHH2x",0x6c,11,0,len(name),len(cookie))+pad(name)+pad(cookie))
b=b""
while True:
  c=s.recv(100)
  if not c: break
  b+=c
print(cookie.hex(), b.decode())
`;

test('secsh client x11 through the secsh server: the fake display gets the real cookie, the server only the fake one', async (t) => {
  if (!existsSync(XAUTH) || !existsSync(PYTHON)) return t.skip('xauth or python3 missing');
  const hostKey = generatePrivateKey('ed25519');
  const server = new Server({
    hostKeys: [hostKey],
    authenticate: (ctx) => ctx.method === 'password' && ctx.password === 'pw',
  });
  const env: NodeJS.ProcessEnv = { ...process.env, XAUTHORITY: join(dir, 'server.Xauthority') };
  delete env.DISPLAY;
  server.on('session', localProcessHandler({ x11Forwarding: { displayOffset: 40 }, env, shell: '/bin/sh' }));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'pw',
    hostKeyFingerprint: hostKey.publicKey.fingerprint(),
  });
  try {
    seen.length = 0;
    const r = await client.exec(`${PYTHON} -`, { x11: { display, trusted: true }, stdin: X_CLIENT });
    assert.equal(r.code, 0, r.stderr);
    const [serverCookie, reply] = r.stdout.trim().split(' ');
    assert.equal(reply, 'FAKE-X-REPLY');
    assert.notEqual(serverCookie, realCookie);
    assert.deepEqual(seen, [{ name: 'MIT-MAGIC-COOKIE-1', data: realCookie }]);
    assert.equal(x11Stats(client.connection)?.failed, 0);
  } finally {
    await client.close();
    await server.close();
  }
});
