/**
 * `npm run demo`: an embedded secsh server on a free loopback port with fresh in-memory keys, the
 * secsh client connecting to it with the host key pinned, a command, and 100 MiB through a channel.
 * Leaves nothing behind.
 */

import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecRequest, Session } from '../src/index.js';
import {
  Client,
  generatePrivateKey,
  LocalFsBackend,
  runLocalProcess,
  Server,
  sftpSubsystemHandler,
} from '../src/index.js';

const STREAM_BYTES = 100 * 1024 * 1024;
const STREAM_COMMAND = 'secsh-demo-stream';

/** Writes `total` bytes to the session's channel, honouring backpressure. */
async function stream(session: Session, total: number): Promise<void> {
  const ch = session.channel;
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  let sent = 0;
  while (sent < total && !ch.destroyed) {
    const n = Math.min(chunk.length, total - sent);
    sent += n;
    if (!ch.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
      await new Promise<void>((resolve) => {
        const done = () => {
          ch.off('drain', done);
          ch.off('close', done);
          resolve();
        };
        ch.on('drain', done);
        ch.on('close', done);
      });
    }
  }
  session.exit(0);
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const hostKey = generatePrivateKey('ed25519');
  const userKey = generatePrivateKey('ed25519');

  const server = new Server({
    hostKeys: [hostKey],
    // Only the demo's own key, and only once it has signed, gets in.
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(userKey.publicKey),
    authMethods: ['publickey'],
  });
  server.on('session', (session: Session) => {
    session.on('exec', (req: ExecRequest) => {
      req.accept();
      if (req.command === STREAM_COMMAND) void stream(session, STREAM_BYTES);
      else runLocalProcess(session, req.command);
    });
  });
  // SFTP, confined to a fresh temporary directory that is removed at the end.
  const root = await mkdtemp(join(tmpdir(), 'secsh-demo-'));
  server.on('session', sftpSubsystemHandler(new LocalFsBackend(root)));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const fingerprint = hostKey.publicKey.fingerprint();
  console.log(`server   listening on 127.0.0.1:${port}`);
  console.log(`host key ${hostKey.publicKey.type} ${fingerprint}`);

  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'demo',
    privateKey: userKey,
    hostKeyFingerprint: fingerprint,
  });
  const a = client.algorithms;
  console.log(`client   connected and authenticated in ${(performance.now() - t0).toFixed(0)} ms`);
  console.log(
    `         kex ${a.kex}, host key ${a.hostKey}, cipher ${a.cipher}${a.mac ? `, mac ${a.mac}` : ''}, compression ${a.compression}`,
  );

  const cmd = process.platform === 'win32' ? 'ver' : 'uname -a';
  const r = await client.exec(cmd);
  console.log(`$ ${cmd}`);
  process.stdout.write(r.stdout);
  if (r.stderr) process.stdout.write(r.stderr);
  console.log(`(exit ${r.code})`);

  const proc = await client.spawn(STREAM_COMMAND);
  proc.stdin.end();
  let received = 0;
  const start = performance.now();
  proc.stdout.on('data', (c: Buffer) => {
    received += c.length;
  });
  proc.stderr.resume();
  const exit = await proc.exit;
  const secs = (performance.now() - start) / 1000;
  if (received !== STREAM_BYTES || exit.code !== 0) {
    throw new Error(`stream: received ${received} of ${STREAM_BYTES} bytes, exit ${exit.code}`);
  }
  console.log(
    `streamed ${STREAM_BYTES / 1024 / 1024} MiB server→client in ${secs.toFixed(2)} s: ${(STREAM_BYTES / 1e6 / secs).toFixed(1)} MB/s`,
  );

  const sftp = await client.sftp();
  const local = join(root, 'local-original.bin');
  const back = join(root, 'local-copy.bin');
  const data = randomBytes(8 * 1024 * 1024);
  await writeFile(local, data);
  const s0 = performance.now();
  await sftp.upload(local, '/uploaded.bin');
  const s1 = performance.now();
  await sftp.download('/uploaded.bin', back);
  const s2 = performance.now();
  const same =
    createHash('sha256')
      .update(await readFile(back))
      .digest('hex') === createHash('sha256').update(data).digest('hex');
  if (!same) throw new Error('sftp: the downloaded file differs from the uploaded one');
  console.log(
    `sftp     uploaded 8 MiB in ${(s1 - s0).toFixed(0)} ms, downloaded it in ${(s2 - s1).toFixed(0)} ms, sha256 identical`,
  );
  sftp.end();

  await client.close();
  await server.close();
  await rm(root, { recursive: true, force: true });
  console.log('done');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`demo failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
