/**
 * Typed errors. Every error secsh raises is an {@link SshError} with a stable string `code`.
 * Where the wire has a number (a disconnect reason, a channel-open failure code) it is carried too.
 */

/** SSH_MSG_DISCONNECT reason codes (RFC 4253 §11.1). */
export const DisconnectReason = {
  /** The server does not accept connections from this host. */
  HOST_NOT_ALLOWED_TO_CONNECT: 1,
  /** A malformed, truncated or out-of-place message. */
  PROTOCOL_ERROR: 2,
  /** Key exchange failed: no algorithm in common, or a bad signature or value. */
  KEY_EXCHANGE_FAILED: 3,
  /** Reserved by the RFC (was "host authentication failed"). */
  RESERVED: 4,
  /** A packet failed its MAC or AEAD tag check. */
  MAC_ERROR: 5,
  /** A compressed packet could not be inflated, or inflated beyond the limit. */
  COMPRESSION_ERROR: 6,
  /** The service asked for (ssh-userauth, ssh-connection) is not offered. */
  SERVICE_NOT_AVAILABLE: 7,
  /** The peer is not SSH-2.0 (or 1.99). */
  PROTOCOL_VERSION_NOT_SUPPORTED: 8,
  /** The host key was refused (known_hosts, fingerprint or verifier). */
  HOST_KEY_NOT_VERIFIABLE: 9,
  /** The connection was lost (used locally; never sent). */
  CONNECTION_LOST: 10,
  /** A normal close asked for by the application. */
  BY_APPLICATION: 11,
  /** The server has too many connections. */
  TOO_MANY_CONNECTIONS: 12,
  /** The user cancelled authentication. */
  AUTH_CANCELLED_BY_USER: 13,
  /** Every authentication method was tried and failed. */
  NO_MORE_AUTH_METHODS_AVAILABLE: 14,
  /** The user name is not valid. */
  ILLEGAL_USER_NAME: 15,
} as const;
/** One of the {@link DisconnectReason} numbers. */
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
  | 'ERR_SSH_LISTEN'
  | 'ERR_SSH_SFTP'
  | 'ERR_SSH_SCP'
  | 'ERR_SSH_MUX';

/** Base class of every error secsh raises. */
export class SshError extends Error {
  /** Stable string code naming the error's class, e.g. `ERR_SSH_AUTH`; match on this rather than on the message. */
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
  /** The algorithm kind that failed: `key exchange`, `host key`, or `cipher`, `MAC` or `compression` with its direction, e.g. `cipher (client to server)`. */
  readonly kind: string;
  /** The client's list for that kind, in preference order. */
  readonly clientList: readonly string[];
  /** The server's list for that kind, in preference order. */
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

/** Where known_hosts lists another key for a host whose key changed. */
export interface HostKeyChange {
  /** The known_hosts file. */
  path: string;
  /** Its 1-based line. */
  line: number;
  /** The presented key's type (`ssh-ed25519`, …); the listed key has the same type. */
  keyType: string;
}

/** The server's host key was not accepted, or its signature did not verify. */
export class HostKeyError extends SshError {
  /** `SHA256:…` fingerprint of the offending key, when known. */
  readonly fingerprint: string | undefined;
  /** Set when known_hosts lists a different key of the same type for the host (the key changed). */
  readonly changed: HostKeyChange | undefined;
  constructor(message: string, fingerprint?: string, changed?: HostKeyChange) {
    super(message, 'ERR_SSH_HOST_KEY', DisconnectReason.HOST_KEY_NOT_VERIFIABLE);
    this.fingerprint = fingerprint;
    this.changed = changed;
  }
}

/** Authentication failed: every method was tried. */
export class AuthError extends SshError {
  /** Methods the server said could continue, from the last USERAUTH_FAILURE. */
  readonly methodsLeft: readonly string[];
  constructor(message: string, methodsLeft: readonly string[] = [], options?: ErrorOptions) {
    super(message, 'ERR_SSH_AUTH', DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE, options);
    this.methodsLeft = methodsLeft;
  }
}

/** The peer sent SSH_MSG_DISCONNECT. */
export class DisconnectError extends SshError {
  /** The peer's reason code as sent (may be outside the RFC's list). */
  readonly peerReason: number;
  /** The peer's description text, as sent (untrusted; shown for diagnosis). */
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
  /** The peer does not allow this channel (policy, e.g. forwarding disabled). */
  ADMINISTRATIVELY_PROHIBITED: 1,
  /** The peer could not connect to the target (or hit a limit such as MaxSessions). */
  CONNECT_FAILED: 2,
  /** The peer does not know the channel type. */
  UNKNOWN_CHANNEL_TYPE: 3,
  /** The peer is out of resources. */
  RESOURCE_SHORTAGE: 4,
} as const;

/** The peer refused to open a channel. */
export class ChannelOpenError extends SshError {
  /** The peer's reason: one of {@link ChannelOpenFailure}, or another number it chose. */
  readonly reasonCode: number;
  /** The peer's description text, as sent. */
  readonly description: string;
  /** `detail`, when given, is added to the message (what this side knows about the refusal). */
  constructor(reasonCode: number, description: string, detail?: string) {
    super(`channel open failed (${reasonCode}): ${description}${detail ? ` (${detail})` : ''}`, 'ERR_SSH_CHANNEL_OPEN');
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

/** A server could not listen on the address asked for (the port is in use, or not allowed). */
export class ListenError extends SshError {
  /** The Node error code, e.g. `EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`. */
  readonly nodeCode: string | undefined;
  /** The address the server tried to listen on. */
  readonly address: string;
  /** The port the server tried to listen on. */
  readonly port: number;
  constructor(message: string, address: string, port: number, nodeCode?: string, options?: ErrorOptions) {
    super(message, 'ERR_SSH_LISTEN', undefined, options);
    this.address = address;
    this.port = port;
    this.nodeCode = nodeCode;
  }
}

/**
 * An OpenSSH ControlMaster (PROTOCOL.mux) exchange failed: a malformed or unexpected message from the
 * other side, or a refusal by the master (its reason in the message).
 */
export class MuxError extends SshError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_SSH_MUX', undefined, options);
  }
}
