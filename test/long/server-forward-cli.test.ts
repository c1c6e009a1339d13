/**
 * OpenSSH's `ssh` forwarding through `secsh server` (the CLI): sshd's defaults (forwarding on),
 * and sshd's keywords given with `-o` and `-f` (AllowTcpForwarding, AllowStreamLocalForwarding,
 * PermitOpen, PermitListen) and authorized_keys options (no-port-forwarding, permitopen=,
 * permitlisten=) each refusing what they forbid, with ssh reporting the refusal.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generatePrivateKey } from '../../src/keys/index.js';
import { type CliServer, startCliServer } from '../e2e/server-helpers.js';
import { runSshRaw, type SshTarget, sshArgs } from '../helpers/openssh.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import { freePort, keygen, startAgent, stopChild } from '../helpers/sshd.js';
import { backgroundSsh, echoServer, requireCurl, roundTrip, waitListening } from '../interop/server-forward-helpers.js';

let dir = '';
let keyPath = '';
let userPub = '';
let hostKeyPath = '';
let hostPub = '';
let echo: Awaited<ReturnType<typeof echoServer>> | undefined;
let unixEchoPath = '';
let unixEcho: Awaited<ReturnType<typeof echoServer>> | undefined;
const servers: CliServer[] = [];

before(async () => {
  if (!hasPeer('ssh') || !hasPeer('ssh-keygen')) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-server-forward-cli-'));
  keyPath = join(dir, 'id_ed25519');
  await keygen(keyPath, ['-t', 'ed25519']);
  userPub = (await readFile(`${keyPath}.pub`, 'utf8')).trim();
  const hostKey = generatePrivateKey('ed25519');
  hostKeyPath = join(dir, 'host_key');
  await writeFile(hostKeyPath, hostKey.toOpenSSH('host'), { mode: 0o600 });
  hostPub = hostKey.publicKey.toString();
  echo = await echoServer();
  unixEchoPath = join(dir, 'echo.sock');
  unixEcho = await echoServer(unixEchoPath);
});

after(async () => {
  for (const s of servers) await stopChild(s.child);
  await echo?.close();
  await unixEcho?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Starts `secsh server` with an authorized_keys line `options key` and the extra arguments. */
async function cli(extra: string[], keyOptions = ''): Promise<SshTarget> {
  const ak = join(dir, `authorized_keys.${servers.length}`);
  await writeFile(ak, `${keyOptions ? `${keyOptions} ` : ''}${userPub}\n`);
  const s = await startCliServer([
    '--import',
    'tsx',
    'src/cli/main.ts',
    'server',
    '--port',
    '0',
    '--quiet',
    '--host-key',
    hostKeyPath,
    '--authorized-keys',
    ak,
    ...extra,
  ]);
  servers.push(s);
  const file = join(dir, `known_hosts.${s.port}`);
  await writeFile(file, `[127.0.0.1]:${s.port} ${hostPub}\n`);
  return { port: s.port, keyPath, knownHosts: file };
}

function w(target: SshTarget, dest: string, input = 'ping\n') {
  return runSshRaw(sshArgs(target, ['-W', dest]), { input, timeoutMs: 30_000 });
}

function remoteForward(target: SshTarget, spec: string) {
  return backgroundSsh(sshArgs(target, ['-N', '-o', 'ExitOnForwardFailure=yes', '-R', spec]));
}

test('secsh server with sshd defaults serves ssh -L, -W and -R 0', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const target = await cli([]);
  const r = await w(target, `127.0.0.1:${echo?.port}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'ping\n');
  const lport = await freePort();
  const l = backgroundSsh(
    sshArgs(target, ['-N', '-o', 'ExitOnForwardFailure=yes', '-L', `${lport}:127.0.0.1:${echo?.port}`]),
  );
  try {
    await waitListening({ port: lport });
    assert.equal((await roundTrip({ port: lport, host: '127.0.0.1' }, Buffer.from('via -L'))).toString(), 'via -L');
  } finally {
    await l.stop();
  }
  const rf = remoteForward(target, `0:127.0.0.1:${echo?.port}`);
  try {
    const m = await rf.waitFor(/Allocated port (\d+) for remote forward/);
    const back = await roundTrip({ port: Number(m[1]), host: '127.0.0.1' }, Buffer.from('via -R'));
    assert.equal(back.toString(), 'via -R');
  } finally {
    await rf.stop();
  }
});

test('-o AllowTcpForwarding=no: ssh -W is refused and ssh -R fails with ExitOnForwardFailure', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const target = await cli(['-o', 'AllowTcpForwarding=no']);
  const r = await w(target, `127.0.0.1:${echo?.port}`);
  assert.equal(r.code, 255);
  assert.match(r.stderr, /open failed: administratively prohibited/);
  const rf = remoteForward(target, `0:127.0.0.1:${echo?.port}`);
  assert.equal(await rf.exited, 255);
  assert.match(rf.stderr(), /remote port forwarding failed for listen port 0/);
});

test('-o AllowTcpForwarding=local with -o PermitOpen: only the listed destination, and no -R', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const target = await cli(['-o', 'AllowTcpForwarding=local', '-o', `PermitOpen=127.0.0.1:${echo?.port}`]);
  const ok = await w(target, `127.0.0.1:${echo?.port}`);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.toString(), 'ping\n');
  const other = await w(target, `localhost:${echo?.port}`);
  assert.equal(other.code, 255);
  assert.match(other.stderr, /open failed: administratively prohibited/);
  const rf = remoteForward(target, `0:127.0.0.1:${echo?.port}`);
  assert.equal(await rf.exited, 255);
  assert.match(rf.stderr(), /remote port forwarding failed/);
});

test('-f sshd_config: comments, Keyword=value and Keyword value lines, PermitListen and AllowStreamLocalForwarding no', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const allowed = await freePort();
  const conf = join(dir, 'sshd_config');
  await writeFile(
    conf,
    `# forwarding for the test\n\nallowstreamlocalforwarding no\nPermitListen=localhost:${allowed}   # ssh -R without an address asks for "localhost"\nGATEWAYPORTS no\n`,
  );
  const target = await cli(['-f', conf]);
  const rf = remoteForward(target, `${allowed}:127.0.0.1:${echo?.port}`);
  try {
    await waitListening({ port: allowed });
    assert.equal((await roundTrip({ port: allowed, host: '127.0.0.1' }, Buffer.from('listed'))).toString(), 'listed');
  } finally {
    await rf.stop();
  }
  const refused = remoteForward(target, `${await freePort()}:127.0.0.1:${echo?.port}`);
  assert.equal(await refused.exited, 255);
  assert.match(refused.stderr(), /remote port forwarding failed/);
  const lport = await freePort();
  const l = backgroundSsh(sshArgs(target, ['-N', '-L', `${lport}:${unixEchoPath}`]));
  try {
    await waitListening({ port: lport });
    const back = await roundTrip({ port: lport, host: '127.0.0.1' }, Buffer.from('nope')).catch(
      (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? Buffer.alloc(0) : Promise.reject(e)),
    );
    assert.equal(back.length, 0);
    await l.waitFor(/open failed: administratively prohibited/);
  } finally {
    await l.stop();
  }
});

test('authorized_keys permitopen= and permitlisten= limit what that key may forward', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const listen = await freePort();
  const target = await cli([], `permitopen="127.0.0.1:${echo?.port}",permitlisten="${listen}"`);
  const ok = await w(target, `127.0.0.1:${echo?.port}`);
  assert.equal(ok.code, 0, ok.stderr);
  const closed = await freePort();
  const no = await w(target, `127.0.0.1:${closed}`);
  assert.equal(no.code, 255);
  assert.match(no.stderr, /open failed: administratively prohibited/);
  const rf = remoteForward(target, `${listen}:127.0.0.1:${echo?.port}`);
  try {
    await waitListening({ port: listen });
  } finally {
    await rf.stop();
  }
  const rf2 = remoteForward(target, `0:127.0.0.1:${echo?.port}`);
  assert.equal(await rf2.exited, 255);
});

test('authorized_keys no-port-forwarding refuses every forward of that key', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const target = await cli([], 'no-port-forwarding');
  const r = await w(target, `127.0.0.1:${echo?.port}`);
  assert.equal(r.code, 255);
  assert.match(r.stderr, /open failed: administratively prohibited/);
  const rf = remoteForward(target, `0:127.0.0.1:${echo?.port}`);
  assert.equal(await rf.exited, 255);
});

test('authorized_keys restrict,port-forwarding: forwarding works, a pty is refused; command= is forced; from= refuses other addresses', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const target = await cli([], 'restrict,port-forwarding');
  const ok = await w(target, `127.0.0.1:${echo?.port}`);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.toString(), 'ping\n');
  const pty = await runSshRaw(sshArgs(target, ['-tt'], 'echo ran'), { timeoutMs: 30_000 });
  assert.match(pty.stderr, /PTY allocation request failed/);
  // A forced tty that cannot be had makes ssh close the session (OpenSSH's client does so with sshd too).
  assert.equal(pty.code, 255);
  const forced = await cli([], 'command="echo forced"');
  const f = await runSshRaw(sshArgs(forced, [], 'echo asked'), { timeoutMs: 30_000 });
  assert.equal(f.stdout.toString(), 'forced\n');
  const elsewhere = await cli([], 'from="10.0.0.0/8"');
  const e = await runSshRaw(sshArgs(elsewhere, [], 'true'), { timeoutMs: 30_000 });
  assert.equal(e.code, 255);
  assert.match(e.stderr, /Permission denied/);
  const here = await cli([], 'from="10.0.0.0/8,127.0.0.1"');
  const h = await runSshRaw(sshArgs(here, [], 'echo in'), { timeoutMs: 30_000 });
  assert.equal(h.stdout.toString(), 'in\n');
});

test('ssh -D through secsh server: curl --socks5-hostname gets through by default, and is refused under -o AllowTcpForwarding=remote', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen') || !requireCurl(t)) return;
  const http = createHttpServer((_req, res) => res.end('socks ok\n'));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const a = http.address();
  const httpPort = a && typeof a === 'object' ? a.port : 0;
  const curl = (socks: number) =>
    new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(
        '/usr/bin/curl',
        ['-sS', '--max-time', '20', '--socks5-hostname', `127.0.0.1:${socks}`, `http://localhost:${httpPort}/`],
        (err, stdout) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout }),
      ),
    );
  try {
    for (const [extra, allowed] of [
      [[], true],
      [['-o', 'AllowTcpForwarding=remote'], false],
    ] as const) {
      const target = await cli([...extra]);
      const lport = await freePort();
      const d = backgroundSsh(sshArgs(target, ['-N', '-D', `127.0.0.1:${lport}`]));
      try {
        await waitListening({ port: lport });
        const r = await curl(lport);
        if (allowed) {
          assert.equal(r.code, 0);
          assert.equal(r.stdout, 'socks ok\n');
        } else {
          assert.notEqual(r.code, 0);
          await d.waitFor(/open failed: administratively prohibited/);
        }
      } finally {
        await d.stop();
      }
    }
  } finally {
    await new Promise<void>((r) => http.close(() => r()));
  }
});

test('secsh server forwards the agent of ssh -A by default (sshd: AllowAgentForwarding yes) and refuses it with -o AllowAgentForwarding=no', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen', 'ssh-agent', 'ssh-add')) return;
  const agent = await startAgent();
  try {
    await agent.add(keyPath);
    const fp = (await runSshRaw(['-l', '-f', `${keyPath}.pub`], { bin: 'ssh-keygen' })).stdout.toString().split(' ')[1];
    assert.match(fp ?? '', /^SHA256:/);
    for (const [extra, allowed] of [
      [[], true],
      [['-o', 'AllowAgentForwarding=no'], false],
    ] as const) {
      const target = await cli([...extra]);
      const r = await runSshRaw(sshArgs(target, ['-A'], 'ssh-add -l; echo "status $?"'), {
        timeoutMs: 30_000,
        env: { SSH_AUTH_SOCK: agent.sock },
      });
      const out = r.stdout.toString();
      if (allowed) {
        assert.ok(out.includes(fp ?? '-'), out + r.stderr);
        assert.match(out, /status 0/);
      } else {
        assert.ok(!out.includes(fp ?? '-'), out);
        assert.match(out, /status 2/, out + r.stderr);
      }
    }
  } finally {
    await agent.stop();
  }
});
