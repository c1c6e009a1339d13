/** ssh-agent protocol constants (draft-miller-ssh-agent, OpenSSH PROTOCOL.agent). */

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
  ADD_SMARTCARD_KEY: 20,
  REMOVE_SMARTCARD_KEY: 21,
  LOCK: 22,
  UNLOCK: 23,
  ADD_ID_CONSTRAINED: 25,
  ADD_SMARTCARD_KEY_CONSTRAINED: 26,
  EXTENSION: 27,
  EXTENSION_FAILURE: 28,
  EXTENSION_RESPONSE: 29,
} as const;

/** Other failure codes some agents send (ssh.com's 102, OpenSSH's legacy SSH2_AGENT_FAILURE 30); treated as FAILURE. */
export const LEGACY_FAILURES: readonly number[] = [30, 102];

/** Key constraint types of SSH_AGENTC_ADD_ID_CONSTRAINED. */
export const AGENT_CONSTRAIN = {
  LIFETIME: 1,
  CONFIRM: 2,
  MAXSIGN: 3,
  EXTENSION: 255,
} as const;

/** Flags of SSH_AGENTC_SIGN_REQUEST. */
export const SIGN_FLAGS = {
  RSA_SHA2_256: 2,
  RSA_SHA2_512: 4,
} as const;

/** Extension names. */
export const AGENT_EXT = {
  SESSION_BIND: 'session-bind@openssh.com',
  QUERY: 'query',
  RESTRICT_DESTINATION: 'restrict-destination-v00@openssh.com',
  ASSOCIATED_CERTS: 'associated-certs-v00@openssh.com',
} as const;

/** Largest agent message accepted or sent (OpenSSH's AGENT_MAX_LEN); checked before a body is buffered. */
export const MAX_AGENT_RESPONSE = 256 * 1024;
/** Largest message the client sends (the same limit: OpenSSH's agent drops longer ones). */
export const MAX_AGENT_REQUEST = 256 * 1024;
/** Most identities accepted in one answer. */
export const MAX_IDENTITIES = 2048;
/** Most destination constraints (and host keys per hop) encoded or decoded. */
export const MAX_DEST_CONSTRAINTS = 1024;
/** Largest data a sign request carries (OpenSSH's SSH_KEY_MAX_SIGN_DATA_SIZE is 1 MiB; the frame limit is lower). */
export const MAX_SIGN_DATA = MAX_AGENT_REQUEST - 32 * 1024;
