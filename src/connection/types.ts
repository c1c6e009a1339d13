/**
 * Interfaces between the connection layer (RFC 4254) and its owner (the transport / facades).
 */
import type { SessionRequest } from './requests.js';

export type { PtyOptions } from './requests.js';

/** What the connection layer needs from a transport. */
export interface PacketLink {
  /**
   * Sends one payload (a whole SSH message). Returns false when the stream is backed up; 'drain' follows.
   * The connection layer never touches `payload` again after the call.
   */
  send(payload: Buffer): boolean;
  /**
   * Optional: sends the payload `head || body` without joining them (the transport encrypts straight
   * from `body`, which it reads only during the call). Returns as {@link send}.
   */
  sendParts?(head: Buffer, body: Buffer): boolean;
  /** Adds a listener for 'drain': the stream can take more after `send` returned false. */
  on(event: 'drain', listener: () => void): unknown;
  /** Removes a 'drain' listener. */
  off(event: 'drain', listener: () => void): unknown;
}

/** Options of a {@link Connection}. */
export interface ConnectionOptions {
  /** Which side this is (a client waits for the server to close a session channel: exit-status may follow EOF). */
  role: 'client' | 'server';
  /** Our receive window per channel, in bytes (default 4 MiB, at most 2^32−1). */
  windowSize?: number;
  /** Largest CHANNEL_DATA payload we accept (default 32768, at most 256 KiB). */
  maxPacket?: number;
  /** Most channels open (or being opened) at once, both directions together (default 64). */
  maxChannels?: number;
}

/** Counts of what a {@link Connection} holds (see `Connection.stats`). */
export interface ConnectionStats {
  /** Channels open, or closing until both CLOSE messages have passed. */
  channels: number;
  /** Our CHANNEL_OPENs awaiting confirmation or failure. */
  pendingOpens: number;
  /** The peer's CHANNEL_OPENs the application has not answered yet. */
  incomingOpens: number;
  /** Our GLOBAL_REQUESTs (want_reply) awaiting the peer's reply. */
  pendingGlobalRequests: number;
  /** The peer's GLOBAL_REQUESTs (want_reply) awaiting our reply. */
  unansweredGlobalRequests: number;
  /** Our CHANNEL_REQUESTs (want_reply) awaiting the peer's reply, over all channels. */
  pendingChannelRequests: number;
}

/**
 * Incoming GLOBAL_REQUEST handler. Return true (or a Buffer of reply data, e.g. the bound port of a
 * `tcpip-forward` with port 0) to reply REQUEST_SUCCESS, false for REQUEST_FAILURE.
 */
export type GlobalRequestHandler = (name: string, data: Buffer) => boolean | Buffer | Promise<boolean | Buffer>;

/** An incoming channel request other than exit-status/exit-signal (the Channel's 'request' event). */
export interface ChannelRequestEvent {
  /** Request type, e.g. `pty-req`, `exec`, `window-change`. */
  type: string;
  /** Whether the peer waits for {@link ChannelRequestEvent.accept} or {@link ChannelRequestEvent.reject}. */
  wantReply: boolean;
  /** The type-specific tail of the request, raw. */
  data: Buffer;
  /** The decoded request for the RFC 4254 session types (undefined for other types). */
  details: SessionRequest | undefined;
  /** Replies CHANNEL_SUCCESS (when wantReply). Replies go out in request order. */
  accept(): void;
  /** Replies CHANNEL_FAILURE (when wantReply). */
  reject(): void;
}

/** Result of an `exit-signal` request. */
export interface ExitSignal {
  /** Signal name without `SIG`, e.g. `TERM`. */
  signal: string;
  /** Whether the process dumped core. */
  coreDumped: boolean;
  /** The server's error message (often empty). */
  message: string;
}

/** @internal What a Channel needs from its Connection. */
export interface ChannelHost {
  send(payload: Buffer): boolean;
  /** Sends `head || body` as one message; `body` is read only during the call. */
  sendParts(head: Buffer, body: Buffer): boolean;
  isBlocked(): boolean;
  isAlive(): boolean;
  /** The error the connection died of, once dead. */
  deadReason(): Error | undefined;
  waitForDrain(resume: () => void): void;
  /** Both CLOSE messages have passed: the local id may be reused. */
  release(localId: number): void;
}

/** @internal Initial state of a channel. */
export interface ChannelInit {
  type: string;
  localId: number;
  remoteId: number;
  localWindow: number;
  localMaxPacket: number;
  remoteWindow: number;
  remoteMaxPacket: number;
  /** Send CLOSE once both EOFs have passed (false for a client's session channel). */
  closeOnEof: boolean;
}
