/**
 * Runs every file in examples/ as a user would — `node --import tsx examples/<name>.ts`, where 'secsh'
 * resolves to src/ through tsconfig.json "paths" (on Bun and Deno: with that runtime, see exampleArgs) —
 * against a private OpenSSH sshd and ssh-agent, or with clients driving the example's own server, and
 * checks its exit status and output.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server as NetServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '../../src/client/client.js';
import { AuthError } from '../../src/errors.js';
import { generatePrivateKey, parseCertificate, parsePrivateKey, parsePublicKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';
import { runSsh } from '../helpers/openssh.js';
import { hasSftp, SFTP, sftpBatch } from '../helpers/openssh-sftp.js';
import { binPath, hasPeer, type PeerName, requirePeer } from '../helpers/peers.js';
import { type Agent, type Sshd, startAgent, startSshd } from '../helpers/sshd.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const EXAMPLES = join(ROOT, 'examples');
const PEERS: PeerName[] = ['sshd', 'ssh', 'ssh-keygen', 'ssh-agent', 'ssh-add'];
/** The examples each test below runs; a new file in examples/ without a test fails the first test. */
const TESTED = [
  'agent.ts',
  'exec.ts',
  'forward-local.ts',
  'jump-host.ts',
  'keys.ts',
  'known-hosts.ts',
  'server.ts',
  'sftp.ts',
  'shell.ts',
  'stream.ts',
  'tunnel.ts',
];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A started example: its output so far, a wait for a line of it, and its end. */
interface Started {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  done: Promise<Run>;
}

let dir = '';
/** Deno's import map for 'secsh' (see exampleArgs). */
let importMap = '';
/** HOME of the examples: empty, so nothing of the user's ~/.ssh is read. */
let home = '';
let sshd: Sshd | undefined;
/** The jump host of jump-host.ts: a second sshd that logs its direct-tcpip opens (LogLevel DEBUG1). */
let jump: Sshd | undefined;
let agent: Agent | undefined;

/** The environment of an example: this one without SSH_* and the test runner's, plus `extra`. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SSH_') && !k.startsWith('NODE_TEST')) env[k] = v;
  }
  return { ...env, HOME: home, ...extra };
}

/**
 * How this runtime runs a TypeScript file with 'secsh' mapped to src/: Node through tsx, which follows
 * tsconfig.json "paths"; Bun follows them itself; Deno through an import map (it reads no tsconfig paths,
 * and would take package.json's self-reference to a possibly stale dist/).
 */
function exampleArgs(name: string): string[] {
  const file = join('examples', name);
  if (process.versions.bun) return [file];
  if (process.versions.deno) {
    return [
      'run',
      '--allow-all',
      '--no-check',
      '--no-lock',
      '--unstable-sloppy-imports',
      `--import-map=${importMap}`,
      file,
    ];
  }
  return ['--import', 'tsx', file];
}

function startExample(name: string, opts: { env?: Record<string, string>; args?: string[]; stdin?: string } = {}) {
  const child = spawn(process.execPath, [...exampleArgs(name), ...(opts.args ?? [])], {
    cwd: ROOT,
    env: childEnv(opts.env ?? {}),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdin?.on('error', () => {});
  child.stdin?.end(opts.stdin ?? '');
  const done = new Promise<Run>((res) => {
    child.once('close', (code, signal) => res({ code, signal, stdout, stderr }));
  });
  const output = () => ({ stdout, stderr });
  const waitFor = async (re: RegExp, ms = 60_000): Promise<RegExpExecArray> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(stdout);
      if (m) return m;
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${name}: no ${re} in its output\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, output, waitFor, done } satisfies Started;
}

/** Runs an example to its end (killed after `timeoutMs`). */
async function runExample(
  name: string,
  opts: { env?: Record<string, string>; args?: string[]; stdin?: string; timeoutMs?: number } = {},
): Promise<Run> {
  const s = startExample(name, opts);
  const timer = setTimeout(() => s.child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const r = await s.done;
  clearTimeout(timer);
  return r;
}

/** Asserts the exit status, showing the example's output when it differs. */
function assertExit(name: string, r: Run, code = 0): void {
  assert.equal(
    r.code,
    code,
    `${name} exited ${r.code} (signal ${r.signal})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
  );
}

/** The settings every client example reads: the private sshd, its ed25519 user key, its host key pinned. */
function target(s: Sshd): Record<string, string> {
  return {
    SSH_HOST: s.host,
    SSH_PORT: String(s.port),
    SSH_USER: s.username,
    SSH_KEY: s.userKeys.ed25519.privatePath,
    SSH_HOST_FINGERPRINT: s.hostKeys[0]?.fingerprint ?? '',
  };
}

const havePeers = () => PEERS.every(hasPeer);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-examples-'));
  home = join(dir, 'home');
  await mkdir(home);
  importMap = join(dir, 'import_map.json');
  const src = (p: string) => pathToFileURL(join(ROOT, 'src', p)).href;
  const imports = { secsh: src('index.ts'), 'secsh/keys': src('keys/index.ts'), 'secsh/sftp': src('sftp/index.ts') };
  await writeFile(importMap, JSON.stringify({ imports: { ...imports, 'secsh/config': src('config/index.ts') } }));
  if (!havePeers()) return;
  [sshd, jump, agent] = await Promise.all([
    // Remote commands get the examples' empty HOME too: bash, which sshd starts them with, reads ~/.bashrc,
    // and a user's rc file (pyenv init: 2 s each on the development machine) is not what is tested here.
    startSshd({ hostKeyTypes: ['ed25519'], extraConfig: [`SetEnv HOME=${home}`] }),
    startSshd({ hostKeyTypes: ['ed25519'], extraConfig: ['LogLevel DEBUG1'] }),
    startAgent(),
  ]);
  await agent.add(sshd.userKeys.ed25519.privatePath);
  // The jump host lets in the first sshd's user key, so one SSH_KEY serves both hops.
  await appendFile(join(jump.dir, 'authorized_keys'), `${sshd.userKeys.ed25519.publicLine}\n`);
});

after(async () => {
  await Promise.all([sshd?.stop(), jump?.stop(), agent?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('every file in examples/ is run by a test here', () => {
  const files = readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  assert.deepEqual(files, TESTED);
});

describe('examples', { concurrency: 2 }, () => {
  test('exec.ts: a command, three at once, and one fed stdin', async (t) => {
    if (!requirePeer(t, ...PEERS) || !sshd) return;
    const r = await runExample('exec.ts', { env: target(sshd), args: ['echo out; echo err >&2; exit 3'] });
    assertExit('exec.ts', r);
    assert.match(r.stdout, /^out\nexit code 3\n/);
    assert.match(r.stderr, /^err$/m);
    assert.match(r.stdout, new RegExp(`^${sshd.username} on \\S+; wc -l counted 3 lines$`, 'm'));
  });

  test('stream.ts: lines are printed as the command writes them, not at its end', async (t) => {
    if (!requirePeer(t, ...PEERS) || !sshd) return;
    const cmd = 'for i in 1 2 3; do echo "tick $i"; sleep 0.5; done';
    const r = await runExample('stream.ts', { env: target(sshd), args: [cmd] });
    assertExit('stream.ts', r);
    const ticks = [...r.stdout.matchAll(/^\[\+(\d+\.\d)s\] tick (\d)$/gm)].map((m) => Number(m[1]));
    assert.equal(ticks.length, 3, r.stdout);
    assert.ok((ticks[2] ?? 0) - (ticks[0] ?? 0) > 0.5, `ticks at ${ticks.join(', ')} s: not streamed`);
    assert.match(r.stdout, /^exit code 0$/m);
  });

  test('shell.ts: a pty shell driven from stdin; its exit status becomes the exit code', async (t) => {
    if (!requirePeer(t, ...PEERS) || !sshd) return;
    const r = await runExample('shell.ts', { env: target(sshd), stdin: 'echo $((6*7))\nexit 3\n' });
    assertExit('shell.ts', r, 3);
    assert.match(r.stdout, /(^|\r)42\r\n/m); // the shell's answer, not the echoed command line
  });

  test('sftp.ts: mkdir -p, upload/download with progress, directories both ways, rm -r', async (t) => {
    if (!requirePeer(t, ...PEERS) || !sshd) return;
    const remote = join(dir, 'sftp-remote', 'deeper');
    const r = await runExample('sftp.ts', { env: { ...target(sshd), SSH_REMOTE_DIR: remote } });
    assertExit('sftp.ts', r);
    for (const line of [
      /^upload 100% \(8\.0 of 8\.0 MiB/m,
      /^download 100% \(8\.0 of 8\.0 MiB/m,
      /^download matches the upload$/m,
      /^ {2}\S+: 3 of 3 files, 47 of 47 bytes$/m,
      /^uploaded 3 files, 47 bytes$/m,
      /^ {2}d css /m,
      /^downloaded 3 files, 47 bytes$/m,
      /: gone$/m,
    ]) {
      assert.match(r.stdout, line);
    }
    assert.equal(existsSync(remote), false, 'the remote folder was removed');
    assert.equal(existsSync(dirname(remote)), true, 'its parent (made by mkdir -p) is left');
  });

  test('jump-host.ts: through one sshd to another, each hop verified by its own key', async (t) => {
    if (!requirePeer(t, ...PEERS) || !sshd || !jump) return;
    const jumpKey = jump.hostKeys[0];
    assert.ok(jumpKey && jumpKey.fingerprint !== sshd.hostKeys[0]?.fingerprint);
    // HOME is empty (no known_hosts): only the pinned fingerprints can let either hop in.
    const r = await runExample('jump-host.ts', {
      env: {
        ...target(sshd),
        SSH_JUMP_HOST: '127.0.0.1',
        SSH_JUMP_PORT: String(jump.port),
        SSH_JUMP_FINGERPRINT: jumpKey.fingerprint,
      },
    });
    assertExit('jump-host.ts', r);
    assert.match(r.stdout, new RegExp(`^step by step: ${sshd.username} on `, 'm'));
    assert.match(r.stdout, new RegExp(`^proxyJump: ${sshd.username} on `, 'm'));
    // Both ways went through the jump host: it opened the target for each.
    const opened = new RegExp(
      `server_request_direct_tcpip: originator .*, target 127\\.0\\.0\\.1 port ${sshd.port}\\b`,
      'g',
    );
    assert.equal(jump.logs().match(opened)?.length, 2, `the jump host's log:\n${jump.logs().slice(-4000)}`);
  });

  test('agent.ts: lists the agent keys and logs in with them (no key file given)', async (t) => {
    if (!requirePeer(t, ...PEERS) || !sshd || !agent) return;
    const { SSH_KEY: _unused, ...rest } = target(sshd);
    const r = await runExample('agent.ts', { env: { ...rest, SSH_AUTH_SOCK: agent.sock } });
    assertExit('agent.ts', r);
    assert.match(r.stdout, /^the agent holds 1 key\(s\):$/m);
    assert.ok(r.stdout.includes(`256 ${sshd.userKeys.ed25519.fingerprint} user-ed25519 (ssh-ed25519)`), r.stdout);
    assert.match(r.stdout, new RegExp(`^logged in as ${sshd.username} with a key from the agent$`, 'm'));
  });

  test('known-hosts.ts: strict refuses, accept-new records, a changed key is refused by both', async (t) => {
    if (!requirePeer(t, ...PEERS) || !sshd) return;
    const { SSH_HOST_FINGERPRINT: fp = '', ...rest } = target(sshd);
    const r = await runExample('known-hosts.ts', { env: rest });
    assertExit('known-hosts.ts', r);
    const lines = r.stdout.split('\n');
    const line = (prefix: string) => lines.find((l) => l.startsWith(prefix)) ?? `(no line ${prefix})`;
    assert.match(line('strict, unknown host:'), /refused \(ERR_SSH_HOST_KEY\)/);
    assert.equal(line('accept-new, unknown host:'), `accept-new, unknown host: connected, host key ${fp}`);
    assert.ok(line('known_hosts now has:').includes(`[127.0.0.1]:${sshd.port} ssh-ed25519 `));
    assert.equal(line('strict, known host:'), `strict, known host: connected, host key ${fp}`);
    assert.equal(line('lookup of the real key:'), 'lookup of the real key: match');
    assert.match(line('strict, changed key:'), /refused \(ERR_SSH_HOST_KEY\) HOST KEY CHANGED/);
    assert.match(line('accept-new, changed key:'), /refused \(ERR_SSH_HOST_KEY\) HOST KEY CHANGED/);
  });

  test('tunnel.ts: a local port forward carries a TCP conversation both ways, then stops on SIGTERM', async (t) => {
    if (!requirePeer(t, ...PEERS) || !sshd) return;
    const echo: NetServer = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const echoPort = (echo.address() as { port: number }).port;
    const ex = startExample('tunnel.ts', {
      env: { ...target(sshd), FORWARD_HOST: '127.0.0.1', FORWARD_PORT: String(echoPort) },
    });
    try {
      const m = await ex.waitFor(/^forwarding 127\.0\.0\.1:(\d+) → 127\.0\.0\.1:(\d+)/m);
      assert.equal(Number(m[2]), echoPort);
      const sock = netConnect(Number(m[1]), '127.0.0.1');
      const chunks: Buffer[] = [];
      sock.on('data', (c: Buffer) => chunks.push(c));
      const message = 'ping through the tunnel\n'.repeat(2000); // 46 KB: more than one SSH packet
      sock.end(message);
      await once(sock, 'close');
      assert.equal(Buffer.concat(chunks).toString(), message);
      process.kill(ex.child.pid as number, 'SIGTERM'); // not child.kill: Deno then reports code null
      const r = await ex.done;
      assertExit('tunnel.ts', r);
      assert.match(r.stdout, /^connection from 127\.0\.0\.1:\d+ forwarded$/m);
      assert.match(r.stdout, /^tunnel closed$/m);
    } finally {
      ex.child.kill('SIGKILL');
      echo.close();
    }
  });

  test('forward-local.ts: forwardLocal and forwardDynamic (SOCKS 5) carry TCP conversations, then stop on SIGTERM', async (t) => {
    if (!requirePeer(t, ...PEERS) || !sshd) return;
    const echo: NetServer = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const echoPort = (echo.address() as { port: number }).port;
    const ex = startExample('forward-local.ts', {
      env: { ...target(sshd), FORWARD_HOST: '127.0.0.1', FORWARD_PORT: String(echoPort) },
    });
    /** Sends `data` to `port` (ending our side) and returns all that came back. */
    const talk = async (port: number, data: Buffer): Promise<Buffer> => {
      const sock = netConnect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      sock.on('data', (c: Buffer) => chunks.push(c));
      sock.end(data);
      await once(sock, 'close');
      return Buffer.concat(chunks);
    };
    try {
      const m = await ex.waitFor(/^forwarding 127\.0\.0\.1:(\d+) → 127\.0\.0\.1:(\d+)/m);
      assert.equal(Number(m[2]), echoPort);
      const message = 'through forwardLocal\n'.repeat(2000);
      assert.equal((await talk(Number(m[1]), Buffer.from(message))).toString(), message);
      const s = await ex.waitFor(/^SOCKS on 127\.0\.0\.1:(\d+)$/m);
      // SOCKS 5: no-auth greeting, CONNECT to the echo server by IPv4 address, then data, in one write
      const req = Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, echoPort >> 8, echoPort & 0xff]);
      const back = await talk(Number(s[1]), Buffer.concat([req, Buffer.from('through SOCKS')]));
      assert.deepEqual(back.subarray(0, 12), Buffer.from([5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
      assert.equal(back.subarray(12).toString(), 'through SOCKS');
      process.kill(ex.child.pid as number, 'SIGTERM');
      const r = await ex.done;
      assertExit('forward-local.ts', r);
      assert.match(r.stdout, /^connection from 127\.0\.0\.1:\d+ forwarded$/m);
      assert.match(
        r.stdout,
        new RegExp(`^local forward: 1 connections, ${message.length} bytes out, ${message.length} bytes in$`, 'm'),
      );
      assert.match(r.stdout, /^forwards closed$/m);
    } finally {
      ex.child.kill('SIGKILL');
      echo.close();
    }
  });

  test('server.ts: password and key logins, commands, SFTP (secsh and OpenSSH clients); stops on SIGTERM', async (t) => {
    if (!requirePeer(t, ...PEERS)) return;
    const sdir = join(dir, 'server');
    const root = join(sdir, 'share');
    await mkdir(root, { recursive: true });
    const userKey = generatePrivateKey('ed25519');
    const keyPath = join(sdir, 'id_ed25519');
    await writeFile(keyPath, userKey.toOpenSSH(), { mode: 0o600 });
    await writeFile(join(sdir, 'authorized_keys'), `${userKey.publicKey.toString()}\n`);
    const username = 'tester';
    const password = 'correct horse battery staple';
    const ex = startExample('server.ts', {
      env: {
        PORT: '0',
        SERVER_USER: username,
        SERVER_PASSWORD: password,
        AUTHORIZED_KEYS: join(sdir, 'authorized_keys'),
        SFTP_ROOT: root,
        SHELL: '/bin/sh', // what the local processes run in (a login shell's rc files are not the point here)
      },
    });
    try {
      const port = Number((await ex.waitFor(/^listening on 127\.0\.0\.1:(\d+)$/m))[1]);
      const hostKeyFingerprint = (await ex.waitFor(/^host key (SHA256:\S+)$/m))[1] ?? '';
      const base = { host: '127.0.0.1', port, username, hostKeyFingerprint };

      const byPassword = await Client.connect({ ...base, password });
      assert.deepEqual(await byPassword.exec('echo via password'), {
        stdout: 'via password\n',
        stderr: '',
        code: 0,
        signal: null,
      });
      await byPassword.close();
      await assert.rejects(Client.connect({ ...base, password: 'wrong', authMethods: ['password'] }), AuthError);

      const byKey = await Client.connect({ ...base, privateKey: userKey });
      const sftp = await byKey.sftp();
      await sftp.writeFile('/hello.txt', 'hello over sftp\n');
      assert.equal(await readFile(join(root, 'hello.txt'), 'utf8'), 'hello over sftp\n');
      sftp.end();
      await byKey.close();

      if (hasSftp()) {
        const ls = await sftpBatch(port, keyPath, ['ls -1 /']); // logs in as 'tester'
        assert.equal(ls.code, 0, ls.stderr);
        assert.match(ls.stdout, /hello\.txt/);
      } else if (process.env.CI === 'true') {
        assert.fail(`${SFTP} missing — required when CI=true`);
      }
      const ssh = await runSsh(
        [
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'LogLevel=ERROR',
          '-o',
          'IdentitiesOnly=yes',
          '-i',
          keyPath,
          '-p',
          String(port),
          `${username}@127.0.0.1`,
          'echo via OpenSSH',
        ],
        { bin: binPath('ssh'), timeoutMs: 20_000 },
      );
      assert.equal(ssh.stdout, 'via OpenSSH\n', ssh.stderr);

      process.kill(ex.child.pid as number, 'SIGTERM'); // not child.kill: Deno then reports code null
      const r = await ex.done;
      assertExit('server.ts', r);
      assert.match(r.stdout, new RegExp(`^auth: ${username} password accepted from 127\\.0\\.0\\.1:\\d+$`, 'm'));
      assert.match(r.stdout, new RegExp(`^auth: ${username} password rejected from `, 'm'));
      assert.match(r.stdout, new RegExp(`^auth: ${username} publickey accepted from `, 'm'));
      assert.match(r.stdout, /^stopped$/m);
    } finally {
      ex.child.kill('SIGKILL');
    }
  });

  test('keys.ts: the key, CA and certificate it writes are read by ssh-keygen and log in to a server', async (t) => {
    if (!requirePeer(t, 'ssh-keygen')) return;
    const out = join(dir, 'keys');
    const passphrase = 'correct horse';
    const r = await runExample('keys.ts', {
      env: { OUT_DIR: out, KEY_PASSPHRASE: passphrase, CERT_PRINCIPAL: 'alice' },
    });
    assertExit('keys.ts', r);
    assert.match(r.stdout, /^read back: same key true, certificate verifies against ca\.pub$/m);

    const pub = (await readFile(join(out, 'id_ed25519.pub'), 'utf8')).trim();
    const y = await runSsh(['-y', '-P', passphrase, '-f', join(out, 'id_ed25519')], { bin: binPath('ssh-keygen') });
    assert.equal(y.stdout.trim(), pub, y.stderr); // ssh-keygen decrypts the private key and derives the same public key
    const l = await runSsh(['-L', '-f', join(out, 'id_ed25519-cert.pub')], { bin: binPath('ssh-keygen') });
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, /Type: ssh-ed25519-cert-v01@openssh\.com user certificate/);
    assert.match(l.stdout, /Principals: \n\s+alice\n/);

    // The certificate opens a server that trusts only the CA.
    const ca = parsePublicKey(await readFile(join(out, 'ca.pub'), 'utf8'));
    const server = new Server({
      hostKeys: [generatePrivateKey('ed25519')],
      trustedUserCAKeys: [ca],
      authMethods: ['publickey'],
      authenticate: (ctx) => ctx.method === 'publickey' && ctx.certificate !== undefined,
    });
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      const key = parsePrivateKey(await readFile(join(out, 'id_ed25519')), { passphrase });
      const cert = await readFile(join(out, 'id_ed25519-cert.pub'), 'utf8');
      assert.equal(parseCertificate(cert).publicKey.toString().split(' ')[1], pub.split(' ')[1]);
      const client = await Client.connect({
        host: '127.0.0.1',
        port,
        username: 'alice',
        privateKey: key,
        certificate: cert,
        insecureAcceptAnyHostKey: true,
      });
      await client.close();
    } finally {
      await server.close();
    }
  });
});
