/**
 * Typed errors. Every error secsh raises is an {@link SshError} with a stable string `code`.
 * Where the wire has a number (a disconnect reason, a channel-open failure code) it is carried too.
 */

/** SSH_MSG_DISCONNECT reason codes (RFC 4253 §11.1). */
export const DisconnectReason = {
  HOST_NOT_ALLOWED_TO_CONNECT: 1,
  PROTOCOL_ERROR: 2,
  KEY_EXCHANGE_FAILED: 3,
  RESERVED: 4,
  MAC_ERROR: 5,
  COMPRESSION_ERROR: 6,
  SERVICE_NOT_AVAILABLE: 7,
  PROTOCOL_VERSION_NOT_SUPPORTED: 8,
  HOST_KEY_NOT_VERIFIABLE: 9,
  CONNECTION_LOST: 10,
  BY_APPLICATION: 11,
  TOO_MANY_CONNECTIONS: 12,
  AUTH_CANCELLED_BY_USER: 13,
  NO_MORE_AUTH_METHODS_AVAILABLE: 14,
  ILLEGAL_USER_NAME: 15,
} as const;
export type DisconnectReasonCode = (typeof DisconnectReason)[keyof typeof DisconnectReason];

/** Stable error codes. */
export type SshErrorCode =
  | 'ERR_SSH'
  | 'ERR_SSH_PROTOCOL'
  | 'ERR_SSH_NEGOTIATION'
  | 'ERR_SSH_HOST_KEY'
  | 'ERR_SSH_AUTH'
  | 'ERR_SSH_DISCONNECT'
  | 'ERR_SSH_TIMEOUT'
  | 'ERR_SSH_CHANNEL_OPEN'
  | 'ERR_SSH_CHANNEL'
  | 'ERR_SSH_MAC'
  | 'ERR_SSH_CONNECTION_LOST'
  | 'ERR_SSH_KEY'
  | 'ERR_SSH_KEY_PASSPHRASE'
  | 'ERR_SSH_AGENT'
  | 'ERR_SSH_ABORTED'
  | 'ERR_SSH_INVALID_ARGUMENT'
  | 'ERR_SSH_NOT_CONNECTED'
  | 'ERR_SSH_SFTP';

/** Base class of every error secsh raises. */
export class SshError extends Error {
  readonly code: SshErrorCode;
  /** The SSH_MSG_DISCONNECT reason this error maps to when it ends a connection. */
  readonly reason: DisconnectReasonCode | undefined;
  constructor(message: string, code: SshErrorCode = 'ERR_SSH', reason?: DisconnectReasonCode, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.reason = reason;
  }
}

/** The peer broke the protocol: malformed, truncated or out-of-place messages. */
export class ProtocolError extends SshError {
  constructor(message: string, reason: DisconnectReasonCode = DisconnectReason.PROTOCOL_ERROR, options?: ErrorOptions) {
    super(message, 'ERR_SSH_PROTOCOL', reason, options);
  }
}

/** A read ran past the end of a message, or a message had trailing bytes. */
export class WireError extends ProtocolError {}

/** A packet failed authentication (bad MAC or AEAD tag). */
export class MacError extends SshError {
  constructor(message = 'packet authentication failed (bad MAC)') {
    super(message, 'ERR_SSH_MAC', DisconnectReason.MAC_ERROR);
  }
}

/** No algorithm in common. Names the algorithm kind and both sides' lists. */
export class NegotiationError extends SshError {
  readonly kind: string;
  readonly clientList: readonly string[];
  readonly serverList: readonly string[];
  constructor(kind: string, clientList: readonly string[], serverList: readonly string[]) {
    super(
      `no matching ${kind} algorithm: client offers [${clientList.join(',')}], server offers [${serverList.join(',')}]`,
      'ERR_SSH_NEGOTIATION',
      DisconnectReason.KEY_EXCHANGE_FAILED,
    );
    this.kind = kind;
    this.clientList = clientList;
    this.serverList = serverList;
  }
}

/** The server's host key was not accepted, or its signature did not verify. */
export class HostKeyError extends SshError {
  /** `SHA256:…` fingerprint of the offending key, when known. */
  readonly fingerprint: string | undefined;
  constructor(message: string, fingerprint?: string) {
    super(message, 'ERR_SSH_HOST_KEY', DisconnectReason.HOST_KEY_NOT_VERIFIABLE);
    this.fingerprint = fingerprint;
  }
}

/** Authentication failed: every method was tried. */
export class AuthError extends SshError {
  /** Methods the server said could continue, from the last USERAUTH_FAILURE. */
  readonly methodsLeft: readonly string[];
  constructor(message: string, methodsLeft: readonly string[] = []) {
    super(message, 'ERR_SSH_AUTH', DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE);
    this.methodsLeft = methodsLeft;
  }
}

/** The peer sent SSH_MSG_DISCONNECT. */
export class DisconnectError extends SshError {
  /** The peer's reason code as sent (may be outside the RFC's list). */
  readonly peerReason: number;
  readonly description: string;
  constructor(peerReason: number, description: string) {
    super(`peer disconnected (reason ${peerReason}): ${description}`, 'ERR_SSH_DISCONNECT');
    this.peerReason = peerReason;
    this.description = description;
  }
}

/** An operation did not finish in time. */
export class TimeoutError extends SshError {
  constructor(message: string) {
    super(message, 'ERR_SSH_TIMEOUT');
  }
}

/** The stream underneath closed or failed. */
export class ConnectionLostError extends SshError {
  constructor(message = 'connection lost', options?: ErrorOptions) {
    super(message, 'ERR_SSH_CONNECTION_LOST', DisconnectReason.CONNECTION_LOST, options);
  }
}

/** SSH_MSG_CHANNEL_OPEN_FAILURE reason codes (RFC 4254 §5.1). */
export const ChannelOpenFailure = {
  ADMINISTRATIVELY_PROHIBITED: 1,
  CONNECT_FAILED: 2,
  UNKNOWN_CHANNEL_TYPE: 3,
  RESOURCE_SHORTAGE: 4,
} as const;

/** The peer refused to open a channel. */
export class ChannelOpenError extends SshError {
  readonly reasonCode: number;
  readonly description: string;
  constructor(reasonCode: number, description: string) {
    super(`channel open failed (${reasonCode}): ${description}`, 'ERR_SSH_CHANNEL_OPEN');
    this.reasonCode = reasonCode;
    this.description = description;
  }
}

/** A channel request failed or a channel was used after close. */
export class ChannelError extends SshError {
  constructor(message: string) {
    super(message, 'ERR_SSH_CHANNEL');
  }
}

/** A key could not be parsed, or is of an unsupported type. */
export class KeyError extends SshError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_SSH_KEY', undefined, options);
  }
}

/** A key is encrypted and no passphrase, or a wrong one, was given. */
export class KeyPassphraseError extends SshError {
  constructor(message: string) {
    super(message, 'ERR_SSH_KEY_PASSPHRASE');
  }
}

/** The ssh-agent failed or refused. */
export class AgentError extends SshError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_SSH_AGENT', undefined, options);
  }
}

/** The caller's AbortSignal fired. */
export class AbortError extends SshError {
  constructor(message = 'operation aborted', options?: ErrorOptions) {
    super(message, 'ERR_SSH_ABORTED', DisconnectReason.BY_APPLICATION, options);
  }
}

/** A caller passed a bad argument. */
export class InvalidArgumentError extends SshError {
  constructor(message: string) {
    super(message, 'ERR_SSH_INVALID_ARGUMENT');
  }
}
