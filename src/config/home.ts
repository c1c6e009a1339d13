/**
 * The one rule for `~` in the client's paths: ssh_config (the file, Include, IdentityFile,
 * CertificateFile, IdentityAgent, UserKnownHostsFile, `%d`), the `config`, `knownHosts`, `agent` and
 * `privateKeyPath` options, and the default files (`~/.ssh/config`, `~/.ssh/known_hosts`).
 *
 * `~` is `$HOME` when it is set, else the home directory of the user database (what Node's
 * `os.homedir()` returns). OpenSSH's `ssh` uses the user database only and ignores `$HOME`; secsh
 * follows `$HOME` so that a temporary HOME (tests, CI, containers whose passwd home is `/` or
 * missing) moves every file at once, as it does for most programs.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The directory `~` stands for (see the module comment). `$HOME` is read here rather than left to
 * `os.homedir()`: Bun's reads it once at startup and misses a HOME set later by the program.
 */
export function homeDirectory(): string {
  return process.env.HOME || homedir();
}

/** `path` with a leading `~` or `~/` replaced by `home` (default {@link homeDirectory}); other paths as given. */
export function expandHome(path: string, home: string = homeDirectory()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}
