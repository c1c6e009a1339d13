/** Benchmark client process for secsh: runs one job (argv[2], JSON) and prints a BenchResult. */
import { readFileSync } from 'node:fs';
import { Client } from '../src/index.js';
import { readJob, report, writeZeros } from './common.js';

const AEAD = new Set(['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com']);
const job = readJob();
const privateKey = readFileSync(job.keyPath, 'utf8');

function connect(): Promise<Client> {
  return Client.connect({
    host: job.host,
    port: job.port,
    username: job.username,
    privateKey,
    hostKeyFingerprint: job.hostKeyFingerprint,
    algorithms: {
      hostKey: ['ssh-ed25519'],
      cipher: [job.cipher],
      ...(AEAD.has(job.cipher) ? {} : { mac: [job.mac] }),
      ...(job.kex ? { kex: [job.kex] } : {}),
    },
  });
}

await report(async () => {
  const t0 = performance.now();
  if (job.mode === 'latency') {
    const samples: number[] = [];
    for (let i = 0; i < job.iterations; i++) {
      const s = performance.now();
      const c = await connect();
      await c.exec('true', { env: { SHLVL: '1' } }); // see bench/common.ts
      await c.close();
      samples.push(performance.now() - s);
    }
    return { bytes: 0, seconds: (performance.now() - t0) / 1000, samples };
  }
  if (job.mode === 'execs') {
    const samples: number[] = [];
    const later: number[] = [];
    for (let i = 0; i < job.iterations; i++) {
      const c = await connect();
      const s = performance.now();
      await c.exec('true', { env: { SHLVL: '1' } });
      const m = performance.now();
      await c.exec('true', { env: { SHLVL: '1' } });
      samples.push(m - s);
      later.push(performance.now() - m);
      await c.close();
    }
    return { bytes: 0, seconds: (performance.now() - t0) / 1000, samples, later };
  }
  const c = await connect();
  let bytes = 0;
  if (job.mode === 'download') {
    const p = await c.spawn(`head -c ${job.bytes} /dev/zero`);
    const ended = new Promise<void>((r) => p.stdout.once('end', () => r()));
    p.stdout.on('data', (d: Buffer) => {
      bytes += d.length;
    });
    p.stderr.resume();
    // exit can resolve before the last stdout chunk is read: wait for both
    await Promise.all([p.exit, ended]);
  } else {
    const p = await c.spawn('cat > /dev/null');
    p.stdout.resume();
    p.stderr.resume();
    await writeZeros(p.stdin, job.bytes);
    await p.exit;
    bytes = job.bytes;
  }
  await c.close();
  return { bytes, seconds: (performance.now() - t0) / 1000 };
});
