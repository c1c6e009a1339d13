/**
 * The same forward asked of a secsh ControlMaster on two control connections at once, against
 * OpenSSH's sshd: one tcpip-forward goes to the server and both askers get its answer (for port 0,
 * the same allocated port), as OpenSSH's own master answers a forward it already has.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { openControlForward } from '../../src/mux/client.js';
import type { MuxForwardSpec } from '../../src/mux/codec.js';
import { binPath, hasPeer, requirePeer } from '../helpers/peers.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

let sshd: Sshd | undefined;
let dir = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'secsh-muxf-'));
  if (hasPeer('sshd') && hasPeer('ssh-keygen') && hasPeer('ssh')) sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
});
after(async () => {
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function ready(t: Parameters<typeof requirePeer>[0]): boolean {
  return requirePeer(t, 'sshd', 'ssh-keygen', 'ssh') && sshd !== undefined;
}

async function connect(): Promise<Client> {
  if (!sshd) throw new Error('no sshd');
  return Client.connect({
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    privateKeyPath: sshd.userKeys.ed25519.privatePath,
    insecureAcceptAnyHostKey: true,
  });
}

async function echoServer(): Promise<{ port: number; close: () => void }> {
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const addr = echo.address();
  return { port: typeof addr === 'object' && addr ? addr.port : 0, close: () => echo.close() };
}

function echoThrough(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = netConnect(port, '127.0.0.1');
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    c.on('error', reject);
    c.on('close', () => resolve(Buffer.concat(got).toString()));
    c.end(text);
  });
}

function ssh(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(binPath('ssh'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('two control connections asking a secsh master for the same remote forward (port 0) at once get the one port sshd allocated', async (t) => {
  if (!ready(t)) return;
  const echo = await echoServer();
  const client = await connect();
  const sock = join(dir, 'r.sock');
  try {
    await client.listenControl(sock);
    const spec: MuxForwardSpec = { type: 'remote', listenPort: 0, connectHost: '127.0.0.1', connectPort: echo.port };
    const ports = await Promise.all([openControlForward(sock, spec, 10_000), openControlForward(sock, spec, 10_000)]);
    assert.ok(ports[0] !== undefined && ports[0] > 0 && ports[0] < 65536, `allocated port: ${String(ports[0])}`);
    assert.equal(ports[1], ports[0], 'both were answered with the one forward');
    assert.equal(await echoThrough(ports[0] as number, 'once'), 'once');
    // OpenSSH's ssh -O forward, twice at once: each prints that same port.
    const base = ['-F', 'none', '-o', 'LogLevel=ERROR', '-S', sock];
    const spec2 = `0:127.0.0.1:${echo.port}`;
    const runs = await Promise.all([
      ssh([...base, '-O', 'forward', '-R', spec2, 'h']),
      ssh([...base, '-O', 'forward', '-R', spec2, 'h']),
    ]);
    for (const r of runs) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(Number(r.stdout.trim()), ports[0], `printed ${JSON.stringify(r.stdout)}`);
    }
  } finally {
    await client.close();
    echo.close();
  }
});
