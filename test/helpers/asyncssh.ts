/**
 * Python SSH servers as test peers (scripts/peers/): asyncssh for password, keyboard-interactive and
 * password-change; paramiko for publickey-then-password (asyncssh has no partial success).
 * Every mode answers `exec <cmd>` with stdout `ok <cmd>\n` and exit status 0.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PYTHON } from './peers.js';
import { stopChild } from './sshd.js';

/** Authentication behaviour of the peer server. */
export type PySshMode = 'password' | 'kbdint' | 'pubkey-then-password' | 'password-change';

export interface PySshOptions {
  mode: PySshMode;
  /** authorized_keys file, required for 'pubkey-then-password'. */
  authorizedKeysPath?: string;
}

export interface PySsh {
  port: number;
  host: '127.0.0.1';
  /** The username the peer accepts ('alice'); its password is 'secret'. */
  username: string;
  password: string;
  /** `SHA256:…` of the server's host key. */
  hostKeyFingerprint: string;
  stop(): Promise<void>;
  logs(): string;
}

const PEERS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'peers');

/** Starts the Python peer for `mode` on a free 127.0.0.1 port. */
export async function startAsyncSsh(opts: PySshOptions): Promise<PySsh> {
  const paramiko = opts.mode === 'pubkey-then-password';
  const args = paramiko
    ? [join(PEERS_DIR, 'paramiko_server.py'), '--mode', opts.mode, '--authorized-keys', requireKeys(opts)]
    : [join(PEERS_DIR, 'asyncssh_server.py'), '--mode', opts.mode];
  const peer = await startPyProcess<{ port: number; fingerprint: string }>(args, 'python peer', 2000);
  return {
    port: peer.port,
    host: '127.0.0.1',
    username: 'alice',
    password: 'secret',
    hostKeyFingerprint: peer.fingerprint,
    logs: peer.logs,
    stop: peer.stop,
  };
}

/** A running Python test process: the JSON object it printed when ready, its stderr, and a stop. */
export type PyProcess<T> = T & {
  /** Everything it wrote to stderr so far. */
  logs(): string;
  /** Closes its stdin (it exits on EOF); kills it if it is still there after the grace time. Idempotent. */
  stop(): Promise<void>;
};

/**
 * Starts `python3 -W ignore <args>` for a script that prints one JSON line on stdout once it is
 * ready and exits on stdin EOF. Rejects with `what` and its stderr if it exits first or prints
 * nothing within 20 s.
 */
export async function startPyProcess<T extends object>(
  args: string[],
  what: string,
  graceMs: number,
): Promise<PyProcess<T>> {
  const child = spawn(PYTHON, ['-W', 'ignore', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    log += d;
  });
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error(`${what} did not start in time: ${log}`)), 20_000);
    rl.once('line', (line) => {
      clearTimeout(timer);
      rl.close();
      resolve(line);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}): ${log}`));
    });
  });
  const info = JSON.parse(first) as T;
  let stopped: Promise<void> | undefined;
  return {
    ...info,
    logs: () => log,
    stop: () => {
      stopped ??= (async () => {
        child.stdin.end(); // the script exits on stdin EOF
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        const t = setTimeout(() => void stopChild(child, 1000), graceMs);
        if (child.exitCode === null && child.signalCode === null) await exited;
        clearTimeout(t);
      })();
      return stopped;
    },
  };
}

function requireKeys(opts: PySshOptions): string {
  if (!opts.authorizedKeysPath) throw new Error('pubkey-then-password needs authorizedKeysPath');
  return opts.authorizedKeysPath;
}
