/**
 * Throughput and latency of secsh, OpenSSH's ssh and the ssh2 package against one private sshd,
 * side by side. Each client runs in its own process so its CPU and peak RSS are its own. OpenSSH is
 * measured twice: `ssh` as a whole, and through a ControlMaster that is already connected (the transfer
 * alone, the master's CPU counted).
 *
 *   npm run bench                 1 GiB download, 512 MiB upload, 50 latency rounds
 *   BENCH_QUICK=1 npm run bench   64 MiB / 32 MiB / 10 rounds
 *   BENCH_CLIENTS=secsh,openssh   a subset of clients (openssh, openssh-master, secsh, ssh2)
 *   BENCH_ONLY=latency            only the throughput or the latency rows
 *   BENCH_REPS=N                  throughput runs per row, interleaved; the fastest counts (default 3; 1 when quick)
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { binPath, hasPeer, PYTHON } from '../test/helpers/peers.js';
import { openSshArgs, type Sshd, startSshd } from '../test/helpers/sshd.js';
import type { BenchJob, BenchResult } from './common.js';
import { bundled, compiled } from './compiled.js';
import { processCpu, processPeakRssKb, startMaster } from './openssh-master.js';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const MiB = 1024 * 1024;
const DOWNLOAD = QUICK ? 64 * MiB : 1024 * MiB;
const UPLOAD = QUICK ? 32 * MiB : 512 * MiB;
const ROUNDS = QUICK ? 10 : 50;
/** BENCH_ONLY=throughput,latency: the parts to run (default both). */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'throughput,latency').split(','));
/** Runs of each throughput row, interleaved across the clients; the fastest counts (the machine is noisy). */
const REPS = Number(process.env.BENCH_REPS ?? (QUICK ? 1 : 3));

/** `openssh-master`: OpenSSH's ssh through a ControlMaster that is already connected (transfer only). */
type ClientName = 'openssh' | 'openssh-master' | 'secsh' | 'ssh2';
const CLIENTS: ClientName[] = (process.env.BENCH_CLIENTS?.split(',') as ClientName[] | undefined) ?? [
  'openssh',
  'openssh-master',
  'secsh',
  'ssh2',
];
const SUITES: { cipher: string; mac: string; label: string }[] = [
  { cipher: 'aes128-gcm@openssh.com', mac: '', label: 'aes128-gcm' },
  { cipher: 'aes256-gcm@openssh.com', mac: '', label: 'aes256-gcm' },
  { cipher: 'chacha20-poly1305@openssh.com', mac: '', label: 'chacha20-poly1305' },
  { cipher: 'aes128-ctr', mac: 'hmac-sha2-256-etm@openssh.com', label: 'aes128-ctr+hmac-sha2-256-etm' },
];

interface Row {
  test: string;
  client: ClientName;
  mbps?: number;
  cpuPerGiB?: number;
  rssMb: number;
  medianMs?: number;
  error?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

/** Runs a node benchmark client in its own process. */
async function nodeClient(name: 'secsh' | 'ssh2', job: BenchJob): Promise<BenchResult> {
  // Compiled, under plain node (see bench/compiled.ts); secsh bundled as its package is built.
  const script = name === 'secsh' ? await bundled('bench/client-secsh.js') : await compiled('bench/client-ssh2.js');
  const { stdout } = await run(process.execPath, [script, JSON.stringify(job)], {
    maxBuffer: 1 << 20,
    timeout: 600_000,
  });
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as BenchResult;
}

interface RusageOut {
  status: number;
  stdoutBytes: number;
  seconds: number;
  cpu: number;
  maxRssKb: number;
  stderr: string;
}

/** Runs OpenSSH's ssh under bench/rusage.py (which feeds stdin / counts stdout outside the measurement). */
async function openSsh(
  sshd: Sshd,
  job: BenchJob,
  command: string,
  stdinBytes?: number,
  discardStdout = false,
  extra: string[] = [],
): Promise<RusageOut> {
  const sshArgs = [
    ...openSshArgs(sshd, sshd.userKeys.ed25519),
    ...extra,
    '-o',
    'HostKeyAlgorithms=ssh-ed25519',
    '-c',
    job.cipher,
  ];
  if (job.mac) sshArgs.push('-m', job.mac);
  const wrapper = [join(HERE, 'rusage.py'), ...(stdinBytes !== undefined ? ['--stdin-bytes', String(stdinBytes)] : [])];
  if (discardStdout) wrapper.push('--discard-stdout');
  const { stdout } = await run(PYTHON, [...wrapper, '--', binPath('ssh'), ...sshArgs, sshd.host, command], {
    maxBuffer: 1 << 20,
    timeout: 600_000,
  });
  const r = JSON.parse(stdout) as RusageOut;
  if (r.status !== 0) throw new Error(`ssh exited ${r.status}: ${r.stderr}`);
  return r;
}

async function throughput(sshd: Sshd, client: ClientName, job: BenchJob): Promise<BenchResult> {
  if (client === 'openssh-master') return throughMaster(sshd, job);
  if (client !== 'openssh') return nodeClient(client, job);
  if (job.mode === 'download') {
    // `ssh … 'head -c N /dev/zero' > /dev/null`: exit status 0 means all N bytes arrived
    const r = await openSsh(sshd, job, `head -c ${job.bytes} /dev/zero`, undefined, true);
    return { bytes: job.bytes, seconds: r.seconds, cpu: r.cpu, maxRssKb: r.maxRssKb };
  }
  const r = await openSsh(sshd, job, 'cat > /dev/null', job.bytes);
  return { bytes: job.bytes, seconds: r.seconds, cpu: r.cpu, maxRssKb: r.maxRssKb };
}

/**
 * OpenSSH through a ControlMaster that is already up: the transfer alone, without the key exchange
 * and authentication. CPU is the master's (it does the crypto) plus the `ssh -S` client's.
 */
async function throughMaster(sshd: Sshd, job: BenchJob): Promise<BenchResult> {
  const args = [...openSshArgs(sshd, sshd.userKeys.ed25519), '-o', 'HostKeyAlgorithms=ssh-ed25519', '-c', job.cipher];
  if (job.mac) args.push('-m', job.mac);
  const master = await startMaster(args, sshd.host);
  try {
    const cpu0 = await processCpu(master.pid);
    const extra = ['-S', master.socket];
    const r =
      job.mode === 'download'
        ? await openSsh(sshd, job, `head -c ${job.bytes} /dev/zero`, undefined, true, extra)
        : await openSsh(sshd, job, 'cat > /dev/null', job.bytes, false, extra);
    const cpu = (await processCpu(master.pid)) - cpu0 + r.cpu;
    const maxRssKb = Math.max(r.maxRssKb, await processPeakRssKb(master.pid));
    return { bytes: job.bytes, seconds: r.seconds, cpu, maxRssKb };
  } finally {
    await master.stop();
  }
}

async function latency(sshd: Sshd, client: ClientName, job: BenchJob): Promise<BenchResult> {
  if (client === 'secsh' || client === 'ssh2') return nodeClient(client, job);
  const samples: number[] = [];
  let cpu = 0;
  let maxRssKb = 0;
  for (let i = 0; i < job.iterations; i++) {
    const extra = ['-o', 'SetEnv=SHLVL=1', ...(job.kex ? ['-o', `KexAlgorithms=${job.kex}`] : [])];
    const r = await openSsh(sshd, job, 'true', undefined, false, extra);
    samples.push(r.seconds * 1000);
    cpu += r.cpu;
    maxRssKb = Math.max(maxRssKb, r.maxRssKb);
  }
  return { bytes: 0, seconds: samples.reduce((a, b) => a + b, 0) / 1000, cpu, maxRssKb, samples };
}

function fmt(n: number | undefined, digits = 1): string {
  return n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

/** `0.92x speed 1.8x CPU` of `r` against `b` (or time for latency rows). */
function ratio(r: Row, b: Row | undefined): string {
  if (!b || r.error || b.error || r === b) return '-';
  if (r.mbps !== undefined && b.mbps) {
    const cpu = r.cpuPerGiB !== undefined && b.cpuPerGiB ? ` ${(r.cpuPerGiB / b.cpuPerGiB).toFixed(2)}x CPU` : '';
    return `${(r.mbps / b.mbps).toFixed(2)}x speed${cpu}`;
  }
  if (r.medianMs !== undefined && b.medianMs) return `${(r.medianMs / b.medianMs).toFixed(2)}x time`;
  return '-';
}

function printTable(rows: Row[]): void {
  const of = (client: ClientName) => {
    const m = new Map<string, Row>();
    for (const r of rows) if (r.client === client && !r.error) m.set(r.test, r);
    return m;
  };
  const [direct, master, ssh2] = [of('openssh'), of('openssh-master'), of('ssh2')];
  const header = [
    'test',
    'client',
    'MB/s',
    'CPU s/GiB',
    'peak RSS MB',
    'median ms',
    'vs OpenSSH',
    'vs master',
    'vs ssh2',
  ];
  const lines = rows.map((r) =>
    r.error
      ? [r.test, r.client, 'error (below)', '', '', '', '', '', '']
      : [
          r.test,
          r.client,
          fmt(r.mbps),
          fmt(r.cpuPerGiB, 2),
          fmt(r.rssMb, 0),
          fmt(r.medianMs),
          ratio(r, direct.get(r.test)),
          ratio(r, master.get(r.test)),
          ratio(r, ssh2.get(r.test)),
        ],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(line(l));
  for (const r of rows) if (r.error) console.log(`\n${r.test}, ${r.client}: ${r.error.slice(0, 400)}`);
}

async function main(): Promise<void> {
  if (!hasPeer('sshd') || !hasPeer('ssh')) throw new Error('the benchmark needs OpenSSH (sshd and ssh)');
  // AcceptEnv SHLVL: see the latency note in bench/common.ts.
  const sshd = await startSshd({ hostKeyTypes: ['ed25519'], extraConfig: ['AcceptEnv SHLVL'] });
  const ed = sshd.hostKeys.find((k) => k.type === 'ed25519');
  if (!ed) throw new Error('no ed25519 host key');
  const rows: Row[] = [];
  const base = {
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    keyPath: sshd.userKeys.ed25519.privatePath,
    hostKeyFingerprint: ed.fingerprint,
  };
  console.log(
    `secsh benchmark: download ${DOWNLOAD / MiB} MiB, upload ${UPLOAD / MiB} MiB (best of ${REPS}), latency median of ${ROUNDS}` +
      ` (node ${process.version}; each client in its own process)\n`,
  );
  try {
    for (const s of ONLY.has('throughput') ? SUITES : []) {
      for (const mode of ['download', 'upload'] as const) {
        const bytes = mode === 'download' ? DOWNLOAD : UPLOAD;
        const test = `${mode} ${s.label}`;
        const best = new Map<ClientName, Row>();
        for (let rep = 0; rep < REPS; rep++) {
          for (const client of CLIENTS) {
            const job: BenchJob = { ...base, cipher: s.cipher, mac: s.mac, mode, bytes, iterations: 0 };
            const prev = best.get(client);
            try {
              const r = await throughput(sshd, client, job);
              if (r.bytes !== bytes) throw new Error(`moved ${r.bytes} of ${bytes} bytes`);
              const row: Row = {
                test,
                client,
                mbps: r.bytes / MiB / r.seconds,
                cpuPerGiB: r.cpu / (r.bytes / (1024 * MiB)),
                rssMb: r.maxRssKb / 1024,
              };
              if (!prev || prev.error || (row.mbps ?? 0) > (prev.mbps ?? 0)) best.set(client, row);
            } catch (e) {
              if (!prev) best.set(client, { test, client, rssMb: 0, error: (e as Error).message });
            }
            process.stderr.write('.');
          }
        }
        for (const client of CLIENTS) {
          const row = best.get(client);
          if (row) rows.push(row);
        }
      }
    }
    const s = SUITES[0];
    if (s && ONLY.has('latency')) {
      // Each client's default key exchange (secsh: post-quantum; ssh2 has none), then all on curve25519.
      for (const kex of [undefined, 'curve25519-sha256']) {
        for (const client of CLIENTS.filter((c) => c !== 'openssh-master')) {
          const job: BenchJob = {
            ...base,
            cipher: s.cipher,
            mac: s.mac,
            mode: 'latency',
            bytes: 0,
            iterations: ROUNDS,
            ...(kex ? { kex } : {}),
          };
          const test = `connect+auth+exec+close${kex ? ` (${kex})` : ''}`;
          try {
            const r = await latency(sshd, client, job);
            rows.push({ test, client, medianMs: median(r.samples ?? []), rssMb: r.maxRssKb / 1024 });
          } catch (e) {
            rows.push({ test, client, rssMb: 0, error: (e as Error).message });
          }
          process.stderr.write('.');
        }
      }
      // The first exec after authentication against the one after it, on one connection (node clients).
      for (const client of CLIENTS.filter((c) => c === 'secsh' || c === 'ssh2')) {
        const job: BenchJob = { ...base, cipher: s.cipher, mac: s.mac, mode: 'execs', bytes: 0, iterations: ROUNDS };
        try {
          const r = await nodeClient(client, job);
          rows.push({
            test: 'first exec after auth',
            client,
            medianMs: median(r.samples ?? []),
            rssMb: r.maxRssKb / 1024,
          });
          rows.push({ test: 'second exec', client, medianMs: median(r.later ?? []), rssMb: r.maxRssKb / 1024 });
        } catch (e) {
          rows.push({ test: 'first exec after auth', client, rssMb: 0, error: (e as Error).message });
        }
        process.stderr.write('.');
      }
    }
  } finally {
    await sshd.stop();
  }
  process.stderr.write('\n');
  printTable(rows);
  console.log(
    '\nMB/s = MiB/s of payload, wall clock from connect to close. CPU s/GiB = the client process only' +
      ' (node clients: measured part only; ssh: whole process). openssh-master = ssh -S through a' +
      ' ControlMaster already connected: the transfer only, CPU of the master and the ssh -S process.' +
      ' secsh runs bundled, as its package is built. OpenSSH latency includes starting the ssh process.' +
      ` ssh2's optional C++ crypto binding (in-place AES-GCM and ChaCha20-Poly1305 through OpenSSL) is ${ssh2Binding() ? 'built: its rows use it' : 'not built: its rows are pure JavaScript'}.`,
  );
}

/** Whether ssh2's optional native crypto addon was built at install (it changes ssh2's CPU figures). */
function ssh2Binding(): boolean {
  try {
    const main = createRequire(import.meta.url).resolve('ssh2');
    return existsSync(join(dirname(main), 'protocol', 'crypto', 'build', 'Release', 'sshcrypto.node'));
  } catch {
    return false;
  }
}

await main();
