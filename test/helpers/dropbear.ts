/**
 * dropbear as a test peer: a private server (`dropbear -F -E`) on a free loopback port with its own
 * host keys (dropbearkey) and a login user that exists only in its mount namespace (password and
 * authorized_keys), and the client `dbclient` with keys converted by dropbearconvert.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  makeTestUser,
  type PeerOffer,
  type RunOptions,
  type RunResult,
  runPeer,
  startDaemon,
  startOnFreePort,
  type TestUser,
} from './native-peers.js';
import { makeUserKeys, type UserKeys } from './native-peers-server.js';
import { fingerprintOf } from './sshd.js';

const run = promisify(execFile);

export const DROPBEAR = '/usr/sbin/dropbear';
export const DBCLIENT = '/usr/bin/dbclient';
const DROPBEARKEY = '/usr/bin/dropbearkey';
const DROPBEARCONVERT = '/usr/bin/dropbearconvert';

/** A host key of the dropbear server. */
export interface DropbearHostKey {
  /** dropbearkey's type: ed25519, ecdsa, rsa. */
  type: string;
  publicLine: string;
  fingerprint: string;
}

export interface DropbearServer {
  port: number;
  dir: string;
  user: TestUser;
  /** ssh-keygen-made user keys, all in the user's authorized_keys. */
  userKeys: UserKeys;
  hostKeys: DropbearHostKey[];
  /** Its version line and KEXINIT. */
  offer: PeerOffer;
  logs(): string;
  stop(): Promise<void>;
}

/** Makes a dropbear host key of `type` at `path`; returns its public line and SHA256 fingerprint. */
async function dropbearHostKey(path: string, type: string): Promise<DropbearHostKey> {
  await run(DROPBEARKEY, ['-t', type, '-f', path]);
  const { stdout } = await run(DROPBEARKEY, ['-y', '-f', path]);
  const publicLine = stdout.split('\n').find((l) => /^(ssh-|ecdsa-)/.test(l));
  if (!publicLine) throw new Error(`no public key line from dropbearkey -y: ${stdout}`);
  await writeFile(`${path}.pub`, `${publicLine}\n`);
  return { type, publicLine, fingerprint: await fingerprintOf(`${path}.pub`) };
}

/** Starts dropbear; `extraArgs` are added to its command line. */
export async function startDropbear(extraArgs: readonly string[] = []): Promise<DropbearServer> {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-dropbear-'));
  try {
    const user = await makeTestUser(dir);
    const hostKeys = await Promise.all(
      ['ed25519', 'ecdsa', 'rsa'].map((t) => dropbearHostKey(join(dir, `host_${t}`), t)),
    );
    const keysDir = join(dir, 'keys');
    await mkdir(keysDir);
    const userKeys = await makeUserKeys(keysDir);
    await user.authorize([userKeys.ed25519.publicLine, userKeys.ecdsa.publicLine, userKeys.rsa.publicLine]);
    const daemon = await startOnFreePort(dir, (port) => {
      const args = [
        '-F',
        '-E',
        '-m',
        '-p',
        `127.0.0.1:${port}`,
        '-P',
        join(dir, 'dropbear.pid'),
        ...hostKeys.flatMap((k) => ['-r', join(dir, `host_${k.type}`)]),
        ...extraArgs,
      ];
      const [cmd, wrapped] = user.wrap(DROPBEAR, args);
      return startDaemon(cmd, wrapped);
    });
    return { ...daemon, dir, user, userKeys, hostKeys };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Converts an OpenSSH private key file to dropbear's format (`<path>.dropbear`); returns the new path. */
export async function toDropbearKey(openSshPath: string): Promise<string> {
  const out = `${openSshPath}.dropbear`;
  await run(DROPBEARCONVERT, ['openssh', 'dropbear', openSshPath, out]);
  return out;
}

/** Where and how dbclient logs in. */
export interface DbclientTarget {
  port: number;
  user: string;
  /** A dropbear-format identity (toDropbearKey); without it dbclient tries password auth. */
  identity?: string;
  /** Password, given through DROPBEAR_PASSWORD. */
  password?: string;
  /** A directory used as HOME (dbclient keeps ~/.ssh/known_hosts there). */
  home: string;
}

/** Runs `dbclient` against 127.0.0.1 with `extra` options and `command`; accepts the host key on first use (-y). */
export async function runDbclient(
  t: DbclientTarget,
  extra: readonly string[],
  command: string,
  opts: RunOptions = {},
): Promise<RunResult> {
  await mkdir(join(t.home, '.ssh'), { recursive: true });
  const args = [
    '-y',
    '-T',
    '-p',
    String(t.port),
    '-l',
    t.user,
    ...(t.identity ? ['-i', t.identity] : []),
    ...extra,
    '127.0.0.1',
    command,
  ];
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: t.home, ...opts.env };
  if (t.password !== undefined) env.DROPBEAR_PASSWORD = t.password;
  else delete env.DROPBEAR_PASSWORD;
  return runPeer(DBCLIENT, args, { ...opts, env });
}

/** The known_hosts file dbclient wrote under `home` (what it recorded on first use). */
export function dbclientKnownHosts(home: string): string {
  return join(home, '.ssh', 'known_hosts');
}
