/**
 * Compression survives key re-exchange with OpenSSH in both roles: each NEWKEYS starts a fresh zlib
 * context in its direction (RFC 4253 §6.2, and what OpenSSH's packet.c does), so a 1 MiB echo with a
 * re-key every 256 KiB arrives byte for byte under `zlib@openssh.com` and under `zlib`.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generatePrivateKey, parsePublicKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import { connectSshd, installTripwire, sharedSshd } from '../helpers/interop.js';
import { runSshRaw, sshArgs } from '../helpers/openssh.js';
import { requirePeer } from '../helpers/peers.js';
import { keygen } from '../helpers/sshd.js';

installTripwire();
const KiB = 1024;
const MiB = 1024 * KiB;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Text-like, compressible data with enough randomness that each re-key falls mid-stream. */
function payload(total: number): Buffer {
  const words = ['alpha ', 'beta ', 'gamma ', 'delta ', 'epsilon\n', randomBytes(8).toString('hex')];
  const parts: string[] = [];
  let n = 0;
  while (n < total) {
    const w = words[Math.floor(Math.random() * words.length)] as string;
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, total);
}

const shared = sharedSshd({ extraConfig: ['Compression yes', 'RekeyLimit 256K'], hostKeyTypes: ['ed25519'] });

// sshd offers only the delayed zlib@openssh.com (since 7.4); plain zlib is proven in the server role
// below, against ssh, which offers both.
for (const compression of ['zlib@openssh.com'] as const) {
  test(`secsh client → sshd: 1 MiB echo under ${compression}, re-key every 256 KiB from both sides`, async (t) => {
    if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
    const sshd = await shared.get();
    const client = await connectSshd(sshd, {
      algorithms: { compression: [compression] },
      rekeyLimit: { bytes: 256 * KiB },
    });
    try {
      assert.equal(client.algorithms.compression, compression);
      const data = payload(MiB);
      const r = await client.exec('cat', { stdin: data, encoding: 'buffer' });
      assert.equal(r.stdout.length, data.length);
      assert.equal(sha(r.stdout), sha(data));
      assert.equal((await client.exec('echo after')).stdout, 'after\n');
    } finally {
      await client.close();
    }
  });
}

let dir = '';
let keyReady: Promise<string> | undefined;
/** One ed25519 user key for the file, made by ssh-keygen on first use. */
function userKeyPath(): Promise<string> {
  keyReady ??= (async () => {
    dir = await mkdtemp(join(tmpdir(), 'secsh-zlib-rekey-'));
    const keyPath = join(dir, 'id_ed25519');
    await keygen(keyPath, ['-t', 'ed25519']);
    return keyPath;
  })();
  return keyReady;
}
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

for (const compression of ['zlib@openssh.com', 'zlib'] as const) {
  test(`ssh → secsh server: 1 MiB echo under ${compression}, re-key every 256 KiB from both sides`, async (t) => {
    if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
    const keyPath = await userKeyPath();
    const userKey = parsePublicKey(await readFile(`${keyPath}.pub`, 'utf8'));
    const server = new Server({
      hostKeys: [generatePrivateKey('ed25519')],
      authenticate: (ctx) => ctx.method === 'publickey' && ctx.key?.equals(userKey) === true,
      authMethods: ['publickey'],
      algorithms: { compression: [compression] },
      rekeyLimit: { bytes: 256 * KiB },
    });
    server.on('session', localProcessHandler());
    const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      const data = payload(MiB);
      // OpenSSH's client offers zlib@openssh.com,zlib with -C; the server's list decides.
      const r = await runSshRaw(sshArgs({ port, keyPath, logLevel: 'ERROR' }, ['-C', '-o', 'RekeyLimit=256K'], 'cat'), {
        input: data,
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.length, data.length);
      assert.equal(sha(r.stdout), sha(data));
    } finally {
      await server.close();
    }
  });
}
