/**
 * What the security-key kinds (PROTOCOL.u2f) share: the application string after the public point, the
 * flags of a signature, and the bytes an authenticator signs.
 */
import { createHash } from 'node:crypto';
import { KeyError } from '../../errors.js';
import type { SshReader } from '../../wire/index.js';
import type { SecurityKeyType } from '../types.js';

/** Flag: the user touched the authenticator (user presence). */
export const SK_USER_PRESENT = 0x01;
/** Flag: the authenticator verified the user (PIN or biometric). */
export const SK_USER_VERIFIED = 0x04;
/** Flag of a key file: the key lives on the token (a resident / discoverable credential). */
export const SK_RESIDENT_KEY = 0x20;

/** Longest application string accepted (FIDO relying-party ids are short; OpenSSH sets no limit under the blob's). */
export const MAX_SK_APPLICATION = 1024;

/** True for `sk-ssh-ed25519@openssh.com` and `sk-ecdsa-sha2-nistp256@openssh.com`. */
export function isSecurityKeyType(type: string): type is SecurityKeyType {
  return type === 'sk-ssh-ed25519@openssh.com' || type === 'sk-ecdsa-sha2-nistp256@openssh.com';
}

/** Reads the application string of a security-key blob (no NUL: OpenSSH reads it as a C string). */
export function readApplication(r: SshReader): Buffer {
  const app = r.string(MAX_SK_APPLICATION);
  if (app.includes(0)) throw new KeyError('security key application holds a NUL');
  return Buffer.from(app);
}

/**
 * The bytes a security key signs for `message` (PROTOCOL.u2f "SSH U2F signatures"):
 * SHA256(application) || flags || uint32 counter || SHA256(message). Ed25519 signs them as they are;
 * ECDSA signs their SHA-256.
 */
export function skSignedData(application: Uint8Array, flags: number, counter: number, message: Uint8Array): Buffer {
  const out = Buffer.alloc(32 + 1 + 4 + 32);
  createHash('sha256').update(application).digest().copy(out, 0);
  out[32] = flags & 0xff;
  out.writeUInt32BE(counter >>> 0, 33);
  createHash('sha256').update(message).digest().copy(out, 37);
  return out;
}

/** The refusal of the operations a security key does on the token itself. */
export function onTheToken(what: string): never {
  throw new KeyError(`a security-key (sk) key cannot ${what} here: the private key lives on the authenticator`);
}
