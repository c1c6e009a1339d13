/**
 * The agent server's keyring: private keys (and certificates with their keys) as SSH_AGENTC_ADD_IDENTITY
 * carries them, with their constraints and lifetimes.
 */
import { AgentError } from '../errors.js';
import { MAX_CERT_BLOB } from '../keys/certificate.js';
import {
  Certificate,
  isCertificateType,
  isKeyType,
  PrivateKey,
  type PublicKey,
  type SignatureAlgorithm,
} from '../keys/index.js';
import { kindOf } from '../keys/kinds/index.js';
import { SshReader, SshWriter } from '../wire/index.js';
import type { DestinationConstraint } from './constraints.js';

/** Longest key comment kept. */
export const MAX_COMMENT = 8 * 1024;

/** One key the agent holds. */
export interface Identity {
  /** What clients name it by: the public key blob, or the certificate blob. */
  readonly blob: Buffer;
  /** The public key or the certificate (what is listed). */
  readonly publicKey: PublicKey | Certificate;
  readonly privateKey: PrivateKey;
  comment: string;
  /** Milliseconds since the epoch when it is removed; undefined for no lifetime. */
  expiresAt: number | undefined;
  confirm: boolean;
  destinations: DestinationConstraint[];
  timer: NodeJS.Timeout | undefined;
}

/** Number of length-prefixed private fields a certificate is followed by in ADD_IDENTITY, per key kind. */
function certPrivateFields(type: string): number {
  if (type === 'ssh-ed25519') return 2; // public and private halves again
  if (type === 'ssh-rsa') return 4; // d, iqmp, p, q
  return 1; // ECDSA scalar, DSA x
}

/** Slices `count` length-prefixed fields from `r`, returning their raw bytes (lengths included). */
function rawFields(buf: Buffer, r: SshReader, count: number): Buffer {
  const start = r.offset;
  for (let i = 0; i < count; i++) r.string(16 * 1024);
  return buf.subarray(start, r.offset);
}

/**
 * Reads the key of an ADD_IDENTITY message at `r` (positioned after the message byte): `string type` and its
 * private fields, or `string cert-type`, `string certificate` and the private fields a certificate needs.
 * Throws for unknown types and keys that do not match their certificate.
 */
export function readAgentKey(
  buf: Buffer,
  r: SshReader,
): { privateKey: PrivateKey; publicKey: PublicKey | Certificate } {
  const type = r.ascii(128);
  if (isCertificateType(type)) {
    const cert = Certificate.fromBlob(r.string(MAX_CERT_BLOB));
    if (cert.certType !== type) throw new AgentError('certificate type does not match its name');
    const keyType = cert.publicKey.type;
    const priv = rawFields(buf, r, certPrivateFields(keyType));
    const pub = cert.publicKey.blob;
    let plain: Buffer;
    if (keyType === 'ssh-ed25519') {
      plain = Buffer.concat([new SshWriter(32).string(keyType).toBuffer(), priv]);
    } else if (keyType === 'ssh-rsa') {
      // The public blob holds e then n; the private encoding wants n then e.
      const pr = new SshReader(pub);
      pr.string();
      const e = rawFields(pub, pr, 1);
      const n = rawFields(pub, pr, 1);
      plain = Buffer.concat([new SshWriter(32).string(keyType).toBuffer(), n, e, priv]);
    } else {
      plain = Buffer.concat([pub, priv]);
    }
    const privateKey = readPlain(plain);
    plain.fill(0);
    if (!privateKey.publicKey.blob.equals(pub)) throw new AgentError('private key does not match the certificate');
    return { privateKey, publicKey: cert };
  }
  if (!isKeyType(type)) throw new AgentError('unsupported key type');
  const keyObject = kindOf(type).readPrivate(type, r);
  const privateKey = PrivateKey.fromKeyObject(keyObject);
  return { privateKey, publicKey: privateKey.publicKey };
}

function readPlain(plain: Buffer): PrivateKey {
  const r = new SshReader(plain);
  const type = r.ascii(64);
  if (!isKeyType(type)) throw new AgentError('unsupported key type');
  const key = PrivateKey.fromKeyObject(kindOf(type).readPrivate(type, r));
  r.ensureEnd('certificate private key');
  return key;
}

/** The key type of a public key or certificate (`ssh-rsa`, `ssh-ed25519-cert-v01@openssh.com`, …). */
export function typeOf(k: PublicKey | Certificate): string {
  return k instanceof Certificate ? k.certType : k.type;
}

/**
 * Signature algorithm for a sign request (OpenSSH's agent_decode_alg): for RSA keys and RSA certificates the
 * SHA-2 flags pick rsa-sha2-256 (checked first) or rsa-sha2-512, else ssh-rsa (SHA-1); other keys have one.
 */
export function signAlgorithm(id: Identity, flags: number): SignatureAlgorithm {
  const key = id.privateKey;
  if (key.type === 'ssh-rsa') {
    if (flags & 2) return 'rsa-sha2-256';
    if (flags & 4) return 'rsa-sha2-512';
    return 'ssh-rsa';
  }
  const first = key.publicKey.signatureAlgorithms[0];
  if (first === undefined) throw new AgentError('key has no signature algorithm');
  return first;
}

/** Identities by blob, in the order they were first added. */
export class Keyring {
  readonly #ids = new Map<string, Identity>();
  /** Earliest expiry among the identities (infinity when none expires). */
  #nextExpiry = Number.POSITIVE_INFINITY;

  get size(): number {
    return this.#ids.size;
  }

  get(blob: Uint8Array): Identity | undefined {
    return this.#ids.get(Buffer.from(blob).toString('base64'));
  }

  /** Adds or replaces (in place) an identity. */
  set(id: Identity): void {
    const old = this.get(id.blob);
    if (old?.timer) clearTimeout(old.timer);
    this.#ids.set(id.blob.toString('base64'), id);
    if (id.expiresAt !== undefined) this.#nextExpiry = Math.min(this.#nextExpiry, id.expiresAt);
  }

  delete(blob: Uint8Array): boolean {
    const k = Buffer.from(blob).toString('base64');
    const id = this.#ids.get(k);
    if (!id) return false;
    if (id.timer) clearTimeout(id.timer);
    return this.#ids.delete(k);
  }

  clear(): void {
    for (const id of this.#ids.values()) if (id.timer) clearTimeout(id.timer);
    this.#ids.clear();
  }

  /** Removes identities whose lifetime is over (a scan only once the earliest expiry has passed). */
  expire(now: number = Date.now()): void {
    if (now < this.#nextExpiry) return;
    let next = Number.POSITIVE_INFINITY;
    for (const id of [...this.#ids.values()]) {
      if (id.expiresAt === undefined) continue;
      if (id.expiresAt <= now) this.delete(id.blob);
      else next = Math.min(next, id.expiresAt);
    }
    this.#nextExpiry = next;
  }

  values(): IterableIterator<Identity> {
    return this.#ids.values();
  }
}
