/**
 * PuTTY's command-line clients as test peers: plink (exec), psftp and pscp (SFTP). They run with a
 * private HOME, so a saved session (`-load`) can set what the command line cannot (re-key every N
 * bytes, algorithm order), with `-batch`, host keys pinned by `-hostkey SHA256:…`, and keys converted
 * to .ppk by puttygen.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type RunOptions, type RunResult, runPeer } from './native-peers.js';

const run = promisify(execFile);

export const PLINK = '/usr/bin/plink';
export const PSFTP = '/usr/bin/psftp';
export const PSCP = '/usr/bin/pscp';
const PUTTYGEN = '/usr/bin/puttygen';

/** Converts an OpenSSH private key file to PuTTY's format (`<path>.ppk`); returns the new path. */
export async function toPpk(openSshPath: string): Promise<string> {
  const out = `${openSshPath}.ppk`;
  await run(PUTTYGEN, [openSshPath, '-O', 'private', '-o', out]);
  return out;
}

/** Where and how a PuTTY tool logs in. */
export interface PuttyTarget {
  port: number;
  user: string;
  /** `SHA256:…` fingerprints of the host keys to accept (all others are refused). */
  hostKeys: readonly string[];
  /** A .ppk identity; without it, `password` is used. */
  ppk?: string;
  password?: string;
  /** The private HOME (saved sessions, password file). */
  home: string;
  /** Saved-session settings (e.g. `{ RekeyBytes: '256K' }`), written as a session and loaded with -load. */
  session?: Record<string, string | number>;
  /** -C: offer compression. */
  compression?: boolean;
}

let sessions = 0;

/** The options every PuTTY tool takes for `t` (the host name is left to the caller). */
async function puttyOptions(t: PuttyTarget): Promise<string[]> {
  const opts = [
    '-batch',
    '-noagent',
    '-P',
    String(t.port),
    '-l',
    t.user,
    ...t.hostKeys.flatMap((h) => ['-hostkey', h]),
  ];
  if (t.ppk) opts.push('-i', t.ppk);
  if (t.password !== undefined) {
    const pwfile = join(t.home, `pw-${++sessions}`);
    await writeFile(pwfile, t.password, { mode: 0o600 });
    opts.push('-pwfile', pwfile);
  }
  if (t.compression) opts.push('-C');
  if (t.session) {
    const dir = join(t.home, '.putty', 'sessions');
    await mkdir(dir, { recursive: true });
    const name = `secsh-${process.pid}-${++sessions}`;
    const body = Object.entries({ Protocol: 'ssh', ...t.session })
      .map(([k, v]) => `${k}=${v}\n`)
      .join('');
    await writeFile(join(dir, name), body);
    opts.unshift('-load', name);
  }
  return opts;
}

function puttyEnv(t: PuttyTarget, opts: RunOptions): NodeJS.ProcessEnv {
  return { ...process.env, HOME: t.home, ...opts.env };
}

/** Runs `plink … 127.0.0.1 command` (no pty). */
export async function runPlink(t: PuttyTarget, command: string, opts: RunOptions = {}): Promise<RunResult> {
  const args = [...(await puttyOptions(t)), '-ssh', '-T', '-no-antispoof', '127.0.0.1', command];
  return runPeer(PLINK, args, { ...opts, env: puttyEnv(t, opts) });
}

/** Runs `psftp` with `commands` as its batch file (stops at the first failing command). */
export async function runPsftp(t: PuttyTarget, commands: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const batch = join(t.home, `psftp-${++sessions}.txt`);
  await writeFile(batch, `${commands.join('\n')}\n`);
  const args = [...(await puttyOptions(t)), '-b', batch, '-bc', '127.0.0.1'];
  return runPeer(PSFTP, args, { ...opts, env: puttyEnv(t, opts) });
}

/** Runs `pscp -sftp` with `from` and `to`, where a remote path is written `:path` (the host is added). */
export async function runPscp(t: PuttyTarget, from: string, to: string, opts: RunOptions = {}): Promise<RunResult> {
  const remote = (p: string) => (p.startsWith(':') ? `127.0.0.1${p}` : p);
  const args = [...(await puttyOptions(t)), '-sftp', '-q', remote(from), remote(to)];
  return runPeer(PSCP, args, { ...opts, env: puttyEnv(t, opts) });
}
