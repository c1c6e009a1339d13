/**
 * OpenSSH 9.2 (Debian's) and OpenSSH 10 (trixie's, from scripts/fetch-openssh10.sh) for the native
 * peers matrix: an sshd of either version with every algorithm its build has enabled, password
 * authentication for a namespace-only user (see makeTestUser) besides keys, and an optional RekeyLimit;
 * and `ssh` of either version run by key or by password (SSH_ASKPASS, forced).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
import { strictHostCheck } from './openssh.js';
import { binPath, openssh10Path } from './peers.js';
import { type HostKeyInfo, keygen } from './sshd.js';

const run = promisify(execFile);

export type OpenSshVersion = '9' | '10';

/** The `ssh` of a version. */
export function sshBin(v: OpenSshVersion): string {
  return v === '10' ? openssh10Path() : binPath('ssh');
}

function sshdBins(v: OpenSshVersion): { sshd: string; extra: string[] } {
  if (v === '9') return { sshd: binPath('sshd'), extra: [] };
  const dir = dirname(openssh10Path());
  return {
    sshd: join(dir, 'sshd'),
    extra: [`SshdSessionPath ${join(dir, 'sshd-session')}`, `SshdAuthPath ${join(dir, 'sshd-auth')}`],
  };
}

async function query(v: OpenSshVersion, what: string): Promise<string[]> {
  const { stdout } = await run(sshBin(v), ['-Q', what]);
  return stdout.split('\n').filter((l) => l.length > 0);
}

export interface OpenSshd {
  version: OpenSshVersion;
  port: number;
  dir: string;
  user: TestUser;
  userKeys: UserKeys;
  hostKeys: HostKeyInfo[];
  offer: PeerOffer;
  logs(): string;
  stop(): Promise<void>;
}

const HOST_KEYS: [string, string[]][] = [
  ['ed25519', ['-t', 'ed25519']],
  ['ecdsa256', ['-t', 'ecdsa', '-b', '256']],
  ['ecdsa384', ['-t', 'ecdsa', '-b', '384']],
  ['ecdsa521', ['-t', 'ecdsa', '-b', '521']],
  ['rsa', ['-t', 'rsa', '-b', '2048']],
];

/** Starts an sshd of version `v`; `extraConfig` lines come first (sshd keeps the first value). */
export async function startOpenSshd(v: OpenSshVersion, extraConfig: readonly string[] = []): Promise<OpenSshd> {
  const dir = await mkdtemp(join(tmpdir(), `secsh-sshd${v}-`));
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  try {
    const user = await makeTestUser(dir);
    const hostKeys: HostKeyInfo[] = [];
    for (const [type, args] of HOST_KEYS) {
      const k = await keygen(join(dir, `host_${type}`), args, `host-${type}`);
      hostKeys.push({ type, publicKeyLine: k.publicLine, fingerprint: k.fingerprint, privatePath: k.privatePath });
    }
    const keysDir = join(dir, 'keys');
    await mkdir(keysDir);
    const userKeys = await makeUserKeys(keysDir);
    const authorized = join(dir, 'authorized_keys');
    await writeFile(
      authorized,
      `${[userKeys.ed25519, userKeys.ecdsa, userKeys.rsa].map((k) => k.publicLine).join('\n')}\n`,
    );
    await chmod(authorized, 0o600);
    const [kex, cipher, mac, key] = await Promise.all(['kex', 'cipher', 'mac', 'key-sig'].map((w) => query(v, w)));
    const bins = sshdBins(v);
    const daemon = await startOnFreePort(dir, async (port) => {
      const config = [
        ...extraConfig,
        ...bins.extra,
        'ListenAddress 127.0.0.1',
        ...hostKeys.map((k) => `HostKey ${k.privatePath}`),
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${authorized}`,
        'StrictModes no',
        'UsePAM no',
        'PermitRootLogin yes',
        'PasswordAuthentication yes',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        'UseDNS no',
        'PrintMotd no',
        'PrintLastLog no',
        'LogLevel VERBOSE',
        'MaxStartups 100:30:200',
        'MaxAuthTries 20',
        'Compression yes',
        'Subsystem sftp internal-sftp',
        `KexAlgorithms ${(kex ?? []).join(',')}`,
        `Ciphers ${(cipher ?? []).join(',')}`,
        `MACs ${(mac ?? []).join(',')}`,
        `HostKeyAlgorithms ${(key ?? []).join(',')}`,
        `PubkeyAcceptedAlgorithms ${(key ?? []).join(',')}`,
        '',
      ].join('\n');
      const configPath = join(dir, 'sshd_config');
      await writeFile(configPath, config);
      const [cmd, args] = user.wrap(bins.sshd, ['-D', '-e', '-f', configPath, '-p', String(port)]);
      return startDaemon(cmd, args);
    });
    return { ...daemon, version: v, dir, user, userKeys, hostKeys };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Where and how `ssh` logs in to a server on 127.0.0.1. */
export interface SshClientTarget {
  port: number;
  user: string;
  /** A known_hosts file with the server's keys (checked strictly). */
  knownHosts: string;
  /** A private key file; without it, `password` through SSH_ASKPASS. */
  identity?: string;
  password?: string;
  /** Directory for the askpass script. */
  dir: string;
}

/** Runs `ssh` of version `v` with `extra` options (e.g. `-C`, `-o RekeyLimit=256K`) and `command`. */
export async function runSshClient(
  v: OpenSshVersion,
  t: SshClientTarget,
  extra: readonly string[],
  command: string,
  opts: RunOptions = {},
): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  const args = [
    ...strictHostCheck(t.knownHosts),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'LogLevel=ERROR',
    '-p',
    String(t.port),
    '-l',
    t.user,
  ];
  if (t.identity) {
    args.push('-o', 'BatchMode=yes', '-o', 'PasswordAuthentication=no', '-i', t.identity);
  } else {
    const askpass = join(t.dir, 'askpass.sh');
    await writeFile(askpass, `#!/bin/sh\nprintf '%s\\n' "$SECSH_TEST_PASSWORD"\n`, { mode: 0o700 });
    args.push(
      '-o',
      'PubkeyAuthentication=no',
      '-o',
      'PreferredAuthentications=password',
      '-o',
      'NumberOfPasswordPrompts=1',
    );
    Object.assign(env, {
      SSH_ASKPASS: askpass,
      SSH_ASKPASS_REQUIRE: 'force',
      DISPLAY: env.DISPLAY ?? ':0',
      SECSH_TEST_PASSWORD: t.password ?? '',
    });
  }
  return runPeer(sshBin(v), [...args, ...extra, '127.0.0.1', command], { ...opts, env });
}
