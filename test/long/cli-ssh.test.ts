/**
 * `secsh ssh` against OpenSSH's sshd: a command's output and exit status, stdin piped, signals and
 * connection errors as 255, ssh's usage and messages, and -L, -R, -D, -W and -J moving bytes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { supportedAlgorithms } from '../../src/index.js';
import { binPath, requirePeer } from '../helpers/peers.js';
import { freePort, type Sshd, startAgent, startSshd } from '../helpers/sshd.js';

let sshd: Sshd;
let dir: string;
let config: string;
let echo: Server;
let echoPort: number;

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

const CLI = ['--import', 'tsx', 'src/cli/main.ts', 'ssh'];

/** The environment secsh runs in: no agent, HOME in the test folder. */
function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, HOME: dir };
  delete e.SSH_AUTH_SOCK;
  return e;
}

/** stderr of each child started here, for failure messages. */
const stderrOf = new WeakMap<ChildProcess, string[]>();

function startSecsh(args: string[], extraEnv: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, [...CLI, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...env(), ...extraEnv },
  });
  const err: string[] = [];
  stderrOf.set(child, err);
  child.stderr?.on('data', (c: Buffer) => err.push(c.toString()));
  return child;
}

function runSecsh(
  args: string[],
  input?: Buffer | string,
  extraEnv: NodeJS.ProcessEnv = {},
  timeoutMs = 30_000,
): Promise<Run> {
  const child = startSecsh(args, extraEnv);
  const out: Buffer[] = [];
  let err = '';
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  child.stdin?.end(input ?? '');
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`secsh ssh ${args.join(' ')} did not exit: ${err}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      // 'exit' may come before the pipes are drained
      setImmediate(() => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
    });
  });
}

/** The arguments that reach the private sshd with the test config. */
const to = (...rest: string[]) => ['-F', config, 'target', ...rest];

async function waitListening(port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends `data` over `sock` and collects what comes back until `data.length` bytes have. */
function roundTrip(sock: Socket, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    let n = 0;
    sock.on('data', (c: Buffer) => {
      got.push(c);
      n += c.length;
      if (n >= data.length) {
        sock.destroy();
        resolve(Buffer.concat(got));
      }
    });
    sock.once('error', reject);
    sock.write(data);
  });
}

async function echoThrough(port: number, size = 64 * 1024): Promise<void> {
  await waitListening(port);
  const data = randomBytes(size);
  const sock = connect(port, '127.0.0.1');
  assert.ok((await roundTrip(sock, data)).equals(data));
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  const code = await exited;
  clearTimeout(t);
  return code;
}

before(async () => {
  sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
  dir = await mkdtemp(join(tmpdir(), 'secsh-cli-ssh-'));
  config = join(dir, 'ssh_config');
  await writeFile(
    config,
    [
      'Host target jump',
      '  HostName 127.0.0.1',
      `  Port ${sshd.port}`,
      `  User ${sshd.username}`,
      `  IdentityFile ${sshd.userKeys.ed25519.privatePath}`,
      '  IdentitiesOnly yes',
      '  StrictHostKeyChecking no',
      '  UserKnownHostsFile /dev/null',
      '  BatchMode yes',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoPort = (echo.address() as { port: number }).port;
});

after(async () => {
  echo?.close();
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('secsh ssh host cmd: stdout and stderr apart, the remote exit status is ours', async (t) => {
  if (!requirePeer(t, 'sshd')) return;
  const r = await runSecsh(to('echo out; echo err >&2; exit 7'));
  assert.equal(r.stdout.toString(), 'out\n');
  assert.equal(r.stderr, 'err\n');
  assert.equal(r.code, 7);
});

test('secsh ssh: stdin is piped to the remote command byte for byte; words after the host are joined', async (t) => {
  if (!requirePeer(t, 'sshd')) return;
  const data = randomBytes(300 * 1024);
  const r = await runSecsh(to('cat', '|', 'cat'), data);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.equals(data));
  const n = await runSecsh(['-n', ...to('cat; echo done')], 'ignored');
  assert.equal(n.stdout.toString(), 'done\n');
});

test('secsh ssh: a remote command killed by a signal exits 255 silently, as ssh', async (t) => {
  if (!requirePeer(t, 'sshd')) return;
  const r = await runSecsh(to('kill -9 $$'));
  assert.equal(r.code, 255);
  assert.equal(r.stderr, '');
});

test('secsh ssh: connection refused is ssh one line and 255; an unknown flag is ssh usage and 255; -V on stderr', async () => {
  const port = await freePort();
  const r = await runSecsh(['-F', 'none', '-o', 'BatchMode=yes', '-p', String(port), '127.0.0.1', 'true']);
  assert.equal(r.code, 255);
  // OpenSSH prints only this line; connect.ts also logs a "Warning: connect failed" line before it (reported)
  const lines = r.stderr.split('\n');
  assert.equal(lines.at(-2), `ssh: connect to host 127.0.0.1 port ${port}: Connection refused`);
  assert.equal(lines.at(-1), '');
  const u = await runSecsh(['-Z', 'host']);
  assert.equal(u.code, 255);
  assert.match(u.stderr, /^unknown option -- Z\nusage: ssh \[-46AaCfGgKkMNnqsTtVvXxYy\]/);
  const v = await runSecsh(['-V']);
  assert.equal(v.code, 0);
  assert.equal(v.stdout.length, 0);
  assert.match(v.stderr, /^secsh_\S+, Node\.js v/);
});

test('secsh ssh -t without a terminal: the pty is not allocated, with ssh message (none under -q); -tt forces it', async (t) => {
  if (!requirePeer(t, 'sshd')) return;
  const cfg = ['-o', 'LogLevel=INFO'];
  const r = await runSecsh([...cfg, '-t', ...to('test -t 0 && echo tty || echo notty')]);
  assert.equal(r.stdout.toString(), 'notty\n');
  assert.match(r.stderr, /^Pseudo-terminal will not be allocated because stdin is not a terminal\.\r\n/);
  const q = await runSecsh(['-q', '-t', ...to('true')]);
  assert.equal(q.stderr, '');
  const f = await runSecsh(['-tt', ...to('test -t 0 && echo tty || echo notty')]);
  assert.equal(f.stdout.toString(), 'tty\r\n');
});

test('secsh ssh -L and -D carry connections to a port beside sshd', async (t) => {
  if (!requirePeer(t, 'sshd')) return;
  const lport = await freePort();
  const dport = await freePort();
  const child = startSecsh(['-N', '-L', `${lport}:127.0.0.1:${echoPort}`, '-D', `127.0.0.1:${dport}`, ...to()]);
  try {
    await echoThrough(lport);
    await waitListening(dport);
    // SOCKS5: no auth, CONNECT 127.0.0.1:echoPort
    const s = connect(dport, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const reply = await new Promise<Buffer>((resolve) => {
      let buf = Buffer.alloc(0);
      const onData = (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        if (buf.length >= 12) {
          s.off('data', onData);
          resolve(buf);
        }
      };
      s.on('data', onData);
      const req = Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, echoPort >> 8, echoPort & 255]);
      s.write(req);
    });
    assert.deepEqual([...reply.subarray(0, 4)], [5, 0, 5, 0]);
    const data = randomBytes(10_000);
    assert.ok((await roundTrip(s, data)).equals(data));
  } catch (e) {
    throw new Error(`${(e as Error).message}\nsecsh stderr: ${stderrOf.get(child)?.join('')}`);
  } finally {
    // ssh -N ends with 255 when killed
    assert.equal(await stop(child), 255, stderrOf.get(child)?.join(''));
  }
});

test('secsh ssh -R makes sshd listen and carries its connections back', async (t) => {
  if (!requirePeer(t, 'sshd')) return;
  const rport = await freePort();
  const child = startSecsh(['-N', '-R', `127.0.0.1:${rport}:127.0.0.1:${echoPort}`, ...to()]);
  try {
    await echoThrough(rport);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nsecsh stderr: ${stderrOf.get(child)?.join('')}`);
  } finally {
    await stop(child);
  }
});

test('secsh ssh -W host:port is stdin/stdout to the address (here sshd banner); -J reaches the target through a jump host', async (t) => {
  if (!requirePeer(t, 'sshd')) return;
  const w = await runSecsh(to('-W', `127.0.0.1:${sshd.port}`), 'SSH-2.0-probe\r\n');
  assert.match(w.stdout.toString('latin1'), /^SSH-2\.0-OpenSSH_/);
  const logins = () => (sshd.logs().match(/Accepted publickey/g) ?? []).length;
  const before = logins();
  const j = await runSecsh(['-J', 'jump', ...to('echo through; echo $SSH_CONNECTION')]);
  assert.equal(j.code, 0, j.stderr);
  const [first, conn] = j.stdout.toString().split('\n');
  assert.equal(first, 'through');
  assert.match(conn ?? '', /^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+$/);
  // two logins: the jump host, then the target through its direct-tcpip channel
  assert.equal(logins() - before, 2);
});

test('secsh ssh -A forwards the agent; SendEnv sends the variables it names', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-agent', 'ssh-add')) return;
  const agent = await startAgent();
  try {
    await agent.add(sshd.userKeys.ecdsa.privatePath);
    const cmd = 'ssh-add -l; echo "env=$SECSH_CLI_VAR"';
    const r = await runSecsh(['-A', '-o', 'SendEnv=SECSH_*', ...to(cmd)], '', {
      SSH_AUTH_SOCK: agent.sock,
      SECSH_CLI_VAR: 'sent',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.toString().includes(sshd.userKeys.ecdsa.fingerprint), r.stdout.toString());
    assert.match(r.stdout.toString(), /^env=sent$/m);
    const n = await runSecsh(to('ssh-add -l >/dev/null 2>&1; echo "agent=$?"; echo "env=$SECSH_CLI_VAR"'), '', {
      SSH_AUTH_SOCK: agent.sock,
      SECSH_CLI_VAR: 'sent',
    });
    // without -A and SendEnv: no agent (ssh-add exits 2) and no variable
    assert.equal(n.stdout.toString(), 'agent=2\nenv=\n');
  } finally {
    await agent.stop();
  }
});

test('secsh ssh -L on a taken port: a warning and the command runs; under ExitOnForwardFailure, 255', async (t) => {
  if (!requirePeer(t, 'sshd')) return;
  const taken = (echo.address() as { port: number }).port;
  const spec = `127.0.0.1:${taken}:127.0.0.1:22`;
  const w = await runSecsh(['-o', 'LogLevel=INFO', '-L', spec, ...to('echo ran')]);
  assert.equal(w.code, 0);
  assert.equal(w.stdout.toString(), 'ran\n');
  assert.match(w.stderr, /Could not request local forwarding\./);
  const e = await runSecsh(['-o', 'ExitOnForwardFailure=yes', '-L', spec, ...to('echo ran')]);
  assert.equal(e.code, 255);
  assert.equal(e.stdout.length, 0);
  assert.match(e.stderr, /Could not request local forwarding\./);
});

test('secsh ssh host yes | head -1: stdout closed under it ends it with 255 and no stack trace, as ssh', async (t) => {
  if (!requirePeer(t, 'sshd')) return;
  const line = [process.execPath, ...CLI, '-F', config, 'target', 'yes'].map((a) => `'${a}'`).join(' ');
  const child = spawn('bash', ['-c', `${line} | head -1 >/dev/null; echo "\${PIPESTATUS[0]}"`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env(),
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  await new Promise((r) => child.once('close', r));
  assert.equal(out, '255\n');
  assert.equal(err, '');
});

test('secsh ssh -Q lists the algorithms secsh supports, by the names ssh -Q uses; an unknown query is 255', async (t) => {
  if (!requirePeer(t, 'ssh')) return;
  const [c, k, bad] = await Promise.all([
    runSecsh(['-Q', 'cipher']),
    runSecsh(['-Q', 'key-cert']),
    runSecsh(['-Q', 'nope']),
  ]);
  const ours = c.stdout.toString().trim().split('\n');
  assert.deepEqual(ours, supportedAlgorithms('cipher'));
  const { spawnSync } = await import('node:child_process');
  const theirs = (q: string) => spawnSync(binPath('ssh'), ['-Q', q], { encoding: 'utf8' }).stdout.trim().split('\n');
  const known = theirs('cipher');
  for (const name of ours) assert.ok(known.includes(name), name);
  const certs = k.stdout.toString().trim().split('\n');
  assert.ok(certs.includes('ssh-ed25519-cert-v01@openssh.com'));
  for (const name of certs) assert.ok(theirs('key-cert').includes(name), name);
  assert.equal(bad.code, 255);
  assert.equal(bad.stderr, 'Unsupported query "nope"\n');
});

test('secsh ssh -L to a closed port: each refused connection is ssh line "open failed: connect failed", the forward goes on', async (t) => {
  if (!requirePeer(t, 'sshd')) return;
  const [lport, closed] = [await freePort(), await freePort()];
  const child = startSecsh(['-o', 'LogLevel=INFO', '-N', '-L', `${lport}:127.0.0.1:${closed}`, ...to()]);
  try {
    await waitListening(lport);
    await waitListening(lport);
    const deadline = Date.now() + 10_000;
    const refused = () =>
      (stderrOf.get(child)?.join('') ?? '').match(
        /^channel \d+: open failed: connect failed: Connection refused\r?$/gm,
      ) ?? [];
    while (refused().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(refused().length, 2, stderrOf.get(child)?.join(''));
  } finally {
    assert.equal(await stop(child), 255);
  }
});
