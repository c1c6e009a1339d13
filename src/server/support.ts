/**
 * Helpers of the server facade (src/server/server.ts): client keepalive probes, host certificate checks,
 * certificate channel permissions, address formatting and the 'auth' event's result.
 */
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SessionPermissions } from '../auth/cert-options.js';
import type { AuthContext, AuthDecision } from '../auth/server.js';
import { InvalidArgumentError, TimeoutError } from '../errors.js';
import { Certificate, type PrivateKey, parseCertificate } from '../keys/index.js';
import type { AuthAttempt, ServerConnection } from './connection.js';

/**
 * Probes a silent client every `interval` ms with `keepalive@openssh.com` (want_reply); closes the
 * connection with a TimeoutError once more than `countMax` probes went unanswered. Any reply (success
 * or failure) or any other packet from the client resets the count.
 */
export function startKeepalive(conn: ServerConnection, interval: number, countMax: number): void {
  const { transport, connection } = conn;
  let missed = 0;
  const timer = setInterval(() => {
    if (transport.closed) {
      clearInterval(timer);
      return;
    }
    if (Date.now() - transport.lastReceived < interval) {
      missed = 0;
      return;
    }
    if (++missed > countMax) {
      clearInterval(timer);
      conn.emit('timeout', new TimeoutError(`no answer to ${countMax} keepalives`));
      transport.destroy(new TimeoutError(`no answer to ${countMax} keepalives`));
      return;
    }
    connection.globalRequest('keepalive@openssh.com', undefined, true).then(
      () => {
        missed = 0;
      },
      () => {},
    );
  }, interval);
  timer.unref();
  transport.once('close', () => clearInterval(timer));
}

/**
 * Parses and checks host certificates: each must be a host certificate whose certified key is one of
 * `hostKeys`. Throws {@link InvalidArgumentError} naming the offending entry.
 */
export function checkHostCertificates(
  certs: ReadonlyArray<Certificate | string | Buffer>,
  hostKeys: readonly PrivateKey[],
): Certificate[] {
  return certs.map((c, i) => {
    let cert: Certificate;
    try {
      cert = c instanceof Certificate ? c : parseCertificate(typeof c === 'string' ? c : c.toString('utf8'));
    } catch (e) {
      throw new InvalidArgumentError(`hostCertificates[${i}]: ${(e as Error).message}`);
    }
    if (cert.type !== 'host')
      throw new InvalidArgumentError(`hostCertificates[${i}] is a user certificate, not a host one`);
    if (!hostKeys.some((k) => k.publicKey.equals(cert.publicKey))) {
      throw new InvalidArgumentError(
        `hostCertificates[${i}] certifies ${cert.publicKey.fingerprint()}, which is not one of hostKeys`,
      );
    }
    return cert;
  });
}

/** Channel types a client may open only with a permission (sshd's checks on certificate extensions). */
const CHANNEL_PERMISSION: Readonly<Record<string, 'portForwarding' | 'x11Forwarding' | 'agentForwarding'>> = {
  'direct-tcpip': 'portForwarding',
  'forwarded-tcpip': 'portForwarding',
  'direct-streamlocal@openssh.com': 'portForwarding',
  'forwarded-streamlocal@openssh.com': 'portForwarding',
  x11: 'x11Forwarding',
  'auth-agent@openssh.com': 'agentForwarding',
};

export function channelPermitted(type: string, permissions: SessionPermissions): boolean {
  const needed = Object.hasOwn(CHANNEL_PERMISSION, type) ? CHANNEL_PERMISSION[type] : undefined;
  return needed === undefined || permissions[needed] === true;
}

/** `ip:port`, with IPv6 addresses in brackets. */
export function formatAddress(ip: string, port: number | undefined): string {
  const host = isIP(ip) === 6 ? `[${ip}]` : ip;
  return port === undefined ? host : `${host}:${port}`;
}

/** The IP address in `ip`, `ip:port`, `[ipv6]:port` or `ipv6`; undefined when there is none. */
export function ipOf(address: string): string | undefined {
  if (isIP(address)) return address;
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracket?.[1] && isIP(bracket[1])) return bracket[1];
  const colon = address.lastIndexOf(':');
  if (colon > 0 && /^\d+$/.test(address.slice(colon + 1))) {
    const host = address.slice(0, colon);
    if (isIP(host) === 4) return host;
  }
  return undefined;
}

export function describe(d: AuthDecision, ctx: AuthContext): AuthAttempt['result'] {
  if (d === true) return ctx.method === 'publickey' && !ctx.signed ? 'pk-ok' : 'accepted';
  if (d === false) return 'rejected';
  if (Array.isArray(d)) return 'partial';
  if (typeof d === 'object' && 'changePassword' in d) return 'change-password';
  if (typeof d === 'object' && 'accept' in d && d.accept === true) {
    return ctx.method === 'publickey' && !ctx.signed ? 'pk-ok' : 'accepted';
  }
  if (ctx.method === 'publickey' && !ctx.signed) return 'pk-ok';
  return 'partial';
}

/** SSH_CONNECTION (`client_ip client_port server_ip server_port`) for a TCP socket, else undefined. */
export function sshConnectionOf(stream: Duplex): string | undefined {
  const s = stream as Partial<Pick<Socket, 'remoteAddress' | 'remotePort' | 'localAddress' | 'localPort'>>;
  if (!s.remoteAddress || !s.localAddress || s.remotePort === undefined || s.localPort === undefined) return undefined;
  const bare = (a: string) => (a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a);
  return `${bare(s.remoteAddress)} ${s.remotePort} ${bare(s.localAddress)} ${s.localPort}`;
}
