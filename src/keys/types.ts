/** Interfaces of the keys layer. */

/** Public key algorithm family names (the key's type, not the signature algorithm). */
export type KeyType =
  | 'ssh-ed25519'
  | 'ecdsa-sha2-nistp256'
  | 'ecdsa-sha2-nistp384'
  | 'ecdsa-sha2-nistp521'
  | 'ssh-rsa'
  | 'ssh-dss'
  | 'sk-ssh-ed25519@openssh.com'
  | 'sk-ecdsa-sha2-nistp256@openssh.com';

/** Signature algorithm names. */
export type SignatureAlgorithm =
  | 'ssh-ed25519'
  | 'ecdsa-sha2-nistp256'
  | 'ecdsa-sha2-nistp384'
  | 'ecdsa-sha2-nistp521'
  | 'rsa-sha2-512'
  | 'rsa-sha2-256'
  | 'ssh-rsa'
  | 'ssh-dss'
  | 'sk-ssh-ed25519@openssh.com'
  | 'sk-ecdsa-sha2-nistp256@openssh.com'
  | 'webauthn-sk-ecdsa-sha2-nistp256@openssh.com';

/** Security-key (FIDO/U2F, PROTOCOL.u2f) key types. */
export type SecurityKeyType = 'sk-ssh-ed25519@openssh.com' | 'sk-ecdsa-sha2-nistp256@openssh.com';

/** What a security key reports with each signature (PROTOCOL.u2f). */
export interface SecurityKeySignatureInfo {
  /** The authenticator's flags byte: 0x01 user present (touched), 0x04 user verified (PIN or biometric). */
  readonly flags: number;
  /** The authenticator's signature counter. */
  readonly counter: number;
}
