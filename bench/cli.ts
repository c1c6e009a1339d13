/**
 * `secsh ssh host true` against `ssh host true`, start to exit, against the same private sshd: 20 runs
 * each (BENCH_RUNS), interleaved, the median of each and their ratio (target: secsh within 1.5× of ssh).
 * secsh runs compiled (see compiled.ts), under plain node, as an installed `secsh` would.
 * Run: node --import tsx bench/cli.ts
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { binPath } from '../test/helpers/peers.js';
import { startSshd } from '../test/helpers/sshd.js';
import { compiled } from './compiled.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const run = promisify(execFile);

const RUSAGE = join(dirname(fileURLToPath(import.meta.url)), 'rusage.py');

/** One run under rusage.py: wall seconds and CPU seconds (user + system) of the command alone. */
async function timeRun(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ wall: number; cpu: number }> {
  const { stdout } = await run('/usr/bin/python3', [RUSAGE, '--discard-stdout', '--', cmd, ...args], { env });
  const r = JSON.parse(stdout) as { status: number; seconds: number; cpu: number; stderr: string };
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { wall: r.seconds * 1000, cpu: r.cpu * 1000 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  const main = await compiled('src/cli/main.js');
  const sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
  const dir = await mkdtemp(join(tmpdir(), 'secsh-bench-cli-'));
  try {
    const config = join(dir, 'config');
    await writeFile(
      config,
      [
        'Host target',
        '  HostName 127.0.0.1',
        `  Port ${sshd.port}`,
        `  User ${sshd.username}`,
        `  IdentityFile ${sshd.userKeys.ed25519.privatePath}`,
        '  IdentitiesOnly yes',
        '  StrictHostKeyChecking no',
        '  UserKnownHostsFile /dev/null',
        '  BatchMode yes',
        '  LogLevel ERROR',
        '',
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir };
    delete env.SSH_AUTH_SOCK;
    const secshArgs = [main, 'ssh', '-F', config, 'target', 'true'];
    const sshArgs = ['-F', config, 'target', 'true'];
    // one warm-up each (file cache, sshd's first fork)
    await timeRun(process.execPath, secshArgs, env);
    await timeRun(binPath('ssh'), sshArgs, env);
    const secsh: { wall: number; cpu: number }[] = [];
    const ssh: { wall: number; cpu: number }[] = [];
    for (let i = 0; i < RUNS; i++) {
      secsh.push(await timeRun(process.execPath, secshArgs, env));
      ssh.push(await timeRun(binPath('ssh'), sshArgs, env));
    }
    const row = (name: string, xs: { wall: number; cpu: number }[]) =>
      `${name.padEnd(22)} wall median ${median(xs.map((x) => x.wall)).toFixed(1)} ms (min ${Math.min(...xs.map((x) => x.wall)).toFixed(1)}), CPU median ${median(xs.map((x) => x.cpu)).toFixed(1)} ms`;
    console.log(`${RUNS} runs each, interleaved; load average ${loadavg()[0]?.toFixed(2)}`);
    console.log(row('secsh ssh host true', secsh));
    console.log(row('ssh host true', ssh));
    const ratio = median(secsh.map((x) => x.wall)) / median(ssh.map((x) => x.wall));
    const cpuRatio = median(secsh.map((x) => x.cpu)) / median(ssh.map((x) => x.cpu));
    console.log(`ratio secsh/ssh: wall ${ratio.toFixed(2)}x (target <= 1.5x), CPU ${cpuRatio.toFixed(2)}x`);
  } finally {
    await sshd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
