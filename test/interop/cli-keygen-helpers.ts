/** Running `secsh keygen` and OpenSSH's `ssh-keygen` side by side on the same files (cli-keygen*.test.ts). */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { binPath } from '../helpers/peers.js';

export const MAIN = join(process.cwd(), 'src/cli/main.ts');
/** tsx's loader by absolute URL, so the CLI runs from any working directory. */
export const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;

/** What one run printed and its exit status. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runProcess(
  cmd: string,
  args: string[],
  cwd: string,
  input: string | Buffer,
  env?: NodeJS.ProcessEnv,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    p.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.on('error', () => {}); // the program may exit before reading its input
    p.stdin.end(input);
  });
}

/** `secsh keygen args` in `cwd` (TZ=UTC), with `input` on stdin. */
export function secsh(cwd: string, args: string[], input: string | Buffer = '', env?: NodeJS.ProcessEnv): Promise<Run> {
  return runProcess(process.execPath, ['--import', TSX, MAIN, 'keygen', ...args], cwd, input, env);
}

/** `ssh-keygen args` in `cwd` (TZ=UTC), with `input` on stdin. */
export function openssh(
  cwd: string,
  args: string[],
  input: string | Buffer = '',
  env?: NodeJS.ProcessEnv,
): Promise<Run> {
  return runProcess(binPath('ssh-keygen'), args, cwd, input, env);
}

/** Runs both on the same arguments. */
export async function both(
  cwd: string,
  args: string[],
  input: string | Buffer = '',
): Promise<{ ours: Run; theirs: Run }> {
  const [ours, theirs] = await Promise.all([secsh(cwd, args, input), openssh(cwd, args, input)]);
  return { ours, theirs };
}
