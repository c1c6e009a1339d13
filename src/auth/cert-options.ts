/**
 * User-certificate critical options as sshd applies them (PROTOCOL.certkeys): `source-address`
 * (a comma list of addresses and CIDR blocks the client must connect from) and `force-command`.
 * Unknown critical options are refused by `Certificate.verify` already.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Certificate } from '../keys/index.js';

/** An address as bytes: 4 for IPv4, 16 for IPv6. */
type IpBytes = Uint8Array;

const MAX_ENTRIES = 256;
const MAX_ENTRY_LENGTH = 64;

function parseIPv4(s: string): IpBytes | undefined {
  if (!isIPv4(s)) return undefined;
  return Uint8Array.from(s.split('.').map((p) => Number.parseInt(p, 10)));
}

function parseIPv6(s: string): IpBytes | undefined {
  if (!isIPv6(s) || s.includes('%')) return undefined;
  const out = new Uint8Array(16);
  let text = s;
  let groupsNeeded = 8;
  const last = text.slice(text.lastIndexOf(':') + 1);
  if (last.includes('.')) {
    // An embedded IPv4 address (::ffff:192.0.2.1) fills the last two groups.
    const v4 = parseIPv4(last);
    if (!v4) return undefined;
    out.set(v4, 12);
    groupsNeeded = 6;
    text = text.slice(0, text.length - last.length);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const split = (h: string | undefined) => (h ? h.split(':') : []);
  const head = split(halves[0]);
  const tail = halves.length === 2 ? split(halves[1]) : [];
  const fill = groupsNeeded - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  const groups = [...head, ...Array<string>(fill).fill('0'), ...tail];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as string;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const w = Number.parseInt(g, 16);
    out[i * 2] = Math.floor(w / 256);
    out[i * 2 + 1] = w % 256;
  }
  return out;
}

/** Parses an IP address (IPv4, or IPv6 without a zone); an IPv4-mapped IPv6 address becomes IPv4, as in sshd. */
export function parseIp(s: string): IpBytes | undefined {
  const v4 = parseIPv4(s);
  if (v4) return v4;
  const v6 = parseIPv6(s);
  if (!v6) return undefined;
  const mapped = v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

function prefixMatches(net: IpBytes, addr: IpBytes, bits: number): boolean {
  for (let i = 0; i < net.length; i++) {
    const take = Math.min(8, Math.max(0, bits - i * 8));
    const mask = take === 0 ? 0 : (0xff << (8 - take)) & 0xff;
    if (((net[i] as number) & mask) !== ((addr[i] as number) & mask)) return false;
  }
  return true;
}

/**
 * Matches `address` against a `source-address` list (`192.0.2.0/24,2001:db8::/32,198.51.100.7`), as
 * OpenSSH's addr_match_cidr_list: `'match'`, `'no-match'`, or `'invalid'` when an entry is malformed
 * (bad characters, bad prefix length, or bits set past the prefix), which refuses the certificate.
 * A mapped IPv4 address (`::ffff:192.0.2.1`) matches IPv4 entries.
 */
export function matchSourceAddress(list: string, address: string | undefined): 'match' | 'no-match' | 'invalid' {
  const entries = list.split(',');
  if (entries.length > MAX_ENTRIES) return 'invalid';
  const addr = address === undefined ? undefined : parseIp(address);
  let matched = false;
  for (const entry of entries) {
    if (entry.length === 0 || entry.length > MAX_ENTRY_LENGTH || !/^[0-9a-fA-F.:/]+$/.test(entry)) return 'invalid';
    const slash = entry.indexOf('/');
    const ipText = slash < 0 ? entry : entry.slice(0, slash);
    const net = parseIPv4(ipText) ?? parseIPv6(ipText);
    if (!net) return 'invalid';
    const maxBits = net.length * 8;
    let bits = maxBits;
    if (slash >= 0) {
      const b = entry.slice(slash + 1);
      if (!/^\d{1,3}$/.test(b)) return 'invalid';
      bits = Number.parseInt(b, 10);
      if (bits > maxBits) return 'invalid';
      // Host bits past the prefix must be zero (10.0.0.1/8 is a mistake, not a network).
      if (!isNetwork(net, bits)) return 'invalid';
    }
    if (addr && addr.length === net.length && prefixMatches(net, addr, bits)) matched = true;
  }
  return matched ? 'match' : 'no-match';
}

/** True when no bit past the first `bits` is set. */
function isNetwork(net: IpBytes, bits: number): boolean {
  for (let i = 0; i < net.length; i++) {
    const keep = Math.min(8, Math.max(0, bits - i * 8));
    const hostMask = 0xff >> keep;
    if (((net[i] as number) & hostMask) !== 0) return false;
  }
  return true;
}

/**
 * Why a verified user certificate may not be used from `address`, or undefined when it may: a
 * `source-address` option that does not list the address (or is malformed).
 */
export function certificateSourceRefusal(cert: Certificate, address: string | undefined): string | undefined {
  const list = cert.criticalOptions.get('source-address');
  if (list === undefined) return undefined;
  const m = matchSourceAddress(list, address);
  if (m === 'invalid') return 'certificate source-address is invalid';
  if (m === 'no-match') return 'certificate not valid from this source address';
  return undefined;
}

/** The `force-command` of a certificate, if any. */
export function certificateForceCommand(cert: Certificate | undefined): string | undefined {
  return cert?.criticalOptions.get('force-command');
}

/**
 * What an authenticated user may do in the connection. A user certificate grants only what its
 * extensions list (PROTOCOL.certkeys): `permit-pty`, `permit-agent-forwarding`,
 * `permit-port-forwarding`, `permit-X11-forwarding`. `permit-user-rc` has no counterpart (secsh runs
 * no `~/.ssh/rc`); unknown extensions are ignored. A login without a certificate is unrestricted.
 */
export interface SessionPermissions {
  /** pty-req is allowed. */
  readonly pty: boolean;
  /** auth-agent-req@openssh.com is allowed. */
  readonly agentForwarding: boolean;
  /** direct-tcpip, tcpip-forward and their streamlocal counterparts are allowed. */
  readonly portForwarding: boolean;
  /** x11-req is allowed. */
  readonly x11Forwarding: boolean;
  /**
   * When set, direct-tcpip may reach only these `host:port` entries (an authorized_keys line's
   * `permitopen=` values), on top of the server's own PermitOpen; Unix-socket opens are refused.
   */
  readonly permitOpen?: readonly string[];
  /** When set, tcpip-forward may listen only on these `[host:]port` entries (`permitlisten=`). */
  readonly permitListen?: readonly string[];
}

/** Everything allowed: a login with no certificate. */
export const UNRESTRICTED_PERMISSIONS: SessionPermissions = Object.freeze({
  pty: true,
  agentForwarding: true,
  portForwarding: true,
  x11Forwarding: true,
});

/** The permissions one user certificate grants, from its extensions. */
export function certificatePermissions(cert: Certificate): SessionPermissions {
  const ext = cert.extensions;
  return Object.freeze({
    pty: ext.has('permit-pty'),
    agentForwarding: ext.has('permit-agent-forwarding'),
    portForwarding: ext.has('permit-port-forwarding'),
    x11Forwarding: ext.has('permit-X11-forwarding'),
  });
}

/**
 * The permissions of a login that used `certs` (one entry per authentication step; undefined for a
 * step without a certificate): the intersection of every certificate's grants, as sshd merges the
 * options of several publickey steps. No certificate at all: {@link UNRESTRICTED_PERMISSIONS}.
 */
export function effectivePermissions(certs: Iterable<Certificate | undefined>): SessionPermissions {
  let pty = true;
  let agentForwarding = true;
  let portForwarding = true;
  let x11Forwarding = true;
  for (const cert of certs) {
    if (cert === undefined) continue;
    const p = certificatePermissions(cert);
    pty &&= p.pty;
    agentForwarding &&= p.agentForwarding;
    portForwarding &&= p.portForwarding;
    x11Forwarding &&= p.x11Forwarding;
  }
  return Object.freeze({ pty, agentForwarding, portForwarding, x11Forwarding });
}
