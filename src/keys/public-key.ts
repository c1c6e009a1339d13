/** The {@link PublicKey} class: an SSH public key blob with verification and fingerprints. */
import { createHash, type KeyObject, timingSafeEqual } from 'node:crypto';
import { KeyError } from '../errors.js';
import { ownCopy, SshReader } from '../wire/index.js';
import { encodeRfc4716 } from './formats/rfc4716.js';
import {
  algorithmFits,
  isKeyType,
  kindOf,
  type PublicMaterial,
  readSkTrailer,
  signatureAlgorithmsFor,
  skSignedDataFor,
} from './kinds/index.js';
import { type FingerprintHash, randomart, shortTypeName } from './randomart.js';
import type { KeyType, SecurityKeySignatureInfo, SignatureAlgorithm } from './types.js';
import { asKeyError } from './util.js';

/** Largest public key blob accepted (a 16384-bit RSA key is ~2 KiB; DSA 3072 ~1.6 KiB). */
export const MAX_PUBLIC_BLOB = 8 * 1024;

/** What {@link PublicKey.verifyDetailed} found. */
export interface SignatureVerification {
  /** True when the signature verifies. */
  readonly valid: boolean;
  /** A valid security-key (sk) signature: the authenticator's flags and counter. */
  readonly securityKey?: SecurityKeySignatureInfo;
}

const INVALID: SignatureVerification = Object.freeze({ valid: false });

/** Options for {@link PublicKey.export}. */
export interface PublicKeyExportOptions {
  /** `openssh` (default; one line), `rfc4716` (as `ssh-keygen -e`) or `spki` (PEM, as `ssh-keygen -e -m PKCS8`). */
  format?: 'openssh' | 'rfc4716' | 'spki';
  /** Comment written with the key (default: the key's; `spki` has none). */
  comment?: string;
}

/** An SSH public key. Create with {@link PublicKey.fromBlob} or `parsePublicKey`. */
export class PublicKey {
  /** The key type, e.g. `ssh-ed25519`. */
  readonly type: KeyType;
  /** SSH wire encoding (RFC 4253 §6.6 / RFC 5656 / RFC 8709). */
  readonly blob: Buffer;
  /** Free-form comment (from a key file or the agent); not part of the key. */
  comment: string;
  readonly #material: PublicMaterial;

  private constructor(type: KeyType, blob: Buffer, material: PublicMaterial, comment: string) {
    this.type = type;
    this.blob = blob;
    this.#material = material;
    this.comment = comment;
  }

  /**
   * Parses a public key blob strictly: unknown types, trailing bytes, bad lengths, RSA moduli over 16384 bits
   * and points off the curve throw {@link KeyError}.
   */
  static fromBlob(blob: Uint8Array, comment = ''): PublicKey {
    if (blob.length > MAX_PUBLIC_BLOB) throw new KeyError('public key blob too large');
    // Memory of its own: the key may live as long as a connection (the user's), and a pooled copy would keep a slab.
    const copy = ownCopy(blob);
    return asKeyError('malformed public key blob', () => {
      const r = new SshReader(copy);
      const type = r.ascii(64);
      if (!isKeyType(type)) throw new KeyError(`unsupported key type: ${type.replace(/[^\x20-\x7e]/g, '?')}`);
      const material = kindOf(type).readPublic(type, r);
      r.ensureEnd('public key blob');
      return new PublicKey(type, copy, material, comment);
    });
  }

  /**
   * Verifies `signature` (an SSH signature blob: string alg-name || string sig) made with `algorithm`. The name
   * inside the blob must equal `algorithm` and be valid for this key type. Returns false for a bad or malformed
   * signature; never throws for malformed input. For a security key (sk) the blob also carries the
   * authenticator's flags and counter (see {@link PublicKey.verifyDetailed} to read them): this says only that
   * the signature is valid, not that the user touched the key.
   */
  verify(data: Uint8Array, signature: Uint8Array, algorithm: SignatureAlgorithm): boolean {
    return this.verifyDetailed(data, signature, algorithm).valid;
  }

  /**
   * As {@link PublicKey.verify}, also returning what a security key (sk) reported with the signature: its flags
   * (0x01 user present, 0x04 user verified) and counter (PROTOCOL.u2f). Callers decide what they require
   * (sshd requires user presence unless `no-touch-required`).
   */
  verifyDetailed(data: Uint8Array, signature: Uint8Array, algorithm: SignatureAlgorithm): SignatureVerification {
    if (!algorithmFits(this.type, algorithm)) return INVALID;
    try {
      const r = new SshReader(signature);
      const name = r.ascii(64);
      if (name !== algorithm) return INVALID;
      const sig = r.string(4096);
      const app = this.#material.application;
      if (app === undefined) {
        r.ensureEnd();
        return { valid: kindOf(this.type).verify(this.#material, this.type, algorithm, data, sig) };
      }
      const trailer = readSkTrailer(r, algorithm);
      r.ensureEnd();
      const signed = skSignedDataFor(app, trailer, data);
      if (!signed || !kindOf(this.type).verify(this.#material, this.type, algorithm, signed, sig)) return INVALID;
      const { flags, counter } = trailer;
      return { valid: true, securityKey: Object.freeze({ flags, counter }) };
    } catch {
      return INVALID;
    }
  }

  /** A security key's (sk) FIDO application string, usually `ssh:`; undefined for other keys. */
  get application(): string | undefined {
    return this.#material.application?.toString('utf8');
  }

  /** True for security-key types (`sk-ssh-ed25519@openssh.com`, `sk-ecdsa-sha2-nistp256@openssh.com`). */
  get isSecurityKey(): boolean {
    return this.#material.application !== undefined;
  }

  /**
   * `SHA256:base64-without-padding` as `ssh-keygen -l` prints it; `MD5:aa:bb:…` for `'md5'`; `SHA1:`, `SHA384:`
   * and `SHA512:` (base64) for the other digests of `ssh-keygen -E`.
   */
  fingerprint(hash: FingerprintHash = 'sha256'): string {
    if (hash === 'md5') {
      const hex = createHash('md5').update(this.blob).digest('hex');
      return `MD5:${hex.match(/../g)?.join(':') ?? ''}`;
    }
    return `${hash.toUpperCase()}:${createHash(hash).update(this.blob).digest('base64').replace(/=+$/, '')}`;
  }

  /** The randomart picture `ssh-keygen -lv` prints (11 lines, no trailing newline). */
  randomart(hash: FingerprintHash = 'sha256'): string {
    return randomart(this.blob, shortTypeName(this.type), this.bits, hash);
  }

  /** Signature algorithms this key can verify, best first (rsa → rsa-sha2-512, rsa-sha2-256, ssh-rsa). */
  get signatureAlgorithms(): SignatureAlgorithm[] {
    return signatureAlgorithmsFor(this.type);
  }

  /** Key size in bits (RSA/DSA modulus size, curve size, 256 for Ed25519). */
  get bits(): number {
    return this.#material.bits;
  }

  /** OpenSSH one-line form: `ssh-ed25519 AAAA… comment` (no trailing space when there is no comment). */
  toString(): string {
    const line = `${this.type} ${this.blob.toString('base64')}`;
    return this.comment ? `${line} ${this.comment}` : line;
  }

  /** The public key as a node KeyObject. */
  toKeyObject(): KeyObject {
    return this.#material.key;
  }

  /**
   * Serialises the public key as file text ending in a newline: `openssh` (the one-line form, the default), `rfc4716`
   * (`---- BEGIN SSH2 PUBLIC KEY ----`, as `ssh-keygen -e`) or `spki` (PEM `PUBLIC KEY`, as `ssh-keygen -e -m PKCS8`).
   * `comment` defaults to the key's comment (not used by `spki`).
   */
  export(opts: PublicKeyExportOptions = {}): string {
    const comment = opts.comment ?? this.comment;
    switch (opts.format ?? 'openssh') {
      case 'openssh': {
        const line = `${this.type} ${this.blob.toString('base64')}`;
        return comment ? `${line} ${comment.replace(/[\r\n]/g, ' ')}\n` : `${line}\n`;
      }
      case 'rfc4716':
        return encodeRfc4716(this.blob, comment);
      case 'spki':
        if (this.isSecurityKey) throw new KeyError('a security-key (sk) public key has no SPKI form');
        return this.#material.key.export({ type: 'spki', format: 'pem' }).toString();
      default:
        throw new KeyError(`unknown public key format: ${String(opts.format)}`);
    }
  }

  /** True when both keys have the same blob (comments are ignored). */
  equals(other: PublicKey): boolean {
    return this.blob.length === other.blob.length && timingSafeEqual(this.blob, other.blob);
  }
}
