/**
 * ssh_config's LocalForward, RemoteForward, DynamicForward, ExitOnForwardFailure and
 * ClearAllForwardings applied by Client.connect({ config }) against a real sshd.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { ListenError } from '../../src/errors.js';
import { hasPeer, PYTHON, requirePeer } from '../helpers/peers.js';
import { freePort, type Sshd, startSshd } from '../helpers/sshd.js';

let sshd: Sshd | undefined;
let dir = '';
let echo: Server | undefined;
let echoPort = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'secsh-cfgfwd-'));
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo?.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as { port: number }).port;
  if (hasPeer('sshd') && hasPeer('ssh-keygen')) sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
});
after(async () => {
  await sshd?.stop();
  echo?.close();
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(name: string, s: Sshd, lines: string[]): string {
  const path = join(dir, name);
  const kh = join(dir, 'known_hosts');
  writeFileSync(
    path,
    [
      'Host fwd',
      `  HostName ${s.host}`,
      `  Port ${s.port}`,
      `  User ${s.username}`,
      `  IdentityFile ${s.userKeys.ed25519.privatePath}`,
      `  UserKnownHostsFile ${kh}`,
      '  StrictHostKeyChecking accept-new',
      '  IdentityAgent none',
      ...lines.map((l) => `  ${l}`),
      '',
    ].join('\n'),
  );
  return path;
}

/** Sends `data` through 127.0.0.1:port and resolves with what comes back before the far end closes. */
async function roundTrip(port: number, data: Buffer, prefix?: Buffer): Promise<Buffer> {
  const s = netConnect(port, '127.0.0.1');
  await once(s, 'connect');
  const got: Buffer[] = [];
  s.on('data', (c: Buffer) => got.push(c));
  if (prefix) s.write(prefix);
  s.end(data);
  await once(s, 'close');
  return Buffer.concat(got);
}

test('LocalForward, DynamicForward and RemoteForward from ssh_config are set up on connect, listed on the client and closed with it', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sshd) return;
  const local = await freePort();
  const socks = await freePort();
  const cfg = writeConfig('config-all', sshd, [
    `LocalForward ${local} 127.0.0.1:${echoPort}`,
    `DynamicForward 127.0.0.1:${socks}`,
    `RemoteForward 0 127.0.0.1:${echoPort}`,
  ]);
  const c = await Client.connect({ host: 'fwd', config: cfg });
  try {
    assert.deepEqual(
      c.forwards.map((f) => f.kind),
      ['local', 'remote', 'dynamic'],
    );
    assert.deepEqual(c.forwards[0]?.address, { host: '127.0.0.1', port: local });
    const payload = Buffer.from('through LocalForward\n');
    assert.deepEqual(await roundTrip(local, payload), payload);
    // SOCKS5: no-auth greeting, then CONNECT 127.0.0.1:echoPort; the reply (10 bytes) precedes the echo
    const req = Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, echoPort >> 8, echoPort & 0xff]);
    const viaSocks = await roundTrip(socks, Buffer.from('via socks'), req);
    assert.deepEqual(viaSocks.subarray(0, 2), Buffer.from([5, 0]));
    assert.equal(viaSocks.subarray(2, 4).toString('hex'), '0500');
    assert.equal(viaSocks.subarray(12).toString(), 'via socks');
    // the RemoteForward's port, allocated by sshd, reached from the server side
    const remote = c.forwards[1]?.address as { port: number };
    assert.ok(remote.port > 0);
    const script = `import socket;s=socket.create_connection(('127.0.0.1',${remote.port}));s.sendall(b'remote ok');s.shutdown(1);print(s.recv(100).decode())`;
    const r = await c.exec(`${PYTHON} -c "${script}"`);
    assert.equal(r.stdout.trim(), 'remote ok', r.stderr);
  } finally {
    await c.close();
  }
  assert.deepEqual(c.forwards, []);
  await assert.rejects(() => roundTrip(local, Buffer.from('x')), /ECONNREFUSED/);
});

test('a LocalForward that cannot listen is a warning and the connection goes on; with ExitOnForwardFailure connect rejects', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sshd) return;
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as { port: number }).port;
  try {
    const warnings: string[] = [];
    const lines = [`LocalForward 127.0.0.1:${port} 127.0.0.1:${echoPort}`, 'RemoteForward /tmp/x'];
    const c = await Client.connect({
      host: 'fwd',
      config: writeConfig('config-busy', sshd, lines),
      logger: { warn: (m: string) => warnings.push(m) },
    });
    assert.equal(c.forwards.length, 0);
    assert.equal((await c.exec('echo up')).stdout.trim(), 'up');
    await c.close();
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0] ?? '', new RegExp(`LocalForward 127\\.0\\.0\\.1:${port} .*not set up`));
    assert.match(warnings[1] ?? '', /RemoteForward \/tmp\/x: not set up: .*not supported/);
    await assert.rejects(
      Client.connect({
        host: 'fwd',
        config: writeConfig('config-exit', sshd, [...lines.slice(0, 1), 'ExitOnForwardFailure yes']),
      }),
      (e: unknown) => e instanceof ListenError,
    );
  } finally {
    busy.close();
  }
});

test('ClearAllForwardings drops the forwards; configForwards: false leaves them to the caller', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen') || !sshd) return;
  const lines = [`LocalForward 0 127.0.0.1:${echoPort}`];
  const cleared = await Client.connect({
    host: 'fwd',
    config: writeConfig('config-clear', sshd, [...lines, 'ClearAllForwardings yes']),
  });
  assert.equal(cleared.forwards.length, 0);
  await cleared.close();
  const off = await Client.connect({
    host: 'fwd',
    config: writeConfig('config-off', sshd, lines),
    configForwards: false,
  });
  assert.equal(off.forwards.length, 0);
  await off.close();
});
