/**
 * Which external peers (OpenSSH binaries, Python SSH libraries) this machine has, and a test guard
 * that skips loudly when one is missing — or fails, when `CI=true`.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

/** Names of the peers the interop suite knows about. */
export type PeerName =
  | 'sshd'
  | 'ssh'
  | 'ssh-keygen'
  | 'ssh-agent'
  | 'ssh-add'
  | 'asyncssh'
  | 'paramiko'
  | 'twisted'
  | 'openssh10-ssh'
  | 'openssh10-sshd'
  | 'dropbear'
  | 'dbclient'
  | 'plink'
  | 'psftp'
  | 'pscp'
  | 'libssh'
  | 'tinysshd';

/** The Python that has asyncssh, paramiko and Twisted Conch (Debian's, not a pyenv one). */
export const PYTHON = '/usr/bin/python3';

const BINARIES: Record<string, string[]> = {
  sshd: ['/usr/sbin/sshd'],
  ssh: ['/usr/bin/ssh'],
  'ssh-keygen': ['/usr/bin/ssh-keygen'],
  'ssh-agent': ['/usr/bin/ssh-agent'],
  'ssh-add': ['/usr/bin/ssh-add'],
  // native peers: every binary the helper needs must be present
  dropbear: ['/usr/sbin/dropbear'],
  dbclient: ['/usr/bin/dbclient'],
  plink: ['/usr/bin/plink'],
  psftp: ['/usr/bin/psftp'],
  pscp: ['/usr/bin/pscp'],
  tinysshd: ['/usr/sbin/tinysshd'],
};

/** Further binaries a peer needs besides its own (all must be executable). */
const ALSO_NEEDS: Record<string, string[]> = {
  dropbear: ['/usr/bin/dropbearkey', '/usr/bin/dropbearconvert'],
  dbclient: ['/usr/bin/dropbearconvert'],
  plink: ['/usr/bin/puttygen'],
  psftp: ['/usr/bin/puttygen'],
  pscp: ['/usr/bin/puttygen'],
  tinysshd: ['/usr/sbin/tinysshd-makekey'],
};

/**
 * OpenSSH 10's `ssh` (for mlkem768x25519-sha256): `$SECSH_OPENSSH10`, else the wrapper that
 * `scripts/fetch-openssh10.sh` writes into `.peers/openssh10/` of this checkout.
 */
export function openssh10Path(): string {
  const fromEnv = process.env.SECSH_OPENSSH10;
  if (fromEnv) return resolve(fromEnv);
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.peers', 'openssh10', 'ssh');
}

const cache = new Map<PeerName, boolean>();

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of an OpenSSH binary (e.g. `binPath('sshd')` → `/usr/sbin/sshd`). */
export function binPath(name: 'sshd' | 'ssh' | 'ssh-keygen' | 'ssh-agent' | 'ssh-add'): string {
  const paths = BINARIES[name] ?? [];
  return paths.find(executable) ?? paths[0] ?? name;
}

/**
 * True when the peer is installed and usable. Cached per process. `SECSH_HIDE_PEERS=sshd,asyncssh`
 * pretends the listed peers are missing (to exercise the skip path).
 */
export function hasPeer(name: PeerName): boolean {
  if ((process.env.SECSH_HIDE_PEERS ?? '').split(',').includes(name)) return false;
  const known = cache.get(name);
  if (known !== undefined) return known;
  let ok: boolean;
  if (name === 'asyncssh' || name === 'paramiko' || name === 'twisted') {
    const mod = name === 'twisted' ? 'twisted.conch.ssh.transport' : name;
    ok =
      executable(PYTHON) &&
      spawnSync(PYTHON, ['-W', 'ignore', '-c', `import ${mod}`], { stdio: 'ignore', timeout: 20_000 }).status === 0;
  } else if (name === 'openssh10-ssh' || name === 'openssh10-sshd') {
    const path = name === 'openssh10-ssh' ? openssh10Path() : join(dirname(openssh10Path()), 'sshd');
    ok =
      executable(path) &&
      /^OpenSSH_10/.test(spawnSync(path, ['-V'], { encoding: 'utf8', timeout: 20_000 }).stderr ?? '');
  } else if (name === 'libssh') {
    // the helper builds its C peers with gcc against libssh-dev
    ok =
      executable('/usr/bin/gcc') &&
      spawnSync('pkg-config', ['--exists', 'libssh'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
  } else {
    ok = (BINARIES[name] ?? []).some(executable) && (ALSO_NEEDS[name] ?? []).every(executable);
  }
  cache.set(name, ok);
  return ok;
}

/**
 * Guards a test that needs `names`. Returns true when all are present. When one is missing it
 * prints a loud banner and skips the test — unless `CI=true`, where a missing peer fails the test.
 * Usage: `if (!requirePeer(t, 'sshd')) return;`
 */
export function requirePeer(t: TestContext, ...names: PeerName[]): boolean {
  const missing = names.filter((n) => !hasPeer(n));
  if (missing.length === 0) return true;
  const msg = `interop peer(s) missing: ${missing.join(', ')}`;
  if (process.env.CI === 'true') {
    throw new Error(
      `${msg} — required when CI=true (install openssh-server openssh-client python3-asyncssh python3-paramiko python3-twisted ` +
        'dropbear-bin putty-tools libssh-dev gcc pkg-config tinysshd; ' +
        'run scripts/fetch-openssh10.sh for openssh10-ssh and openssh10-sshd)',
    );
  }
  const bar = '!'.repeat(72);
  console.warn(`\n${bar}\n!! SKIPPING "${t.name}": ${msg}\n${bar}\n`);
  t.skip(msg);
  return false;
}
