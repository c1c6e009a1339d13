/**
 * Security-key (sk) private key files: what `ssh-keygen -t ed25519-sk` / `-t ecdsa-sk` write (PROTOCOL.u2f).
 * The secret stays on the authenticator; the file holds the public key, the application, the flags asked for
 * at enrolment and the key handle the token needs to sign. Parsed here; signing needs the token.
 */
import { KeyError } from '../errors.js';
import { SshWriter } from '../wire/index.js';
import { DEFAULT_MAX_ROUNDS, isOpenSSHPrivateKey, readOpenSSHKeyFile } from './formats/openssh.js';
import { isSecurityKeyType } from './kinds/index.js';
import { MAX_SK_APPLICATION } from './kinds/sk.js';
import { PublicKey } from './public-key.js';
import type { SecurityKeyType } from './types.js';

/** Longest key handle accepted (FIDO credential ids are at most 1023 bytes). */
const MAX_KEY_HANDLE = 4096;
const MAX_RESERVED = 4096;
/** Largest key file text accepted. */
const MAX_FILE = 64 * 1024;

/** A parsed security-key private key file. */
export interface SecurityKeyFile {
  /** `sk-ssh-ed25519@openssh.com` or `sk-ecdsa-sha2-nistp256@openssh.com`. */
  readonly type: SecurityKeyType;
  /** The public key (its comment is the file's). */
  readonly publicKey: PublicKey;
  /** The FIDO application, usually `ssh:`. */
  readonly application: string;
  /** Flags asked for at enrolment: 0x01 user presence required, 0x04 user verification required, 0x20 resident. */
  readonly flags: number;
  /** The credential id the authenticator needs to sign (secret-ish: it names the key to the token). */
  readonly keyHandle: Buffer;
  /** The reserved field (empty in files OpenSSH writes). */
  readonly reserved: Buffer;
  /** The file's comment. */
  readonly comment: string;
}

/** Options of {@link parseSecurityKeyFile}. */
export interface ParseSecurityKeyFileOptions {
  /** Passphrase of an encrypted file (a string is UTF-8 encoded). */
  passphrase?: string | Uint8Array;
  /** Most bcrypt_pbkdf rounds an encrypted file may ask for (default 1000, at most 10,000). */
  maxKdfRounds?: number;
}

/**
 * Parses an OpenSSH-format security-key private key file (`-----BEGIN OPENSSH PRIVATE KEY-----` holding an
 * `sk-ssh-ed25519@openssh.com` or `sk-ecdsa-sha2-nistp256@openssh.com` key). A missing or wrong passphrase throws
 * `KeyPassphraseError`; any other key type, or anything malformed, throws {@link KeyError}.
 */
export function parseSecurityKeyFile(
  data: string | Uint8Array,
  opts: ParseSecurityKeyFileOptions = {},
): SecurityKeyFile {
  if (data.length > MAX_FILE) throw new KeyError('key file too large');
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  if (!isOpenSSHPrivateKey(text)) throw new KeyError('not an OpenSSH private key file');
  const pass = typeof opts.passphrase === 'string' ? Buffer.from(opts.passphrase, 'utf8') : opts.passphrase;
  const rounds = Math.min(opts.maxKdfRounds ?? DEFAULT_MAX_ROUNDS, 10_000);
  const parsed = readOpenSSHKeyFile(text, pass, rounds, (type, r, publicBlob) => {
    if (!isSecurityKeyType(type)) {
      throw new KeyError(`not a security-key file: ${type.replace(/[^\x20-\x7e]/g, '?').slice(0, 64)}`);
    }
    // The public fields as in the public key blob: (string pk | string curve, string Q), string application.
    const w = new SshWriter(256).string(type);
    if (type === 'sk-ecdsa-sha2-nistp256@openssh.com') w.string(r.string(64));
    w.string(r.string(256)).string(r.string(MAX_SK_APPLICATION));
    const blob = Buffer.from(w.toBuffer());
    PublicKey.fromBlob(blob); // strict: curve, point, application
    const flags = r.byte();
    const keyHandle = Buffer.from(r.string(MAX_KEY_HANDLE));
    const reserved = Buffer.from(r.string(MAX_RESERVED));
    if (keyHandle.length === 0) throw new KeyError('security-key file has an empty key handle');
    return {
      value: { type, blob, flags, keyHandle, reserved },
      check: () => {
        if (!blob.equals(publicBlob)) throw new KeyError('private key does not match the public key in the file');
      },
    };
  });
  const publicKey = PublicKey.fromBlob(parsed.blob, parsed.comment);
  return {
    type: parsed.type,
    publicKey,
    application: publicKey.application ?? '',
    flags: parsed.flags,
    keyHandle: parsed.keyHandle,
    reserved: parsed.reserved,
    comment: parsed.comment,
  };
}
