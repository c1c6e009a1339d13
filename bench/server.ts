/**
 * Server benchmark: OpenSSH's `ssh` against `secsh server` beside `ssh` against a private OpenSSH
 * sshd on the same machine, plus the memory of idle authenticated connections held by one secsh
 * server process.
 *
 *   npm run bench:server                512 MiB download and upload per cipher, 20 latency rounds,
 *                                       1,000 idle connections
 *   BENCH_QUICK=1 npm run bench:server  64 MiB, 5 rounds, 200 idle connections
 *   BENCH_IDLE=N                        number of idle connections
 *   BENCH_REPS=N                        runs per transfer, best counts (default 3; quick 1)
 *
 * Throughput is timed at the receiver from the first byte to EOF (`head -c` of /dev/zero at the sender,
 * a small counting reader at the other end), so connection setup stays out; latency is the wall time of
 * `ssh … true`. Both servers get the same key exchange (curve25519-sha256). Idle memory is
 * (VmRSS with N − VmRSS with 0) / N of the server process, both after a full garbage collection.
 */
import { type ChildProcess, execFile, fork, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSsh } from '../test/helpers/openssh.js';
import { binPath, hasPeer } from '../test/helpers/peers.js';
import { openSshArgs, type Sshd, startSshd, stopChild } from '../test/helpers/sshd.js';
import { compiled } from './compiled.js';
import type { IdleStats } from './server-idle.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const MiB = 1024 * 1024;
const BYTES = QUICK ? 64 * MiB : 512 * MiB;
const ROUNDS = QUICK ? 5 : 20;
/** Runs of each transfer per server; the best counts (the machine may be shared). */
const REPS = Number(process.env.BENCH_REPS ?? (QUICK ? 1 : 3));
const IDLE = Number(process.env.BENCH_IDLE ?? (QUICK ? 200 : 1000));
const CIPHERS = ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com'];
const KEX = 'curve25519-sha256';

type Target = 'sshd' | 'secsh';

interface Endpoint {
  target: Target;
  port: number;
}

/** Quotes one word for bash. */
function q(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/** Runs a bash script (stdin /dev/null); resolves with its status and output. */
function bash(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runSsh(['-c', script], { bin: 'bash' });
}

/** `ssh` with the private sshd's user key, aimed at `ep`. */
function sshWords(sshd: Sshd, ep: Endpoint, extra: string[]): string[] {
  const args = openSshArgs(sshd, sshd.userKeys.ed25519);
  const i = args.indexOf('-p');
  if (i >= 0) args[i + 1] = String(ep.port);
  // The same key exchange on both sides (secsh has no sntrup761/mlkem768, which ssh would pick with sshd).
  return [binPath('ssh'), ...args, '-o', `KexAlgorithms=${KEX}`, ...extra, sshd.host];
}

/**
 * Counts stdin and times it from the first byte to EOF, so connection setup stays out of the rate.
 * Prints "<bytes> <seconds>". Runs on the client side for downloads and as the remote command for uploads.
 */
const SINK = `import os, sys, time
n = 0
t0 = None
while True:
    b = os.read(0, 1 << 20)
    if not b:
        break
    if t0 is None:
        t0 = time.monotonic()
    n += len(b)
print(n, time.monotonic() - (t0 if t0 is not None else time.monotonic()))
`;

/** Moves BYTES one way; returns MB/s (10^6 bytes per second) from first byte to EOF at the receiver. */
async function transfer(sshd: Sshd, ep: Endpoint, cipher: string, dir: 'download' | 'upload'): Promise<number> {
  const sink = `python3 ${join(sshd.dir, 'sink.py')}`;
  const ssh = sshWords(sshd, ep, ['-c', cipher, '-o', 'Compression=no']).map(q).join(' ');
  const script =
    dir === 'download'
      ? `${ssh} ${q(`head -c ${BYTES} /dev/zero`)} | ${sink}`
      : `head -c ${BYTES} /dev/zero | ${ssh} ${q(sink)}`;
  const r = await bash(`set -o pipefail; ${script}`);
  const [n, seconds] = r.stdout.trim().split(/\s+/).map(Number);
  if (r.code !== 0 || n !== BYTES || !seconds) {
    throw new Error(`${ep.target} ${cipher} ${dir}: exit ${r.code}, output ${r.stdout.trim()}; ${r.stderr.trim()}`);
  }
  return BYTES / 1e6 / seconds;
}

/** Median wall milliseconds of `ssh … true` over ROUNDS runs. */
async function latency(sshd: Sshd, ep: Endpoint): Promise<number> {
  const [cmd, ...args] = sshWords(sshd, ep, ['-o', 'SetEnv=SHLVL=1']);
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      execFile(cmd as string, [...args, 'true'], (err) => (err ? reject(err) : resolve()));
    });
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const mid = Math.floor(samples.length / 2);
  return samples.length % 2 ? (samples[mid] as number) : ((samples[mid - 1] as number) + (samples[mid] as number)) / 2;
}

/** Starts `secsh server` (the CLI) on a free port with the sshd's authorized_keys. */
async function startSecshServer(sshd: Sshd): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      await compiled('src/cli/main.js'),
      'server',
      '--port',
      '0',
      '--quiet',
      '--authorized-keys',
      join(sshd.dir, 'authorized_keys'),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`secsh server did not start: ${out}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on \S+ port (\d+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`secsh server exited (${code}): ${out}`)));
  });
  return { port, child };
}

function once<T>(child: ChildProcess, pick: (m: Record<string, unknown>) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: unknown) => {
      if (m && typeof m === 'object') {
        const rec = m as Record<string, unknown>;
        if (typeof rec.error === 'string') {
          child.off('message', onMsg);
          reject(new Error(rec.error));
          return;
        }
        const v = pick(rec);
        if (v !== undefined) {
          child.off('message', onMsg);
          resolve(v);
        }
      }
    };
    child.on('message', onMsg);
    child.once('exit', (code) => reject(new Error(`child exited (${code})`)));
  });
}

interface IdleResult {
  base: IdleStats;
  loaded: IdleStats;
  openSeconds: number;
}

/** Holds IDLE connections on one secsh server process and measures its memory with 0 and with IDLE. */
async function idleConnections(sshd: Sshd): Promise<IdleResult> {
  const pub = sshd.userKeys.ed25519.publicLine.trim();
  const server = fork(await compiled('bench/server-idle.js'), [pub], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stats = async () => {
    const p = once(server, (m) => m.stats as IdleStats | undefined);
    server.send('stats');
    return p;
  };
  const clients: ChildProcess[] = [];
  try {
    const port = await once(server, (m) => m.port as number | undefined);
    const openClients = async (count: number, concurrency: number, procs: number) => {
      const started: ChildProcess[] = [];
      const opened: Promise<{ opened: number; seconds: number }>[] = [];
      for (let i = 0; i < procs; i++) {
        const n = Math.floor(count / procs) + (i < count % procs ? 1 : 0);
        const job = { port, keyPath: sshd.userKeys.ed25519.privatePath, count: n, concurrency };
        const c = fork(await compiled('bench/server-clients.js'), [JSON.stringify(job)], {
          execArgv: [],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        started.push(c);
        opened.push(
          once(c, (m) => (typeof m.opened === 'number' ? (m as { opened: number; seconds: number }) : undefined)),
        );
      }
      const res = await Promise.all(opened);
      return { started, seconds: Math.max(...res.map((r) => r.seconds)), total: res.reduce((a, r) => a + r.opened, 0) };
    };
    const closeClients = async (cs: ChildProcess[]) => {
      await Promise.all(
        cs.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.send('close');
            }),
        ),
      );
    };
    // Warm up: code paths compiled, pools and caches filled, so the baseline is a server that has served.
    const warm = await openClients(20, 10, 1);
    await closeClients(warm.started);
    await waitFor(async () => (await stats()).connections === 0);
    const base = await stats();
    const load = await openClients(IDLE, 25, 2);
    clients.push(...load.started);
    if (load.total !== IDLE) throw new Error(`opened ${load.total} of ${IDLE}`);
    await new Promise((r) => setTimeout(r, 500));
    const loaded = await stats();
    await closeClients(clients);
    return { base, loaded, openSeconds: load.seconds };
  } finally {
    for (const c of clients) if (c.exitCode === null) c.kill('SIGTERM');
    if (server.exitCode === null) {
      server.send('stop');
      await stopChild(server, 3000);
    }
  }
}

async function waitFor(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting');
}

function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '))
    .join('\n');
}

async function main(): Promise<void> {
  if (!hasPeer('sshd') || !hasPeer('ssh') || !hasPeer('ssh-keygen')) {
    process.stderr.write('bench:server needs OpenSSH sshd, ssh and ssh-keygen\n');
    process.exit(1);
  }
  process.stdout.write(
    `secsh server benchmark: ${BYTES / MiB} MiB per transfer (best of ${REPS}), ${ROUNDS} latency rounds, ${IDLE} idle connections${QUICK ? ' (quick)' : ''}\n`,
  );
  // AcceptEnv SHLVL: the latency rounds send SHLVL=1 so bash skips ~/.bashrc (see bench/common.ts).
  const sshd = await startSshd({ hostKeyTypes: ['ed25519'], extraConfig: ['AcceptEnv SHLVL'] });
  await writeFile(join(sshd.dir, 'sink.py'), SINK);
  const secsh = await startSecshServer(sshd).catch(async (e: unknown) => {
    await sshd.stop();
    throw e;
  });
  const eps: Endpoint[] = [
    { target: 'sshd', port: sshd.port },
    { target: 'secsh', port: secsh.port },
  ];
  const rows: string[][] = [['test', 'OpenSSH sshd', 'secsh server', 'secsh / sshd']];
  try {
    for (const cipher of CIPHERS) {
      for (const dir of ['download', 'upload'] as const) {
        const mbps: Record<Target, number> = { sshd: 0, secsh: 0 };
        for (let rep = 0; rep < REPS; rep++) {
          // Alternate the order so neither side always runs first.
          const order = rep % 2 === 0 ? eps : [...eps].reverse();
          for (const ep of order) mbps[ep.target] = Math.max(mbps[ep.target], await transfer(sshd, ep, cipher, dir));
        }
        const label = `${dir} ${cipher.replace('@openssh.com', '')} (MB/s)`;
        rows.push([label, fmt(mbps.sshd), fmt(mbps.secsh), `${fmt(mbps.secsh / mbps.sshd, 2)}x`]);
        process.stdout.write(`  ${label}: sshd ${fmt(mbps.sshd)}, secsh ${fmt(mbps.secsh)}\n`);
      }
    }
    const lat: Record<Target, number> = { sshd: 0, secsh: 0 };
    for (const ep of eps) lat[ep.target] = await latency(sshd, ep);
    rows.push([
      `connect latency, median of ${ROUNDS} (ms)`,
      fmt(lat.sshd),
      fmt(lat.secsh),
      `${fmt(lat.secsh / lat.sshd, 2)}x`,
    ]);
  } finally {
    await stopChild(secsh.child, 3000);
  }
  try {
    const idle = await idleConnections(sshd);
    const perConn = (idle.loaded.rssKb - idle.base.rssKb) / IDLE;
    const heapPer = (idle.loaded.heapUsedKb - idle.base.heapUsedKb) / IDLE;
    const extPer = (idle.loaded.externalKb - idle.base.externalKb) / IDLE;
    rows.push([
      `RSS per idle connection, ${IDLE} held (KiB)`,
      '-',
      fmt(perConn),
      perConn <= 64 ? 'ok (<= 64)' : 'OVER 64',
    ]);
    process.stdout.write(
      `  idle: RSS ${idle.base.rssKb} KiB -> ${idle.loaded.rssKb} KiB with ${idle.loaded.connections} connections ` +
        `(opened in ${fmt(idle.openSeconds)} s); per connection: heap ${fmt(heapPer)} KiB, external ${fmt(extPer)} KiB\n`,
    );
  } finally {
    await sshd.stop();
  }
  process.stdout.write(`\n${table(rows)}\n\nTargets: throughput >= 0.95x sshd; <= 64 KiB per idle connection.\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:server failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
