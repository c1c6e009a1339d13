/**
 * Port forwarding benchmark: bytes pushed through a local forward (`-L`) to a counting sink on
 * loopback, three ways in one run against one private sshd:
 *
 *   secsh forwardLocal → sshd   (the tunnel is a secsh Client in its own process)
 *   ssh -N -L → sshd            (OpenSSH's client)
 *   ssh -N -L → secsh server    (OpenSSH's client against `secsh server`)
 *
 *   npm run bench:forward                 1 GiB per run, 3 runs per row interleaved, the fastest counts
 *   BENCH_QUICK=1 npm run bench:forward   64 MiB, 1 run
 *   BENCH_REPS=N                          runs per row
 *   BENCH_MIB=N                           N MiB per run instead
 *   BENCH_ONLY=secsh                      only the rows whose name contains the text
 *   BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/p'   node flags for the secsh processes
 *
 * MB/s is timed from the first byte written into the forward to the last byte at the sink (a Python
 * process writes and counts, see Sink). CPU is
 * read from /proc for the tunnel process and for the server (sshd: every process under it) over the
 * transfer alone, so connection setup stays out. aes128-gcm@openssh.com and curve25519-sha256 on
 * every path.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binPath } from '../test/helpers/peers.js';
import { freePort, openSshArgs, type Sshd, startSshd, stopChild } from '../test/helpers/sshd.js';
import { compiled } from './compiled.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const QUICK = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const MiB = 1024 * 1024;
const BYTES = Number(process.env.BENCH_MIB ?? (QUICK ? 64 : 1024)) * MiB;
const REPS = Number(process.env.BENCH_REPS ?? (QUICK ? 1 : 3));
const CIPHER = 'aes128-gcm@openssh.com';
const KEX = 'curve25519-sha256';
/** Extra node flags for the secsh processes (e.g. `--cpu-prof --cpu-prof-dir=prof`), split on spaces. */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** Only the rows whose name contains this (e.g. `secsh server`), to profile one path alone. */
const ONLY = process.env.BENCH_ONLY ?? '';

/** CPU seconds (user + system) of one process, from /proc/<pid>/stat; 0 once it is gone. */
async function procCpu(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds of `root` and every process below it. */
async function treeCpu(root: number): Promise<number> {
  const parent = new Map<number, number>();
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = await readFile(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; hops++) {
      if (p === root) return true;
      p = parent.get(p);
    }
    return false;
  };
  let sum = 0;
  for (const pid of parent.keys()) if (inTree(pid)) sum += await procCpu(pid);
  return sum;
}

/**
 * The writer and the counting sink, in a Python process (bench/forward-driver.py): written in node,
 * the driver cost as much CPU as ssh and sshd together (1.4–1.7 s/GiB), on the same two cores as the
 * processes measured; Python's sendall/recv_into mostly leave the work to the kernel. The sink waits
 * for `bytes` to arrive on one connection.
 */
class Sink {
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private lineWaiter: (() => void) | undefined;
  /** CPU seconds the driver process (writer and sink) spent on the last push. */
  driverCpu = 0;
  constructor() {
    this.child = spawn('/usr/bin/python3', [join(ROOT, 'bench', 'forward-driver.py')], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let buf = '';
    this.child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        this.lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      this.lineWaiter?.();
    });
  }
  private async line(): Promise<string> {
    while (this.lines.length === 0) {
      if (this.child.exitCode !== null) throw new Error(`driver exited ${this.child.exitCode}`);
      await new Promise<void>((r) => {
        this.lineWaiter = r;
        setTimeout(r, 1000);
      });
    }
    return this.lines.shift() as string;
  }
  async listen(): Promise<number> {
    return Number(await this.line());
  }
  /** Writes BYTES into `port` and resolves with the seconds until the sink has them all. */
  async push(port: number): Promise<number> {
    this.child.stdin?.write(`push ${port} ${BYTES}\n`);
    const [secs, cpu, got] = (await this.line()).split(' ').map(Number);
    if (got !== BYTES) throw new Error(`sink received ${got} of ${BYTES} bytes`);
    this.driverCpu = cpu ?? 0;
    return secs ?? Number.NaN;
  }
  close(): Promise<void> {
    return stopChild(this.child);
  }
}

/** Waits until something accepts connections on the port. */
async function waitListening(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`tunnel exited ${child.exitCode}`);
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        r(true);
      }).once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

interface Run {
  seconds: number;
  tunnelCpu: number;
  serverCpu: number;
}

/** `ssh -N -L` to `serverPort`; the server's CPU is read with `serverCpu`. */
async function viaOpenSsh(
  sshd: Sshd,
  serverPort: number,
  sink: Sink,
  sinkPort: number,
  serverCpu: () => Promise<number>,
): Promise<Run> {
  const port = await freePort();
  const args = openSshArgs(sshd, sshd.userKeys.ed25519);
  const i = args.indexOf('-p');
  if (i >= 0) args[i + 1] = String(serverPort);
  const child = spawn(
    binPath('ssh'),
    [
      ...args,
      '-N',
      '-o',
      'ExitOnForwardFailure=yes',
      '-o',
      `KexAlgorithms=${KEX}`,
      '-o',
      'HostKeyAlgorithms=ssh-ed25519',
      '-c',
      CIPHER,
      '-L',
      `127.0.0.1:${port}:127.0.0.1:${sinkPort}`,
      sshd.host,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  try {
    await waitListening(port, child);
    const [c0, s0] = [await procCpu(child.pid ?? 0), await serverCpu()];
    const seconds = await sink.push(port);
    const [c1, s1] = [await procCpu(child.pid ?? 0), await serverCpu()];
    return { seconds, tunnelCpu: c1 - c0, serverCpu: s1 - s0 };
  } catch (e) {
    throw new Error(`${(e as Error).message}: ${err.trim()}`);
  } finally {
    await stopChild(child);
  }
}

/** A secsh Client process with `forwardLocal` to the sink. */
async function viaSecsh(sshd: Sshd, sink: Sink, sinkPort: number, sshdPid: number): Promise<Run> {
  const hostKey = sshd.hostKeys.find((k) => k.type === 'ed25519');
  const job = {
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    keyPath: sshd.userKeys.ed25519.privatePath,
    hostKeyFingerprint: hostKey?.fingerprint,
    cipher: CIPHER,
    targetPort: sinkPort,
  };
  const child = fork(await compiled('bench/forward-secsh.js'), [JSON.stringify(job)], {
    // with node flags (--trace-gc writes to stdout) its output is shown
    stdio: ['ignore', NODE_ARGS.length > 0 ? 'inherit' : 'ignore', 'inherit', 'ipc'],
    execArgv: NODE_ARGS,
  });
  const next = <T>(): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`secsh tunnel exited ${code}`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m as T);
      });
    });
  try {
    const { port } = await next<{ port: number }>();
    child.send('cpu');
    const { cpu: c0 } = await next<{ cpu: number }>();
    const s0 = await treeCpu(sshdPid);
    const seconds = await sink.push(port);
    const s1 = await treeCpu(sshdPid);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.send('stop');
    const { cpu: c1 } = await next<{ cpu: number }>();
    // it exits by itself (a --cpu-prof profile is written then); stopChild below is the fallback
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    return { seconds, tunnelCpu: c1 - c0, serverCpu: s1 - s0 };
  } finally {
    await stopChild(child);
  }
}

/** `secsh server` with sshd's authorized keys and TCP forwarding on. */
async function startSecshServer(sshd: Sshd): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      ...NODE_ARGS,
      await compiled('src/cli/main.js'),
      'server',
      '--port',
      '0',
      '--quiet',
      '--authorized-keys',
      join(sshd.dir, 'authorized_keys'),
      '-o',
      'AllowTcpForwarding=yes',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`secsh server did not start: ${out}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (NODE_ARGS.length > 0) process.stderr.write(d);
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

function fmt(n: number | undefined, digits = 1): string {
  return n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

async function main(): Promise<void> {
  const sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
  const sshdPid = Number((await readFile(join(sshd.dir, 'sshd.pid'), 'utf8').catch(() => '0')).trim());
  const server = await startSecshServer(sshd);
  const sink = new Sink();
  const sinkPort = await sink.listen();
  const gib = BYTES / (1024 * MiB);
  type Name = 'secsh forwardLocal → sshd' | 'ssh -L → sshd' | 'ssh -L → secsh server';
  const best = new Map<Name, Run>();
  const keep = (name: Name, r: Run) => {
    if (process.env.BENCH_VERBOSE) {
      const gb = BYTES / (1024 * MiB);
      console.error(
        `${name}: ${fmt(BYTES / MiB / r.seconds)} MB/s, tunnel ${fmt(r.tunnelCpu / gb, 2)}, server ${fmt(r.serverCpu / gb, 2)}, driver ${fmt(sink.driverCpu / gb, 2)} CPU s/GiB`,
      );
    }
    const b = best.get(name);
    if (!b || r.seconds < b.seconds) best.set(name, r);
  };
  try {
    const want = (name: Name) => name.includes(ONLY);
    for (let rep = 0; rep < REPS; rep++) {
      if (want('ssh -L → sshd'))
        keep('ssh -L → sshd', await viaOpenSsh(sshd, sshd.port, sink, sinkPort, () => treeCpu(sshdPid)));
      if (want('secsh forwardLocal → sshd'))
        keep('secsh forwardLocal → sshd', await viaSecsh(sshd, sink, sinkPort, sshdPid));
      if (want('ssh -L → secsh server'))
        keep(
          'ssh -L → secsh server',
          await viaOpenSsh(sshd, server.port, sink, sinkPort, () => procCpu(server.child.pid ?? 0)),
        );
    }
  } finally {
    await stopChild(server.child);
    await sink.close();
    await sshd.stop();
  }
  const base = best.get('ssh -L → sshd');
  const rows = [['path', 'MB/s', 'tunnel CPU s/GiB', 'server CPU s/GiB', 'MB/s vs ssh -L → sshd', 'CPU ratio']];
  for (const [name, r] of best) {
    const mbps = BYTES / MiB / r.seconds;
    const ratio = base ? mbps / (BYTES / MiB / base.seconds) : undefined;
    // the CPU ratio compares what differs: the tunnel client for forwardLocal, the server for secsh server
    const cpuRatio =
      base === undefined
        ? undefined
        : name === 'secsh forwardLocal → sshd'
          ? r.tunnelCpu / base.tunnelCpu
          : name === 'ssh -L → secsh server'
            ? r.serverCpu / base.serverCpu
            : 1;
    rows.push([name, fmt(mbps), fmt(r.tunnelCpu / gib, 2), fmt(r.serverCpu / gib, 2), fmt(ratio, 2), fmt(cpuRatio, 2)]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  console.log(`\nlocal forward, ${BYTES / MiB} MiB per run, ${CIPHER}, best of ${REPS} (interleaved)\n`);
  for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
  console.log(
    "\nCPU ratio: secsh forwardLocal — its tunnel CPU over ssh's; secsh server — its CPU over sshd's (all processes).",
  );
}

await main();
