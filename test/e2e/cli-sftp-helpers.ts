/**
 * Running `secsh sftp` and OpenSSH's `sftp` side by side against one private sshd: the same
 * flags (no config, a private known_hosts, the sshd's user key), commands on stdin or as -b.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sshd } from '../helpers/sshd.js';

/** The repository root (tests run from it). */
export const REPO = process.cwd();

/** What a run printed and its exit status. */
export interface SftpRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The flags both programs get: no config, accept-new into `knownHosts`, the ed25519 user key. */
export function sftpTargetArgs(sshd: Sshd, knownHosts: string): string[] {
  return [
    '-F',
    'none',
    '-o',
    'StrictHostKeyChecking=accept-new',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'LogLevel=ERROR',
    '-i',
    sshd.userKeys.ed25519.privatePath,
    '-P',
    String(sshd.port),
  ];
}

/** tsx's loader, by absolute URL (so that secsh runs from any working directory). */
const TSX = import.meta.resolve('tsx');

/** The argv of `which` sftp: `args`, then the operands (destination first). */
export function sftpCommandLine(which: 'secsh' | 'openssh', args: string[], operands: string[]): [string, string[]] {
  if (which === 'openssh') return ['/usr/bin/sftp', [...args, ...operands]];
  return [process.execPath, ['--import', TSX, join(REPO, 'src/cli/main.ts'), 'sftp', ...args, ...operands]];
}

/** Runs sftp in `cwd` with `input` on stdin; kills it after 60 s. */
export function runSftp(
  which: 'secsh' | 'openssh',
  args: string[],
  operands: string | string[],
  input = '',
  cwd = REPO,
): Promise<SftpRun> {
  const [file, argv] = sftpCommandLine(which, args, typeof operands === 'string' ? [operands] : operands);
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** Runs `lines` as `sftp -b -` (batch mode). */
export function sftpBatchRun(
  which: 'secsh' | 'openssh',
  sshd: Sshd,
  knownHosts: string,
  lines: string[],
  extra: string[] = [],
): Promise<SftpRun> {
  return runSftp(
    which,
    [...sftpTargetArgs(sshd, knownHosts), ...extra, '-b', '-'],
    `${sshd.username}@127.0.0.1`,
    `${lines.join('\n')}\n`,
  );
}

/** SHA-256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}
