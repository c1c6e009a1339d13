/**
 * Runs a program with some paths replaced by the test's own files, in a private mount namespace
 * (`unshare --mount --propagation private`, then `mount --bind`): for peers that read compiled-in
 * paths (sshd's shosts.equiv, ssh_known_hosts and the user's ~/.shosts; ssh-keysign's ssh_config
 * and host keys). The real /etc and home are never written: the binds exist only for that process
 * tree and vanish with it. Needs root (CI runs as root).
 */
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

const UNSHARE = '/usr/bin/unshare';

/** Binds each `[source, target]` (target must exist), then execs `cmd args` — all inside `/bin/sh -c`. */
const SCRIPT = 'set -e; while [ "$1" != "--" ]; do mount --bind "$1" "$2"; shift 2; done; shift; exec "$@"';

/** The argv that runs `cmd args` with `binds` in place, for spawn. */
export function withPrivateMounts(
  binds: readonly (readonly [string, string])[],
  cmd: string,
  args: readonly string[],
): { cmd: string; args: string[] } {
  return {
    cmd: UNSHARE,
    args: [
      '--mount',
      '--propagation',
      'private',
      '--',
      '/bin/sh',
      '-c',
      SCRIPT,
      'sh',
      ...binds.flat(),
      '--',
      cmd,
      ...args,
    ],
  };
}

/** A shell script that runs `cmd` (with the script's own arguments) with `binds` in place: for programs run by path. */
export function privateMountsScript(binds: readonly (readonly [string, string])[], cmd: string): string {
  const run = withPrivateMounts(binds, cmd, []);
  const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
  return `#!/bin/sh\nexec ${[run.cmd, ...run.args].map(quote).join(' ')} "$@"\n`;
}

let usable: string | undefined | null = null;

/** Why private mounts cannot be used here, or undefined when they can (root, and unshare + mount work). */
export function privateMountsUnavailable(): string | undefined {
  if (usable !== null) return usable;
  if (process.getuid?.() !== 0) {
    usable = 'needs root (mount --bind in a private mount namespace)';
  } else {
    const probe = withPrivateMounts([['/etc/hostname', '/etc/hostname']], '/bin/true', []);
    const r = spawnSync(probe.cmd, probe.args, { encoding: 'utf8', timeout: 20_000 });
    usable = r.status === 0 ? undefined : `unshare --mount failed: ${(r.stderr || String(r.error)).trim()}`;
  }
  return usable;
}

/**
 * Guards a test that needs private mounts: true when usable; otherwise a loud skip, or a failure
 * when CI=true (CI runs as root, where they must work).
 */
export function requirePrivateMounts(t: TestContext): boolean {
  const why = privateMountsUnavailable();
  if (why === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`private mount namespace required when CI=true: ${why}`);
  const bar = '!'.repeat(72);
  console.warn(`\n${bar}\n!! SKIPPING "${t.name}": ${why}\n${bar}\n`);
  t.skip(why);
  return false;
}
