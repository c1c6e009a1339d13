/**
 * The state of one `secsh sftp` session (the SFTP client, the remote working directory, the
 * progress toggle, output streams, the current command's interruption) and the message helpers
 * shared by its commands.
 */
import type { Writable } from 'node:stream';
import type { SftpClient } from '../sftp/index.js';
import type { SftpOptions } from './sftp-options.js';

/** A command failed; the message is printed as is on stderr. */
export class SftpCommandError extends Error {}

const FX_TEXT = [
  'No error',
  'End of file',
  'No such file or directory',
  'Permission denied',
  'Failure',
  'Bad message',
  'No connection',
  'Connection lost',
  'Operation unsupported',
];

/** OpenSSH's fx2txt for an SftpError (its status), else the error's own message. */
export function fxText(e: unknown): string {
  const status = (e as { status?: unknown }).status;
  if (typeof status === 'number') return FX_TEXT[status] ?? 'Unknown status';
  return (e as Error).message ?? String(e);
}

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EEXIST: 'File exists',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  EPERM: 'Operation not permitted',
  ENOTEMPTY: 'Directory not empty',
  ELOOP: 'Too many levels of symbolic links',
  EINVAL: 'Invalid argument',
  EBUSY: 'Device or resource busy',
  EMFILE: 'Too many open files',
  ENAMETOOLONG: 'File name too long',
};

/** strerror(errno) for a Node fs error. */
export function localErrText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return (code && STRERROR[code]) || ((e as Error).message ?? String(e));
}

/** make_absolute: `p` relative to `pwd` unless it starts with '/'. */
export function remoteAbsolute(p: string, pwd: string): string {
  if (p.startsWith('/')) return p;
  if (p === '' || p === '.') return pwd;
  return pwd.endsWith('/') ? pwd + p : `${pwd}/${p}`;
}

/** One session's state. */
export class SftpSession {
  /** The remote working directory (absolute). */
  pwd: string;
  /** Where the session started (for `cd` without an operand). */
  readonly home: string;
  showProgress: boolean;
  readonly quiet: boolean;
  private controller = new AbortController();
  /** Names from users-groups-by-id, by id (undefined: not asked yet). */
  readonly userNames = new Map<number, string>();
  readonly groupNames = new Map<number, string>();

  constructor(
    readonly sftp: SftpClient,
    readonly opts: SftpOptions,
    home: string,
    readonly out: Writable = process.stdout,
    readonly errStream: Writable = process.stderr,
  ) {
    this.pwd = home;
    this.home = home;
    this.quiet = opts.quiet;
    this.showProgress = !opts.quiet;
  }

  /** Output on stdout. */
  print(s: string): void {
    this.out.write(s);
  }

  /** A message on stderr. */
  err(s: string): void {
    this.errStream.write(s);
  }

  /** The signal of the command running now (aborted by Ctrl-C). */
  signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True when the running command was interrupted. */
  aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** Interrupts the running command. */
  interrupt(): void {
    this.controller.abort();
  }

  /** A fresh signal for the next command. */
  nextCommand(): void {
    if (this.controller.signal.aborted) this.controller = new AbortController();
  }
}
