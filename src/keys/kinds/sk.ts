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
export function skSignedData(
  application: Uint8Array,
  flags: number,
  counter: number,
  message: Uint8Array,
  webauthn?: { readonly clientData: Uint8Array; readonly extensions: Uint8Array },
): Buffer {
  const ext = webauthn?.extensions ?? Buffer.alloc(0);
  const out = Buffer.alloc(32 + 1 + 4 + ext.length + 32);
  createHash('sha256').update(application).digest().copy(out, 0);
  out[32] = flags & 0xff;
  out.writeUInt32BE(counter >>> 0, 33);
  out.set(ext, 37);
  // A webauthn signature covers the hash of its clientData, which holds the message (checked by the caller).
  createHash('sha256')
    .update(webauthn ? webauthn.clientData : message)
    .digest()
    .copy(out, 37 + ext.length);
  return out;
}

/** The signature algorithm of P-256 security keys used through a browser's WebAuthn API (sigs only). */
export const WEBAUTHN_SK_ECDSA = 'webauthn-sk-ecdsa-sha2-nistp256@openssh.com';
const MAX_WEBAUTHN_FIELD = 4096;

/** What follows the inner signature in a security key's signature blob. */
export interface SkSignatureTrailer {
  readonly flags: number;
  readonly counter: number;
  /** For `webauthn-sk-ecdsa-sha2-nistp256@openssh.com`: the origin, the clientData JSON and the extensions. */
  readonly webauthn?: { readonly origin: string; readonly clientData: Buffer; readonly extensions: Buffer };
}

/**
 * Reads byte flags || uint32 counter (PROTOCOL.u2f), and for a webauthn signature string origin || string
 * clientData || string extensions (OpenSSH's ssh-ecdsa-sk.c); the caller checks the end.
 */
export function readSkTrailer(r: SshReader, algorithm: string): SkSignatureTrailer {
  const flags = r.byte();
  const counter = r.uint32();
  if (algorithm !== WEBAUTHN_SK_ECDSA) return { flags, counter };
  const origin = r.string(MAX_WEBAUTHN_FIELD);
  if (origin.includes(0)) throw new KeyError('webauthn origin holds a NUL');
  const clientData = Buffer.from(r.string(MAX_WEBAUTHN_FIELD));
  const extensions = Buffer.from(r.string(MAX_WEBAUTHN_FIELD));
  return { flags, counter, webauthn: { origin: origin.toString('latin1'), clientData, extensions } };
}

/**
 * The bytes a security key signed for `message` given its trailer, or undefined when a webauthn signature's
 * clientData does not start as OpenSSH requires — `{"type":"webauthn.get","challenge":"<base64url(message)>",
 * "origin":"<origin>"` — or its flags disagree with its extensions (ED set exactly when there are extensions,
 * AT clear), as ssh-ecdsa-sk.c checks them.
 */
export function skSignedDataFor(
  application: Uint8Array,
  t: SkSignatureTrailer,
  message: Uint8Array,
): Buffer | undefined {
  const w = t.webauthn;
  if (!w) return skSignedData(application, t.flags, t.counter, message);
  if (w.origin.includes('"') || (t.flags & 0x40) !== 0 || ((t.flags & 0x80) === 0) !== (w.extensions.length === 0)) {
    return undefined;
  }
  const preamble = Buffer.from(
    `{"type":"webauthn.get","challenge":"${Buffer.from(message).toString('base64url')}","origin":"${w.origin}"`,
    'latin1',
  );
  if (w.clientData.length < preamble.length || !w.clientData.subarray(0, preamble.length).equals(preamble)) {
    return undefined;
  }
  return skSignedData(application, t.flags, t.counter, message, w);
}

/** The refusal of the operations a security key does on the token itself. */
export function onTheToken(what: string): never {
  throw new KeyError(`a security-key (sk) key cannot ${what} here: the private key lives on the authenticator`);
}
