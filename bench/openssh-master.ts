/**
 * OpenSSH's ssh as a ControlMaster for the benchmarks: started once, so that transfers through it
 * (`ssh -S`, `sftp -o ControlPath=…`) are measured without key exchange and authentication. The
 * master does the crypto, so its CPU is read from /proc and counted with the client's.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binPath } from '../test/helpers/peers.js';

const run = promisify(execFile);
/** Linux's USER_HZ: the unit of utime/stime in /proc/<pid>/stat. */
const CLOCK_TICKS = 100;

/** CPU seconds (user + system) a live process has used, from /proc/<pid>/stat. */
export async function processCpu(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Peak resident set of a live process, KiB (VmHWM). */
export async function processPeakRssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

export interface Master {
  pid: number;
  /** The control socket, for `ssh -S` or `-o ControlPath=`. */
  socket: string;
  stop(): Promise<void>;
}

/**
 * Starts `ssh <sshArgs> -M -S <socket> -N <host>` and waits until `ssh -O check` answers. `sshArgs`
 * carry the port, key, cipher and the other options of the connection.
 */
export async function startMaster(sshArgs: readonly string[], host: string): Promise<Master> {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-bench-mux-'));
  const socket = join(dir, 'ctl');
  const child = spawn(binPath('ssh'), [...sshArgs, '-M', '-S', socket, '-N', host], { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    try {
      await run(binPath('ssh'), ['-S', socket, '-O', 'check', host]);
      if (child.pid === undefined) break;
      return { pid: child.pid, socket, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error('the ControlMaster did not start');
}
