/**
 * Shared pieces of the server e2e tests: a server with an in-process echo handler, a raw client, and
 * `secsh server` run as a child process.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { MessageQueue } from '../../src/auth/queue.js';
import { resolveAlgorithms } from '../../src/crypto/algorithms.js';
import type { ServerOptions } from '../../src/server/server.js';
import { Server } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import { Transport } from '../../src/transport/transport.js';
import { MSG, SshReader, SshWriter } from '../../src/wire/index.js';

/** Starts a server on a free loopback port; `exec` requests echo the command back and exit 0. */
export async function startServer(opts: ServerOptions): Promise<{ server: Server; port: number; sessions: Session[] }> {
  const server = new Server(opts);
  const sessions: Session[] = [];
  server.on('session', (s: Session) => {
    sessions.push(s);
    s.on('exec', (req: { command: string; accept(): void }) => {
      req.accept();
      s.channel.write(`ran:${req.command}`);
      s.exit(0);
    });
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, port, sessions };
}

/** A client transport that accepts any host key, with a queue of every upper-layer message. */
export interface RawClient {
  t: Transport;
  sock: Socket;
  queue: MessageQueue;
  closed: Promise<Error | undefined>;
}

export async function rawClient(port: number): Promise<RawClient> {
  const sock = connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const t = new Transport(sock, { role: 'client', algorithms: resolveAlgorithms(undefined), verifyHostKey: () => {} });
  const queue = new MessageQueue();
  t.setMessageHandler((p) => queue.push(p));
  const closed = new Promise<Error | undefined>((resolve) => t.once('close', (e?: Error) => resolve(e)));
  t.once('close', (e?: Error) => queue.fail(e ?? new Error('closed')));
  t.start();
  await t.ready();
  return { t, sock, queue, closed };
}

/** SERVICE_REQUEST ssh-userauth, waits for SERVICE_ACCEPT. */
export async function requestUserauth(c: RawClient): Promise<void> {
  c.t.send(new SshWriter(32).byte(MSG.SERVICE_REQUEST).string('ssh-userauth').toBuffer());
  const p = await c.queue.next();
  if (p[0] !== MSG.SERVICE_ACCEPT) throw new Error(`expected SERVICE_ACCEPT, got ${p[0]}`);
}

/**
 * Reads the `hostkeys-00@openssh.com` announcement (want-reply false) the server sends right after
 * USERAUTH_SUCCESS, as sshd does; throws on any other message.
 */
export async function skipHostKeysAnnouncement(c: RawClient): Promise<void> {
  const p = await c.queue.next();
  const r = new SshReader(p);
  if (r.byte() !== MSG.GLOBAL_REQUEST || r.ascii(64) !== 'hostkeys-00@openssh.com' || r.bool()) {
    throw new Error(`expected the hostkeys-00@openssh.com announcement, got message ${p[0]}`);
  }
}

/** Resolves with the close error, or 'open' when the transport is still up after `ms`. */
export function closedWithin(c: RawClient, ms: number): Promise<Error | undefined | 'open'> {
  return Promise.race([c.closed, new Promise<'open'>((r) => setTimeout(() => r('open'), ms))]);
}

/** A `secsh server` child process that has printed its port and host key fingerprint. */
export interface CliServer {
  child: ChildProcessByStdio<null, Readable, Readable>;
  port: number;
  /** `SHA256:…` of the host key it printed. */
  fingerprint: string;
  /** Resolves with its exit code. */
  exited: Promise<number | null>;
  /** What it wrote to stderr so far. */
  stderr(): string;
}

/**
 * Spawns `node <args>` (args that run `secsh server`) and waits until it prints its host key line;
 * rejects if it exits first.
 */
export async function startCliServer(args: readonly string[], cwd?: string): Promise<CliServer> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (/host key \S+ SHA256:\S+/.test(out)) resolve();
    });
    child.once('exit', () => reject(new Error(`exited early: ${err}`)));
  });
  const port = Number(/port (\d+)/.exec(out)?.[1]);
  const fingerprint = /host key \S+ (SHA256:\S+)/.exec(out)?.[1] as string;
  return { child, port, fingerprint, exited, stderr: () => err };
}
