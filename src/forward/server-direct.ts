/**
 * The server's side of `direct-tcpip` and `direct-streamlocal@openssh.com` (`ssh -L`, `-D`, `-W`):
 * the open is checked against the forwarding policy, the destination is connected, and only then is
 * the channel confirmed (as sshd does); an unreachable destination is refused with CONNECT_FAILED.
 */
import { connect, type Socket } from 'node:net';
import { debuglog } from 'node:util';
import type { ChannelOpenRequest, Connection } from '../connection/index.js';
import { decodeTcpipOpen } from '../connection/index.js';
import { ChannelOpenFailure } from '../errors.js';
import { SshReader } from '../wire/index.js';
import { decide, type ForwardingSettings, type ForwardRequest, type ForwardRequestBase } from './policy.js';
import { relay } from './server-relay.js';

const debug = debuglog('secsh');

/** Longest Unix socket path string read from the client. */
const MAX_PATH = 4096;
/**
 * sun_path holds 108 bytes on Linux (104 on the BSDs and macOS) with its terminating NUL: Node would
 * silently truncate a longer path and reach another socket, so such paths are refused.
 */
export const SUN_PATH_MAX = process.platform === 'linux' ? 108 : 104;

/** True when `path` fits in sun_path with its NUL. */
export function fitsSunPath(path: string): boolean {
  return Buffer.byteLength(path, 'utf8') < SUN_PATH_MAX;
}

/** What a server connection's forwarding handlers share. */
export interface ServerForwardContext {
  readonly settings: ForwardingSettings;
  readonly user: ForwardRequestBase;
  readonly connection: Connection;
  /** Counters of this connection's forwarding (read by tests and monitoring). */
  readonly stats: ServerForwardStats;
  /** Work to abandon when the connection ends (connects in progress); each entry removes itself. */
  readonly pending: Set<() => void>;
}

/** Counters of one connection's forwarding; `open` and `listeners` return to 0 when it ends. */
export interface ServerForwardStats {
  /** Forwarded connections open now (direct and remote). */
  open: number;
  /** Remote-forward listeners bound now. */
  listeners: number;
  /** Opens and forward requests refused or failed. */
  refused: number;
}

/** Text of a connect failure, as sshd words it (no local paths). */
export function connectFailureText(e: NodeJS.ErrnoException | undefined): string {
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'Connection refused';
    case 'ETIMEDOUT':
      return 'Connection timed out';
    case 'ENOENT':
      return 'No such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'Permission denied';
    case 'EHOSTUNREACH':
      return 'No route to host';
    case 'ENETUNREACH':
      return 'Network is unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'Name or service not known';
    default:
      return 'connect failed';
  }
}

function decodeStreamLocalOpen(data: Buffer): string {
  const r = new SshReader(data);
  const path = r.string(MAX_PATH).toString('utf8');
  // OpenSSH sends a reserved string and uint32 after the path; older clients sent nothing.
  if (r.remaining > 0) {
    r.string(MAX_PATH);
    r.uint32();
  }
  r.ensureEnd('direct-streamlocal open');
  return path;
}

/** Serves one `direct-tcpip` or `direct-streamlocal@openssh.com` open. */
export function openDirect(req: ChannelOpenRequest, ctx: ServerForwardContext): void {
  let fr: ForwardRequest;
  try {
    if (req.type === 'direct-tcpip') {
      const t = decodeTcpipOpen(req.data);
      // An empty host would be taken as localhost by net.connect: refused as malformed instead.
      if (t.port > 65535 || t.host.length === 0 || t.host.includes('\0')) throw new RangeError('bad destination');
      fr = { ...ctx.user, kind: 'direct-tcpip', ...t };
    } else {
      const path = decodeStreamLocalOpen(req.data);
      if (path.length === 0 || path.includes('\0') || !fitsSunPath(path)) throw new RangeError('bad path');
      fr = { ...ctx.user, kind: 'direct-streamlocal', path };
    }
  } catch {
    ctx.stats.refused++;
    req.reject(ChannelOpenFailure.CONNECT_FAILED, 'malformed open request');
    return;
  }
  decide(ctx.settings, fr).then(
    (no) => {
      if (no !== undefined) {
        ctx.stats.refused++;
        debug('server: %s for %j refused: %s', req.type, ctx.user.username, no);
        req.reject(ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED, no);
        return;
      }
      connectAndRelay(req, fr, ctx);
    },
    () => req.reject(ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED, 'refused'),
  );
}

function connectAndRelay(req: ChannelOpenRequest, fr: ForwardRequest, ctx: ServerForwardContext): void {
  if (ctx.connection.closeReason !== undefined) return;
  const sock: Socket =
    fr.kind === 'direct-tcpip'
      ? connect({ host: fr.host, port: fr.port, allowHalfOpen: true })
      : connect({ path: (fr as { path: string }).path, allowHalfOpen: true });
  // Nothing is read before the channel exists: what arrives waits in the kernel.
  sock.pause();
  const where = fr.kind === 'direct-tcpip' ? `${fr.host}:${fr.port}` : 'a Unix socket';
  let settled = false;
  // The connection may die while we connect: the open can no longer be answered.
  const onDead = (): void => fail(undefined);
  ctx.pending.add(onDead);
  const fail = (e: NodeJS.ErrnoException | undefined): void => {
    if (settled) return;
    settled = true;
    ctx.pending.delete(onDead);
    sock.destroy();
    ctx.stats.refused++;
    const text = connectFailureText(e);
    debug('server: %s for %j to %s failed: %s', req.type, ctx.user.username, where, text);
    req.reject(ChannelOpenFailure.CONNECT_FAILED, text);
  };
  sock.setTimeout(ctx.settings.connectTimeout, () => fail(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
  sock.once('error', fail);
  sock.once('connect', () => {
    if (settled) return;
    settled = true;
    ctx.pending.delete(onDead);
    sock.setTimeout(0);
    sock.off('error', fail);
    let ch: ReturnType<ChannelOpenRequest['accept']>;
    try {
      ch = req.accept();
    } catch {
      sock.destroy();
      return;
    }
    ctx.stats.open++;
    debug('server: %s %d for %j open to %s', req.type, ch.localId, ctx.user.username, where);
    relay(sock, ch, undefined, () => {
      ctx.stats.open--;
    });
  });
}
