/**
 * Shared machinery of the native peers (dropbear, PuTTY, libssh, tinysshd, OpenSSH 10's sshd): what a
 * peer offers (its KEXINIT, read off the wire in either role), the algorithms both it and secsh
 * support, daemons stopped by pid, child programs run to completion, and a login user that exists only
 * inside a private mount namespace (so dropbear, sshd and tinysshd can check a password and read
 * `~/.ssh/authorized_keys` without touching the machine's real users or home directories).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';
import type { AlgorithmKind } from '../../src/crypto/algorithms.js';
import { supportedAlgorithms } from '../../src/crypto/algorithms.js';
import { decodeKexInit, type KexInitMessage } from '../../src/transport/kexinit.js';
import { freePort, stopChild } from './sshd.js';

const run = promisify(execFile);
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a peer offered in its first KEXINIT, and its version line. */
export interface PeerOffer {
  version: string;
  kexinit: KexInitMessage;
}

/** Pseudo-algorithms in KEX lists that are markers, not methods. */
const MARKERS = /^(ext-info-[cs]|kex-strict-[cs]-v00@openssh\.com|kexguess2@matt\.ucc\.asn\.au)$/;

/** Reads a version line and the first binary packet (a cleartext KEXINIT) from `sock`. */
function readOffer(sock: Socket, timeoutMs: number): Promise<PeerOffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let version = '';
    const done = (e?: Error, v?: PeerOffer) => {
      clearTimeout(timer);
      sock.destroy();
      if (e) reject(e);
      else resolve(v as PeerOffer);
    };
    const timer = setTimeout(() => done(new Error('no KEXINIT from the peer')), timeoutMs);
    sock.on('error', (e) => done(e));
    sock.on('close', () => done(new Error(`closed before KEXINIT (version ${version || 'none'})`)));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (!version) {
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        const line = buf.subarray(0, nl).toString('latin1').replace(/\r$/, '');
        buf = buf.subarray(nl + 1);
        if (line.startsWith('SSH-')) version = line;
      }
      if (buf.length < 5) return;
      const len = buf.readUInt32BE(0);
      if (len > 35000) return done(new Error(`implausible first packet length ${len}`));
      if (buf.length < 4 + len) return;
      const pad = buf[4] ?? 0;
      try {
        done(undefined, { version, kexinit: decodeKexInit(buf.subarray(5, 4 + len - pad)) });
      } catch (e) {
        done(e as Error);
      }
    });
  });
}

/** Connects to a peer server on `port` and reads what it offers. */
export function serverOffer(port: number, timeoutMs = 10_000): Promise<PeerOffer> {
  const sock = netConnect(port, '127.0.0.1');
  sock.write('SSH-2.0-secsh_offer_probe\r\n');
  return readOffer(sock, timeoutMs);
}

/**
 * Starts a peer client with `launch(port)` against a listener that speaks only a version line, reads
 * the client's KEXINIT, then stops the client.
 */
export async function clientOffer(launch: (port: number) => ChildProcess, timeoutMs = 10_000): Promise<PeerOffer> {
  let child: ChildProcess | undefined;
  const srv = createServer();
  try {
    const got = new Promise<PeerOffer>((resolve, reject) => {
      srv.once('connection', (sock: Socket) => {
        sock.write('SSH-2.0-secsh_offer_probe\r\n');
        readOffer(sock, timeoutMs).then(resolve, reject);
      });
      setTimeout(() => reject(new Error('the peer client never connected')), timeoutMs).unref();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const addr = srv.address();
    child = launch(typeof addr === 'object' && addr ? addr.port : 0);
    child.on('error', () => {});
    return await got;
  } finally {
    srv.close();
    if (child) await stopChild(child, 1000);
  }
}

/**
 * The names of `kind` that both secsh and the peer support, in secsh's order. For ciphers, MACs and
 * compression a name counts only when the peer offers it in both directions.
 */
export function commonAlgorithms(offer: PeerOffer, kind: AlgorithmKind): string[] {
  const k = offer.kexinit;
  const theirs: string[] =
    kind === 'kex'
      ? k.kex.filter((n) => !MARKERS.test(n))
      : kind === 'hostKey'
        ? k.hostKey
        : kind === 'cipher'
          ? k.cipherCS.filter((n) => k.cipherSC.includes(n))
          : kind === 'mac'
            ? k.macCS.filter((n) => k.macSC.includes(n))
            : k.compressionCS.filter((n) => k.compressionSC.includes(n));
  return supportedAlgorithms(kind).filter((n) => theirs.includes(n));
}

/** What a peer offers that secsh does not implement (printed so the matrix says what it left out). */
export function peerOnly(offer: PeerOffer): string[] {
  const k = offer.kexinit;
  const lists: [AlgorithmKind, string[]][] = [
    ['kex', k.kex.filter((n) => !MARKERS.test(n))],
    ['hostKey', k.hostKey],
    ['cipher', [...new Set([...k.cipherCS, ...k.cipherSC])]],
    ['mac', [...new Set([...k.macCS, ...k.macSC])]],
    ['compression', [...new Set([...k.compressionCS, ...k.compressionSC])]],
  ];
  return lists.flatMap(([kind, names]) => names.filter((n) => !supportedAlgorithms(kind).includes(n)));
}

/** AEAD ciphers: no separate MAC is negotiated with them. */
export const AEAD_CIPHERS: ReadonlySet<string> = new Set([
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com',
]);

/** Children still running; killed if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** A long-running peer process. */
export interface Daemon {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far (the last 2 MB). */
  logs(): string;
  stop(): Promise<void>;
}

/** Spawns a daemon that cannot keep the test process alive on its own; `stop()` ends it by pid. */
export function startDaemon(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Daemon {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.on('error', () => {});
  child.unref();
  let log = '';
  for (const s of [child.stdout, child.stderr]) {
    s?.setEncoding('utf8');
    s?.on('data', (d: string) => {
      log += d;
      if (log.length > 4_000_000) log = log.slice(-2_000_000);
    });
    (s as unknown as { unref?: () => void } | null)?.unref?.();
  }
  let stopped: Promise<void> | undefined;
  return {
    child,
    logs: () => log,
    stop: () => {
      stopped ??= stopChild(child);
      return stopped;
    },
  };
}

/** Waits until `port` answers with an SSH version line (or the daemon dies, or 15 s pass). */
export async function waitForBanner(port: number, daemon?: Daemon): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (daemon && (daemon.child.exitCode !== null || daemon.child.signalCode !== null)) {
      throw new Error(`peer exited before listening: ${daemon.logs().slice(-2000)}`);
    }
    const line = await new Promise<string>((resolve) => {
      const s = netConnect(port, '127.0.0.1');
      let buf = '';
      const end = (v: string) => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(2000, () => end(''));
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        const nl = buf.indexOf('\n');
        if (nl >= 0) end(buf.slice(0, nl).replace(/\r$/, ''));
      });
      s.on('error', () => end(''));
      s.on('close', () => end(''));
    });
    if (line.startsWith('SSH-')) return line;
    if (Date.now() > deadline) throw new Error(`nothing answered on port ${port}: ${daemon?.logs().slice(-2000)}`);
    await delay(50);
  }
}

/** A daemon that answers on `port`: the algorithms it offered, its logs, and `stop`. */
export interface ListeningDaemon {
  port: number;
  offer: PeerOffer;
  logs(): string;
  /** Stops the daemon, then removes its folder (once, however often called). */
  stop(): Promise<void>;
}

/**
 * Reads the KEXINIT offer of daemon `d` listening on `port`; its `stop` also removes `dir`.
 * If the offer cannot be read, the daemon is stopped (the caller removes `dir`).
 */
export async function listeningDaemon(d: Daemon, port: number, dir: string): Promise<ListeningDaemon> {
  let offer: PeerOffer;
  try {
    offer = await serverOffer(port);
  } catch (e) {
    await d.stop();
    throw e;
  }
  let stopped: Promise<void> | undefined;
  return {
    port,
    offer,
    logs: () => d.logs(),
    stop: () => {
      stopped ??= d.stop().then(() => rm(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/**
 * Starts a daemon with `launch(port)` on a free loopback port and waits for its banner; if its log
 * says the port was in use (taken between freePort and bind), tries a new port, up to 4 tries in all.
 * On failure the daemon is stopped (the caller removes `dir`); see listeningDaemon for the result.
 */
export async function startOnFreePort(
  dir: string,
  launch: (port: number) => Daemon | Promise<Daemon>,
): Promise<ListeningDaemon> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const daemon = await launch(port);
    try {
      await waitForBanner(port, daemon);
    } catch (e) {
      await daemon.stop();
      if (attempt < 3 && /in use/i.test(daemon.logs())) continue;
      throw e;
    }
    return listeningDaemon(daemon, port, dir);
  }
}

/** The outcome of a peer client run to its end. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  /** What goes to stdin (or a function that writes it); without it stdin is /dev/null. */
  input?: string | Buffer | ((stdin: Writable) => void);
  env?: NodeJS.ProcessEnv;
  /** Kill the program and reject after this many ms (default 60 s). */
  timeoutMs?: number;
  cwd?: string;
}

/** Runs a peer client program to its end: exit code, raw stdout, stderr. */
export function runPeer(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const { input, timeoutMs = 60_000 } = opts;
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    live.add(p);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const stderr = () => Buffer.concat(err).toString();
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${cmd} did not exit within ${timeoutMs} ms; stderr: ${stderr().slice(-2000)}`));
    }, timeoutMs);
    p.stdout?.on('data', (c: Buffer) => out.push(c));
    p.stderr?.on('data', (c: Buffer) => err.push(c));
    p.on('error', (e) => {
      clearTimeout(timer);
      live.delete(p);
      reject(e);
    });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(p);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: stderr() });
    });
    if (p.stdin) {
      p.stdin.on('error', () => {}); // the program may exit before reading all of its input
      if (typeof input === 'function') input(p.stdin);
      else p.stdin.end(input ?? '');
    }
  });
}

/**
 * A login user that exists only inside private mount namespaces: `wrap()` runs a program under
 * `unshare -m` with copies of /etc/passwd and /etc/shadow bind-mounted over the real ones, the copies
 * having one more user (uid 0, a known password), and the test's home directory bind-mounted over an
 * empty root-owned directory (/srv), which is that user's home: peers that refuse an authorized_keys
 * file under a world-writable directory such as /tmp (tinysshd) accept it there. Nothing outside the
 * namespace changes.
 */
export interface TestUser {
  name: string;
  password: string;
  /** The home directory as this process sees it (inside the namespace it is `homeInside`). */
  home: string;
  homeInside: string;
  /** Writes `~/.ssh/authorized_keys` with these public key lines. */
  authorize(lines: readonly string[]): Promise<void>;
  /** The command and arguments that run `cmd args…` where this user exists. */
  wrap(cmd: string, args: readonly string[]): [string, string[]];
}

/** Creates the files of a namespace-only user under `dir`. Fails when `unshare -m` is not allowed. */
export async function makeTestUser(dir: string, name = 'secshpeer', password = 'secsh-peer-pw'): Promise<TestUser> {
  const home = join(dir, 'home');
  await mkdir(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  const homeInside = await mountPointForHome();
  const { stdout: hash } = await run('openssl', ['passwd', '-6', password]);
  const passwd = (await readFile('/etc/passwd', 'utf8')).replace(/\n?$/, '\n');
  const shadow = (await readFile('/etc/shadow', 'utf8')).replace(/\n?$/, '\n');
  const passwdPath = join(dir, 'passwd');
  const shadowPath = join(dir, 'shadow');
  await writeFile(passwdPath, `${passwd}${name}:x:0:0:secsh test peer:${homeInside}:/bin/sh\n`);
  await writeFile(shadowPath, `${shadow}${name}:${hash.trim()}:19000:0:99999:7:::\n`, { mode: 0o600 });
  const script =
    'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/shadow && mount --bind "$3" "$4" && shift 4 && exec "$@"';
  const user: TestUser = {
    name,
    password,
    home,
    homeInside,
    authorize: (lines) => writeFile(join(home, '.ssh', 'authorized_keys'), `${lines.join('\n')}\n`, { mode: 0o600 }),
    wrap: (cmd, args) => [
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        '/bin/sh',
        '-c',
        script,
        'sh',
        passwdPath,
        shadowPath,
        home,
        homeInside,
        cmd,
        ...args,
      ],
    ],
  };
  const [c, a] = user.wrap('/usr/bin/getent', ['passwd', name]);
  const probe = await runPeer(c, a, { timeoutMs: 20_000 });
  if (probe.code !== 0 || !probe.stdout.toString().startsWith(`${name}:`)) {
    throw new Error(
      `cannot create a namespace-only test user (unshare -m and mount --bind need CAP_SYS_ADMIN): ${probe.stderr}`,
    );
  }
  return user;
}

/** An existing root-owned directory that no one else may write to, to mount the home over. */
async function mountPointForHome(): Promise<string> {
  for (const p of ['/srv', '/opt', '/mnt']) {
    try {
      const st = await stat(p);
      if (st.isDirectory() && st.uid === 0 && (st.mode & 0o022) === 0) return p;
    } catch {
      // next
    }
  }
  throw new Error('no root-owned, non-writable directory (/srv, /opt, /mnt) to mount the test home over');
}
