/**
 * Deciding who made an SSH signature: against one public key, or against an allowed_signers file as
 * `ssh-keygen -Y verify` does, with `-Y find-principals` and `-Y match-principals`, and revoked keys.
 */
import { InvalidArgumentError, KeyError } from '../errors.js';
import { type AllowedSigner, matchSshPatternList, parseAllowedSigners } from './allowed-signers.js';
import type { Certificate } from './certificate.js';
import { isKeyRevoked, parseRevokedKeys, type RevocationList } from './krl.js';
import { matchPattern } from './pattern.js';
import { PublicKey } from './public-key.js';
import {
  checkSshsigSignature,
  parseSshsig,
  type SshSignature,
  type SshsigData,
  SshsigError,
  type SshsigFailure,
  type SshsigHashAlgorithm,
} from './sshsig.js';
import type { SecurityKeySignatureInfo, SignatureAlgorithm } from './types.js';

/** Options of {@link verifySshsig}. */
export interface VerifySshsigOptions {
  /** The namespace the signature must have been made for (`ssh-keygen -n`). */
  namespace: string;
  /** Accept only this key (a PublicKey or an OpenSSH public key line). Not with `allowedSigners`. */
  publicKey?: PublicKey | string;
  /** Accept only signers an allowed_signers file allows (its text, or its parsed lines). */
  allowedSigners?: string | readonly AllowedSigner[];
  /**
   * With `allowedSigners`: the identity that must have signed (`ssh-keygen -I`); a line must list it (its
   * patterns match) and, for a certificate, the certificate must name it. Without a principal any line
   * that allows the key will do, and its principals are returned.
   */
  principal?: string;
  /** The time the validity windows are checked at (default now; `ssh-keygen -O verify-time=`). */
  at?: Date | number;
  /**
   * Keys whose signatures are refused (`ssh-keygen -r`): a binary KRL (`ssh-keygen -k`) as bytes or parsed, the
   * text of a file of public key lines, or public keys. A certificate is refused when its key or its CA is
   * listed (and, in a KRL, by its serial or key ID). A list that cannot be read refuses every signature.
   */
  revokedKeys?: string | Uint8Array | readonly PublicKey[] | RevocationList;
}

/** What {@link verifySshsig} found. */
export interface SshsigVerification {
  /** The key that signed (for a certificate, the certified key). */
  readonly publicKey: PublicKey;
  /** The certificate the signature carried, if any. */
  readonly certificate: Certificate | undefined;
  /** The namespace the signature was made in. */
  readonly namespace: string;
  /** The hash of the signed data: sha256 or sha512. */
  readonly hashAlgorithm: SshsigHashAlgorithm;
  /** The signature's algorithm, e.g. `rsa-sha2-512`. */
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** The principal asked for, when one was. */
  readonly principal: string | undefined;
  /** The principals of the allowed_signers line that allowed the key (empty without one). */
  readonly principals: readonly string[];
  /** The allowed_signers line that allowed the key. */
  readonly signer: AllowedSigner | undefined;
  /**
   * A security key's (sk) flags (0x01 user present, 0x04 user verified) and counter. Like `ssh-keygen -Y verify`,
   * verification does not require user presence: check the flags here when it matters.
   */
  readonly securityKey?: SecurityKeySignatureInfo;
}

/** Options of {@link findPrincipals}. */
export interface FindPrincipalsOptions {
  /** The time the validity windows are checked at (default now). */
  at?: Date | number;
}

function seconds(at: Date | number | undefined): number {
  const ms = at === undefined ? Date.now() : typeof at === 'number' ? at : at.getTime();
  if (!Number.isFinite(ms)) throw new InvalidArgumentError('invalid verification time');
  return Math.floor(ms / 1000);
}

function signersOf(list: string | readonly AllowedSigner[]): readonly AllowedSigner[] {
  return typeof list === 'string' ? parseAllowedSigners(list) : list;
}

/** Splits a principals field at commas, stopping at the first empty one (as ssh-keygen's strsep loops). */
function splitPrincipals(field: string): string[] {
  const out: string[] = [];
  for (const p of field.split(',')) {
    if (p === '') break;
    out.push(p);
  }
  return out;
}

type LineResult = { ok: true; principals: string[] } | { ok: false; reason: SshsigFailure; message: string } | null;

/** sshkey_cert_check_authority for a user certificate that must list principals. */
function certProblem(cert: Certificate, t: number, principal: string | undefined): string | undefined {
  if (cert.type !== 'user') return 'not a user certificate';
  const now = BigInt(t);
  if (now < cert.validAfter) return 'certificate is not yet valid';
  if (now >= cert.validBefore) return 'certificate has expired';
  if (cert.principals.length === 0) return 'certificate lacks a principal list';
  if (principal !== undefined && !cert.principals.includes(principal)) return 'principal is not in the certificate';
  return undefined;
}

function certReason(problem: string): SshsigFailure {
  return problem.includes('expired') ? 'expired' : problem.includes('not yet') ? 'not-yet-valid' : 'certificate';
}

/**
 * check_allowed_keys_line: null when the line does not concern this key (or principal); otherwise whether it
 * allows the signature, and the principals it names.
 */
function checkLine(
  e: AllowedSigner,
  sig: SshSignature,
  principal: string | undefined,
  namespace: string | undefined,
  t: number,
): LineResult {
  if (principal !== undefined && matchSshPatternList(principal, e.principals) !== 1) return null;
  let principals: string[];
  const cert = sig.certificate;
  if (
    !e.certAuthority &&
    (e.certificate ? cert?.blob.equals(e.certificate.blob) : !cert && e.key.equals(sig.publicKey))
  ) {
    principals = splitPrincipals(e.principals);
  } else if (e.certAuthority && cert?.signatureKey.equals(e.key)) {
    if (principal !== undefined) {
      const problem = certProblem(cert, t, principal);
      if (problem) return { ok: false, reason: certReason(problem), message: problem };
      principals = splitPrincipals(e.principals);
    } else {
      principals = [];
      let problem: string | undefined;
      for (const pattern of splitPrincipals(e.principals)) {
        problem = certProblem(cert, t, undefined);
        if (problem) continue;
        for (const p of cert.principals) if (matchPattern(p, pattern)) principals.push(p);
      }
      if (principals.length === 0) {
        return problem
          ? { ok: false, reason: certReason(problem), message: problem }
          : { ok: false, reason: 'certificate', message: 'no certificate principal is allowed' };
      }
    }
  } else return null;
  if (e.namespaces !== undefined && namespace !== undefined && matchSshPatternList(namespace, e.namespaces) !== 1) {
    return { ok: false, reason: 'namespace-not-allowed', message: 'the key may not sign for this namespace' };
  }
  if (e.validAfter !== undefined && t < e.validAfter) {
    return { ok: false, reason: 'not-yet-valid', message: 'the key is not yet valid (valid-after)' };
  }
  if (e.validBefore !== undefined && t > e.validBefore) {
    return { ok: false, reason: 'expired', message: 'the key has expired (valid-before)' };
  }
  return { ok: true, principals };
}

/** The first line that allows `sig`; throws {@link SshsigError} saying why none did. */
function allowedBy(
  signers: readonly AllowedSigner[],
  sig: SshSignature,
  principal: string | undefined,
  namespace: string | undefined,
  t: number,
): { signer: AllowedSigner; principals: string[] } {
  let refusal: { reason: SshsigFailure; message: string } | undefined;
  for (const e of signers) {
    const r = checkLine(e, sig, principal, namespace, t);
    if (r === null) continue;
    if (r.ok) return { signer: e, principals: r.principals };
    refusal = r;
  }
  if (refusal) throw new SshsigError(refusal.reason, `SSH signature refused: ${refusal.message}`);
  const who = principal === undefined ? '' : ' for this principal';
  throw new SshsigError('not-allowed', `SSH signature refused: the key is not an allowed signer${who}`);
}

function toSignature(signature: string | Uint8Array | SshSignature): SshSignature {
  return typeof signature === 'string' || signature instanceof Uint8Array ? parseSshsig(signature) : signature;
}

/**
 * Verifies an SSH signature over `data` (bytes, a string or a stream) for `opts.namespace`:
 *
 * - with `allowedSigners` (and usually `principal`): as `ssh-keygen -Y verify -f allowed_signers -I principal
 *   -n namespace -s sig` — the key (or the CA of its user certificate, on a `cert-authority` line) must be
 *   allowed for the principal and namespace at `opts.at`;
 * - with `publicKey`: the signature must be by that key;
 * - with neither: as `ssh-keygen -Y check-novalidate`, only that the signature is good by its own key.
 *
 * Resolves with the signer; rejects with {@link SshsigError} (its `failure` says what failed) or
 * `InvalidArgumentError`. The policy is checked before the data is read, so a refused signature leaves a
 * stream unread.
 */
export async function verifySshsig(
  data: SshsigData,
  signature: string | Uint8Array | SshSignature,
  opts: VerifySshsigOptions,
): Promise<SshsigVerification> {
  if (opts.publicKey !== undefined && opts.allowedSigners !== undefined) {
    throw new InvalidArgumentError('verifySshsig takes publicKey or allowedSigners, not both');
  }
  if (opts.principal !== undefined && opts.allowedSigners === undefined) {
    throw new InvalidArgumentError('a principal can only be checked against allowedSigners');
  }
  const t = seconds(opts.at);
  const sig = toSignature(signature);
  if (sig.namespace !== opts.namespace) throw new SshsigError('namespace', 'SSH signature namespace does not match');
  if (opts.revokedKeys !== undefined) {
    const r = opts.revokedKeys;
    let list: RevocationList | readonly PublicKey[];
    try {
      list = typeof r === 'string' || r instanceof Uint8Array ? parseRevokedKeys(r) : r;
    } catch (e) {
      throw new SshsigError(
        'revoked',
        `SSH signature refused: the revoked keys cannot be read (${e instanceof Error ? e.message : String(e)})`,
        {
          cause: e,
        },
      );
    }
    if (isKeyRevoked(list, sig.publicKey, sig.certificate)) {
      throw new SshsigError('revoked', 'SSH signature refused: the key is revoked');
    }
  }
  let found: { signer: AllowedSigner; principals: string[] } | undefined;
  if (opts.publicKey !== undefined) {
    const want = typeof opts.publicKey === 'string' ? PublicKey.fromBlob(keyBlobOf(opts.publicKey)) : opts.publicKey;
    if (!want.equals(sig.publicKey)) throw new SshsigError('key-mismatch', 'SSH signature was made by another key');
  } else if (opts.allowedSigners !== undefined) {
    found = allowedBy(signersOf(opts.allowedSigners), sig, opts.principal, opts.namespace, t);
  }
  const securityKey = await checkSshsigSignature(data, sig, opts.namespace);
  return {
    ...(securityKey ? { securityKey } : {}),
    publicKey: sig.publicKey,
    certificate: sig.certificate,
    namespace: sig.namespace,
    hashAlgorithm: sig.hashAlgorithm,
    signatureAlgorithm: sig.signatureAlgorithm,
    principal: opts.principal,
    principals: found?.principals ?? [],
    signer: found?.signer,
  };
}

function keyBlobOf(line: string): Buffer {
  const m = /^\s*(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s|$)/.exec(line);
  if (!m) throw new KeyError('not an OpenSSH public key line');
  return Buffer.from(m[2] ?? '', 'base64');
}

/**
 * The principals an allowed_signers file gives the key of `signature`, as `ssh-keygen -Y find-principals`
 * prints them (one per entry, in the order of the first line that allows the key; a certificate's own
 * principals that the line's patterns match). Empty when no line allows it. Like ssh-keygen, this does not
 * verify the signature and ignores namespaces: call {@link verifySshsig} before trusting it.
 */
export function findPrincipals(
  signature: string | Uint8Array | SshSignature,
  allowedSigners: string | readonly AllowedSigner[],
  opts: FindPrincipalsOptions = {},
): string[] {
  const t = seconds(opts.at);
  const sig = toSignature(signature);
  for (const e of signersOf(allowedSigners)) {
    const r = checkLine(e, sig, undefined, undefined, t);
    if (r?.ok) return r.principals;
  }
  return [];
}

/**
 * The principals fields of the allowed_signers lines whose patterns match `principal`, as `ssh-keygen -Y
 * match-principals` prints them.
 */
export function matchPrincipals(allowedSigners: string | readonly AllowedSigner[], principal: string): string[] {
  return signersOf(allowedSigners)
    .filter((e) => matchSshPatternList(principal, e.principals) === 1)
    .map((e) => e.principals);
}
