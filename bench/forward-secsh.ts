/**
 * Benchmark tunnel process for secsh: connects (job in argv[2], JSON), opens `forwardLocal` to the
 * given target and tells its parent the port; on 'cpu' it answers its CPU seconds so far, on 'stop'
 * it closes and answers its CPU and peak RSS. Run by bench/forward.ts.
 */
import { readFileSync } from 'node:fs';
import { Client } from '../src/index.js';
import { cpuSeconds } from './common.js';

interface TunnelJob {
  host: string;
  port: number;
  username: string;
  keyPath: string;
  hostKeyFingerprint: string;
  cipher: string;
  targetPort: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as TunnelJob;
const client = await Client.connect({
  host: job.host,
  port: job.port,
  username: job.username,
  privateKey: readFileSync(job.keyPath, 'utf8'),
  hostKeyFingerprint: job.hostKeyFingerprint,
  algorithms: { hostKey: ['ssh-ed25519'], cipher: [job.cipher] },
});
const fwd = await client.forwardLocal({ bindHost: '127.0.0.1', bindPort: 0, host: '127.0.0.1', port: job.targetPort });
const address = fwd.address as { port: number };
process.send?.({ port: address.port });
process.on('message', (m: unknown) => {
  if (m === 'cpu') process.send?.({ cpu: cpuSeconds() });
  if (m === 'stop') {
    void (async () => {
      await fwd.close({ endConnections: true });
      await client.close();
      process.send?.({ cpu: cpuSeconds(), maxRssKb: process.resourceUsage().maxRSS }, () => process.exit(0));
    })();
  }
});
