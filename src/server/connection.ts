/** One accepted connection of the server facade, and the record of an authentication attempt. */
import { EventEmitter } from 'node:events';
import type { SessionPermissions } from '../auth/cert-options.js';
import type { AuthMethod, AuthResult } from '../auth/server.js';
import type { Connection } from '../connection/index.js';
import { DisconnectReason } from '../errors.js';
import type { Certificate, PublicKey } from '../keys/index.js';
import type { NegotiatedAlgorithms, Transport } from '../transport/transport.js';

/** One accepted connection. Events: 'authenticated' (AuthResult), 'session' (Session), 'close' (err?). */
export class ServerConnection extends EventEmitter {
  /** The connection's transport (key exchange, negotiated algorithms, the client's version). */
  readonly transport: Transport;
  /** The channel layer (for channels other than sessions, and global requests). */
  readonly connection: Connection;
  /** The client's address, when the stream is a TCP socket. */
  readonly remoteAddress: string | undefined;
  /**
   * `client_ip client_port server_ip server_port`, sshd's SSH_CONNECTION, when the stream is a TCP
   * socket; sessions pass it to their commands.
   */
  sshConnection: string | undefined;
  /** Set once the user is authenticated. */
  auth: AuthResult | undefined;
  /** True once the connection has closed. */
  closed = false;
  /** @internal Session channels counted against maxSessions (see {@link sessionCount}). */
  openSessions = 0;

  /** @internal */
  constructor(transport: Transport, connection: Connection, remoteAddress: string | undefined) {
    super();
    this.transport = transport;
    this.connection = connection;
    this.remoteAddress = remoteAddress;
  }

  /**
   * Session channels that count against `maxSessions`: from the accepted open until both CLOSE
   * messages have passed (with or without EOF first) or the connection ended.
   */
  get sessionCount(): number {
    return this.openSessions;
  }

  /** The authenticated user name. */
  get username(): string | undefined {
    return this.auth?.username;
  }

  /** The key that authenticated the user (it signed), if publickey was used. */
  get key(): PublicKey | undefined {
    return this.auth?.key;
  }

  /** The user certificate that key was presented with, if any. */
  get certificate(): Certificate | undefined {
    return this.auth?.certificate;
  }

  /**
   * What the user may do (set once authenticated): limited by the extensions of the user certificate(s)
   * used to log in, unrestricted otherwise. See {@link AuthResult.permissions}.
   */
  get permissions(): SessionPermissions | undefined {
    return this.auth?.permissions;
  }

  /** Negotiated algorithms (server to client direction, with `inbound` for the other). */
  get algorithms(): NegotiatedAlgorithms | undefined {
    return this.transport.negotiated;
  }

  /** Sends DISCONNECT and closes. */
  close(): void {
    this.transport.disconnect(DisconnectReason.BY_APPLICATION, 'closed by server');
  }
}

/** An authentication attempt, for logging ('auth' event of {@link Server}). */
export interface AuthAttempt {
  /** The user name the client asked for. */
  username: string;
  /** The method tried. */
  method: AuthMethod;
  /** For publickey: the key's fingerprint (queries have `signed` false). */
  fingerprint?: string;
  /** For publickey: true when a signature was verified, false for a query ("would you accept this key?"). */
  signed?: boolean;
  /**
   * `accepted`: logged in. `partial`: this step passed, more are required. `rejected`: refused.
   * `pk-ok`: a publickey query was answered yes. `change-password`: the client was asked for a new password.
   */
  result: 'accepted' | 'partial' | 'rejected' | 'pk-ok' | 'change-password';
  /** The client's address, when the stream is a socket. */
  remoteAddress: string | undefined;
}
