/**
 * Child of bench/server.ts: opens `count` authenticated secsh client connections to one server and
 * holds them idle. Started with `fork` (IPC); argv[2] is JSON { port, keyPath, count, concurrency }.
 * Messages out: { opened, seconds } once all are up (or { error }). Message in: 'close'.
 */
import { readFileSync } from 'node:fs';
import { Client } from '../src/client/client.js';
import { parsePrivateKey } from '../src/keys/index.js';

interface ClientsJob {
  port: number;
  keyPath: string;
  count: number;
  concurrency: number;
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (!raw || !process.send) throw new Error('usage: fork(server-clients.ts, [job json])');
  const job = JSON.parse(raw) as ClientsJob;
  const key = parsePrivateKey(readFileSync(job.keyPath));
  const clients: Client[] = [];
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
        readyTimeout: 60_000,
      });
      clients.push(c);
    }
  };
  await Promise.all(Array.from({ length: Math.min(job.concurrency, job.count) }, worker));
  process.send({ opened: clients.length, seconds: (performance.now() - start) / 1000 });
  process.on('message', (msg: unknown) => {
    if (msg !== 'close') return;
    Promise.allSettled(clients.map((c) => c.close())).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  });
}

main().catch((e: unknown) => {
  process.send?.({ error: (e as Error).message });
  process.stderr.write(`server-clients: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
