/**
 * OpenSSH's SFTP on either side of a secsh one: the `sftp` binary (a guard for it, a batch runner,
 * and a secsh server it can log in to with a key), and a secsh SFTP session to internal-sftp behind
 * a private sshd.
 */
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Client } from '../../src/client/client.js';
import type { PublicKey } from '../../src/keys/index.js';
import { generatePrivateKey, parsePrivateKey, parsePublicKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';
import type { SftpBackend } from '../../src/sftp/backend.js';
import type { SftpClient } from '../../src/sftp/index.js';
import { sftpSubsystemHandler } from '../../src/sftp/server.js';
import { type RunSshResult, runSsh, sftpArgs } from './openssh.js';
import { requirePeer } from './peers.js';
import { keygen, type Sshd, startSshd } from './sshd.js';

/** OpenSSH's sftp client. */
export const SFTP = '/usr/bin/sftp';

/** True when OpenSSH's `sftp` is installed. */
export function hasSftp(): boolean {
  try {
    accessSync(SFTP, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Guards a test that runs OpenSSH's `sftp` (with `ssh` and `ssh-keygen`): true when all are there;
 * otherwise skips loudly, or throws when `CI=true` (as `requirePeer`).
 */
export function requireSftp(t: TestContext): boolean {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return false;
  if (hasSftp()) return true;
  if (process.env.CI === 'true') throw new Error('OpenSSH sftp missing — required when CI=true');
  console.warn(`\n${'!'.repeat(72)}\n!! SKIPPING "${t.name}": OpenSSH sftp missing\n${'!'.repeat(72)}\n`);
  t.skip('sftp missing');
  return false;
}

/** Makes an ed25519 user key with ssh-keygen at `<dir>/id_ed25519`; returns its path and public key. */
export async function sftpUserKey(dir: string): Promise<{ keyPath: string; userKey: PublicKey }> {
  const keyPath = join(dir, 'id_ed25519');
  await keygen(keyPath, ['-t', 'ed25519']);
  return { keyPath, userKey: parsePublicKey(await readFile(`${keyPath}.pub`, 'utf8')) };
}

/**
 * A secsh Server on a free 127.0.0.1 port (fresh ed25519 host key) that lets in only `userKey`, by
 * publickey, and serves SFTP from `backend`.
 */
export async function listenSftpForKey(
  backend: SftpBackend,
  userKey: PublicKey,
): Promise<{ server: Server; port: number }> {
  const server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(userKey),
    authMethods: ['publickey'],
  });
  server.on('session', sftpSubsystemHandler(backend));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, port };
}

/** Runs `sftp -b -` (LogLevel ERROR, key `keyPath`, plus `extra`) against 127.0.0.1:`port` with `lines` on stdin. */
export function sftpBatch(
  port: number,
  keyPath: string,
  lines: string[],
  extra: string[] = [],
): Promise<RunSshResult<string>> {
  return runSsh(sftpArgs({ port, keyPath, logLevel: 'ERROR' }, extra), {
    bin: SFTP,
    input: `${lines.join('\n')}\n`,
  });
}

/** A secsh SFTP session to internal-sftp in a private sshd, and a scratch directory. */
export interface SshdSftp {
  sshd: Sshd;
  client: Client;
  sftp: SftpClient;
  /** A new temporary directory (removed by `close`). */
  dir: string;
  /** Ends the session, closes the client, stops sshd and removes `dir`. */
  close(): Promise<void>;
}

/**
 * Starts a private sshd (ed25519 host key; the helper's config runs internal-sftp), makes a
 * temporary directory named from `prefix`, and opens a secsh SFTP session to the sshd with its
 * ed25519 user key (any host key accepted). Needs the `sshd` and `ssh-keygen` peers.
 */
export async function openSshdSftp(prefix: string): Promise<SshdSftp> {
  const sshd = await startSshd({ hostKeyTypes: ['ed25519'] });
  let dir = '';
  let client: Client | undefined;
  let sftp: SftpClient | undefined;
  const close = async () => {
    sftp?.end();
    client?.close();
    await sshd.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  };
  try {
    dir = await mkdtemp(join(tmpdir(), prefix));
    client = await Client.connect({
      host: '127.0.0.1',
      port: sshd.port,
      username: sshd.username,
      privateKey: parsePrivateKey(await readFile(sshd.userKeys.ed25519.privatePath)),
      insecureAcceptAnyHostKey: true,
    });
    sftp = await client.sftp();
  } catch (e) {
    await close();
    throw e;
  }
  return { sshd, client, sftp, dir, close };
}
