/** ssh-agent protocol constants (draft-miller-ssh-agent). */

/** Message numbers. */
export const AGENT_MSG = {
  FAILURE: 5,
  SUCCESS: 6,
  REQUEST_IDENTITIES: 11,
  IDENTITIES_ANSWER: 12,
  SIGN_REQUEST: 13,
  SIGN_RESPONSE: 14,
  ADD_IDENTITY: 17,
  REMOVE_IDENTITY: 18,
  REMOVE_ALL_IDENTITIES: 19,
  EXTENSION_FAILURE: 28,
} as const;

/** Flags of SSH_AGENTC_SIGN_REQUEST. */
export const SIGN_FLAGS = {
  RSA_SHA2_256: 2,
  RSA_SHA2_512: 4,
} as const;

/** Largest agent response accepted (checked before the body is buffered). */
export const MAX_AGENT_RESPONSE = 256 * 1024;
/** Most identities accepted in one answer. */
export const MAX_IDENTITIES = 2048;
