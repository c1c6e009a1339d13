/**
 * The SOCKS side of a dynamic forward (`ssh -D`): a pure, incremental parser of SOCKS 4, 4a and 5
 * CONNECT requests (RFC 1928 with the no-authentication method only; SOCKS 4 and its 4a extension for
 * names) and the replies a server sends. No I/O: the caller accumulates bytes and asks again.
 */
import { ChannelOpenFailure, ProtocolError } from '../errors.js';

/** Longest SOCKS 4 user id or 4a host name we accept (both NUL-terminated, unbounded on the wire). */
export const SOCKS4_MAX_FIELD = 255;
/** Most bytes a complete greeting plus request can take; more without a complete request is refused. */
export const SOCKS_MAX_REQUEST = 8 + 2 * (SOCKS4_MAX_FIELD + 1);

/** SOCKS 5 reply codes (RFC 1928 §6). */
export const Socks5Reply = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;

/** SOCKS 4 reply codes. */
export const Socks4Reply = { GRANTED: 0x5a, REJECTED: 0x5b } as const;

/** Where a parse starts: a new connection, or a SOCKS 5 connection past its method selection. */
export type SocksPhase = 'start' | 'socks5-request';

/** A complete CONNECT request. */
export interface SocksRequest {
  version: 4 | 5;
  /** A name (sent unresolved to the server, as `ssh -D` does) or an IPv4/IPv6 literal. */
  host: string;
  port: number;
}

/** One step of {@link parseSocks}. */
export type SocksParse =
  /** More bytes are needed (what was given is a valid prefix within the limits). */
  | { status: 'incomplete' }
  /** A SOCKS 5 greeting: send `reply`, drop `consumed` bytes, go on in phase 'socks5-request'. */
  | { status: 'greeting'; consumed: number; reply: Buffer }
  /** A CONNECT request: `consumed` bytes were the request; what follows is data for the target. */
  | { status: 'request'; consumed: number; request: SocksRequest };

/**
 * Bad SOCKS input. `reply` is the failure reply the protocol has for it (send it, then close), or
 * undefined when there is none (not SOCKS at all: close without a word).
 */
export class SocksError extends ProtocolError {
  readonly reply: Buffer | undefined;
  constructor(message: string, reply: Buffer | undefined) {
    super(`SOCKS: ${message}`);
    this.reply = reply;
  }
}

/** A SOCKS 5 reply (VER, REP, RSV, ATYP IPv4, BND.ADDR 0.0.0.0, BND.PORT 0), as OpenSSH sends it. */
export function socks5Reply(code: number): Buffer {
  return Buffer.from([5, code & 0xff, 0, 1, 0, 0, 0, 0, 0, 0]);
}

/** A SOCKS 4 reply (VN 0, CD, DSTPORT and DSTIP zero). */
export function socks4Reply(code: number): Buffer {
  return Buffer.from([0, code & 0xff, 0, 0, 0, 0, 0, 0]);
}

/** The failure reply for a channel open that failed: SOCKS 5 by the server's reason, SOCKS 4 rejected. */
export function socksFailureReply(version: 4 | 5, err: unknown): Buffer {
  if (version === 4) return socks4Reply(Socks4Reply.REJECTED);
  const reason = (err as { reasonCode?: unknown } | null)?.reasonCode;
  const text = String((err as { description?: unknown } | null)?.description ?? '');
  if (reason === ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED) return socks5Reply(Socks5Reply.NOT_ALLOWED);
  if (reason === ChannelOpenFailure.CONNECT_FAILED) {
    return socks5Reply(/refused/i.test(text) ? Socks5Reply.CONNECTION_REFUSED : Socks5Reply.HOST_UNREACHABLE);
  }
  return socks5Reply(Socks5Reply.GENERAL_FAILURE);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A host name as sent: valid UTF-8 with no control characters, else the given error. */
function hostName(bytes: Buffer, fail: () => SocksError): string {
  if (bytes.length === 0) throw fail();
  for (const b of bytes) if (b < 0x20 || b === 0x7f) throw fail();
  try {
    return utf8.decode(bytes);
  } catch {
    throw fail();
  }
}

function ipv4(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function ipv6(b: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(at + 2 * i).toString(16));
  return groups.join(':');
}

/**
 * Parses what a SOCKS client sent so far, from the start of `phase`. Pure: the same bytes give the
 * same answer, and nothing is kept. Throws {@link SocksError} (only) for input no SOCKS client sends,
 * for commands other than CONNECT, and for a request longer than {@link SOCKS_MAX_REQUEST}.
 */
export function parseSocks(data: Buffer, phase: SocksPhase): SocksParse {
  if (phase === 'socks5-request') return parseSocks5Request(data);
  if (data.length === 0) return { status: 'incomplete' };
  const version = data[0];
  if (version === 5) return parseSocks5Greeting(data);
  if (version === 4) return parseSocks4(data);
  throw new SocksError(`unknown version ${version}`, undefined);
}

function parseSocks5Greeting(data: Buffer): SocksParse {
  if (data.length < 2) return { status: 'incomplete' };
  const n = data[1] as number;
  if (data.length < 2 + n) return { status: 'incomplete' };
  const methods = data.subarray(2, 2 + n);
  if (!methods.includes(0x00)) throw new SocksError('no acceptable authentication method', Buffer.from([5, 0xff]));
  return { status: 'greeting', consumed: 2 + n, reply: Buffer.from([5, 0x00]) };
}

function parseSocks5Request(data: Buffer): SocksParse {
  const fail = (m: string, code: number = Socks5Reply.GENERAL_FAILURE) => new SocksError(m, socks5Reply(code));
  if (data.length === 0) return { status: 'incomplete' };
  if (data[0] !== 5) throw fail(`request version ${data[0]}`);
  if (data.length < 4) return { status: 'incomplete' };
  const cmd = data[1];
  if (cmd !== 1) throw fail(`command ${cmd} not supported (CONNECT only)`, Socks5Reply.COMMAND_NOT_SUPPORTED);
  if (data[2] !== 0) throw fail('reserved byte not zero');
  const atyp = data[3];
  let host: string;
  let at: number;
  if (atyp === 1) {
    if (data.length < 4 + 4 + 2) return { status: 'incomplete' };
    host = ipv4(data, 4);
    at = 8;
  } else if (atyp === 4) {
    if (data.length < 4 + 16 + 2) return { status: 'incomplete' };
    host = ipv6(data, 4);
    at = 20;
  } else if (atyp === 3) {
    if (data.length < 5) return { status: 'incomplete' };
    const len = data[4] as number;
    if (data.length < 5 + len + 2) return { status: 'incomplete' };
    host = hostName(data.subarray(5, 5 + len), () => fail('bad host name'));
    at = 5 + len;
  } else {
    throw fail(`address type ${atyp} not supported`, Socks5Reply.ADDRESS_TYPE_NOT_SUPPORTED);
  }
  const port = data.readUInt16BE(at);
  if (port === 0) throw fail('port 0');
  return { status: 'request', consumed: at + 2, request: { version: 5, host, port } };
}

/** Index of the NUL ending a field that starts at `from`, -1 when not yet there; throws past the limit. */
function nulWithin(data: Buffer, from: number, what: string, reply: Buffer): number {
  const end = Math.min(data.length, from + SOCKS4_MAX_FIELD + 1);
  const i = data.subarray(from, end).indexOf(0);
  if (i >= 0) return from + i;
  if (data.length >= from + SOCKS4_MAX_FIELD + 1) throw new SocksError(`${what} too long`, reply);
  return -1;
}

function parseSocks4(data: Buffer): SocksParse {
  const rejected = socks4Reply(Socks4Reply.REJECTED);
  if (data.length < 2) return { status: 'incomplete' };
  if (data[1] !== 1) throw new SocksError(`SOCKS 4 command ${data[1]} not supported (CONNECT only)`, rejected);
  if (data.length < 8) return { status: 'incomplete' };
  const port = data.readUInt16BE(2);
  const a = data[4] as number;
  const b = data[5] as number;
  const c = data[6] as number;
  const d = data[7] as number;
  if (port === 0) throw new SocksError('port 0', rejected);
  const userEnd = nulWithin(data, 8, 'user id', rejected);
  if (userEnd < 0) return { status: 'incomplete' };
  if (a === 0 && b === 0 && c === 0) {
    // SOCKS 4a: 0.0.0.x with x ≠ 0, the name follows the user id
    if (d === 0) throw new SocksError('destination 0.0.0.0', rejected);
    const nameEnd = nulWithin(data, userEnd + 1, 'host name', rejected);
    if (nameEnd < 0) return { status: 'incomplete' };
    const host = hostName(data.subarray(userEnd + 1, nameEnd), () => new SocksError('bad host name', rejected));
    return { status: 'request', consumed: nameEnd + 1, request: { version: 4, host, port } };
  }
  return { status: 'request', consumed: userEnd + 1, request: { version: 4, host: ipv4(data, 4), port } };
}
