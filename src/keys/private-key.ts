/** The {@link PrivateKey} class: a node KeyObject with SSH signing and OpenSSH export. */
import type { KeyObject } from 'node:crypto';
import { KeyError } from '../errors.js';
import { SshWriter } from '../wire/index.js';
import { encodeOpenSSHPrivateKey } from './formats/openssh.js';
import { encodePkcs8PrivateKey, encodeTraditionalPemPrivateKey } from './formats/pem.js';
import { encodePpk, type PpkArgon2Options } from './formats/ppk.js';
import { algorithmFits, keyTypeOf, kindOf } from './kinds/index.js';
import { RSA_MAX_BITS } from './kinds/rsa.js';
import { PublicKey } from './public-key.js';
import type { Signer } from './signer.js';
import type { KeyType, SignatureAlgorithm } from './types.js';
import { asKeyError } from './util.js';

/** Options for {@link PrivateKey.export}. */
export interface PrivateKeyExportOptions {
  /**
   * `openssh` (default; `-----BEGIN OPENSSH PRIVATE KEY-----`), `pkcs8` (PEM), `pem` (PKCS#1 or SEC1 PEM, as
   * `ssh-keygen -m PEM`; RSA and ECDSA only) or `ppk` (PuTTY v3).
   */
  format?: 'openssh' | 'pkcs8' | 'pem' | 'ppk';
  /** Encrypts the output (a string is UTF-8 encoded). Omit for an unencrypted key. */
  passphrase?: string | Uint8Array;
  /** OpenSSH format: bcrypt_pbkdf rounds (default 16). */
  rounds?: number;
  /** OpenSSH format: cipher for an encrypted key (default `aes256-ctr`). */
  cipher?: string;
  /** PPK format: Argon2id cost for an encrypted key (default 8192 KiB, 8 passes, 1 lane). */
  argon2?: PpkArgon2Options;
  /** Comment stored in OpenSSH/PPK files (default: the key's comment). */
  comment?: string;
}

/** A private key that can sign. Create with `parsePrivateKey`, `generatePrivateKey` or {@link PrivateKey.fromKeyObject}. */
export class PrivateKey implements Signer {
  /** The key type, e.g. `ssh-ed25519`. */
  readonly type: KeyType;
  /** The public half (its comment is the key's comment). */
  readonly publicKey: PublicKey;
  readonly #key: KeyObject;

  private constructor(type: KeyType, key: KeyObject, publicKey: PublicKey) {
    this.type = type;
    this.#key = key;
    this.publicKey = publicKey;
  }

  /** Wraps a private node KeyObject (ed25519, EC P-256/384/521, RSA up to 16384 bits, DSA). */
  static fromKeyObject(key: KeyObject, comment = ''): PrivateKey {
    if (key.type !== 'private') throw new KeyError('not a private key');
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if ((key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'dsa') && bits > RSA_MAX_BITS) {
      throw new KeyError(`${key.asymmetricKeyType.toUpperCase()} modulus larger than ${RSA_MAX_BITS} bits`);
    }
    return asKeyError('unsupported private key', () => {
      const type = keyTypeOf(key);
      const blob = kindOf(type).publicBlob(type, key);
      return new PrivateKey(type, key, PublicKey.fromBlob(blob, comment));
    });
  }

  /** The comment (from the key file, or given at generation). */
  get comment(): string {
    return this.publicKey.comment;
  }

  /** The public key's fingerprint, `SHA256:…` (or `MD5:…`) as `ssh-keygen -l` prints it. */
  fingerprint(hash: 'sha256' | 'md5' = 'sha256'): string {
    return this.publicKey.fingerprint(hash);
  }

  /** Signs `data`, returning a full SSH signature blob (string algorithm || string signature). */
  signSync(data: Uint8Array, algorithm: SignatureAlgorithm): Buffer {
    if (!algorithmFits(this.type, algorithm)) {
      throw new KeyError(`${algorithm} cannot be used with a ${this.type} key`);
    }
    const sig = kindOf(this.type).sign(this.type, this.#key, algorithm, data);
    return Buffer.from(new SshWriter(sig.length + 64).string(algorithm).string(sig).toBuffer());
  }

  /** Async form of {@link PrivateKey.signSync} (the {@link Signer} interface). */
  async sign(data: Uint8Array, algorithm: SignatureAlgorithm): Promise<Buffer> {
    return this.signSync(data, algorithm);
  }

  /** The key as an unencrypted OpenSSH private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`). */
  toOpenSSH(comment: string = this.comment): string {
    return encodeOpenSSHPrivateKey(this.type, this.#key, this.publicKey.blob, comment);
  }

  /**
   * Serialises the private key: `openssh` (default; `openssh-key-v1`, encrypted with bcrypt_pbkdf + aes256-ctr
   * when `passphrase` is given, `rounds` default 16), `pkcs8` (PEM; encrypted with PBES2/PBKDF2 + AES-256-CBC
   * when `passphrase` is given), `pem` (PKCS#1 for RSA, SEC1 for ECDSA; AES-128-CBC legacy PEM encryption when
   * `passphrase` is given, as `ssh-keygen -m PEM`) or `ppk` (PuTTY v3; Argon2id + AES-256-CBC when `passphrase` is given).
   * The result contains secret material.
   */
  export(opts: PrivateKeyExportOptions = {}): string {
    const comment = opts.comment ?? this.comment;
    const pass = typeof opts.passphrase === 'string' ? Buffer.from(opts.passphrase, 'utf8') : opts.passphrase;
    switch (opts.format ?? 'openssh') {
      case 'openssh':
        return encodeOpenSSHPrivateKey(this.type, this.#key, this.publicKey.blob, comment, {
          ...(pass !== undefined ? { passphrase: pass } : {}),
          ...(opts.rounds !== undefined ? { rounds: opts.rounds } : {}),
          ...(opts.cipher !== undefined ? { cipher: opts.cipher } : {}),
        });
      case 'pkcs8':
        return encodePkcs8PrivateKey(this.#key, pass);
      case 'pem':
        return encodeTraditionalPemPrivateKey(this.#key, pass);
      case 'ppk':
        return encodePpk(this.type, this.#key, this.publicKey.blob, comment, pass, opts.argon2);
      default:
        throw new KeyError(`unknown private key format: ${String(opts.format)}`);
    }
  }

  /**
   * The private key in SSH wire form: `string type || type-specific fields` as in the OpenSSH key format and
   * SSH_AGENTC_ADD_IDENTITY (no comment). Contains secret material: zero it when done.
   */
  toPrivateBlob(): Buffer {
    const w = new SshWriter(2048).string(this.type);
    kindOf(this.type).writePrivate(this.type, this.#key, w);
    const out = Buffer.from(w.toBuffer());
    w.toBuffer().fill(0);
    return out;
  }

  /** The underlying node KeyObject (for PEM/PKCS#8 export via `KeyObject.export`). */
  toKeyObject(): KeyObject {
    return this.#key;
  }
}
