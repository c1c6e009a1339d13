/** OpenSSH certificates (PROTOCOL.certkeys): `*-cert-v01@openssh.com` parse, verify and issue. */
import { randomBytes } from 'node:crypto';
import { KeyError } from '../errors.js';
import { SshReader, SshWriter } from '../wire/index.js';
import { isKeyType, kindOf } from './kinds/index.js';
import { MAX_PUBLIC_BLOB, PublicKey } from './public-key.js';
import type { Signer } from './signer.js';
import type { KeyType, SignatureAlgorithm } from './types.js';
import { asKeyError } from './util.js';

const SUFFIX = '-cert-v01@openssh.com';
/** Largest certificate blob accepted. */
export const MAX_CERT_BLOB = 32 * 1024;
/** Most principals accepted (OpenSSH's SSHKEY_CERT_MAX_PRINCIPALS). */
export const MAX_PRINCIPALS = 256;
const MAX_OPTIONS = 64;
/** `valid before` of a certificate that never expires. */
export const CERT_FOREVER = 0xffff_ffff_ffff_ffffn;

/** Critical options sshd understands (user certificates only). */
export const KNOWN_CRITICAL_OPTIONS: readonly string[] = ['force-command', 'source-address', 'verify-required'];
/** Extensions `ssh-keygen -s` grants user certificates by default. */
export const DEFAULT_USER_EXTENSIONS: readonly string[] = [
  'permit-X11-forwarding',
  'permit-agent-forwarding',
  'permit-port-forwarding',
  'permit-pty',
  'permit-user-rc',
];

/**
 * The plain key type or signature algorithm of a certificate name, or undefined when `name` is not one:
 * `ssh-ed25519-cert-v01@openssh.com` → `ssh-ed25519`, and for the security-key names, which drop their own
 * `@openssh.com` (PROTOCOL.u2f), `sk-ssh-ed25519-cert-v01@openssh.com` → `sk-ssh-ed25519@openssh.com`.
 */
function plainName(name: string): string | undefined {
  if (!name.endsWith(SUFFIX)) return undefined;
  const base = name.slice(0, -SUFFIX.length);
  return base.startsWith('sk-') ? `${base}@openssh.com` : base;
}

/** A certificate name for a plain key type or signature algorithm (the inverse of {@link plainName}). */
function certName(plain: string): string {
  return plain.startsWith('sk-') && plain.endsWith('@openssh.com')
    ? `${plain.slice(0, -'@openssh.com'.length)}${SUFFIX}`
    : `${plain}${SUFFIX}`;
}

/** True when `name` is a certificate key type (`ssh-ed25519-cert-v01@openssh.com`, …). */
export function isCertificateType(name: string): boolean {
  const plain = plainName(name);
  return plain !== undefined && isKeyType(plain);
}

/** The certificate key type for a plain key type (`sk-ssh-ed25519@openssh.com` → `sk-ssh-ed25519-cert-v01@openssh.com`). */
export function certificateTypeFor(type: KeyType): string {
  return certName(type);
}

/**
 * The public key algorithm name a certificate is offered under for a signature algorithm, e.g.
 * `rsa-sha2-512` → `rsa-sha2-512-cert-v01@openssh.com`, `ssh-ed25519` → `ssh-ed25519-cert-v01@openssh.com`,
 * `sk-ssh-ed25519@openssh.com` → `sk-ssh-ed25519-cert-v01@openssh.com`.
 */
export function certificateAlgorithmFor(alg: SignatureAlgorithm): string {
  return certName(alg);
}

/**
 * The signature algorithm a public key algorithm signs with: for a certificate algorithm the plain one
 * (`rsa-sha2-512-cert-v01@openssh.com` → `rsa-sha2-512`, PROTOCOL.certkeys;
 * `sk-ecdsa-sha2-nistp256-cert-v01@openssh.com` → `sk-ecdsa-sha2-nistp256@openssh.com`), otherwise `alg` itself.
 */
export function plainSignatureAlgorithm(alg: string): string {
  return plainName(alg) ?? alg;
}

/** Options (critical options or extensions) as name → value; flags have the value `''`. */
export type CertificateOptions = ReadonlyMap<string, string>;

function readOptions(data: Buffer, what: string): Map<string, string> {
  const out = new Map<string, string>();
  const r = new SshReader(data);
  while (r.remaining > 0) {
    const name = r.utf8(256);
    const value = r.string(8192);
    if (out.has(name)) throw new KeyError(`certificate has duplicate ${what} ${name.slice(0, 64)}`);
    let v = '';
    if (value.length > 0) {
      const vr = new SshReader(value);
      v = vr.utf8(8192);
      vr.ensureEnd(`certificate ${what} value`);
    }
    out.set(name, v);
    if (out.size > MAX_OPTIONS) throw new KeyError(`too many certificate ${what}s`);
  }
  return out;
}

function writeOptions(opts: ReadonlyMap<string, string> | Record<string, string> | undefined): Buffer {
  const entries = opts instanceof Map ? [...opts.entries()] : Object.entries(opts ?? {});
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const w = new SshWriter(256);
  for (const [name, value] of entries) {
    w.string(name);
    w.string(value === '' ? Buffer.alloc(0) : new SshWriter(value.length + 8).string(value).toBuffer());
  }
  return Buffer.from(w.toBuffer());
}

/** What {@link Certificate.verify} checks. */
export interface CertificateVerifyOptions {
  /** Trusted CA keys; the certificate's signature key must be one of them. Omit to check the signature only. */
  trustedCAs?: readonly PublicKey[];
  /** Required certificate type. */
  type?: 'user' | 'host';
  /** A principal (user name or host name) that must be listed (an empty list allows any, as OpenSSH). */
  principal?: string;
  /** The time to check the validity window at (default: now). */
  now?: Date | number;
  /** Critical options accepted (default {@link KNOWN_CRITICAL_OPTIONS} for user certificates, none for host). */
  acceptedCriticalOptions?: readonly string[];
  /** Accept CA signatures made with ssh-rsa (SHA-1), which OpenSSH refuses by default. Default false. */
  allowSha1Signature?: boolean;
}

/** An OpenSSH certificate: a public key, its constraints and a CA signature over them. */
export class Certificate {
  /** The certificate type name, e.g. `ssh-ed25519-cert-v01@openssh.com`. */
  readonly certType: string;
  /** The certified key (its comment is the certificate's comment). */
  readonly publicKey: PublicKey;
  /** The CA's random nonce (makes each signed blob unique). */
  readonly nonce: Buffer;
  /** Serial number chosen by the CA (0 when it chose none); what a revocation list can name. */
  readonly serial: bigint;
  /** Whether it certifies a user (for logging in) or a host (for host key checks). */
  readonly type: 'user' | 'host';
  /** The CA's free-form identifier, logged by sshd when the certificate is used. */
  readonly keyId: string;
  /** User names or host names the certificate is valid for; empty means any. */
  readonly principals: readonly string[];
  /** Seconds since the epoch. */
  readonly validAfter: bigint;
  /** Seconds since the epoch; {@link CERT_FOREVER} for no expiry. */
  readonly validBefore: bigint;
  /** Critical options (`force-command`, `source-address`, …): a verifier that does not know one must refuse the certificate. */
  readonly criticalOptions: CertificateOptions;
  /** Extensions (`permit-pty`, `permit-port-forwarding`, …); unknown ones are ignored. */
  readonly extensions: CertificateOptions;
  /** The CA key that signed the certificate. */
  readonly signatureKey: PublicKey;
  /** The CA's SSH signature blob. */
  readonly signature: Buffer;
  /** The whole certificate blob (what goes on the wire and in `-cert.pub` files). */
  readonly blob: Buffer;
  /** Bytes the signature covers. */
  readonly #signed: Buffer;

  private constructor(
    fields: Omit<Certificate, 'verify' | 'toString' | 'comment' | 'signatureAlgorithm'> & { signed: Buffer },
  ) {
    this.certType = fields.certType;
    this.publicKey = fields.publicKey;
    this.nonce = fields.nonce;
    this.serial = fields.serial;
    this.type = fields.type;
    this.keyId = fields.keyId;
    this.principals = fields.principals;
    this.validAfter = fields.validAfter;
    this.validBefore = fields.validBefore;
    this.criticalOptions = fields.criticalOptions;
    this.extensions = fields.extensions;
    this.signatureKey = fields.signatureKey;
    this.signature = fields.signature;
    this.blob = fields.blob;
    this.#signed = fields.signed;
  }

  /** Parses a certificate blob strictly; throws {@link KeyError}. Does not verify it (see {@link Certificate.verify}). */
  static fromBlob(data: Uint8Array, comment = ''): Certificate {
    if (data.length > MAX_CERT_BLOB) throw new KeyError('certificate too large');
    const blob = Buffer.from(data);
    return asKeyError('malformed certificate', () => {
      const r = new SshReader(blob);
      const certType = r.ascii(64);
      if (!isCertificateType(certType))
        throw new KeyError(`not a certificate type: ${certType.replace(/[^\x20-\x7e]/g, '?')}`);
      const keyType = plainName(certType) as KeyType;
      const nonce = Buffer.from(r.string(256));
      const start = r.offset;
      kindOf(keyType).readPublic(keyType, r);
      const fields = blob.subarray(start, r.offset);
      const keyBlob = Buffer.from(new SshWriter(fields.length + 64).string(keyType).raw(fields).toBuffer());
      const publicKey = PublicKey.fromBlob(keyBlob, comment);
      const serial = r.uint64();
      const typeNum = r.uint32();
      if (typeNum !== 1 && typeNum !== 2) throw new KeyError(`unknown certificate type ${typeNum}`);
      const keyId = r.utf8(4096);
      const pr = new SshReader(r.string(64 * 1024));
      const principals: string[] = [];
      while (pr.remaining > 0) {
        if (principals.length >= MAX_PRINCIPALS) throw new KeyError('too many certificate principals');
        principals.push(pr.utf8(1024));
      }
      const validAfter = r.uint64();
      const validBefore = r.uint64();
      const criticalOptions = readOptions(r.string(64 * 1024), 'critical option');
      const extensions = readOptions(r.string(64 * 1024), 'extension');
      r.string(64 * 1024); // reserved
      const signatureKey = PublicKey.fromBlob(r.string(MAX_PUBLIC_BLOB));
      const signed = blob.subarray(0, r.offset);
      const signature = Buffer.from(r.string(4096));
      r.ensureEnd('certificate');
      return new Certificate({
        certType,
        publicKey,
        nonce,
        serial,
        type: typeNum === 1 ? 'user' : 'host',
        keyId,
        principals,
        validAfter,
        validBefore,
        criticalOptions,
        extensions,
        signatureKey,
        signature,
        blob,
        signed,
      });
    });
  }

  /** The certificate's comment (from its file). */
  get comment(): string {
    return this.publicKey.comment;
  }

  /** The signature algorithm the CA used (from the signature blob), e.g. `rsa-sha2-512`. */
  get signatureAlgorithm(): string {
    try {
      return new SshReader(this.signature).ascii(64);
    } catch {
      return '';
    }
  }

  /**
   * Verifies the CA signature and the constraints in `opts`; throws {@link KeyError} saying what failed
   * (untrusted CA, bad signature, wrong type, expired or not yet valid, principal not listed, unknown critical option).
   */
  verify(opts: CertificateVerifyOptions = {}): void {
    if (opts.trustedCAs && !opts.trustedCAs.some((ca) => ca.equals(this.signatureKey))) {
      throw new KeyError('certificate signed by an untrusted CA');
    }
    const alg = this.signatureAlgorithm;
    if (alg === 'ssh-rsa' && !opts.allowSha1Signature) throw new KeyError('certificate signed with ssh-rsa (SHA-1)');
    if (!this.signatureKey.signatureAlgorithms.includes(alg as SignatureAlgorithm)) {
      throw new KeyError('certificate signature algorithm does not fit the CA key');
    }
    if (!this.signatureKey.verify(this.#signed, this.signature, alg as SignatureAlgorithm)) {
      throw new KeyError('bad certificate signature');
    }
    if (opts.type && opts.type !== this.type) throw new KeyError(`not a ${opts.type} certificate`);
    const nowMs = opts.now === undefined ? Date.now() : typeof opts.now === 'number' ? opts.now : opts.now.getTime();
    const now = BigInt(Math.floor(nowMs / 1000));
    if (now < this.validAfter) throw new KeyError('certificate is not yet valid');
    if (now >= this.validBefore) throw new KeyError('certificate has expired');
    if (opts.principal !== undefined && this.principals.length > 0 && !this.principals.includes(opts.principal)) {
      throw new KeyError('principal not listed in certificate');
    }
    const accepted = opts.acceptedCriticalOptions ?? (this.type === 'user' ? KNOWN_CRITICAL_OPTIONS : []);
    for (const name of this.criticalOptions.keys()) {
      if (!accepted.includes(name)) throw new KeyError(`unsupported critical option ${name.slice(0, 64)}`);
    }
  }

  /** The `-cert.pub` one-line form: `<cert type> <base64> [comment]`. */
  toString(): string {
    const line = `${this.certType} ${this.blob.toString('base64')}`;
    return this.comment ? `${line} ${this.comment}` : line;
  }
}

/** Parses a certificate from its one-line text (`…-cert-v01@openssh.com AAAA… comment`) or its blob. */
export function parseCertificate(data: string | Uint8Array): Certificate {
  if (typeof data !== 'string') return Certificate.fromBlob(data);
  if (data.length > MAX_CERT_BLOB * 2) throw new KeyError('certificate file too large');
  const line = data
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l.length > 0 && !l.startsWith('#'));
  const m = line ? /^(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*))?$/.exec(line) : null;
  if (!m) throw new KeyError('not a certificate line');
  const [, type = '', b64 = '', comment = ''] = m;
  const cert = Certificate.fromBlob(Buffer.from(b64, 'base64'), comment);
  if (cert.certType !== type) throw new KeyError('certificate type does not match its blob');
  return cert;
}

/** What {@link issueCertificate} puts in a certificate. */
export interface IssueCertificateOptions {
  /** A user certificate (to log in) or a host certificate (to identify a server). */
  type: 'user' | 'host';
  /** Free-form identifier, logged by sshd when the certificate is used. */
  keyId: string;
  /** Principals (user or host names); empty means any, which sshd refuses for user certs without authorized principals. */
  principals?: readonly string[];
  /** Seconds since the epoch, or a Date (default 0: always valid from the past). */
  validAfter?: bigint | Date;
  /** Seconds since the epoch, or a Date (default {@link CERT_FOREVER}). */
  validBefore?: bigint | Date;
  /** Serial number (default 0), e.g. for a revocation list. */
  serial?: bigint;
  /** Critical options (e.g. `{ 'force-command': 'ls', 'source-address': '10.0.0.0/8' }`). */
  criticalOptions?: Record<string, string> | ReadonlyMap<string, string>;
  /** Extensions (flags have `''`); default {@link DEFAULT_USER_EXTENSIONS} for user certificates, none for host. */
  extensions?: Record<string, string> | ReadonlyMap<string, string>;
  /** CA signature algorithm (default: the CA key's best, rsa-sha2-512 for RSA). */
  signatureAlgorithm?: SignatureAlgorithm;
  /** Comment of the returned certificate (default: the key's). */
  comment?: string;
}

function seconds(v: bigint | Date | undefined, dflt: bigint): bigint {
  if (v === undefined) return dflt;
  if (typeof v === 'bigint') return v;
  return BigInt(Math.floor(v.getTime() / 1000));
}

/** Signs a certificate for `key` with the CA `ca` (a private key or an agent-backed signer). */
export async function issueCertificate(
  ca: Signer,
  key: PublicKey,
  opts: IssueCertificateOptions,
): Promise<Certificate> {
  if (opts.type !== 'user' && opts.type !== 'host') throw new KeyError('certificate type must be user or host');
  const principals = opts.principals ?? [];
  if (principals.length > MAX_PRINCIPALS) throw new KeyError('too many principals');
  const alg = opts.signatureAlgorithm ?? ca.publicKey.signatureAlgorithms[0];
  if (!alg || !ca.publicKey.signatureAlgorithms.includes(alg))
    throw new KeyError('signature algorithm does not fit the CA key');
  const keyFields = new SshReader(key.blob);
  keyFields.ascii(64);
  const pw = new SshWriter(256);
  for (const p of principals) pw.string(p);
  const extensions =
    opts.extensions ?? (opts.type === 'user' ? Object.fromEntries(DEFAULT_USER_EXTENSIONS.map((e) => [e, ''])) : {});
  const w = new SshWriter(2048)
    .string(certificateTypeFor(key.type))
    .string(randomBytes(32))
    .raw(keyFields.rest())
    .uint64(opts.serial ?? 0n)
    .uint32(opts.type === 'user' ? 1 : 2)
    .string(opts.keyId)
    .string(pw.toBuffer())
    .uint64(seconds(opts.validAfter, 0n))
    .uint64(seconds(opts.validBefore, CERT_FOREVER))
    .string(writeOptions(opts.criticalOptions))
    .string(writeOptions(extensions))
    .string('')
    .string(ca.publicKey.blob);
  const signed = Buffer.from(w.toBuffer());
  const sig = await ca.sign(signed, alg);
  const blob = Buffer.concat([signed, new SshWriter(sig.length + 4).string(sig).toBuffer()]);
  return Certificate.fromBlob(blob, opts.comment ?? key.comment);
}

/**
 * A {@link Signer} that authenticates with a certificate: it signs with the underlying key, while publickey
 * authentication sends {@link CertificateSigner.certificate}'s blob under the certificate algorithm name.
 */
export class CertificateSigner implements Signer {
  /** The underlying key's public half (the certified key). */
  readonly publicKey: PublicKey;
  /** The certificate sent in place of the plain public key. */
  readonly certificate: Certificate;
  readonly #signer: Signer;

  constructor(signer: Signer, certificate: Certificate) {
    if (!signer.publicKey.equals(certificate.publicKey)) throw new KeyError('certificate is not for this key');
    this.#signer = signer;
    this.certificate = certificate;
    this.publicKey = signer.publicKey;
  }

  /** Signs with the underlying key (the signature blob names the plain algorithm, e.g. `rsa-sha2-512`). */
  sign(data: Uint8Array, algorithm: SignatureAlgorithm): Promise<Buffer> {
    return this.#signer.sign(data, algorithm);
  }
}

/** The certificate a signer authenticates with, if it is a {@link CertificateSigner}. */
export function certificateOf(signer: Signer): Certificate | undefined {
  return signer instanceof CertificateSigner ? signer.certificate : undefined;
}
