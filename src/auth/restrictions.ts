/**
 * What an accepted login may not do, as an authorized_keys line says it (sshd(8) AUTHORIZED_KEYS
 * FILE FORMAT): `restrict`, `no-pty`, `no-agent-forwarding`, `no-port-forwarding`,
 * `no-X11-forwarding` (and their positive forms after `restrict`), `permitopen=`, `permitlisten=`,
 * `command=`, `no-touch-required` and `verify-required` (security keys), and the `from=` check. A policy returns them with `{ accept: true, restrict }`.
 */
import type { AuthorizedKeyOption } from '../keys/index.js';
import { matchSourceAddress, parseIp, type SessionPermissions } from './cert-options.js';

/** Limits placed on one login by the policy (each false or list narrows what the login may do). */
export interface AuthRestrictions {
  /** false: pty-req is refused. */
  pty?: boolean;
  /** false: auth-agent-req@openssh.com is refused. */
  agentForwarding?: boolean;
  /** false: direct-tcpip, tcpip-forward and the streamlocal forms are refused. */
  portForwarding?: boolean;
  /** false: x11-req is refused. */
  x11Forwarding?: boolean;
  /** Only these `host:port` destinations for direct-tcpip (sshd's permitopen=). */
  permitOpen?: readonly string[];
  /** Only these `[host:]port` listens for tcpip-forward (sshd's permitlisten=). */
  permitListen?: readonly string[];
  /** A command every session runs instead of the client's (sshd's command=). */
  forceCommand?: string;
  /** true: a security key (sk) may sign without user presence (sshd's no-touch-required). */
  noTouchRequired?: boolean;
  /** true: a security key (sk) must report user verification, a PIN or biometric (sshd's verify-required). */
  verifyRequired?: boolean;
}

/** `permissions` narrowed by `r`: a permission stays only if both allow it; `r`'s lists are added (certificates have none). */
export function restrictPermissions(p: SessionPermissions, r: AuthRestrictions): SessionPermissions {
  const permitOpen = r.permitOpen ?? p.permitOpen;
  const permitListen = r.permitListen ?? p.permitListen;
  return Object.freeze({
    pty: p.pty && r.pty !== false,
    agentForwarding: p.agentForwarding && r.agentForwarding !== false,
    portForwarding: p.portForwarding && r.portForwarding !== false,
    x11Forwarding: p.x11Forwarding && r.x11Forwarding !== false,
    ...(permitOpen ? { permitOpen: Object.freeze([...permitOpen]) } : {}),
    ...(permitListen ? { permitListen: Object.freeze([...permitListen]) } : {}),
  });
}

/** The restrictions of an authorized_keys line's options (names as the parser gives them, lower case). */
export function authorizedKeyRestrictions(options: readonly AuthorizedKeyOption[]): AuthRestrictions {
  const has = (n: string) => options.some((o) => o.name === n);
  const values = (n: string) => options.filter((o) => o.name === n).map((o) => o.value ?? '');
  const restrict = has('restrict');
  const allowed = (what: string) => !has(`no-${what}`) && (!restrict || has(what));
  const r: AuthRestrictions = {};
  if (!allowed('pty')) r.pty = false;
  if (!allowed('agent-forwarding')) r.agentForwarding = false;
  if (!allowed('port-forwarding')) r.portForwarding = false;
  if (!allowed('x11-forwarding')) r.x11Forwarding = false;
  const open = values('permitopen');
  if (open.length > 0) r.permitOpen = open;
  const listen = values('permitlisten');
  if (listen.length > 0) r.permitListen = listen;
  const command = values('command')[0];
  if (command !== undefined) r.forceCommand = command;
  if (has('no-touch-required')) r.noTouchRequired = true;
  if (has('verify-required')) r.verifyRequired = true;
  return r;
}

/** sshd's match_pattern for one `from=` entry: `*` and `?`, case-insensitive. */
function wildcard(s: string, pattern: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(s);
}

/**
 * Whether `address` (the client's IP) passes an authorized_keys line's `from="…"` lists: each a comma
 * list of patterns (`*`, `?`), CIDR blocks, and `!`-negated entries, which refuse when they match.
 * Host names are not resolved (as sshd with UseDNS no), so a name pattern matches only the address
 * text. True when there is no `from=`.
 */
export function authorizedKeyFromAllows(options: readonly AuthorizedKeyOption[], address: string | undefined): boolean {
  for (const o of options) {
    if (o.name !== 'from') continue;
    if (address === undefined || parseIp(address) === undefined) return false;
    let matched = false;
    for (const raw of (o.value ?? '').split(',')) {
      const neg = raw.startsWith('!');
      const entry = neg ? raw.slice(1) : raw;
      if (entry.length === 0) return false;
      const hit = /^[0-9a-fA-F.:]+\/\d+$/.test(entry)
        ? matchSourceAddress(entry, address) === 'match'
        : wildcard(address, entry);
      if (hit && neg) return false;
      if (hit) matched = true;
    }
    if (!matched) return false;
  }
  return true;
}
