/**
 * Child of bench/server.ts: opens `count` authenticated secsh client connections to one server and
 * holds them idle, or runs exec sessions on them. Started with IPC; argv[2] is JSON {@link ClientsJob}.
 * The connections use curve25519-sha256: the bench measures what a held connection costs, and the
 * default post-quantum exchanges would make opening 10,000 of them on two cores take minutes.
 *
 * Messages out: { opened, seconds, baseRssKb, rssKb } once all connections are up (or { error }): the
 * RSS figures are this process's before the first connection and with all open, after a full GC
 * when started with --expose-gc.
 * Messages in: 'close'; with `sessions` set, also 'sessions' (open that many sessions on each
 * connection, each running `command`, all at once; replies { sessionsOpen, seconds }) and 'release'
 * (send EOF to every session's stdin and wait for the exits; replies { exited, zero, seconds }).
 */
import { readFileSync } from 'node:fs';
import { Client } from '../src/client/client.js';
import type { RemoteProcess } from '../src/client/options.js';
import { parsePrivateKey } from '../src/keys/index.js';

export interface ClientsJob {
  port: number;
  keyPath: string;
  count: number;
  concurrency: number;
  /** Exec sessions per connection (default none). */
  sessions?: number;
  /** The command each session runs; it should wait for stdin's EOF and exit 0 (`cat >/dev/null`). */
  command?: string;
}

/** This process's RSS in KiB, after a full collection when gc is exposed. */
function rssKb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Math.round(process.memoryUsage().rss / 1024);
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (!raw || !process.send) throw new Error('usage: fork(server-clients.ts, [job json])');
  const send = process.send.bind(process);
  const job = JSON.parse(raw) as ClientsJob;
  const key = parsePrivateKey(readFileSync(job.keyPath));
  const perConn = job.sessions ?? 0;
  const clients: Client[] = [];
  const baseRssKb = rssKb();
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < job.count) {
      next++;
      const c = await Client.connect({
        host: '127.0.0.1',
        port: job.port,
        username: 'bench',
        privateKey: key,
        insecureAcceptAnyHostKey: true,
        readyTimeout: 120_000,
        algorithms: { kex: ['curve25519-sha256'] },
        ...(perConn > 0 ? { maxSessions: perConn } : {}),
      });
      clients.push(c);
    }
  };
  await Promise.all(Array.from({ length: Math.min(job.concurrency, job.count) }, worker));
  const seconds = (performance.now() - start) / 1000;
  send({ opened: clients.length, seconds, baseRssKb, rssKb: rssKb() });
  let procs: RemoteProcess[] = [];
  process.on('message', (msg: unknown) => {
    if (msg === 'sessions') {
      const t0 = performance.now();
      const opens = clients.flatMap((c) =>
        Array.from({ length: perConn }, () => c.spawn(job.command ?? 'cat >/dev/null')),
      );
      Promise.all(opens).then(
        (ps) => {
          procs = ps;
          send({ sessionsOpen: ps.length, seconds: (performance.now() - t0) / 1000 });
        },
        (e: unknown) => send({ error: `opening sessions: ${(e as Error).message}` }),
      );
    } else if (msg === 'release') {
      const t0 = performance.now();
      const exits = procs.map((p) => {
        p.stdout.resume();
        p.stderr.resume();
        p.stdin.end();
        return p.exit;
      });
      Promise.all(exits).then(
        (codes) =>
          send({
            exited: codes.length,
            zero: codes.filter((c) => c.code === 0).length,
            seconds: (performance.now() - t0) / 1000,
          }),
        (e: unknown) => send({ error: `waiting for exits: ${(e as Error).message}` }),
      );
    } else if (msg === 'close') {
      Promise.allSettled(clients.map((c) => c.close())).finally(() => process.exit(0));
      setTimeout(() => process.exit(0), 5000).unref();
    }
  });
}

main().catch((e: unknown) => {
  process.send?.({ error: (e as Error).message });
  process.stderr.write(`server-clients: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
