/**
 * What an accepted login may not do, as an authorized_keys line says it (sshd(8) AUTHORIZED_KEYS
 * FILE FORMAT): `restrict`, `no-pty`, `no-agent-forwarding`, `no-port-forwarding`,
 * `no-X11-forwarding` (and their positive forms after `restrict`), `permitopen=`, `permitlisten=`,
 * `command=`, `no-touch-required` and `verify-required` (security keys), and the `from=` check. A policy returns them with `{ accept: true, restrict }`.
 * {@link authorizedKeyOptionsRefusal} says when a line must not be used at all (an option sshd does
 * not know, an `expiry-time=` passed or malformed), as sshd refuses such a key.
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

/** Flags sshd's authorized_keys parser knows (auth-options.c); the ones it allows with `no-` too. */
const FLAGS = new Set(['restrict', 'cert-authority', 'no-touch-required', 'verify-required']);
const NO_FLAGS = ['port-forwarding', 'agent-forwarding', 'x11-forwarding', 'pty', 'user-rc'];
for (const f of NO_FLAGS) {
  FLAGS.add(f);
  FLAGS.add(`no-${f}`);
}
/** Options sshd knows that take a quoted value. */
const VALUED = new Set([
  'command',
  'principals',
  'from',
  'expiry-time',
  'environment',
  'permitopen',
  'permitlisten',
  'tunnel',
]);

/**
 * sshd's parse_absolute_time: `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, local time, or UTC with a
 * trailing `Z`. Returns seconds since the epoch, or undefined when malformed.
 */
export function parseExpiryTime(text: string): number | undefined {
  const utc = /[Zz]$/.test(text);
  const digits = utc ? text.slice(0, -1) : text;
  if (!/^\d+$/.test(digits) || (digits.length !== 8 && digits.length !== 12 && digits.length !== 14)) return undefined;
  const n = (a: number, b: number) => Number(digits.slice(a, b) || '0');
  const [y, mo, d, h, mi, se] = [n(0, 4), n(4, 6), n(6, 8), n(8, 10), n(10, 12), n(12, 14)];
  // strptime's ranges; out-of-range days of a month are carried over as mktime does.
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 61) return undefined;
  const ms = utc ? Date.UTC(y, mo - 1, d, h, mi, se) : new Date(y, mo - 1, d, h, mi, se).getTime();
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return Math.floor(ms / 1000);
}

/**
 * Why an authorized_keys line's options make sshd refuse the key, or undefined when they do not: an
 * option sshd does not know (a misspelling such as `no-pyt` must not silently grant what it meant to
 * deny), a flag given a value or a valued option given none, a malformed `expiry-time=`, or one that
 * has passed at `now` (ms since the epoch; sshd refuses once the time is before the current second).
 * The text names the option, never the file.
 */
export function authorizedKeyOptionsRefusal(
  options: readonly AuthorizedKeyOption[],
  now: number = Date.now(),
): string | undefined {
  for (const o of options) {
    const known = o.value === undefined ? FLAGS.has(o.name) : VALUED.has(o.name);
    if (!known) {
      const what = FLAGS.has(o.name) || VALUED.has(o.name) ? 'misused' : 'unsupported';
      return `bad key options: ${what} option ${JSON.stringify(o.name.slice(0, 64))}`;
    }
    if (o.name === 'expiry-time') {
      const t = parseExpiryTime(o.value ?? '');
      if (t === undefined) return 'bad key options: invalid expiry-time';
      if (t < Math.floor(now / 1000)) return 'key expired (expiry-time)';
    }
  }
  return undefined;
}

/**
 * `::ffff:192.0.2.1` → `192.0.2.1` (sshd's ipv64_normalise_mapped): a client reaching a dual-stack
 * listener over IPv4 must match the IPv4 patterns of `from=`, including the negated ones.
 */
export function normaliseMappedAddress(address: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return m ? (m[1] as string) : address;
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
export function authorizedKeyFromAllows(
  options: readonly AuthorizedKeyOption[],
  clientAddress: string | undefined,
): boolean {
  const address = clientAddress === undefined ? undefined : normaliseMappedAddress(clientAddress);
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
