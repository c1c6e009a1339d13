/**
 * A private OpenSSH `sshd` for tests: temp dir, fresh host and user keys, every algorithm this build
 * supports enabled, a free loopback port; stopped by its pid. Also a private `ssh-agent`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OPENSSH_NO_HOST_CHECK } from './openssh.js';
import { binPath } from './peers.js';

const run = promisify(execFile);

/** Children still running; killed if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Spawns a helper daemon that cannot keep the test process alive on its own. */
function spawnDaemon(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.unref();
  const stderr = child.stderr as (NodeJS.ReadableStream & { unref?: () => void }) | null;
  stderr?.unref?.();
  return child;
}

/** One host key of the private sshd. */
export interface HostKeyInfo {
  /** Key type as ssh-keygen names it: 'ed25519', 'ecdsa256', 'ecdsa384', 'ecdsa521', 'rsa', 'dsa'. */
  type: string;
  /** The public key line (`ssh-ed25519 AAAA… comment`). */
  publicKeyLine: string;
  /** `SHA256:…` */
  fingerprint: string;
  privatePath: string;
}

/** A user key authorized on the private sshd. */
export interface UserKey {
  privatePath: string;
  publicLine: string;
  fingerprint: string;
}

export interface SshdOptions {
  /** Extra sshd_config lines, e.g. `['RekeyLimit 1M']`; they override the helper's own (first wins). */
  extraConfig?: string[];
  /** Host key types to create (default: all). */
  hostKeyTypes?: string[];
  /** Runs sshd through a wrapper (e.g. `unshare` with private mounts): the command and argv to spawn instead. */
  launch?: (sshd: string, args: string[], dir: string) => { cmd: string; args: string[] };
  /** The `ssh` whose `-Q` lists the algorithms to enable (default Debian's; OpenSSH 10's for its sshd). */
  querySsh?: string;
}

export interface Sshd {
  port: number;
  host: '127.0.0.1';
  dir: string;
  hostKeys: HostKeyInfo[];
  userKeys: { ed25519: UserKey; ecdsa: UserKey; rsa: UserKey };
  username: string;
  /** What `ssh -Q` lists, i.e. what sshd was configured to accept. */
  algorithms: { kex: string[]; cipher: string[]; mac: string[]; key: string[] };
  stop(): Promise<void>;
  /** Everything sshd wrote to stderr so far. */
  logs(): string;
}

interface KeySpec {
  name: string;
  args: string[];
}

const HOST_KEY_SPECS: KeySpec[] = [
  { name: 'ed25519', args: ['-t', 'ed25519'] },
  { name: 'ecdsa256', args: ['-t', 'ecdsa', '-b', '256'] },
  { name: 'ecdsa384', args: ['-t', 'ecdsa', '-b', '384'] },
  { name: 'ecdsa521', args: ['-t', 'ecdsa', '-b', '521'] },
  { name: 'rsa', args: ['-t', 'rsa', '-b', '2048'] },
  { name: 'dsa', args: ['-t', 'dsa'] },
];

/** Runs `ssh -Q <what>` and returns its lines. */
export async function sshQuery(what: string, ssh = binPath('ssh')): Promise<string[]> {
  const { stdout } = await run(ssh, ['-Q', what]);
  return stdout.split('\n').filter((l) => l.length > 0);
}

/** Generates a key with ssh-keygen (no passphrase) and returns its public line and fingerprint. */
export async function keygen(path: string, args: string[], comment = 'secsh-test'): Promise<UserKey> {
  await run(binPath('ssh-keygen'), ['-q', ...args, '-N', '', '-C', comment, '-f', path]);
  const publicLine = (await readFile(`${path}.pub`, 'utf8')).trim();
  return { privatePath: path, publicLine, fingerprint: await fingerprintOf(`${path}.pub`) };
}

/** `SHA256:…` fingerprint of a public key file, as ssh-keygen computes it. */
export async function fingerprintOf(pubPath: string): Promise<string> {
  const { stdout } = await run(binPath('ssh-keygen'), ['-l', '-E', 'sha256', '-f', pubPath]);
  const fp = stdout.split(' ')[1];
  if (!fp?.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -l output: ${stdout}`);
  return fp;
}

/** Finds a free loopback port by binding port 0. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves with the first line a server sends on `port`, rejects on error. */
export function readBanner(port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = netConnect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no banner'));
    }, timeoutMs);
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        s.destroy();
        resolve(buf.slice(0, nl).replace(/\r$/, ''));
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      reject(new Error('closed before banner'));
    });
  });
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends SIGTERM to a child, then SIGKILL after `graceMs`; resolves when it has exited. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

function sshdConfig(dir: string, port: number, hostKeys: HostKeyInfo[], q: Sshd['algorithms'], extra: string[]) {
  const keyAlgs = q.key.join(',');
  // sshd keeps the first value of a keyword, so the caller's lines go first and win
  return [
    ...extra,
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    ...hostKeys.map((k) => `HostKey ${k.privatePath}`),
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'UsePAM no',
    'PermitRootLogin yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'AcceptEnv SECSH_*',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'LogLevel VERBOSE',
    'MaxStartups 100:30:200',
    'MaxSessions 100',
    'MaxAuthTries 20',
    'AllowTcpForwarding yes',
    'AllowStreamLocalForwarding yes',
    'AllowAgentForwarding yes',
    'Compression yes',
    'Subsystem sftp internal-sftp',
    // Commands run with HOME at an empty folder: the login user's shell start-up files (root's
    // .bashrc here runs `pyenv init`, 1.8 s per command) are not read, so tests time secsh, not bash.
    `SetEnv HOME=${join(dir, 'home')}`,
    `KexAlgorithms ${q.kex.join(',')}`,
    `Ciphers ${q.cipher.join(',')}`,
    `MACs ${q.mac.join(',')}`,
    `HostKeyAlgorithms ${keyAlgs}`,
    `PubkeyAcceptedAlgorithms ${keyAlgs}`,
    '',
  ].join('\n');
}

/** Starts a private sshd. Each test file should start its own and `stop()` it in `after`. */
export async function startSshd(opts: SshdOptions = {}): Promise<Sshd> {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-sshd-'));
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  try {
    const [kex, cipher, mac, key] = await Promise.all(
      ['kex', 'cipher', 'mac', 'key-sig'].map((w) => sshQuery(w, opts.querySsh)),
    );
    const algorithms = { kex: kex ?? [], cipher: cipher ?? [], mac: mac ?? [], key: key ?? [] };
    const wanted = opts.hostKeyTypes ?? HOST_KEY_SPECS.map((s) => s.name);
    const hostKeys: HostKeyInfo[] = [];
    for (const spec of HOST_KEY_SPECS.filter((s) => wanted.includes(s.name))) {
      const path = join(dir, `host_${spec.name}`);
      try {
        const k = await keygen(path, spec.args, `host-${spec.name}`);
        hostKeys.push({ type: spec.name, publicKeyLine: k.publicLine, fingerprint: k.fingerprint, privatePath: path });
      } catch (e) {
        if (spec.name !== 'dsa') throw e; // newer ssh-keygen builds cannot make DSA keys
      }
    }
    const [ed25519, ecdsa, rsa] = await Promise.all([
      keygen(join(dir, 'id_ed25519'), ['-t', 'ed25519'], 'user-ed25519'),
      keygen(join(dir, 'id_ecdsa'), ['-t', 'ecdsa', '-b', '256'], 'user-ecdsa'),
      keygen(join(dir, 'id_rsa'), ['-t', 'rsa', '-b', '2048'], 'user-rsa'),
    ]);
    const userKeys = { ed25519, ecdsa, rsa };
    await mkdir(join(dir, 'home'), { mode: 0o700 });
    await writeFile(join(dir, 'authorized_keys'), `${[ed25519, ecdsa, rsa].map((k) => k.publicLine).join('\n')}\n`, {
      mode: 0o600,
    });

    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const configPath = join(dir, 'sshd_config');
      await writeFile(configPath, sshdConfig(dir, port, hostKeys, algorithms, opts.extraConfig ?? []));
      const sshdArgs = ['-D', '-e', '-f', configPath, '-p', String(port)];
      const launch = opts.launch?.(binPath('sshd'), sshdArgs, dir) ?? { cmd: binPath('sshd'), args: sshdArgs };
      const child = spawnDaemon(launch.cmd, launch.args);
      let log = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (d: string) => {
        log += d;
        if (log.length > 4_000_000) log = log.slice(-2_000_000);
      });
      const ready = await waitReady(child, port, () => log);
      if (ready === 'ok') {
        let stopped: Promise<void> | undefined;
        return {
          port,
          host: '127.0.0.1',
          dir,
          hostKeys,
          userKeys,
          username: userInfo().username,
          algorithms,
          logs: () => log,
          stop: () => {
            stopped ??= stopChild(child).then(() => rm(dir, { recursive: true, force: true }));
            return stopped;
          },
        };
      }
      await stopChild(child);
      if (ready === 'addrinuse' && attempt < 5) continue;
      throw new Error(`sshd did not start: ${log.trim()}`);
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function waitReady(child: ChildProcess, port: number, log: () => string): Promise<'ok' | 'addrinuse' | 'fail'> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      return /Address already in use/i.test(log()) ? 'addrinuse' : 'fail';
    }
    try {
      const banner = await readBanner(port, 2000);
      if (banner.startsWith('SSH-2.0-')) return 'ok';
    } catch {
      // not listening yet
    }
    await delay(50);
  }
  return 'fail';
}

/** A private ssh-agent. */
export interface Agent {
  sock: string;
  /** `ssh-add <keyPath>` against this agent. */
  add(keyPath: string): Promise<void>;
  /** `ssh-add -L` lines. */
  list(): Promise<string[]>;
  stop(): Promise<void>;
}

/** Starts `ssh-agent -D -a <sock>` in a temp dir. */
export async function startAgent(): Promise<Agent> {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-agent-'));
  const sock = join(dir, 'agent.sock');
  const child = spawnDaemon(binPath('ssh-agent'), ['-D', '-a', sock]);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const deadline = Date.now() + 10_000;
  while (!existsSync(sock)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
      throw new Error(`ssh-agent did not start: ${err}`);
    }
    await delay(20);
  }
  const env = { ...process.env, SSH_AUTH_SOCK: sock };
  let stopped: Promise<void> | undefined;
  return {
    sock,
    add: async (keyPath) => {
      await run(binPath('ssh-add'), ['-q', keyPath], { env });
    },
    list: async () => {
      try {
        const { stdout } = await run(binPath('ssh-add'), ['-L'], { env });
        return stdout.split('\n').filter((l) => l.length > 0);
      } catch {
        return []; // exit 1: no identities
      }
    },
    stop: () => {
      stopped ??= stopChild(child).then(() => rm(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/**
 * Runs OpenSSH's `ssh` against the private sshd and returns its stdout (used to self-test the
 * helper and as the baseline in benchmarks).
 */
export async function runOpenSsh(
  sshd: Sshd,
  command: string,
  opts: { key?: UserKey; args?: string[]; env?: Record<string, string> } = {},
): Promise<{ stdout: string; stderr: string }> {
  const key = opts.key ?? sshd.userKeys.ed25519;
  return run(binPath('ssh'), [...openSshArgs(sshd, key), ...(opts.args ?? []), sshd.host, command], {
    env: { ...process.env, ...opts.env },
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The `ssh` options that connect to the private sshd with `key`, no config, no known_hosts. */
export function openSshArgs(sshd: Sshd, key: UserKey): string[] {
  return [
    ...OPENSSH_NO_HOST_CHECK,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'LogLevel=ERROR',
    '-i',
    key.privatePath,
    '-p',
    String(sshd.port),
    '-l',
    sshd.username,
  ];
}
