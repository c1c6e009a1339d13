/**
 * Child of bench/server.ts: one secsh server process that holds idle authenticated connections, or
 * serves concurrent exec sessions. Started with IPC and `--expose-gc`; argv[2] is the authorized
 * public key line, argv[3] (optional) JSON {@link ServerJob}.
 * Messages in: 'stats' (collects garbage, replies with memory figures), 'stop'.
 * Messages out: { port } once listening, then { stats } replies.
 *
 * Exec modes: 'process' runs each command as a local process (localProcessHandler, as `secsh server`
 * does); 'inline' answers in this process without spawning: it accepts the exec, reads stdin to its
 * EOF and exits with status 0 (what `cat >/dev/null` does), so 1,000 sessions cost no child processes.
 */

import { getHeapSpaceStatistics } from 'node:v8';
import { generatePrivateKey, parsePublicKey } from '../src/keys/index.js';
import { localProcessHandler } from '../src/server/local.js';
import { Server } from '../src/server/server.js';
import type { Session } from '../src/server/session.js';

/** What this server serves besides authentication. */
export interface ServerJob {
  /** How exec requests are served; none when absent. */
  exec?: 'process' | 'inline';
  /** Sessions allowed per connection (the server's default is 10, like sshd's MaxSessions). */
  maxSessions?: number;
}

/** Memory figures of this process, after a full collection. */
export interface IdleStats {
  connections: number;
  /** Session channels open (exec mode). */
  sessions: number;
  rssKb: number;
  heapUsedKb: number;
  externalKb: number;
  arrayBuffersKb: number;
  /**
   * Resident size of V8's young generation (new space): it grows with the allocation rate (up to
   * 2 × 16 MiB by default) and a full GC empties it without giving the pages back, so it is a
   * process-wide cost, not one of the connections held.
   */
  youngKb: number;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

/** VmRSS of this process in KiB (from /proc, like the parent reads it; falls back to memoryUsage). */
async function rssKb(): Promise<number> {
  try {
    const { readFile } = await import('node:fs/promises');
    const m = /VmRSS:\s+(\d+) kB/.exec(await readFile('/proc/self/status', 'utf8'));
    if (m?.[1]) return Number(m[1]);
  } catch {
    // not Linux
  }
  return Math.round(process.memoryUsage().rss / 1024);
}

/** Serves exec like `cat >/dev/null` without a process: stdin is read to EOF, then exit status 0. */
function inlineExec(session: Session): void {
  session.on('exec', (req) => {
    if (!req.accept()) return;
    const ch = session.channel;
    ch.on('end', () => session.exit(0));
    ch.resume();
  });
}

async function main(): Promise<void> {
  const line = process.argv[2];
  if (!line || !process.send) throw new Error('usage: fork(server-idle.ts, [publicKeyLine])');
  const job = JSON.parse(process.argv[3] ?? '{}') as ServerJob;
  const allowed = parsePublicKey(line);
  const server = new Server({
    ...(job.maxSessions ? { maxSessions: job.maxSessions, maxChannels: job.maxSessions + 8 } : {}),
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(allowed),
    authMethods: ['publickey'],
    maxUnauthenticated: 2000,
    authFailureDelay: 0,
  });
  let sessions = 0;
  server.on('session', (session: Session) => {
    sessions++;
    session.once('close', () => sessions--);
  });
  if (job.exec === 'process') server.on('session', localProcessHandler());
  if (job.exec === 'inline') server.on('session', inlineExec);
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  process.on('message', (msg: unknown) => {
    if (msg === 'stats') {
      collect();
      // Let finalizers and freed pages settle before reading RSS.
      setTimeout(async () => {
        collect();
        const mu = process.memoryUsage();
        const stats: IdleStats = {
          connections: server.connectionCount,
          sessions,
          rssKb: await rssKb(),
          heapUsedKb: Math.round(mu.heapUsed / 1024),
          externalKb: Math.round(mu.external / 1024),
          arrayBuffersKb: Math.round(mu.arrayBuffers / 1024),
          youngKb: Math.round(
            getHeapSpaceStatistics()
              .filter((sp) => sp.space_name === 'new_space' || sp.space_name === 'new_large_object_space')
              .reduce((a, sp) => a + sp.physical_space_size, 0) / 1024,
          ),
        };
        process.send?.({ stats });
      }, 200);
    } else if (msg === 'stop') {
      server.close().finally(() => process.exit(0));
      setTimeout(() => process.exit(0), 3000).unref();
    }
  });
  process.send({ port });
}

main().catch((e: unknown) => {
  process.stderr.write(`server-idle: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
