/**
 * The load parts of bench/server.ts, on one secsh server process (bench/server-idle.ts) fed by
 * client processes (bench/server-clients.ts):
 * - idle: N authenticated connections held at once; the server's memory with 0 and with N, each
 *   after a full garbage collection;
 * - execs: S exec sessions open at once over a few connections; the time to open them all, the
 *   server's memory while they are open, and their exit statuses once released.
 *
 * Every child is started through `bash -c 'ulimit -n …; exec node …'` so that 10,000 sockets fit in
 * its descriptor table whatever the caller's soft limit (raised to the hard limit, or past it as root).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Sshd } from '../test/helpers/sshd.js';
import { stopChild } from '../test/helpers/sshd.js';
import { compiled } from './compiled.js';
import type { ClientsJob } from './server-clients.js';
import type { IdleStats, ServerJob } from './server-idle.js';

/** Descriptors wanted per child: 10,000 connections and room to spare. */
const FDS = 65536;

/** Starts `node [execArgv] script args` with IPC, its descriptor limit raised first. */
function nodeChild(execArgv: string[], script: string, args: string[]): ChildProcess {
  const raise = `ulimit -n ${FDS} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`;
  return spawn('bash', ['-c', raise, process.execPath, ...execArgv, script, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** Resolves with the first message `pick` maps to a value; rejects on { error } or the child's exit. */
function once<T>(child: ChildProcess, pick: (m: Record<string, unknown>) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => {
      child.off('message', onMsg);
      reject(new Error(`child exited (${code})`));
    };
    const done = () => {
      child.off('message', onMsg);
      child.off('exit', onExit);
    };
    const onMsg = (m: unknown) => {
      if (!m || typeof m !== 'object') return;
      const rec = m as Record<string, unknown>;
      if (typeof rec.error === 'string') {
        done();
        reject(new Error(rec.error));
        return;
      }
      const v = pick(rec);
      if (v !== undefined) {
        done();
        resolve(v);
      }
    };
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}

async function waitFor(cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting');
}

/** A client process's reply once its connections are up. */
interface Opened {
  opened: number;
  seconds: number;
  baseRssKb: number;
  rssKb: number;
}

/** One server child and the client children feeding it. */
class Load {
  readonly clients: ChildProcess[] = [];
  private constructor(
    readonly server: ChildProcess,
    readonly port: number,
    private readonly keyPath: string,
  ) {}

  static async start(sshd: Sshd, job: ServerJob): Promise<Load> {
    const pub = sshd.userKeys.ed25519.publicLine.trim();
    const server = nodeChild(['--expose-gc'], await compiled('bench/server-idle.js'), [pub, JSON.stringify(job)]);
    try {
      const port = await once(server, (m) => m.port as number | undefined);
      return new Load(server, port, sshd.userKeys.ed25519.privatePath);
    } catch (e) {
      server.kill('SIGKILL');
      throw e;
    }
  }

  async stats(): Promise<IdleStats> {
    const p = once(this.server, (m) => m.stats as IdleStats | undefined);
    this.server.send('stats');
    return p;
  }

  /**
   * Opens `count` connections from `procs` client processes; returns them, the slowest one's time and
   * the client processes' RSS growth per connection.
   */
  async open(
    count: number,
    concurrency: number,
    procs: number,
    extra: Partial<ClientsJob> = {},
  ): Promise<{ started: ChildProcess[]; seconds: number; clientKbPerConn: number }> {
    const started: ChildProcess[] = [];
    const opened: Promise<Opened>[] = [];
    const script = await compiled('bench/server-clients.js');
    for (let i = 0; i < procs; i++) {
      const n = Math.floor(count / procs) + (i < count % procs ? 1 : 0);
      const job: ClientsJob = { port: this.port, keyPath: this.keyPath, count: n, concurrency, ...extra };
      const c = nodeChild(['--expose-gc'], script, [JSON.stringify(job)]);
      started.push(c);
      this.clients.push(c);
      opened.push(once(c, (m) => (typeof m.opened === 'number' ? (m as unknown as Opened) : undefined)));
    }
    const res = await Promise.all(opened);
    const total = res.reduce((a, r) => a + r.opened, 0);
    if (total !== count) throw new Error(`opened ${total} of ${count} connections`);
    const grown = res.reduce((a, r) => a + r.rssKb - r.baseRssKb, 0);
    return { started, seconds: Math.max(...res.map((r) => r.seconds)), clientKbPerConn: grown / count };
  }

  /** Sends `msg` to each client process and collects one reply from each. */
  ask<T>(cs: ChildProcess[], msg: string, pick: (m: Record<string, unknown>) => T | undefined): Promise<T[]> {
    return Promise.all(
      cs.map((c) => {
        const p = once(c, pick);
        c.send(msg);
        return p;
      }),
    );
  }

  async close(cs: ChildProcess[]): Promise<void> {
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
    await waitFor(async () => (await this.stats()).connections === 0);
  }

  async stop(): Promise<void> {
    for (const c of this.clients) if (c.exitCode === null) c.kill('SIGTERM');
    if (this.server.exitCode === null) {
      this.server.send('stop');
      await stopChild(this.server, 3000);
    }
  }
}

export interface IdleResult {
  base: IdleStats;
  loaded: IdleStats;
  openSeconds: number;
  /** RSS growth of the client processes per connection they hold (KiB). */
  clientKbPerConn: number;
}

/** Holds `n` idle connections on one secsh server process and measures its memory with 0 and with n. */
export async function idleConnections(sshd: Sshd, n: number): Promise<IdleResult> {
  const load = await Load.start(sshd, {});
  try {
    // Warm up: code paths compiled, pools and caches filled, and V8's young generation grown to what
    // this rate of connections needs (about 20 MiB more RSS, which does not shrink after a GC), so the
    // baseline is a server that has served and the difference is what the held connections keep.
    const warm = await load.open(200, 25, 2);
    await load.close(warm.started);
    const base = await load.stats();
    const held = await load.open(n, 25, 2);
    await new Promise((r) => setTimeout(r, 500));
    const loaded = await load.stats();
    await load.close(held.started);
    return { base, loaded, openSeconds: held.seconds, clientKbPerConn: held.clientKbPerConn };
  } finally {
    await load.stop();
  }
}

export interface ExecResult {
  mode: 'process' | 'inline';
  sessions: number;
  connections: number;
  /** Server with the connections up, before any session. */
  base: IdleStats;
  /** Server with every session open. */
  loaded: IdleStats;
  openSeconds: number;
  exited: number;
  zero: number;
  exitSeconds: number;
}

/**
 * Opens `sessions` exec sessions at once over `connections` connections (one client process per
 * 5 connections, at most 2) on one server, each running `cat >/dev/null`, holds them while the
 * server's memory is read, then sends EOF to all and counts the exit statuses.
 */
export async function execSessions(
  sshd: Sshd,
  mode: 'process' | 'inline',
  sessions: number,
  connections: number,
): Promise<ExecResult> {
  const perConn = Math.ceil(sessions / connections);
  const load = await Load.start(sshd, { exec: mode, maxSessions: perConn });
  try {
    const procs = Math.min(2, connections);
    const conns = await load.open(connections, connections, procs, { sessions: perConn, command: 'cat >/dev/null' });
    const base = await load.stats();
    const t0 = performance.now();
    const opened = await load.ask(conns.started, 'sessions', (m) => m.sessionsOpen as number | undefined);
    const openSeconds = (performance.now() - t0) / 1000;
    const loaded = await load.stats();
    const total = opened.reduce((a, b) => a + b, 0);
    if (total !== perConn * connections) throw new Error(`opened ${total} of ${perConn * connections} sessions`);
    const t1 = performance.now();
    const exits = await load.ask(conns.started, 'release', (m) =>
      typeof m.exited === 'number' ? (m as { exited: number; zero: number }) : undefined,
    );
    const exitSeconds = (performance.now() - t1) / 1000;
    await load.close(conns.started);
    return {
      mode,
      sessions: total,
      connections,
      base,
      loaded,
      openSeconds,
      exited: exits.reduce((a, e) => a + e.exited, 0),
      zero: exits.reduce((a, e) => a + e.zero, 0),
      exitSeconds,
    };
  } finally {
    await load.stop();
  }
}
