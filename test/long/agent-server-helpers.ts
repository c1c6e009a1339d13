/** Shared pieces of the agent-server interop tests: running OpenSSH programs against a secsh AgentServer. */
import { spawn } from 'node:child_process';
import { binPath } from '../helpers/peers.js';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an OpenSSH program with `env` added; never rejects (the exit code is in the result). */
export function runTool(
  name: 'ssh' | 'ssh-add' | 'ssh-keygen',
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(binPath(name), args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(e) });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `ssh-add -l` (or other flags) output lines, without the trailing empty line. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0);
}
