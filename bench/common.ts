/** Shared by the benchmark clients: their job description and result format. */

/** What a benchmark client process is asked to do (passed as JSON in argv[2]). */
export interface BenchJob {
  host: string;
  port: number;
  username: string;
  keyPath: string;
  /** `SHA256:…` of the server's ed25519 host key. */
  hostKeyFingerprint: string;
  cipher: string;
  /** Ignored for AEAD ciphers. */
  mac: string;
  /** One key exchange method to use instead of the client's defaults. */
  kex?: string;
  /** `execs`: per connection, the first exec after authentication and the one after it, timed apart. */
  mode: 'download' | 'upload' | 'latency' | 'execs';
  /** Bytes to move (download/upload). */
  bytes: number;
  /**
   * Connect+auth+exec+close rounds (latency). Every client sends SHLVL=1 with the `true` command
   * (the bench sshd accepts it): bash reads ~/.bashrc when started by sshd at shell level 1, and
   * a heavy one (pyenv init on the CI machine: ~150 ms) would otherwise be measured instead of SSH.
   */
  iterations: number;
}

/** What a benchmark client prints (one JSON line on stdout). */
export interface BenchResult {
  /** Bytes moved (throughput modes). */
  bytes: number;
  /** Wall seconds of the measured part (connect to close). */
  seconds: number;
  /** User + system CPU seconds of the measured part. */
  cpu: number;
  /** Peak resident set of the client process, KiB. */
  maxRssKb: number;
  /** Per-round milliseconds (latency mode; in execs mode, the first exec of each connection). */
  samples?: number[];
  /** Execs mode: per-round milliseconds of the second exec on the same connection. */
  later?: number[];
}

/** Parses the job from argv. */
export function readJob(): BenchJob {
  const raw = process.argv[2];
  if (!raw) throw new Error('usage: client-*.ts <job json>');
  return JSON.parse(raw) as BenchJob;
}

/** CPU seconds used by this process so far. */
export function cpuSeconds(): number {
  const u = process.resourceUsage();
  return (u.userCPUTime + u.systemCPUTime) / 1e6;
}

/** A shared zero block for uploads. */
export const ZERO_BLOCK = Buffer.alloc(256 * 1024);

/** Writes `total` zero bytes to `w` with backpressure, then ends it. */
export async function writeZeros(w: NodeJS.WritableStream, total: number): Promise<void> {
  let left = total;
  while (left > 0) {
    const n = Math.min(left, ZERO_BLOCK.length);
    left -= n;
    if (!w.write(n === ZERO_BLOCK.length ? ZERO_BLOCK : ZERO_BLOCK.subarray(0, n))) {
      await new Promise<void>((r) => w.once('drain', () => r()));
    }
  }
  await new Promise<void>((r) => w.end(() => r()));
}

/** Runs `measure`, prints its BenchResult as JSON, exits. */
export async function report(measure: () => Promise<Omit<BenchResult, 'cpu' | 'maxRssKb'>>): Promise<void> {
  const cpu0 = cpuSeconds();
  const r = await measure();
  const out: BenchResult = { ...r, cpu: cpuSeconds() - cpu0, maxRssKb: process.resourceUsage().maxRSS };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
