/**
 * The keys layer: public and private keys, signers, formats and generation.
 *
 * @example
 * import { parsePrivateKey } from 'secsh/keys';
 * const key = parsePrivateKey(pem, { passphrase });
 * console.log(key.publicKey.fingerprint());
 *
 * @module secsh/keys
 */

export {
  type AllowedSigner,
  MAX_ALLOWED_SIGNERS,
  matchSshPatternList,
  type ParseAllowedSignersOptions,
  parseAllowedSignerLine,
  parseAllowedSigners,
  parseSshsigTime,
} from './allowed-signers.js';
export { ARGON2_LIMITS, type Argon2Params, type Argon2Type, argon2 } from './argon2.js';
export {
  type AuthorizedKey,
  type AuthorizedKeyOption,
  type ParseAuthorizedKeysOptions,
  parseAuthorizedKeyLine,
  parseAuthorizedKeys,
} from './authorized-keys.js';
export { bcryptPbkdf } from './bcrypt-pbkdf.js';
export { blake2b } from './blake2b.js';
export { bubblebabble } from './bubblebabble.js';
export {
  CERT_FOREVER,
  Certificate,
  type CertificateOptions,
  CertificateSigner,
  type CertificateVerifyOptions,
  certificateAlgorithmFor,
  certificateOf,
  certificateTypeFor,
  DEFAULT_USER_EXTENSIONS,
  type IssueCertificateOptions,
  isCertificateType,
  issueCertificate,
  KNOWN_CRITICAL_OPTIONS,
  parseCertificate,
  plainSignatureAlgorithm,
} from './certificate.js';
export {
  type ReadPrivateKeyFileOptions,
  readPrivateKeyFile,
  writeFileAtomic,
  writePrivateKeyFile,
} from './files.js';
export type { PpkArgon2Options } from './formats/ppk.js';
export { type GenerateOptions, generatePrivateKey } from './generate.js';
export {
  algorithmFits,
  isKeyType,
  isSecurityKeyType,
  SK_RESIDENT_KEY,
  SK_USER_PRESENT,
  SK_USER_VERIFIED,
  signatureAlgorithmsFor,
  skSignedData,
} from './kinds/index.js';
export { isKeyRevoked, isKrl, MAX_KRL, parseRevokedKeys, RevocationList } from './krl.js';
export { KrlBuilder } from './krl-write.js';
export {
  type ParsePrivateKeyOptions,
  parseKey,
  parsePrivateKey,
  parsePublicKey,
  publicKeyOfPrivateKeyFile,
} from './parse.js';
export { PrivateKey, type PrivateKeyExportOptions } from './private-key.js';
export { PublicKey, type PublicKeyExportOptions, type SignatureVerification } from './public-key.js';
export { type FingerprintHash, randomart, shortTypeName } from './randomart.js';
export type { Signer } from './signer.js';
export { type ParseSecurityKeyFileOptions, parseSecurityKeyFile, type SecurityKeyFile } from './sk-private.js';
export {
  armorSshsig,
  checkSshsigSignature,
  dearmorSshsig,
  parseSshsig,
  type SignSshsigOptions,
  SSHSIG_LIMITS,
  type SshSignature,
  type SshsigData,
  SshsigError,
  type SshsigFailure,
  type SshsigHashAlgorithm,
  signSshsig,
  signSshsigBlob,
} from './sshsig.js';
export {
  type FindPrincipalsOptions,
  findPrincipals,
  matchPrincipals,
  type SshsigVerification,
  type VerifySshsigOptions,
  verifySshsig,
} from './sshsig-verify.js';
export type { KeyType, SecurityKeySignatureInfo, SecurityKeyType, SignatureAlgorithm } from './types.js';
