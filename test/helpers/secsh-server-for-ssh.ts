/**
 * An in-process secsh server (publickey for one fresh ed25519 user key, local processes for sessions)
 * for OpenSSH's `ssh` to connect to with strict host key checking: the key file, a known_hosts line for
 * each server started, and `ssh -vv` runs. Started by `before`, stopped by `after`, once per test file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { AlgorithmOptions } from '../../src/crypto/algorithms.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import { type RunSshResult, runSsh, sshArgs } from './openssh.js';

export interface SecshServerForSsh {
  /** The first server's port (0 until `before` has run, or when `enabled()` was false). */
  readonly port: number;
  /** Starts another server with the same keys (and `algorithms`), trusted in known_hosts; returns its port. */
  another(algorithms: AlgorithmOptions): Promise<number>;
  /** `ssh -vv` (or `bin`) with `extra` options and `command` against `port` (default: the first server). */
  ssh(extra: string[], command: string, opts?: { bin?: string; port?: number }): Promise<RunSshResult<string>>;
}

/** The `kex: algorithm:` names in an `ssh -vv` log, one per key exchange. */
export function kexAlgorithms(stderr: string): string[] {
  return [...stderr.matchAll(/kex: algorithm: (\S+)/g)].map((m) => m[1] as string);
}

/** Registers before/after hooks for a secsh server; nothing starts when `enabled()` is false. */
export function secshServerForSsh(prefix: string, enabled: () => boolean): SecshServerForSsh {
  const userKey = generatePrivateKey('ed25519');
  const hostKey = generatePrivateKey('ed25519');
  const servers: Server[] = [];
  let dir = '';
  let keyPath = '';
  let knownHosts = '';
  let port = 0;

  const start = async (algorithms?: AlgorithmOptions): Promise<number> => {
    const server = new Server({
      hostKeys: [hostKey],
      ...(algorithms ? { algorithms } : {}),
      authMethods: ['publickey'],
      authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(userKey.publicKey),
    });
    server.on('session', localProcessHandler());
    servers.push(server);
    const p = (await server.listen({ port: 0, host: '127.0.0.1' })).port;
    await writeFile(knownHosts, `[127.0.0.1]:${p} ${hostKey.publicKey.toString()}\n`, { flag: 'a' });
    return p;
  };

  before(async () => {
    if (!enabled()) return;
    dir = await mkdtemp(join(tmpdir(), prefix));
    keyPath = join(dir, 'id_ed25519');
    knownHosts = join(dir, 'known_hosts');
    await writeFile(keyPath, userKey.toOpenSSH(), { mode: 0o600 });
    port = await start();
  });

  after(async () => {
    for (const s of servers) await s.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  return {
    get port() {
      return port;
    },
    another: (algorithms) => start(algorithms),
    ssh: (extra, command, opts = {}) =>
      runSsh(
        sshArgs({ port: opts.port ?? port, keyPath, knownHosts }, ['-vv', ...extra], command),
        opts.bin ? { bin: opts.bin } : {},
      ),
  };
}
