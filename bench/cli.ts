/**
 * The `secsh` command beside OpenSSH's tools, against one private sshd, as an installed `secsh` runs
 * (the built bundle, dist/cli/main.js, under plain node):
 *   - start-up: `secsh <command> --help` (and `ssh -V`) beside `node -e 0`, median of BENCH_RUNS;
 *   - `secsh ssh host true` vs `ssh host true`, start to exit, BENCH_RUNS each interleaved, medians
 *     (target: within 1.5×);
 *   - `secsh scp` (SFTP and -O) and `secsh sftp` put/get of BENCH_MB MiB vs `scp`/`sftp`, best of
 *     BENCH_REPS interleaved, as OpenSSH's time ÷ secsh's (target ≥ 1.0×).
 * Run: npm run bench:cli   (BENCH_RUNS=20, BENCH_MB=512, BENCH_REPS=3; BENCH_MB=0 skips transfers)
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { binPath } from '../test/helpers/peers.js';
import { startSshd } from '../test/helpers/sshd.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const MB = Number(process.env.BENCH_MB ?? 512);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUSAGE = join(ROOT, 'bench', 'rusage.py');

interface Sample {
  wall: number;
  cpu: number;
}

/** One run under rusage.py: wall and CPU milliseconds (user + system) of the command alone. */
async function timeRun(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  const { stdout } = await run('/usr/bin/python3', [RUSAGE, '--discard-stdout', '--', cmd, ...args], {
    env,
    maxBuffer: 1 << 24,
  });
  const r = JSON.parse(stdout) as { status: number; seconds: number; cpu: number; stderr: string };
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { wall: r.seconds * 1000, cpu: r.cpu * 1000 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function sameFile(a: string, b: string): Promise<boolean> {
  const digest = (p: string) =>
    new Promise<string>((resolve, reject) => {
      const h = createHash('sha256');
      createReadStream(p)
        .on('data', (c) => h.update(c))
        .on('end', () => resolve(h.digest('hex')))
        .on('error', reject);
    });
  return (await digest(a)) === (await digest(b));
}

async function main(): Promise<void> {
  await run(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { maxBuffer: 1 << 24 });
  const secsh = join(ROOT, 'dist', 'cli', 'main.js');
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
    console.log(`load average ${loadavg()[0]?.toFixed(2)}; node ${process.version}`);

    // Start-up of each command (no connection), beside node's own.
    const node = [] as number[];
    const starts = new Map<string, number[]>();
    const commands = [
      ['--version'],
      ['ssh', '-V'],
      ['sftp', '--help'],
      ['scp', '--help'],
      ['keygen', '--help'],
      ['agent', '--help'],
      ['add', '--help'],
      ['server', '--help'],
    ];
    for (let i = 0; i < Math.min(RUNS, 10); i++) {
      node.push((await timeRun(process.execPath, ['-e', '0'], env)).wall);
      for (const c of commands) {
        const key = c.join(' ');
        const t = await timeRun(process.execPath, [secsh, ...c], env).catch(() => ({ wall: Number.NaN, cpu: 0 }));
        starts.set(key, [...(starts.get(key) ?? []), t.wall]);
      }
    }
    console.log(`start-up, median of ${Math.min(RUNS, 10)}: node -e 0 ${median(node).toFixed(0)} ms`);
    for (const [k, xs] of starts)
      console.log(
        `  secsh ${k.padEnd(14)} ${median(xs).toFixed(0)} ms (+${(median(xs) - median(node)).toFixed(0)} over node)`,
      );

    // secsh ssh host true vs ssh host true.
    const secshArgs = [secsh, 'ssh', '-F', config, 'target', 'true'];
    const sshArgs = ['-F', config, 'target', 'true'];
    await timeRun(process.execPath, secshArgs, env);
    await timeRun(binPath('ssh'), sshArgs, env);
    const a: Sample[] = [];
    const b: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      a.push(await timeRun(process.execPath, secshArgs, env));
      b.push(await timeRun(binPath('ssh'), sshArgs, env));
    }
    const row = (name: string, xs: Sample[]) =>
      `  ${name.padEnd(22)} wall median ${median(xs.map((x) => x.wall)).toFixed(0)} ms, CPU median ${median(xs.map((x) => x.cpu)).toFixed(0)} ms`;
    console.log(`host true, ${RUNS} runs each, interleaved:`);
    console.log(row('secsh ssh target true', a));
    console.log(row('ssh target true', b));
    const ratio = median(a.map((x) => x.wall)) / median(b.map((x) => x.wall));
    console.log(`  ratio secsh/ssh wall ${ratio.toFixed(2)}x (target <= 1.5x)`);

    if (MB <= 0) return;
    const src = join(dir, 'src.bin');
    await run('/bin/sh', ['-c', `head -c ${MB * 1024 * 1024} /dev/urandom > "$1"`, 'sh', src]);
    const remote = join(dir, 'remote.bin');
    const back = join(dir, 'back.bin');
    const cases: {
      name: string;
      ours: (up: boolean) => [string, string[]];
      theirs: (up: boolean) => [string, string[]];
    }[] = [
      {
        name: 'scp (SFTP)',
        ours: (up) => [
          process.execPath,
          [secsh, 'scp', '-q', '-F', config, ...(up ? [src, `target:${remote}`] : [`target:${remote}`, back])],
        ],
        theirs: (up) => [
          '/usr/bin/scp',
          ['-q', '-F', config, ...(up ? [src, `target:${remote}`] : [`target:${remote}`, back])],
        ],
      },
      {
        name: 'scp -O',
        ours: (up) => [
          process.execPath,
          [secsh, 'scp', '-O', '-q', '-F', config, ...(up ? [src, `target:${remote}`] : [`target:${remote}`, back])],
        ],
        theirs: (up) => [
          '/usr/bin/scp',
          ['-O', '-q', '-F', config, ...(up ? [src, `target:${remote}`] : [`target:${remote}`, back])],
        ],
      },
      {
        name: 'sftp',
        ours: (up) => [
          process.execPath,
          [secsh, 'sftp', '-q', '-F', config, '-b', up ? join(dir, 'put.b') : join(dir, 'get.b'), 'target'],
        ],
        theirs: (up) => [
          '/usr/bin/sftp',
          ['-q', '-F', config, '-b', up ? join(dir, 'put.b') : join(dir, 'get.b'), 'target'],
        ],
      },
    ];
    await writeFile(join(dir, 'put.b'), `put ${src} ${remote}\n`);
    await writeFile(join(dir, 'get.b'), `get ${remote} ${back}\n`);
    console.log(`transfers of ${MB} MiB, best of ${REPS}, interleaved (ratio = OpenSSH time / secsh time):`);
    for (const c of cases) {
      for (const up of [true, false]) {
        let ours = Number.POSITIVE_INFINITY;
        let theirs = Number.POSITIVE_INFINITY;
        for (let i = 0; i < REPS; i++) {
          const [tc, ta] = c.theirs(up);
          theirs = Math.min(theirs, (await timeRun(tc, ta, env)).wall);
          const [oc, oa] = c.ours(up);
          ours = Math.min(ours, (await timeRun(oc, oa, env)).wall);
          if (!(await sameFile(src, up ? remote : back)))
            throw new Error(`${c.name} ${up ? 'up' : 'down'}: file differs`);
        }
        console.log(
          `  ${`${c.name} ${up ? 'upload' : 'download'}`.padEnd(22)} OpenSSH ${(theirs / 1000).toFixed(2)} s, secsh ${(ours / 1000).toFixed(2)} s, ratio ${(theirs / ours).toFixed(2)}x (target >= 1.0x)`,
        );
      }
    }
  } finally {
    await sshd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
