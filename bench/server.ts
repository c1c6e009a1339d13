/**
 * Server benchmark: OpenSSH's `ssh` against `secsh server` beside `ssh` against a private OpenSSH
 * sshd on the same machine, plus what one secsh server process holds: idle authenticated
 * connections and concurrent exec sessions (bench/server-load.ts).
 *
 *   npm run bench:server                512 MiB download and upload per cipher, 20 latency rounds,
 *                                       10,000 idle connections, 1,000 exec sessions
 *   BENCH_QUICK=1 npm run bench:server  64 MiB, 5 rounds, 200 idle connections, 100 exec sessions
 *   BENCH_ONLY=idle,execs               run only these parts (transfers, latency, idle, execs)
 *   BENCH_IDLE=N                        number of idle connections
 *   BENCH_EXECS=N, BENCH_EXEC_CONNS=N   exec sessions, and the connections they share (default 10)
 *   BENCH_EXEC_MODE=inline|process|both how the server runs them (default both): 'process' runs
 *                                       `cat >/dev/null` as a local process per session, as
 *                                       `secsh server` does; 'inline' answers in the server process
 *                                       (reads stdin to EOF, exit status 0) without spawning
 *   BENCH_REPS=N                        runs per transfer, best counts (default 3; quick 1)
 *
 * The idle and exec connections are secsh clients (bench/server-clients.ts) using curve25519-sha256,
 * not the default post-quantum exchange, which would cost minutes of CPU for 10,000 connections.
 * Memory per connection or session is the server process's (VmRSS loaded − VmRSS before) / count,
 * both read after a full garbage collection, with V8's heapUsed, external and arrayBuffers beside it.
 *
 * Throughput is timed at the receiver from the first byte to EOF (`head -c` of /dev/zero at the sender,
 * a small counting reader at the other end), so connection setup stays out; latency is the wall time of
 * `ssh … true`. Both servers get the same key exchange (curve25519-sha256). Idle memory is
 * (VmRSS with N − VmRSS with 0) / N of the server process, both after a full garbage collection.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSsh } from '../test/helpers/openssh.js';
import { binPath, hasPeer } from '../test/helpers/peers.js';
import { openSshArgs, type Sshd, startSshd, stopChild } from '../test/helpers/sshd.js';
import { compiled } from './compiled.js';
import type { IdleStats } from './server-idle.js';
import { type ExecResult, execSessions, idleConnections } from './server-load.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const MiB = 1024 * 1024;
const BYTES = QUICK ? 64 * MiB : 512 * MiB;
const ROUNDS = QUICK ? 5 : 20;
/** Runs of each transfer per server; the best counts (the machine may be shared). */
const REPS = Number(process.env.BENCH_REPS ?? (QUICK ? 1 : 3));
const IDLE = Number(process.env.BENCH_IDLE ?? (QUICK ? 200 : 10_000));
const EXECS = Number(process.env.BENCH_EXECS ?? (QUICK ? 100 : 1000));
const EXEC_CONNS = Number(process.env.BENCH_EXEC_CONNS ?? (QUICK ? 2 : 10));
const EXEC_MODES =
  (process.env.BENCH_EXEC_MODE ?? 'both') === 'both'
    ? (['inline', 'process'] as const)
    : ([process.env.BENCH_EXEC_MODE === 'process' ? 'process' : 'inline'] as const);
const PARTS = new Set((process.env.BENCH_ONLY ?? 'transfers,latency,idle,execs').split(','));
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

function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '))
    .join('\n');
}

/** Per-item figures of the server process between two readings: RSS, heap, external, arrayBuffers (KiB). */
function perItem(
  base: IdleStats,
  loaded: IdleStats,
  n: number,
): { rss: number; heap: number; ext: number; ab: number } {
  return {
    rss: (loaded.rssKb - base.rssKb) / n,
    heap: (loaded.heapUsedKb - base.heapUsedKb) / n,
    ext: (loaded.externalKb - base.externalKb) / n,
    ab: (loaded.arrayBuffersKb - base.arrayBuffersKb) / n,
  };
}

function memLine(p: { rss: number; heap: number; ext: number; ab: number }): string {
  return `RSS ${fmt(p.rss)} KiB (heapUsed ${fmt(p.heap)}, external ${fmt(p.ext)}, of it arrayBuffers ${fmt(p.ab)})`;
}

/** Transfers per cipher and connect latency, `ssh` against sshd and against `secsh server`. */
async function transfersAndLatency(sshd: Sshd, rows: string[][]): Promise<void> {
  const secsh = await startSecshServer(sshd);
  const eps: Endpoint[] = [
    { target: 'sshd', port: sshd.port },
    { target: 'secsh', port: secsh.port },
  ];
  try {
    for (const cipher of PARTS.has('transfers') ? CIPHERS : []) {
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
    if (PARTS.has('latency')) {
      const lat: Record<Target, number> = { sshd: 0, secsh: 0 };
      for (const ep of eps) lat[ep.target] = await latency(sshd, ep);
      rows.push([
        `connect latency, median of ${ROUNDS} (ms)`,
        fmt(lat.sshd),
        fmt(lat.secsh),
        `${fmt(lat.secsh / lat.sshd, 2)}x`,
      ]);
    }
  } finally {
    await stopChild(secsh.child, 3000);
  }
}

async function idlePart(sshd: Sshd, rows: string[][]): Promise<void> {
  const idle = await idleConnections(sshd, IDLE);
  const p = perItem(idle.base, idle.loaded, IDLE);
  const youngKb = idle.loaded.youngKb - idle.base.youngKb;
  const withoutYoung = p.rss - youngKb / IDLE;
  rows.push([`RSS per idle connection, ${IDLE} held (KiB)`, '-', fmt(p.rss), p.rss <= 64 ? 'ok (<= 64)' : 'OVER 64']);
  rows.push([`  without V8's young generation growth (KiB)`, '-', fmt(withoutYoung), '']);
  process.stdout.write(
    `  idle: server RSS ${idle.base.rssKb} KiB -> ${idle.loaded.rssKb} KiB with ${idle.loaded.connections} connections ` +
      `(opened in ${fmt(idle.openSeconds)} s); per connection: ${memLine(p)}; ${fmt(withoutYoung)} KiB without the ` +
      `young generation's growth (${fmt(youngKb / 1024)} MiB in all, given back by no GC); ` +
      `the client processes (secsh Client, reads into a SlabInput each) grew ${fmt(idle.clientKbPerConn)} KiB per connection\n`,
  );
}

async function execPart(sshd: Sshd, rows: string[][]): Promise<void> {
  for (const mode of EXEC_MODES) {
    const r: ExecResult = await execSessions(sshd, mode, EXECS, EXEC_CONNS);
    const p = perItem(r.base, r.loaded, r.sessions);
    const how = mode === 'process' ? 'a process each' : 'in-process, no spawn';
    const ok = r.exited === r.sessions && r.zero === r.sessions;
    rows.push([`${r.sessions} concurrent execs (${how}): open all (s)`, '-', fmt(r.openSeconds, 2), '']);
    rows.push([`  server RSS per exec session (KiB)`, '-', fmt(p.rss), '']);
    rows.push([`  exited with status 0`, '-', `${r.zero}/${r.sessions}`, ok ? 'ok' : 'FAILED']);
    process.stdout.write(
      `  execs (${how}): ${r.loaded.sessions} sessions open at once on ${r.connections} connections, opened in ` +
        `${fmt(r.openSeconds, 2)} s; server RSS ${r.base.rssKb} KiB -> ${r.loaded.rssKb} KiB; per session: ${memLine(p)}, ` +
        `${fmt(p.rss - (r.loaded.youngKb - r.base.youngKb) / r.sessions)} KiB without young generation growth; ` +
        `${r.exited} exited (${r.zero} with status 0) ${fmt(r.exitSeconds, 2)} s after EOF\n`,
    );
  }
}

async function main(): Promise<void> {
  if (!hasPeer('sshd') || !hasPeer('ssh') || !hasPeer('ssh-keygen')) {
    process.stderr.write('bench:server needs OpenSSH sshd, ssh and ssh-keygen\n');
    process.exit(1);
  }
  process.stdout.write(
    `secsh server benchmark: ${BYTES / MiB} MiB per transfer (best of ${REPS}), ${ROUNDS} latency rounds, ` +
      `${IDLE} idle connections, ${EXECS} exec sessions on ${EXEC_CONNS} connections (${EXEC_MODES.join(', ')})` +
      `${QUICK ? ' (quick)' : ''}; parts: ${[...PARTS].join(', ')}\n`,
  );
  // AcceptEnv SHLVL: the latency rounds send SHLVL=1 so bash skips ~/.bashrc (see bench/common.ts).
  const sshd = await startSshd({ hostKeyTypes: ['ed25519'], extraConfig: ['AcceptEnv SHLVL'] });
  const rows: string[][] = [['test', 'OpenSSH sshd', 'secsh server', 'secsh / sshd']];
  try {
    await writeFile(join(sshd.dir, 'sink.py'), SINK);
    if (PARTS.has('transfers') || PARTS.has('latency')) await transfersAndLatency(sshd, rows);
    if (PARTS.has('idle')) await idlePart(sshd, rows);
    if (PARTS.has('execs')) await execPart(sshd, rows);
  } finally {
    await sshd.stop();
  }
  process.stdout.write(
    `\n${table(rows)}\n\nTargets: throughput >= 0.95x sshd; <= 64 KiB per idle connection; 1,000 concurrent execs.\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:server failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
