/**
 * SSH signatures (OpenSSH PROTOCOL.sshsig, what `ssh-keygen -Y sign` writes and git's `gpg.format=ssh`
 * uses): the blob and its `-----BEGIN SSH SIGNATURE-----` armor, signing data or a stream, and checking a
 * signature against the data with its own key. Who may sign is decided by `sshsig-verify.ts` (a public key
 * or an allowed_signers file).
 */
import { createHash } from 'node:crypto';
import { KeyError } from '../errors.js';
import { SshReader, SshWriter } from '../wire/index.js';
import { Certificate, certificateOf, isCertificateType, MAX_CERT_BLOB } from './certificate.js';
import { algorithmFits, isKeyType, readSkTrailer } from './kinds/index.js';
import { MAX_PUBLIC_BLOB, PublicKey } from './public-key.js';
import type { Signer } from './signer.js';
import type { SecurityKeySignatureInfo, SignatureAlgorithm } from './types.js';

/** The hash algorithms SSHSIG allows: the data is hashed with one of them before it is signed. */
export type SshsigHashAlgorithm = 'sha256' | 'sha512';

/** Limits on what {@link parseSshsig} accepts (checked before anything is allocated). */
export const SSHSIG_LIMITS = {
  /** Longest armored text. */
  maxArmored: 256 * 1024,
  /** Longest decoded blob. */
  maxBlob: MAX_CERT_BLOB + 16 * 1024,
  /** Longest namespace, bytes. */
  maxNamespace: 4096,
  /** Longest reserved field, bytes. */
  maxReserved: 4096,
  /** Longest SSH signature blob inside, bytes. */
  maxSignature: 8192,
} as const;

/** Why an SSHSIG operation failed (the {@link SshsigError.failure}). */
export type SshsigFailure =
  /** Not an SSHSIG signature, or one that breaks the format (armor, magic, lengths, trailing bytes). */
  | 'malformed'
  /** A version, hash algorithm or signature algorithm this implementation does not accept. */
  | 'unsupported'
  /** The signature was made for another namespace. */
  | 'namespace'
  /** The signature does not verify over the data (tampered data or signature). */
  | 'bad-signature'
  /** The signature verifies but was made by another key than the one required. */
  | 'key-mismatch'
  /** No allowed_signers line allows this key (and principal). */
  | 'not-allowed'
  /** A line allows the key, but not for this namespace (`namespaces=`). */
  | 'namespace-not-allowed'
  /** A line allows the key, but only after `valid-after` (or the certificate is not yet valid). */
  | 'not-yet-valid'
  /** A line allows the key, but only until `valid-before` (or the certificate has expired). */
  | 'expired'
  /** The signing certificate is not acceptable (bad CA signature, not a user certificate, principal). */
  | 'certificate'
  /** The key (or its certificate's CA) is in the revoked keys. */
  | 'revoked';

/** An SSHSIG signature was malformed, or did not verify, or its signer is not allowed. */
export class SshsigError extends KeyError {
  /** What failed, as a stable word. */
  readonly failure: SshsigFailure;
  constructor(failure: SshsigFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.failure = failure;
  }
}

/** A parsed SSHSIG signature (see {@link parseSshsig}). */
export interface SshSignature {
  /** Format version (always 1). */
  readonly version: number;
  /** The signing key (for a certificate, the certified key). */
  readonly publicKey: PublicKey;
  /** The certificate the signature was made with, when its public key field holds one. */
  readonly certificate: Certificate | undefined;
  /** The namespace the signature was made for, e.g. `git` or `file`. */
  readonly namespace: string;
  /** The reserved field (empty in every signature made today; ignored as the format says). */
  readonly reserved: Buffer;
  /** The hash the data was hashed with. */
  readonly hashAlgorithm: SshsigHashAlgorithm;
  /** The SSH signature blob (string algorithm || string signature). */
  readonly signature: Buffer;
  /** The signature algorithm named in {@link SshSignature.signature}, e.g. `rsa-sha2-512`. */
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** The whole binary SSHSIG blob. */
  readonly blob: Buffer;
}

/** Data to sign or verify: bytes, a string (UTF-8), or a stream / async iterable of chunks. */
export type SshsigData = string | Uint8Array | AsyncIterable<Uint8Array | string>;

/** Options of {@link signSshsig}. */
export interface SignSshsigOptions {
  /** The namespace (`ssh-keygen -n`): `git`, `file`, `email@example.com`…; must not be empty. */
  namespace: string;
  /** Hash of the data (default `sha512`, as ssh-keygen). */
  hashAlgorithm?: SshsigHashAlgorithm;
  /**
   * Sign as this certificate (its key must be the signer's): the signature carries the certificate, so an
   * allowed_signers `cert-authority` line for its CA accepts it. A `CertificateSigner` brings its own.
   */
  certificate?: Certificate;
}

const MAGIC = Buffer.from('SSHSIG', 'latin1');
const VERSION = 1;
const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';
/** ssh-keygen wraps the base64 at 70 columns. */
const ARMOR_WIDTH = 70;

function isHashAlgorithm(s: string): s is SshsigHashAlgorithm {
  return s === 'sha256' || s === 'sha512';
}

function printable(s: string): string {
  return s.slice(0, 64).replace(/[^\x20-\x7e]/g, '?');
}

/** Armors an SSHSIG blob exactly as `ssh-keygen -Y sign` does (70-column base64, final newline). */
export function armorSshsig(blob: Uint8Array): string {
  const b64 = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += ARMOR_WIDTH) body += `${b64.slice(i, i + ARMOR_WIDTH)}\n`;
  return `${BEGIN}\n${body}${END}\n`;
}

/**
 * Decodes the armor around an SSHSIG blob. The text must start with the header line (blank space before
 * it is allowed) and hold the footer on a line of its own; lines may end in CRLF. Throws
 * {@link SshsigError} (`malformed`).
 */
export function dearmorSshsig(text: string): Buffer {
  if (text.length > SSHSIG_LIMITS.maxArmored) throw new SshsigError('malformed', 'SSH signature text too large');
  const t = text.replace(/\r\n/g, '\n').trimStart();
  if (!t.startsWith(`${BEGIN}\n`)) throw new SshsigError('malformed', 'SSH signature: missing header');
  const end = t.indexOf(`\n${END}`, BEGIN.length);
  if (end < 0) throw new SshsigError('malformed', 'SSH signature: missing footer');
  const body = t.slice(BEGIN.length + 1, end).replace(/[ \t\n]+/g, '');
  if (body.length === 0 || body.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
    throw new SshsigError('malformed', 'SSH signature: invalid base64');
  }
  if ((body.length / 4) * 3 > SSHSIG_LIMITS.maxBlob + 3) throw new SshsigError('malformed', 'SSH signature too large');
  return Buffer.from(body, 'base64');
}

/** Parses a public key field: a plain key, or a certificate whose CA signature must verify. */
function readSigningKey(blob: Buffer): { publicKey: PublicKey; certificate: Certificate | undefined } {
  const type = new SshReader(blob).ascii(128);
  if (isKeyType(type)) return { publicKey: PublicKey.fromBlob(blob), certificate: undefined };
  if (!isCertificateType(type)) throw new SshsigError('unsupported', `unsupported key type ${printable(type)}`);
  const certificate = Certificate.fromBlob(blob);
  if (!certificateSignatureValid(certificate)) {
    throw new SshsigError('certificate', 'SSH signature: the certificate has a bad CA signature');
  }
  return { publicKey: certificate.publicKey, certificate };
}

/**
 * True when the CA signature of `cert` verifies (time, type and principals are not looked at; OpenSSH checks
 * this much whenever it reads a certificate).
 */
export function certificateSignatureValid(cert: Certificate): boolean {
  const alg = cert.signatureAlgorithm;
  if (!algorithmFits(cert.signatureKey.type, alg)) return false;
  const signed = cert.blob.subarray(0, cert.blob.length - 4 - cert.signature.length);
  return cert.signatureKey.verify(signed, cert.signature, alg);
}

/**
 * Parses an SSHSIG signature, armored text or the binary blob, strictly: magic `SSHSIG`, version 1, a
 * known key or certificate (whose CA signature must verify), a non-empty namespace, hash `sha256` or
 * `sha512`, a signature algorithm that fits the key (RSA: `rsa-sha2-256` or `rsa-sha2-512` only), no trailing
 * bytes, and the {@link SSHSIG_LIMITS}. Does not verify the signature (see `verifySshsig`). Throws
 * {@link SshsigError}.
 */
export function parseSshsig(input: string | Uint8Array): SshSignature {
  let blob: Buffer;
  if (typeof input === 'string') blob = dearmorSshsig(input);
  else {
    const b = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    if (b.length >= BEGIN.length && b.subarray(0, 64).toString('latin1').trimStart().startsWith(BEGIN)) {
      if (b.length > SSHSIG_LIMITS.maxArmored) throw new SshsigError('malformed', 'SSH signature text too large');
      blob = dearmorSshsig(b.toString('latin1'));
    } else blob = Buffer.from(b);
  }
  if (blob.length > SSHSIG_LIMITS.maxBlob) throw new SshsigError('malformed', 'SSH signature too large');
  try {
    const r = new SshReader(blob);
    if (r.remaining < MAGIC.length || !r.raw(MAGIC.length).equals(MAGIC)) {
      throw new SshsigError('malformed', 'not an SSH signature (no SSHSIG magic)');
    }
    const version = r.uint32();
    if (version !== VERSION) throw new SshsigError('unsupported', `unsupported SSH signature version ${version}`);
    const { publicKey, certificate } = readSigningKey(r.string(Math.max(MAX_CERT_BLOB, MAX_PUBLIC_BLOB)));
    const namespace = r.utf8(SSHSIG_LIMITS.maxNamespace);
    if (namespace.length === 0) throw new SshsigError('malformed', 'SSH signature has an empty namespace');
    if (namespace.includes('\0')) throw new SshsigError('malformed', 'SSH signature namespace holds a NUL');
    const reserved = Buffer.from(r.string(SSHSIG_LIMITS.maxReserved));
    const hash = r.ascii(64);
    if (!isHashAlgorithm(hash)) throw new SshsigError('unsupported', `unsupported hash algorithm ${printable(hash)}`);
    const signature = Buffer.from(r.string(SSHSIG_LIMITS.maxSignature));
    r.ensureEnd('SSH signature');
    const sr = new SshReader(signature);
    const alg = sr.ascii(64);
    sr.string(SSHSIG_LIMITS.maxSignature);
    // A security key's signature carries the authenticator's flags and counter (PROTOCOL.u2f), and more for webauthn.
    if (publicKey.isSecurityKey) readSkTrailer(sr, alg);
    sr.ensureEnd('SSH signature blob');
    if (!algorithmFits(publicKey.type, alg)) {
      throw new SshsigError(
        'unsupported',
        `signature algorithm ${printable(alg)} does not fit a ${publicKey.type} key`,
      );
    }
    if (alg === 'ssh-rsa') throw new SshsigError('unsupported', 'RSA SSH signatures must use rsa-sha2-256 or -512');
    return {
      version,
      publicKey,
      certificate,
      namespace,
      reserved,
      hashAlgorithm: hash,
      signature,
      signatureAlgorithm: alg,
      blob,
    };
  } catch (e) {
    if (e instanceof SshsigError) throw e;
    const detail = e instanceof Error ? `: ${e.message}` : '';
    throw new SshsigError('malformed', `malformed SSH signature${detail}`, { cause: e });
  }
}

/** Hashes `data` (bytes, a string, or a stream of chunks) with `alg`. */
export async function hashSshsigData(data: SshsigData, alg: SshsigHashAlgorithm): Promise<Buffer> {
  const h = createHash(alg);
  if (typeof data === 'string' || data instanceof Uint8Array) {
    h.update(data);
    return h.digest();
  }
  if (data === null || typeof data !== 'object' || !(Symbol.asyncIterator in data)) {
    throw new SshsigError('malformed', 'data to sign or verify must be bytes, a string or a stream');
  }
  for await (const chunk of data) {
    if (typeof chunk === 'string' || chunk instanceof Uint8Array) h.update(chunk);
    else throw new SshsigError('malformed', 'a stream to sign or verify must yield bytes or strings');
  }
  return h.digest();
}

/** The bytes an SSHSIG signature covers (PROTOCOL.sshsig §3; the reserved field is always empty there). */
export function sshsigSignedData(namespace: string, hashAlgorithm: SshsigHashAlgorithm, digest: Uint8Array): Buffer {
  const w = new SshWriter(128 + namespace.length + digest.length)
    .raw(MAGIC)
    .string(namespace)
    .string(Buffer.alloc(0))
    .string(hashAlgorithm)
    .string(digest);
  return Buffer.from(w.toBuffer());
}

function checkNamespace(namespace: unknown): string {
  if (typeof namespace !== 'string' || namespace.length === 0) {
    throw new SshsigError('malformed', 'an SSH signature namespace must be a non-empty string');
  }
  if (namespace.includes('\0') || Buffer.byteLength(namespace) > SSHSIG_LIMITS.maxNamespace) {
    throw new SshsigError('malformed', 'bad SSH signature namespace');
  }
  return namespace;
}

/**
 * Signs `data` and returns the binary SSHSIG blob. The signature algorithm is the key's own, except RSA
 * which signs with `rsa-sha2-512` as ssh-keygen does. The signer's answer is checked before it is used (an
 * agent that returns a SHA-1 or bad signature is an error, not a signature ssh-keygen would refuse).
 */
export async function signSshsigBlob(data: SshsigData, signer: Signer, opts: SignSshsigOptions): Promise<Buffer> {
  const namespace = checkNamespace(opts.namespace);
  const hash = opts.hashAlgorithm ?? 'sha512';
  if (!isHashAlgorithm(hash)) throw new SshsigError('unsupported', `unsupported hash algorithm ${String(hash)}`);
  const key = signer.publicKey;
  const certificate = opts.certificate ?? certificateOf(signer);
  if (certificate && !certificate.publicKey.equals(key)) {
    throw new SshsigError('certificate', 'the certificate is not for the signing key');
  }
  const alg: SignatureAlgorithm | undefined = key.type === 'ssh-rsa' ? 'rsa-sha2-512' : key.signatureAlgorithms[0];
  if (alg === undefined) throw new SshsigError('unsupported', `cannot sign with a ${key.type} key`);
  const signed = sshsigSignedData(namespace, hash, await hashSshsigData(data, hash));
  const signature = await signer.sign(signed, alg);
  if (!key.verify(signed, signature, alg)) {
    throw new SshsigError('bad-signature', `the signer returned no valid ${alg} signature`);
  }
  const keyBlob = certificate ? certificate.blob : key.blob;
  const w = new SshWriter(keyBlob.length + signature.length + namespace.length + 64)
    .raw(MAGIC)
    .uint32(VERSION)
    .string(keyBlob)
    .string(namespace)
    .string(Buffer.alloc(0))
    .string(hash)
    .string(signature);
  return Buffer.from(w.toBuffer());
}

/**
 * Signs `data` (bytes, a string, a Readable or any async iterable of chunks) as `ssh-keygen -Y sign -n
 * namespace` does and returns the armored text (`-----BEGIN SSH SIGNATURE-----`…). For Ed25519 keys the
 * output is byte-identical to ssh-keygen's. `signer` is a `PrivateKey`, an agent-backed signer or a
 * `CertificateSigner`.
 */
export async function signSshsig(data: SshsigData, signer: Signer, opts: SignSshsigOptions): Promise<string> {
  return armorSshsig(await signSshsigBlob(data, signer, opts));
}

/**
 * Checks that `sig` was made over `data` for `namespace` by its own key (what `ssh-keygen -Y check-novalidate`
 * checks). Throws {@link SshsigError}: `namespace` or `bad-signature`. Resolves with a security key's (sk) flags
 * and counter, undefined for other keys.
 */
export async function checkSshsigSignature(
  data: SshsigData,
  sig: SshSignature,
  namespace: string,
): Promise<SecurityKeySignatureInfo | undefined> {
  checkNamespace(namespace);
  if (sig.namespace !== namespace) {
    throw new SshsigError('namespace', 'SSH signature namespace does not match');
  }
  const signed = sshsigSignedData(namespace, sig.hashAlgorithm, await hashSshsigData(data, sig.hashAlgorithm));
  const result = sig.publicKey.verifyDetailed(signed, sig.signature, sig.signatureAlgorithm);
  if (!result.valid) {
    throw new SshsigError('bad-signature', 'SSH signature does not verify');
  }
  // A security key's flags are reported, not required: ssh-keygen -Y verify accepts a signature without user presence.
  return result.securityKey;
}
