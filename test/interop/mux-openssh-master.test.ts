/**
 * secsh's MuxClient through an OpenSSH ControlMaster (`ssh -M -S sock -N` against a private sshd):
 * exec (stdout, stderr, exit status, signal, stdin), a shell with a pty, sftp, direct-tcpip, the
 * master's forwards, `-O check`/`-O exit`, and ssh_config's ControlPath through connectShared.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Client } from '../../src/client/client.js';
import { resolveSshConfig } from '../../src/config/ssh-config.js';
import { MuxError } from '../../src/errors.js';
import { MuxClient } from '../../src/mux/client.js';
import { connectShared } from '../../src/mux/connect.js';
import { binPath, hasPeer, requirePeer } from '../helpers/peers.js';
import { freePort, openSshArgs, type Sshd, startSshd, stopChild } from '../helpers/sshd.js';

let sshd: Sshd | undefined;
let master: ChildProcess | undefined;
let dir = '';
let sock = '';
let echo: Server | undefined;
let echoPort = 0;

async function waitFor(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(25);
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'secsh-mux-'));
  sock = join(dir, 'm.sock');
  if (!(hasPeer('sshd') && hasPeer('ssh-keygen') && hasPeer('ssh'))) return;
  sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
  const args = [
    ...openSshArgs(sshd, sshd.userKeys.ed25519),
    '-M',
    '-S',
    sock,
    '-N',
    '-o',
    'ControlPersist=no',
    sshd.host,
  ];
  master = spawn(binPath('ssh'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  master.stderr?.on('data', (d: Buffer) => {
    log += d;
  });
  await waitFor(() => existsSync(sock) || master?.exitCode !== null, `the master's socket (${log})`);
  assert.ok(existsSync(sock), `ssh -M did not start: ${log}`);
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo?.listen(0, '127.0.0.1', r));
  const a = echo.address();
  echoPort = typeof a === 'object' && a ? a.port : 0;
});

after(async () => {
  if (master) await stopChild(master);
  echo?.close();
  await sshd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function ready(t: Parameters<typeof requirePeer>[0]): boolean {
  return requirePeer(t, 'sshd', 'ssh-keygen', 'ssh') && sshd !== undefined && master !== undefined;
}

test('MuxClient through an OpenSSH master: exec gives stdout, stderr and exit status; stdin reaches the command; a signal death is reported', async (t) => {
  if (!ready(t)) return;
  const mux = await MuxClient.connect({ controlPath: sock });
  try {
    const r = await mux.exec('echo out; echo err >&2; exit 3');
    assert.deepEqual(r, { stdout: 'out\n', stderr: 'err\n', code: 3, signal: null });
    const big = Buffer.alloc(3 * 1024 * 1024, 'x');
    const c = await mux.exec('wc -c', { stdin: big });
    assert.equal(c.stdout.trim(), String(big.length));
    const k = await mux.exec('kill -TERM $$');
    assert.equal(k.signal, 'TERM');
    // several sessions at once share the master's connection
    const many = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => mux.exec(`echo ${i}`)));
    assert.deepEqual(
      many.map((m) => m.stdout),
      ['1\n', '2\n', '3\n', '4\n', '5\n', '6\n'],
    );
    assert.equal(mux.stats.channels, 0, 'every channel released');
  } finally {
    await mux.close();
  }
});

test('MuxClient through an OpenSSH master: a shell with a pty gets the terminal type and size, and its exit status', async (t) => {
  if (!ready(t)) return;
  const mux = await MuxClient.connect({ controlPath: sock });
  try {
    const sh = await mux.shell({ pty: { term: 'vt220', cols: 101, rows: 33 } });
    let out = '';
    sh.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    sh.write('stty size; echo "T=$TERM"; test -t 0 && echo is-a-tty; exit 7\n');
    await new Promise((r) => sh.once('close', r));
    assert.match(out, /33 101/);
    assert.match(out, /T=vt220/);
    assert.match(out, /is-a-tty/);
    assert.equal(sh.exitStatus, 7);
  } finally {
    await mux.close();
  }
});

test('MuxClient through an OpenSSH master: sftp subsystem writes, reads back and lists a file', async (t) => {
  if (!ready(t) || !sshd) return;
  const mux = await MuxClient.connect({ controlPath: sock });
  try {
    const sftp = await mux.sftp();
    const path = join(sshd.dir, 'mux-sftp.txt');
    await sftp.writeFile(path, 'through the master\n');
    assert.equal((await sftp.readFile(path)).toString('utf8'), 'through the master\n');
    assert.ok((await sftp.readdir(sshd.dir)).some((e) => e.filename === 'mux-sftp.txt'));
    await sftp.end();
  } finally {
    await mux.close();
  }
});

test('MuxClient through an OpenSSH master: forwardOut reaches a TCP server on 127.0.0.1', async (t) => {
  if (!ready(t)) return;
  const mux = await MuxClient.connect({ controlPath: sock });
  try {
    const ch = await mux.forwardOut('127.0.0.1', echoPort);
    const got: Buffer[] = [];
    ch.on('data', (d: Buffer) => got.push(d));
    ch.end('ping through the master');
    await new Promise((r) => ch.once('end', r));
    assert.equal(Buffer.concat(got).toString(), 'ping through the master');
  } finally {
    await mux.close();
  }
});

test('check() answers with the master pid; openForward sets up a local forward and a remote one on port 0 (allocated port returned) that carry connections; cancelForward closes one', async (t) => {
  if (!ready(t) || !master) return;
  const mux = await MuxClient.connect({ controlPath: sock });
  try {
    assert.equal(await mux.check(), master.pid);
    const port = await freePort();
    const allocated = await mux.openForward({
      type: 'local',
      listenHost: '127.0.0.1',
      listenPort: port,
      connectHost: '127.0.0.1',
      connectPort: echoPort,
    });
    assert.equal(allocated, undefined);
    const s = netConnect(port, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.end('via -O forward');
    await new Promise((r) => s.once('close', r));
    assert.equal(Buffer.concat(got).toString(), 'via -O forward');
    // a remote forward on port 0: the master answers with the port sshd allocated
    const rport = await mux.openForward({
      type: 'remote',
      listenPort: 0,
      connectHost: '127.0.0.1',
      connectPort: echoPort,
    });
    assert.ok(rport !== undefined && rport > 0 && rport < 65536, `allocated ${String(rport)}`);
    const r = netConnect(rport, '127.0.0.1');
    const back: Buffer[] = [];
    r.on('data', (d: Buffer) => back.push(d));
    r.end('via -O forward -R');
    await new Promise((res) => r.once('close', res));
    assert.equal(Buffer.concat(back).toString(), 'via -O forward -R');
    const spec = {
      type: 'local' as const,
      listenHost: '127.0.0.1',
      listenPort: port,
      connectHost: '127.0.0.1',
      connectPort: echoPort,
    };
    await mux.cancelForward(spec);
    await assert.rejects(
      new Promise((res, rej) => netConnect(port, '127.0.0.1').once('connect', res).once('error', rej)),
      /ECONNREFUSED/,
    );
    await assert.rejects(
      mux.cancelForward(spec),
      (e: Error) => e instanceof MuxError && /CLOSE_FWD failed/.test(e.message),
    );
  } finally {
    await mux.close();
  }
});

test('connectShared: ssh_config ControlPath with a master answering gives a MuxClient; a missing socket falls back to Client.connect', async (t) => {
  if (!ready(t) || !sshd) return;
  const cfg = join(dir, 'config');
  const common = `  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.username}\n  IdentityFile ${sshd.userKeys.ed25519.privatePath}\n  IdentitiesOnly yes\n  ControlMaster auto\n`;
  writeFileSync(
    cfg,
    `Host shared\n  ControlPath ${dir}/m.%r.sock\n${common}Host fresh\n  ControlPath ${dir}/none-%h.sock\n${common}`,
  );
  // %r expands to the user: the master's socket is linked to that name
  const named = join(dir, `m.${sshd.username}.sock`);
  const { symlinkSync } = await import('node:fs');
  symlinkSync(sock, named);
  const shared = await connectShared({ host: 'shared', config: cfg, insecureAcceptAnyHostKey: true });
  try {
    assert.ok(shared instanceof MuxClient);
    assert.equal((await shared.exec('echo shared')).stdout, 'shared\n');
  } finally {
    await shared.close();
  }
  const fresh = await connectShared({ host: 'fresh', config: cfg, insecureAcceptAnyHostKey: true });
  try {
    assert.ok(fresh instanceof Client);
    assert.equal((await fresh.exec('echo fresh')).stdout, 'fresh\n');
  } finally {
    await fresh.close();
  }
});

test('exit() stops the OpenSSH master: the process ends and its socket goes away', async (t) => {
  if (!ready(t) || !master) return;
  const m = master;
  const mux = await MuxClient.connect({ controlPath: sock });
  const closed = new Promise((r) => mux.once('close', r));
  await mux.exit();
  await waitFor(() => m.exitCode !== null, 'the master to exit');
  await closed; // the proxied connection ended with the master
  assert.equal(existsSync(sock), false);
  await assert.rejects(mux.exec('true'), (e: Error & { code?: string }) => typeof e.code === 'string');
});

test('ssh_config ControlPath with every token and ControlMaster: resolveSshConfig agrees with ssh -G', (t) => {
  if (!requirePeer(t, 'ssh')) return;
  const file = join(dir, 'tokens.conf');
  writeFileSync(
    file,
    'Host alias\n  HostName 10.9.8.7\n  User bob\n  Port 2201\n  ControlPath ~/.ssh/cm-%C-%h-%p-%r-%u-%n-%i-%L-%l-%d-%%\n  ControlMaster autoask\n',
  );
  const r = spawnSync(binPath('ssh'), ['-G', '-F', file, 'alias'], { encoding: 'utf8', timeout: 20_000 });
  const g = new Map(r.stdout.split('\n').map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
  const mine = resolveSshConfig('alias', { path: file });
  assert.deepEqual(
    { path: mine.controlPath, master: mine.controlMaster },
    { path: g.get('controlpath'), master: g.get('controlmaster') },
  );
});
