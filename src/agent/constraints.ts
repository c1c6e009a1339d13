/**
 * Key constraints of SSH_AGENTC_ADD_ID_CONSTRAINED (draft-miller-ssh-agent, OpenSSH PROTOCOL.agent) and the
 * destination checks the agent server makes with them: which hops of a `session-bind@openssh.com` chain a
 * `restrict-destination-v00@openssh.com` key may be used on, and for which users.
 */
import { AgentError, KeyError } from '../errors.js';
import { Certificate, isCertificateType, PublicKey } from '../keys/index.js';
import { matchPattern } from '../keys/pattern.js';
import { SshReader } from '../wire/index.js';

/** Constraint type bytes. */
export const CONSTRAIN = { LIFETIME: 1, CONFIRM: 2, EXTENSION: 255 } as const;
/** The extension constraint naming permitted hops. */
export const RESTRICT_DESTINATION = 'restrict-destination-v00@openssh.com';
/** Most destination constraints on one key (as OpenSSH). */
export const MAX_DEST_CONSTRAINTS = 1024;
/** Most host keys in one hop of a destination constraint. */
export const MAX_HOP_KEYS = 1024;

/** One end of a destination constraint: a host named by its keys (or CA keys), and for `to` a user pattern. */
export interface ConstraintHop {
  /** User name pattern (only meaningful on `to`); undefined = any. */
  user: string | undefined;
  /** Host name (for matching host certificates' principals and for display); undefined = the origin. */
  hostname: string | undefined;
  /** The host's keys (a session bound to one of them is this host). */
  keys: {
    /** A host key, or a CA key when `isCa`. */
    key: PublicKey | Certificate;
    /** The key is a host CA: any host certificate it signed for `hostname` matches. */
    isCa: boolean;
  }[];
}

/** A permitted hop `from` → `to`. `from` with no hostname and no keys is the agent's own host. */
export interface DestinationConstraint {
  /** Where the hop starts. */
  from: ConstraintHop;
  /** Where the key may be used. */
  to: ConstraintHop;
}

/** Constraints parsed from an ADD_ID_CONSTRAINED message. */
export interface KeyConstraints {
  /** Lifetime in seconds. */
  lifetime: number | undefined;
  confirm: boolean;
  destinations: DestinationConstraint[];
}

/** A host key as it may appear in a session bind or a constraint: plain key or certificate. */
export function parseHostKeyBlob(blob: Uint8Array): PublicKey | Certificate {
  const name = new SshReader(blob).ascii(64);
  return isCertificateType(name) ? Certificate.fromBlob(blob) : PublicKey.fromBlob(blob);
}

function hostKeyBlob(k: PublicKey | Certificate): Buffer {
  return k.blob;
}

function readHop(buf: Buffer): ConstraintHop {
  const r = new SshReader(buf);
  const user = r.utf8(1024);
  const hostname = r.utf8(1024);
  r.string(); // reserved
  const keys: ConstraintHop['keys'] = [];
  while (r.remaining > 0) {
    if (keys.length >= MAX_HOP_KEYS) throw new AgentError('too many keys in a destination constraint hop');
    const key = parseHostKeyBlob(r.string(32 * 1024));
    const isCa = r.byte() !== 0;
    keys.push({ key, isCa });
  }
  return { user: user === '' ? undefined : user, hostname: hostname === '' ? undefined : hostname, keys };
}

/** Reads the body of a `restrict-destination-v00@openssh.com` constraint (after its name). */
function readDestinations(r: SshReader, into: DestinationConstraint[]): void {
  const outer = new SshReader(r.string());
  while (outer.remaining > 0) {
    if (into.length >= MAX_DEST_CONSTRAINTS) throw new AgentError('too many destination constraints');
    const c = new SshReader(outer.string());
    const from = readHop(c.string());
    const to = readHop(c.string());
    if (c.string().length !== 0) throw new AgentError('destination constraint: unsupported extensions');
    c.ensureEnd('destination constraint');
    // As OpenSSH: a `from` hop names no user and has a host name exactly when it has keys; a `to` hop needs both.
    if (from.user !== undefined || (from.hostname === undefined) !== (from.keys.length === 0))
      throw new AgentError('destination constraint: inconsistent from hop');
    if (to.hostname === undefined || to.keys.length === 0)
      throw new AgentError('destination constraint: incomplete to hop');
    into.push({ from, to });
  }
}

/**
 * Parses the constraints that follow the key and comment of ADD_ID_CONSTRAINED; throws {@link AgentError}
 * for a repeated or unknown constraint (including unknown extension constraints, as OpenSSH refuses them).
 */
export function parseConstraints(r: SshReader): KeyConstraints {
  const out: KeyConstraints = { lifetime: undefined, confirm: false, destinations: [] };
  let sawDest = false;
  while (r.remaining > 0) {
    const type = r.byte();
    switch (type) {
      case CONSTRAIN.LIFETIME:
        if (out.lifetime !== undefined) throw new AgentError('lifetime constraint given twice');
        out.lifetime = r.uint32();
        break;
      case CONSTRAIN.CONFIRM:
        if (out.confirm) throw new AgentError('confirm constraint given twice');
        out.confirm = true;
        break;
      case CONSTRAIN.EXTENSION: {
        const name = r.ascii(256);
        if (name !== RESTRICT_DESTINATION) throw new AgentError('unsupported extension constraint');
        if (sawDest) throw new AgentError('destination constraint given twice');
        sawDest = true;
        readDestinations(r, out.destinations);
        break;
      }
      default:
        throw new AgentError(`unknown constraint type ${type}`);
    }
  }
  return out;
}

/** Key equality by wire blob (a certificate equals only the same certificate). */
export function sameKey(a: PublicKey | Certificate, b: PublicKey | Certificate): boolean {
  return hostKeyBlob(a).equals(hostKeyBlob(b));
}

/** Whether host key `key` is one the hop names (directly, or as a host certificate from a listed CA valid for its hostname). */
function hopMatches(key: PublicKey | Certificate, hop: ConstraintHop, now: number): boolean {
  for (const spec of hop.keys) {
    if (!spec.isCa) {
      if (sameKey(key, spec.key)) return true;
      continue;
    }
    if (!(key instanceof Certificate) || spec.key instanceof Certificate) continue;
    if (!key.signatureKey.equals(spec.key)) continue;
    try {
      key.verify({ type: 'host', now, principal: hop.hostname ?? '(ORIGIN)' });
      if (key.principals.length === 0) continue; // as OpenSSH: a host certificate must name its principals
      return true;
    } catch (e) {
      if (!(e instanceof KeyError)) throw e;
    }
  }
  return false;
}

/** One recorded `session-bind@openssh.com` of a connection. */
export interface SessionBinding {
  hostKey: PublicKey | Certificate;
  sessionId: Buffer;
  forwarding: boolean;
}

/**
 * Whether some constraint permits the hop `fromKey` → `toKey` (a missing `fromKey` is the origin; a missing
 * `toKey` matches any destination) for `user` (undefined: any). Returns the matched destination's host name.
 */
function permittedHop(
  constraints: readonly DestinationConstraint[],
  fromKey: PublicKey | Certificate | undefined,
  toKey: PublicKey | Certificate | undefined,
  user: string | undefined,
  now: number,
): { ok: boolean; hostname?: string | undefined } {
  for (const d of constraints) {
    if (fromKey === undefined) {
      if (d.from.hostname !== undefined || d.from.keys.length > 0) continue;
    } else if (!hopMatches(fromKey, d.from, now)) continue;
    if (toKey !== undefined && !hopMatches(toKey, d.to, now)) continue;
    if (d.to.user !== undefined && user !== undefined && !matchPattern(user, d.to.user)) continue;
    return { ok: true, hostname: d.to.hostname };
  }
  return { ok: false };
}

/**
 * OpenSSH's identity_permitted: may a key with `constraints` be used (listed, signed with, replaced) on a
 * connection with these `bindings`? `user` is given for a signature request only (the user of the final hop).
 */
export function identityPermitted(
  constraints: readonly DestinationConstraint[],
  bindings: readonly SessionBinding[],
  bindAttempted: boolean,
  user: string | undefined,
  now: number = Date.now(),
): boolean {
  if (constraints.length === 0) return true;
  if (bindAttempted && bindings.length === 0) return false; // a bind was tried and failed
  if (bindings.length === 0) return true; // local use
  let fromKey: PublicKey | Certificate | undefined;
  for (let i = 0; i < bindings.length; i++) {
    const b = bindings[i] as SessionBinding;
    const last = i === bindings.length - 1;
    if (last) {
      if (b.forwarding && user !== undefined) return false; // signing on a forwarding hop
    } else if (!b.forwarding) return false; // forwarding through a signing bind
    if (!permittedHop(constraints, fromKey, b.hostKey, last ? user : undefined, now).ok) return false;
    fromKey = b.hostKey;
  }
  // A key usable at the last (forwarding) host but not beyond it stays hidden there.
  const final = bindings[bindings.length - 1] as SessionBinding;
  if (final.forwarding && user === undefined && !permittedHop(constraints, final.hostKey, undefined, undefined, now).ok)
    return false;
  return true;
}

/** What a SSH_MSG_USERAUTH_REQUEST to be signed says (the parts the destination check needs). */
export interface UserauthRequest {
  user: string;
  sessionId: Buffer;
  /** The server host key of `publickey-hostbound-v00@openssh.com`; undefined for plain `publickey`. */
  hostKey: PublicKey | Certificate | undefined;
}

const USERAUTH_REQUEST = 50;

/** Base key type of a signature or key algorithm name (`rsa-sha2-512` → `ssh-rsa`; certs keep their type). */
function keyTypeOfAlgorithm(alg: string): string {
  if (alg === 'rsa-sha2-256' || alg === 'rsa-sha2-512') return 'ssh-rsa';
  if (alg === 'rsa-sha2-256-cert-v01@openssh.com' || alg === 'rsa-sha2-512-cert-v01@openssh.com')
    return 'ssh-rsa-cert-v01@openssh.com';
  return alg;
}

/**
 * Parses data an SSH client asks to have signed as a publickey user-auth request for `keyBlob` (OpenSSH's
 * parse_userauth_request); undefined when it is anything else.
 */
export function parseUserauthRequest(data: Buffer, keyBlob: Buffer, keyType: string): UserauthRequest | undefined {
  try {
    const r = new SshReader(data);
    const sessionId = Buffer.from(r.string(256));
    if (sessionId.length === 0) return undefined;
    if (r.byte() !== USERAUTH_REQUEST) return undefined;
    const user = r.utf8(1024);
    const service = r.ascii(256);
    const method = r.ascii(256);
    if (!r.bool()) return undefined;
    const alg = r.ascii(256);
    const blob = r.string(64 * 1024);
    if (service !== 'ssh-connection' || !keyBlob.equals(blob) || keyTypeOfAlgorithm(alg) !== keyType) return undefined;
    let hostKey: PublicKey | Certificate | undefined;
    if (method === 'publickey-hostbound-v00@openssh.com') hostKey = parseHostKeyBlob(r.string(64 * 1024));
    else if (method !== 'publickey') return undefined;
    if (r.remaining !== 0) return undefined;
    return { user, sessionId, hostKey };
  } catch {
    return undefined;
  }
}
