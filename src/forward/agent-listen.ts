/**
 * The server's side of agent forwarding (OpenSSH's `auth-agent-req@openssh.com`): a Unix socket in a
 * private directory, what the session's commands find in SSH_AUTH_SOCK; each connection to it is
 * carried to the client's agent over an `auth-agent@openssh.com` channel.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from '../connection/index.js';
import { emptyStats, relayToChannel } from './session-relay.js';
import type { ForwardStats } from './types.js';

/** Settings of {@link listenAgentForward}. */
export interface AgentListenOptions {
  /** Where the private directory is made (default `os.tmpdir()`). */
  tmpDir?: string;
  /** Most agent connections open at once; more are closed at once (default 64). */
  maxConnections?: number;
  /** Hears why one agent connection failed (the client refused the channel, the connection died). */
  onError?: (err: Error) => void;
}

/** A listening agent socket; {@link AgentListener.close} removes it and its directory. */
export interface AgentListener {
  /** The socket's path: the value of SSH_AUTH_SOCK. */
  readonly path: string;
  /** Counters of the connections carried. */
  readonly stats: Readonly<ForwardStats>;
  /**
   * Stops listening and removes the socket and its directory (connections already open run on until
   * either end closes them or the SSH connection ends). Safe to call twice.
   */
  close(): Promise<void>;
}

/**
 * Makes a 0700 directory under `tmpDir` with a 0600 socket `agent.<pid>` in it and relays each
 * connection to the client's agent. Resolves once the socket exists; rejects (leaving nothing behind)
 * when it cannot be made. Only asynchronous file system calls: this runs on a client's request.
 */
export async function listenAgentForward(
  connection: Connection,
  opts: AgentListenOptions = {},
): Promise<AgentListener> {
  const dir = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'ssh-'));
  const path = join(dir, `agent.${process.pid}`);
  const stats = emptyStats();
  const max = opts.maxConnections ?? 64;
  const server: NetServer = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock: Socket) => {
    if (stats.open >= max) {
      stats.failed++;
      sock.destroy();
      return;
    }
    void relayToChannel(sock, connection, 'auth-agent@openssh.com', undefined, stats, opts.onError);
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    // Not waiting for server.close()'s callback: it comes only once every open connection has ended.
    if (server.listening) server.close();
    closing ??= rm(dir, { recursive: true, force: true });
    return closing;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => {});
    // The directory (0700) already keeps other users out; the socket itself is the user's alone too.
    await chmod(path, 0o600);
  } catch (e) {
    await close();
    throw e;
  }
  return { path, stats, close };
}
