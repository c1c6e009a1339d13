/**
 * Byte codecs of the agent messages that carry structure: key constraints (lifetime, confirm,
 * `restrict-destination-v00@openssh.com` destination constraints, extension constraints),
 * `session-bind@openssh.com`, a certificate's private form, and the identities and query answers.
 * No I/O: bytes in, bytes out, every read bounds-checked (a short or padded message is a WireError).
 */
import { InvalidArgumentError } from '../errors.js';
import type { Certificate, PrivateKey } from '../keys/index.js';
import { PublicKey } from '../keys/index.js';
import { SshReader, SshWriter } from '../wire/index.js';
import { AGENT_CONSTRAIN, AGENT_EXT, AGENT_MSG, MAX_DEST_CONSTRAINTS, MAX_IDENTITIES } from './protocol.js';

/** A host key a destination hop is identified by: a plain host key, or a CA that signs host certificates. */
export interface HostKeySpec {
  /** The host key (or the CA key when `ca` is true). */
  key: PublicKey;
  /** True for a `@cert-authority` key: hosts with certificates it signed match. */
  ca?: boolean;
}

/** One end of a destination constraint hop (PROTOCOL.agent §2). */
export interface DestinationHop {
  /** User name pattern on the destination (`to` only; the `from` hop must not name one). Empty: any user. */
  user?: string;
  /** Host name (shown by the agent; matching is by host key). Empty with no keys: the host running the agent. */
  hostname?: string;
  /** Keys that identify the host; needed for `to`, empty for an origin `from`. */
  hostKeys?: HostKeySpec[];
}

/** A permitted hop: from `from` (default: the agent's own host) to `to`. */
export interface AllowedDestination {
  /** The host the hop starts from (absent: the agent's own host). */
  from?: DestinationHop;
  /** The host the key may be used on. */
  to: DestinationHop;
}

/** A constraint extension sent as is (`name` then `data`, OpenSSH's form: the data is not a nested string). */
export interface ExtensionConstraint {
  /** The extension's name, e.g. `restrict-destination-v00@openssh.com`. */
  name: string;
  /** The extension's own bytes, appended after its name. */
  data: Uint8Array;
}

/** Constraints for {@link AgentClient.add}. */
export interface AddConstraints {
  /** Seconds until the agent forgets the key (`ssh-add -t`). */
  lifetime?: number;
  /** The agent asks the user before each use (`ssh-add -c`). */
  confirm?: boolean;
  /** Where the key may be used (`ssh-add -h`); enforced with session bindings. */
  destinations?: AllowedDestination[];
  /** Other constraint extensions, appended in order. */
  extensions?: ExtensionConstraint[];
}

/** What `session-bind@openssh.com` carries (PROTOCOL.agent §1). */
export interface SessionBinding {
  /** The server's host key blob as sent in the key exchange (a host certificate's blob for a certificate). */
  hostKey: Uint8Array;
  /** The session identifier: H of the first key exchange. */
  sessionId: Uint8Array;
  /** The host key's signature over H, as sent in the KEX reply. */
  signature: Uint8Array;
  /** True when the agent connection is forwarded to that host; false when it is used to authenticate to it. */
  forwarding: boolean;
}

function checkCount(n: number, what: string): void {
  if (n > MAX_DEST_CONSTRAINTS)
    throw new InvalidArgumentError(`too many ${what} (${n}, at most ${MAX_DEST_CONSTRAINTS})`);
}

function writeHop(w: SshWriter, hop: DestinationHop | undefined): void {
  const keys = hop?.hostKeys ?? [];
  checkCount(keys.length, 'host keys in a destination hop');
  const inner = new SshWriter(256)
    .string(hop?.user ?? '')
    .string(hop?.hostname ?? '')
    .string(''); // reserved
  for (const k of keys) inner.string(k.key.blob).bool(k.ca === true);
  w.string(inner.toBuffer());
}

/** The body of a `restrict-destination-v00@openssh.com` constraint extension (after its name). */
export function encodeDestinations(list: readonly AllowedDestination[]): Buffer {
  checkCount(list.length, 'destination constraints');
  const all = new SshWriter(1024);
  for (const dc of list) {
    if (dc.from?.user) throw new InvalidArgumentError("a destination constraint's from hop cannot name a user");
    if (!dc.to.hostname && !dc.to.user)
      throw new InvalidArgumentError('a destination constraint needs a to host (or user)');
    if (dc.to.hostname && (dc.to.hostKeys?.length ?? 0) === 0)
      throw new InvalidArgumentError(`no host keys for destination ${dc.to.hostname}`);
    if (dc.from?.hostname && (dc.from.hostKeys?.length ?? 0) === 0)
      throw new InvalidArgumentError(`no host keys for destination ${dc.from.hostname}`);
    const one = new SshWriter(512);
    writeHop(one, dc.from);
    writeHop(one, dc.to);
    one.string(''); // reserved
    all.string(one.toBuffer());
  }
  return Buffer.from(new SshWriter(all.toBuffer().length + 8).string(all.toBuffer()).toBuffer());
}

function readHop(buf: Buffer): DestinationHop {
  const r = new SshReader(buf);
  const user = r.string(1024).toString('utf8');
  const hostname = r.string(1024).toString('utf8');
  r.string(64 * 1024); // reserved
  const hostKeys: HostKeySpec[] = [];
  while (r.remaining > 0) {
    if (hostKeys.length >= MAX_DEST_CONSTRAINTS) throw new InvalidArgumentError('too many host keys in a hop');
    const key = PublicKey.fromBlob(r.string(16 * 1024));
    hostKeys.push({ key, ca: r.bool() });
  }
  return {
    ...(user ? { user } : {}),
    ...(hostname ? { hostname } : {}),
    hostKeys,
  };
}

/** Parses what {@link encodeDestinations} writes (for agents and tests). */
export function decodeDestinations(body: Buffer): AllowedDestination[] {
  const outer = new SshReader(body);
  const r = new SshReader(outer.string());
  outer.ensureEnd('restrict-destination constraint');
  const out: AllowedDestination[] = [];
  while (r.remaining > 0) {
    if (out.length >= MAX_DEST_CONSTRAINTS) throw new InvalidArgumentError('too many destination constraints');
    const one = new SshReader(r.string());
    const from = readHop(one.string());
    const to = readHop(one.string());
    one.string(); // reserved
    one.ensureEnd('destination constraint');
    out.push({ from, to });
  }
  return out;
}

/** The constraint bytes appended to SSH_AGENTC_ADD_ID_CONSTRAINED; empty for none. */
export function encodeConstraints(c: AddConstraints | undefined): Buffer {
  if (!c) return Buffer.alloc(0);
  const w = new SshWriter(256);
  if (c.lifetime !== undefined) {
    if (!Number.isInteger(c.lifetime) || c.lifetime < 1 || c.lifetime > 0xffffffff)
      throw new InvalidArgumentError(`lifetime must be a whole number of seconds from 1 to 2^32-1, not ${c.lifetime}`);
    w.byte(AGENT_CONSTRAIN.LIFETIME).uint32(c.lifetime);
  }
  if (c.confirm) w.byte(AGENT_CONSTRAIN.CONFIRM);
  if (c.destinations && c.destinations.length > 0) {
    w.byte(AGENT_CONSTRAIN.EXTENSION).string(AGENT_EXT.RESTRICT_DESTINATION).raw(encodeDestinations(c.destinations));
  }
  for (const e of c.extensions ?? []) {
    if (!e.name) throw new InvalidArgumentError('an extension constraint needs a name');
    w.byte(AGENT_CONSTRAIN.EXTENSION).string(e.name).raw(e.data);
  }
  return Buffer.from(w.toBuffer());
}

/** Constraints as an agent reads them; unknown extensions are returned raw only when they are last. */
export interface DecodedAddConstraints extends AddConstraints {
  /** Extension names seen (including restrict-destination). */
  extensionNames: string[];
}

/**
 * Parses constraint bytes. Extensions this codec knows are parsed; an unknown extension's data cannot be
 * delimited (OpenSSH's form has no length), so it must be the last constraint and takes the rest.
 */
export function decodeConstraints(buf: Buffer): DecodedAddConstraints {
  const r = new SshReader(buf);
  const out: DecodedAddConstraints = { extensionNames: [] };
  while (r.remaining > 0) {
    const t = r.byte();
    if (t === AGENT_CONSTRAIN.LIFETIME) out.lifetime = r.uint32();
    else if (t === AGENT_CONSTRAIN.CONFIRM) out.confirm = true;
    else if (t === AGENT_CONSTRAIN.MAXSIGN) r.uint32();
    else if (t === AGENT_CONSTRAIN.EXTENSION) {
      const name = r.string(1024).toString('utf8');
      out.extensionNames.push(name);
      if (name === AGENT_EXT.RESTRICT_DESTINATION) {
        const body = r.string();
        out.destinations = [
          ...(out.destinations ?? []),
          ...decodeDestinations(Buffer.from(new SshWriter(body.length + 4).string(body).toBuffer())),
        ];
      } else {
        out.extensions = [...(out.extensions ?? []), { name, data: r.rest() }];
      }
    } else throw new InvalidArgumentError(`unknown key constraint ${t}`);
  }
  return out;
}

/** SSH_AGENTC_EXTENSION `session-bind@openssh.com`. */
export function encodeSessionBind(b: SessionBinding): Buffer {
  return Buffer.from(
    new SshWriter(b.hostKey.length + b.sessionId.length + b.signature.length + 64)
      .byte(AGENT_MSG.EXTENSION)
      .string(AGENT_EXT.SESSION_BIND)
      .string(b.hostKey)
      .string(b.sessionId)
      .string(b.signature)
      .bool(b.forwarding)
      .toBuffer(),
  );
}

/** Parses a `session-bind@openssh.com` request (the whole message, type byte included). */
export function decodeSessionBind(msg: Buffer): SessionBinding {
  const r = new SshReader(msg);
  if (r.byte() !== AGENT_MSG.EXTENSION) throw new InvalidArgumentError('not an extension request');
  if (r.string(64).toString() !== AGENT_EXT.SESSION_BIND) throw new InvalidArgumentError('not a session-bind request');
  const hostKey = r.string(16 * 1024);
  const sessionId = r.string(128);
  const signature = r.string(16 * 1024);
  const forwarding = r.bool();
  r.ensureEnd('session-bind request');
  return { hostKey, sessionId, signature, forwarding };
}

/** Fields of the plain private blob that the certificate replaces, per key type (PROTOCOL.certkeys). */
const PUBLIC_FIELDS: Record<string, number> = {
  'ssh-rsa': 2, // n, e
  'ssh-dss': 4, // p, q, g, y
  'ecdsa-sha2-nistp256': 2, // curve, Q
  'ecdsa-sha2-nistp384': 2,
  'ecdsa-sha2-nistp521': 2,
  'ssh-ed25519': 0, // the certificate form keeps pk and sk
};

/**
 * A certified key in ADD_IDENTITY form: `string cert-type || string cert-blob || private fields` (the
 * public fields the certificate carries are left out, as OpenSSH's agent expects). Contains secret
 * material: zero it when done.
 */
export function certificatePrivateBlob(key: PrivateKey, cert: Certificate): Buffer {
  if (!key.publicKey.equals(cert.publicKey)) throw new InvalidArgumentError('the certificate is not for this key');
  const skip = PUBLIC_FIELDS[key.type];
  if (skip === undefined) throw new InvalidArgumentError(`cannot add a ${key.type} certificate`);
  const priv = key.toPrivateBlob();
  try {
    const r = new SshReader(priv);
    r.string(64); // type
    for (let i = 0; i < skip; i++) r.string();
    const rest = r.rest();
    const w = new SshWriter(cert.blob.length + rest.length + 128).string(cert.certType).string(cert.blob).raw(rest);
    const out = Buffer.from(w.toBuffer());
    w.toBuffer().fill(0);
    return out;
  } finally {
    priv.fill(0);
  }
}

/** One entry of an identities answer, undecoded. */
export interface RawIdentity {
  blob: Buffer;
  comment: string;
}

/** Parses SSH_AGENT_IDENTITIES_ANSWER's body after the type byte. */
export function decodeIdentities(r: SshReader): RawIdentity[] {
  const n = r.uint32();
  if (n > MAX_IDENTITIES) throw new InvalidArgumentError(`agent listed too many identities (${n})`);
  const out: RawIdentity[] = [];
  for (let i = 0; i < n; i++) {
    const blob = r.string(64 * 1024);
    const comment = r.string(8192).toString('utf8');
    out.push({ blob, comment });
  }
  r.ensureEnd('agent identities answer');
  return out;
}

/** Parses the extension names of a `query` answer (SUCCESS + names, or EXTENSION_RESPONSE + "query" + names). */
export function decodeQueryAnswer(body: Buffer): string[] {
  const r = new SshReader(body);
  const code = r.byte();
  if (code === AGENT_MSG.EXTENSION_RESPONSE) {
    if (r.string(64).toString() !== AGENT_EXT.QUERY)
      throw new InvalidArgumentError('extension response is not for query');
  } else if (code !== AGENT_MSG.SUCCESS) throw new InvalidArgumentError(`unexpected agent reply ${code} to query`);
  const names: string[] = [];
  while (r.remaining > 0) {
    if (names.length >= 1024) throw new InvalidArgumentError('too many extension names');
    names.push(r.string(1024).toString('utf8'));
  }
  return names;
}
