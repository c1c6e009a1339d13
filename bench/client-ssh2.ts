/** Benchmark client process for the ssh2 package: runs one job (argv[2], JSON), prints a BenchResult. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { Client, type ClientChannel } from 'ssh2';
import { readJob, report, writeZeros } from './common.js';

const AEAD = new Set(['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com']);
const job = readJob();
const privateKey = readFileSync(job.keyPath);

function connect(): Promise<Client> {
  return new Promise((resolve, reject) => {
    const sock = netConnect(job.port, job.host);
    sock.setNoDelay(true);
    const c = new Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({
      sock,
      username: job.username,
      privateKey,
      hostVerifier: (key: Buffer) =>
        `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}` === job.hostKeyFingerprint,
      algorithms: {
        serverHostKey: ['ssh-ed25519'],
        cipher: [job.cipher] as never,
        ...(AEAD.has(job.cipher) ? {} : { hmac: [job.mac] as never }),
        ...(job.kex ? { kex: [job.kex] as never } : {}),
      },
    });
  });
}

function exec(c: Client, cmd: string, env?: Record<string, string>): Promise<ClientChannel> {
  return new Promise((resolve, reject) =>
    c.exec(cmd, env ? { env } : {}, (err, ch) => (err ? reject(err) : resolve(ch))),
  );
}

function closed(ch: ClientChannel): Promise<void> {
  return new Promise((r) => ch.once('close', () => r()));
}

function end(c: Client): Promise<void> {
  return new Promise((r) => {
    c.once('close', () => r());
    c.end();
  });
}

/** See bench/common.ts: keeps the remote bash from reading the user's ~/.bashrc. */
const LATENCY_ENV = { SHLVL: '1' };

await report(async () => {
  const t0 = performance.now();
  if (job.mode === 'latency') {
    const samples: number[] = [];
    for (let i = 0; i < job.iterations; i++) {
      const s = performance.now();
      const c = await connect();
      const ch = await exec(c, 'true', LATENCY_ENV);
      ch.resume();
      await closed(ch);
      await end(c);
      samples.push(performance.now() - s);
    }
    return { bytes: 0, seconds: (performance.now() - t0) / 1000, samples };
  }
  if (job.mode === 'execs') {
    const samples: number[] = [];
    const later: number[] = [];
    const run = async (c: Client) => {
      const ch = await exec(c, 'true', LATENCY_ENV);
      ch.resume();
      await closed(ch);
    };
    for (let i = 0; i < job.iterations; i++) {
      const c = await connect();
      const s = performance.now();
      await run(c);
      const m = performance.now();
      await run(c);
      samples.push(m - s);
      later.push(performance.now() - m);
      await end(c);
    }
    return { bytes: 0, seconds: (performance.now() - t0) / 1000, samples, later };
  }
  const c = await connect();
  let bytes = 0;
  if (job.mode === 'download') {
    const ch = await exec(c, `head -c ${job.bytes} /dev/zero`);
    ch.on('data', (d: Buffer) => {
      bytes += d.length;
    });
    ch.stderr.resume();
    await closed(ch);
  } else {
    const ch = await exec(c, 'cat > /dev/null');
    ch.resume();
    ch.stderr.resume();
    const done = closed(ch);
    await writeZeros(ch, job.bytes);
    await done;
    bytes = job.bytes;
  }
  await end(c);
  return { bytes, seconds: (performance.now() - t0) / 1000 };
});
