/**
 * The client side of the legacy scp protocol: runs `scp -t` or `scp -f` on the server through an
 * exec channel and plays the other role against a local file system, as `scp -O` does.
 */
import type { Duplex, Readable } from 'node:stream';
import type { ScpFs } from './fs.js';
import { localScpFs } from './fs.js';
import { ScpError } from './protocol.js';
import type { ScpSinkOptions } from './sink.js';
import { scpSink } from './sink.js';
import type { ScpResult, ScpSourceOptions } from './source.js';
import { scpSource } from './source.js';

/** A remote `scp` as {@link scpRemoteCommand} builds it. */
export interface ScpRemoteCommandOptions {
  /** 'to': the server receives (`-t`); 'from': the server sends (`-f`). */
  direction: 'to' | 'from';
  /** The remote paths: one target for 'to', one or more sources for 'from'. Sent as given (the remote shell expands them, as with scp). */
  paths: readonly string[];
  /** `-r`. */
  recursive?: boolean;
  /** `-p`. */
  preserve?: boolean;
  /** `-d`: the target must be a directory (several sources). */
  targetIsDirectory?: boolean;
  /** `-v`. */
  verbose?: boolean;
}

/** The command line OpenSSH's scp runs on the server: `scp [-v] [-r] [-p] [-d] -t|-f [--] path…`. */
export function scpRemoteCommand(o: ScpRemoteCommandOptions): string {
  let cmd = 'scp';
  if (o.verbose) cmd += ' -v';
  if (o.recursive) cmd += ' -r';
  if (o.preserve) cmd += ' -p';
  if (o.targetIsDirectory && o.direction === 'to') cmd += ' -d';
  cmd += o.direction === 'to' ? ' -t' : ' -f';
  if (o.paths.some((p) => p.startsWith('-'))) cmd += ' --';
  return `${cmd} ${o.paths.join(' ')}`;
}

/** What the scp client needs of a connection: a `Client` has it (`spawn`). */
export interface ScpExecTarget {
  /** Starts `command` on the server. */
  spawn(command: string): Promise<{
    /** The channel (stdin and stdout of the command). */
    channel: Duplex;
    /** The command's stderr. */
    stderr: Readable;
    /** The command's exit status. */
    exit: Promise<{
      /** Exit status, or null. */
      code: number | null;
      /** Signal name without `SIG`, or null. */
      signal: string | null;
    }>;
  }>;
}

/** Settings of {@link scpUpload} and {@link scpDownload}. */
export interface ScpClientOptions extends ScpSourceOptions, ScpSinkOptions {
  /** The local file system (default: the process's, {@link localScpFs}). */
  fs?: ScpFs;
  /** The remote scp's stderr (default: dropped). */
  onStderr?: (chunk: Buffer) => void;
  /** Pass `-v` to the remote scp. */
  verbose?: boolean;
}

/** What a client transfer did, with the remote scp's exit status. */
export interface ScpClientResult extends ScpResult {
  /** The remote scp's exit status (null when it ended without one). */
  exitCode: number | null;
}

async function finish(
  proc: Awaited<ReturnType<ScpExecTarget['spawn']>>,
  work: Promise<ScpResult>,
): Promise<ScpClientResult> {
  let result: ScpResult;
  try {
    result = await work;
  } catch (e) {
    proc.channel.destroy();
    await proc.exit.catch(() => {});
    throw e;
  }
  proc.channel.end();
  const { code } = await proc.exit.catch((e: unknown) => {
    throw new ScpError('peer', `lost connection: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  });
  return { ...result, exitCode: code };
}

/**
 * Sends local `paths` to `remoteTarget` through the server's `scp -t` (the legacy protocol, `scp -O`).
 * With several paths (or `targetIsDirectory`), the target must be a directory.
 *
 * @example
 * const r = await scpUpload(client, ['a.txt'], '/tmp/'); if (r.errors || r.exitCode) process.exitCode = 1;
 */
export async function scpUpload(
  target: ScpExecTarget,
  paths: readonly string[],
  remoteTarget: string,
  opts: ScpClientOptions = {},
): Promise<ScpClientResult> {
  const proc = await target.spawn(
    scpRemoteCommand({
      direction: 'to',
      paths: [remoteTarget],
      recursive: opts.recursive,
      preserve: opts.preserve,
      targetIsDirectory: opts.targetIsDirectory ?? paths.length > 1,
      verbose: opts.verbose,
    }),
  );
  proc.stderr.on('data', (c: Buffer) => opts.onStderr?.(c));
  return finish(proc, scpSource(proc.channel, paths, opts.fs ?? localScpFs, opts));
}

/**
 * Receives remote `paths` (through the server's `scp -f`) into the local `localTarget` (the legacy
 * protocol, `scp -O`).
 *
 * @example
 * await scpDownload(client, ['/etc/hostname'], '.');
 */
export async function scpDownload(
  target: ScpExecTarget,
  paths: readonly string[],
  localTarget: string,
  opts: ScpClientOptions = {},
): Promise<ScpClientResult> {
  const proc = await target.spawn(
    scpRemoteCommand({
      direction: 'from',
      paths,
      recursive: opts.recursive,
      preserve: opts.preserve,
      verbose: opts.verbose,
    }),
  );
  proc.stderr.on('data', (c: Buffer) => opts.onStderr?.(c));
  return finish(proc, scpSink(proc.channel, localTarget, opts.fs ?? localScpFs, opts));
}
