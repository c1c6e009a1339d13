/**
 * Soak: the secsh server (its own process, test/soak/soak-server.ts) through SOAK_CYCLES (default
 * 10,000) connect/auth/exec/close cycles, with paramiko-style connections mixed in (a dozen sequential
 * sessions on one connection, each closed without EOF, more than maxSessions in total), then 1,000
 * sessions open at once. The server's RSS, JS heap and open descriptors are printed before and after
 * and must come back: descriptors to the baseline, every connection and session released, the heap
 * within a small margin of where it started.
 *
 * Run with `npm run test:soak` (not part of `npm test`).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '../../src/index.js';

interface Stats {
  rss: number;
  heapUsed: number;
  external: number;
  fds: number;
  connections: number;
  sessions: number;
  sessionsEver: number;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const CYCLES = Number(process.env.SOAK_CYCLES ?? 10_000);
const CONCURRENT_SESSIONS = Number(process.env.SOAK_SESSIONS ?? 1000);
const PARALLEL = 4;
const MB = 1024 * 1024;

async function startServer() {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(HERE, 'soak-server.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const queue: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  lines.on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const q = queue.shift();
      if (q !== undefined) return resolve(q);
      const timer = setTimeout(() => reject(new Error('soak server did not answer')), 30_000);
      waiters.push((l) => {
        clearTimeout(timer);
        resolve(l);
      });
    });
  const { port } = JSON.parse(await nextLine()) as { port: number };
  return {
    port,
    async stats(): Promise<Stats> {
      child.stdin.write('stats\n');
      return JSON.parse(await nextLine()) as Stats;
    },
    async stop() {
      child.stdin.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

function connect(port: number): Promise<Client> {
  return Client.connect({
    host: '127.0.0.1',
    port,
    username: 'soak',
    password: 'soak',
    insecureAcceptAnyHostKey: true,
    readyTimeout: 60_000,
  });
}

/** Waits until `pred` holds for the server's stats (the server releases after the client's close). */
async function settled(srv: { stats(): Promise<Stats> }, pred: (s: Stats) => boolean): Promise<Stats> {
  let s = await srv.stats();
  for (let i = 0; i < 100 && !pred(s); i++) {
    await new Promise((r) => setTimeout(r, 100));
    s = await srv.stats();
  }
  return s;
}

const fmt = (s: Stats) =>
  `rss ${(s.rss / MB).toFixed(1)} MiB, heap ${(s.heapUsed / MB).toFixed(1)} MiB, fds ${s.fds}, connections ${s.connections}, sessions ${s.sessions}`;

/** Opens a session that is closed without EOF, the way paramiko's exec_command leaves it. */
async function closeWithoutEof(client: Client, i: number): Promise<void> {
  const proc = await client.spawn(`p${i}`);
  proc.channel.resume();
  proc.channel.destroy(); // CHANNEL_CLOSE, no EOF first
  await proc.exit.catch(() => undefined);
}

test(`soak: ${CYCLES} connect/auth/exec/close cycles and ${CONCURRENT_SESSIONS} concurrent sessions`, async () => {
  const srv = await startServer();
  try {
    // Warm up (JIT, pools), then take the baseline.
    for (let i = 0; i < 20; i++) {
      const c = await connect(srv.port);
      await c.exec('warm');
      await c.close();
    }
    const before = await settled(srv, (s) => s.connections === 0);
    console.log(`soak server before: ${fmt(before)}`);

    const started = Date.now();
    let next = 0;
    let paramikoStyle = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= CYCLES) return;
        const c = await connect(srv.port);
        try {
          if (i % 50 === 0) {
            // 12 sequential sessions closed without EOF: more than maxSessions (10) in total.
            for (let k = 0; k < 12; k++) await closeWithoutEof(c, k);
            paramikoStyle++;
          }
          const r = await c.exec(`cycle ${i}`);
          assert.equal(r.stdout, `ok cycle ${i}\n`);
          assert.equal(r.code, 0);
        } finally {
          await c.close();
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const cyclesMs = Date.now() - started;
    const afterCycles = await settled(srv, (s) => s.connections === 0 && s.sessions === 0);
    console.log(
      `soak: ${CYCLES} cycles (${paramikoStyle} with 12 sessions closed without EOF) in ${(cyclesMs / 1000).toFixed(1)} s`,
    );
    console.log(`soak server after cycles: ${fmt(afterCycles)}`);

    // 1,000 sessions open at once: 100 connections × 10 shells (sshd's MaxSessions), each echoing.
    const perConn = 10;
    const conns = await Promise.all(
      Array.from({ length: Math.ceil(CONCURRENT_SESSIONS / perConn) }, () => connect(srv.port)),
    );
    const shells = (
      await Promise.all(conns.map((c) => Promise.all(Array.from({ length: perConn }, () => c.shell({ pty: false })))))
    ).flat();
    const peak = await srv.stats();
    console.log(`soak server with ${shells.length} sessions open: ${fmt(peak)}`);
    assert.equal(peak.sessions, shells.length, 'every session is open on the server at once');
    // Each shell echoes a line back, then is closed (half with EOF first, half without).
    await Promise.all(
      shells.map(async (ch, i) => {
        const got = once(ch, 'data');
        ch.write(`hello ${i}\n`);
        const [d] = (await got) as [Buffer];
        assert.equal(d.toString(), `hello ${i}\n`);
        if (i % 2) ch.end();
        else ch.destroy();
      }),
    );
    await Promise.all(conns.map((c) => c.close()));
    const after = await settled(srv, (s) => s.connections === 0 && s.sessions === 0 && s.fds <= before.fds);
    console.log(`soak server after: ${fmt(after)}`);
    console.log(
      `soak: server sessions served ${after.sessionsEver}; rss ${((after.rss - before.rss) / MB).toFixed(1)} MiB, heap ${((after.heapUsed - before.heapUsed) / MB).toFixed(1)} MiB, fds ${after.fds - before.fds} vs before`,
    );

    assert.equal(after.connections, 0, 'every connection released');
    assert.equal(after.sessions, 0, 'every session released');
    assert.ok(after.fds <= before.fds, `descriptors back to the baseline (${before.fds} → ${after.fds})`);
    assert.ok(
      after.heapUsed - before.heapUsed < 16 * MB,
      `JS heap grew by ${((after.heapUsed - before.heapUsed) / MB).toFixed(1)} MiB`,
    );
  } finally {
    await srv.stop();
  }
});
