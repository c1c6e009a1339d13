/**
 * Running OpenSSH's `ssh`/`sftp` from tests: the option lists that aim them at a server on 127.0.0.1
 * with one key file, and a spawn that collects exit code, stdout and stderr.
 */
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { binPath } from './peers.js';

/** `-F none`, no host key checking and no known_hosts file, BatchMode: the start of every test argv. */
export const OPENSSH_NO_HOST_CHECK: readonly string[] = [
  '-F',
  'none',
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'BatchMode=yes',
];

/** `-F none` and strict checking of the host key against `knownHosts` alone (no global known_hosts). */
export function strictHostCheck(knownHosts: string): string[] {
  return [
    '-F',
    'none',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
  ];
}

/** Where and as whom `ssh`/`sftp` log in: 127.0.0.1:`port` with the private key file `keyPath`. */
export interface SshTarget {
  port: number;
  keyPath: string;
  /** Login name; default `tester`. */
  user?: string;
  /** A known_hosts file to check the host key against strictly; default: no checking at all. */
  knownHosts?: string;
  /** `-o LogLevel=…`; default: none given (OpenSSH's INFO, or what -v flags in `extra` set). */
  logLevel?: string;
}

function targetOptions(t: SshTarget, portFlag: '-p' | '-P'): string[] {
  const hostCheck =
    t.knownHosts === undefined ? [...OPENSSH_NO_HOST_CHECK] : [...strictHostCheck(t.knownHosts), '-o', 'BatchMode=yes'];
  return [
    ...hostCheck,
    '-o',
    'IdentitiesOnly=yes',
    ...(t.logLevel === undefined ? [] : ['-o', `LogLevel=${t.logLevel}`]),
    '-i',
    t.keyPath,
    portFlag,
    String(t.port),
  ];
}

/** `ssh` arguments: the target's options, then `extra`, then `user@127.0.0.1` and `command` if given. */
export function sshArgs(t: SshTarget, extra: readonly string[] = [], command?: string): string[] {
  return [
    ...targetOptions(t, '-p'),
    ...extra,
    `${t.user ?? 'tester'}@127.0.0.1`,
    ...(command === undefined ? [] : [command]),
  ];
}

/** `sftp` arguments in batch mode reading commands from stdin (`-b -`): options, `extra`, destination. */
export function sftpArgs(t: SshTarget, extra: readonly string[] = []): string[] {
  return [...targetOptions(t, '-P'), ...extra, '-b', '-', `${t.user ?? 'tester'}@127.0.0.1`];
}

export interface RunSshOptions {
  /** The program; default OpenSSH's `ssh` (binPath('ssh')). */
  bin?: string;
  /** What goes to stdin, or a function that writes it; without it stdin is /dev/null. */
  input?: string | Buffer | ((stdin: Writable) => void);
  /** Kill the process and reject if it has not exited after this many ms. */
  timeoutMs?: number;
  /** Variables added to the environment (e.g. SSH_AUTH_SOCK). */
  env?: Record<string, string>;
}

export interface RunSshResult<T> {
  code: number | null;
  stdout: T;
  stderr: string;
}

/** Runs `bin` (default `ssh`) with `args`; resolves on exit with its code, raw stdout and stderr. */
export function runSshRaw(args: readonly string[], opts: RunSshOptions = {}): Promise<RunSshResult<Buffer>> {
  const bin = opts.bin ?? binPath('ssh');
  const { input, timeoutMs } = opts;
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const stderr = () => Buffer.concat(err).toString();
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            p.kill('SIGKILL');
            reject(new Error(`${bin} did not exit within ${timeoutMs} ms; stderr: ${stderr().slice(-2000)}`));
          }, timeoutMs);
    p.stdout?.on('data', (c: Buffer) => out.push(c));
    p.stderr?.on('data', (c: Buffer) => err.push(c));
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: stderr() });
    });
    if (p.stdin) {
      p.stdin.on('error', () => {}); // the process may exit before reading all of its input
      if (typeof input === 'function') input(p.stdin);
      else p.stdin.end(input ?? '');
    }
  });
}

/** As runSshRaw, with stdout decoded as UTF-8. */
export async function runSsh(args: readonly string[], opts: RunSshOptions = {}): Promise<RunSshResult<string>> {
  const r = await runSshRaw(args, opts);
  return { code: r.code, stdout: r.stdout.toString(), stderr: r.stderr };
}
