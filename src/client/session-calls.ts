/**
 * What every session-running facade shares (Client over its own transport, MuxClient over an OpenSSH
 * master): starting a request on a fresh session channel, collecting a command's output, and the
 * ssh_config lookup for a host.
 */

import { type ResolvedSshConfig, resolveSshConfig } from '../config/index.js';
import type { Channel, PtyOptions } from '../connection/index.js';
import { InvalidArgumentError } from '../errors.js';
import { SftpClient, type SftpClientOptions } from '../sftp/client.js';
import type { ConnectOptions, ExecOptions, ExecResult, RemoteProcess } from './options.js';
import { waitExit, whenClosed } from './support.js';

/** Runs `start` (exec, shell, subsystem) on a new session channel; destroys the channel if it fails. */
export async function startOn(ch: Channel, start: (ch: Channel) => Promise<void>): Promise<Channel> {
  try {
    await start(ch);
  } catch (e) {
    ch.destroy();
    throw e;
  }
  return ch;
}

/**
 * Prepares a new session channel: its environment and pty requests, then `more` (the client's agent
 * and X11 requests); destroys the channel if any fails. Channel errors are left to the API's promises
 * (a lost connection destroys every channel with its error, which exec and 'close' report).
 */
export async function prepareSession(
  ch: Channel,
  opts: { env?: Record<string, string>; pty?: boolean | PtyOptions },
  more?: () => Promise<void> | undefined,
): Promise<Channel> {
  ch.on('error', () => {});
  return startOn(ch, async () => {
    if (opts.env) for (const [k, v] of Object.entries(opts.env)) await ch.setEnv(k, v);
    if (opts.pty) await ch.requestPty(opts.pty === true ? {} : opts.pty);
    await more?.();
  });
}

/** Starts an SFTP client on a channel running the 'sftp' subsystem; destroys the channel if that fails. */
export async function sftpOn(ch: Channel, opts: SftpClientOptions): Promise<SftpClient> {
  try {
    return await SftpClient.fromChannel(ch, opts);
  } catch (e) {
    ch.destroy();
    throw e;
  }
}

/** A started command's streams and exit. */
export function remoteProcess(ch: Channel): RemoteProcess {
  return { stdin: ch, stdout: ch, stderr: ch.stderr, channel: ch, exit: waitExit(ch) };
}

/**
 * Feeds `opts.stdin` to a started command and collects stdout and stderr concurrently (so large
 * outputs on both never deadlock); resolves once the channel has closed.
 */
export async function collectExec(
  proc: RemoteProcess,
  opts: ExecOptions,
): Promise<ExecResult<string> | ExecResult<Buffer>> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  proc.stdout.on('data', (c: Buffer) => out.push(c));
  proc.stderr.on('data', (c: Buffer) => err.push(c));
  const closed = whenClosed(proc.channel);
  if (opts.stdin === undefined) proc.stdin.end();
  else if (typeof opts.stdin === 'string' || Buffer.isBuffer(opts.stdin)) proc.stdin.end(opts.stdin);
  else opts.stdin.pipe(proc.stdin);
  // Rejects when the connection dies before the exit status (or the channel's close) arrives.
  const { code, signal } = await proc.exit;
  await closed;
  // The status came, but the connection died before the channel closed: the output may be cut short.
  if (proc.channel.connectionError) throw proc.channel.connectionError;
  const stdout = Buffer.concat(out);
  const stderr = Buffer.concat(err);
  if (opts.encoding === 'buffer') return { stdout, stderr, code, signal };
  return { stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8'), code, signal };
}

/** Evaluates `opts.config` for `opts.host` as `Client.connect` does (the caller's user and port win). */
export function resolveConnectConfig(opts: ConnectOptions): ResolvedSshConfig {
  if (!opts.host) throw new InvalidArgumentError('config needs host (the alias to look up)');
  const src = typeof opts.config === 'object' ? opts.config : undefined;
  return resolveSshConfig(opts.host, {
    ...(typeof opts.config === 'string' ? { path: opts.config } : {}),
    ...(typeof src?.path === 'string' ? { path: src.path } : src?.path === false ? { text: '' } : {}),
    ...(src?.options ? { options: src.options } : {}),
    ...(src?.systemPath ? { systemPath: src.systemPath } : {}),
    ...(opts.username !== undefined ? { user: opts.username } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
  });
}
