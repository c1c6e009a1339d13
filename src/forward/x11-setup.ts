/**
 * The pure parts of X11 forwarding: the DISPLAY string, the `xauth list` output and the X11
 * connection setup prefix (X Window System Protocol, "Connection Setup") whose authorization
 * fields the client checks and rewrites.
 */
import { timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import type { SocketTarget } from './splice.js';

/** The authorization protocol secsh fakes and substitutes. */
export const MIT_MAGIC_COOKIE = 'MIT-MAGIC-COOKIE-1';

/** Longest authorization protocol name or data accepted in a setup (real ones are 18 and 16 bytes). */
export const MAX_X11_AUTH_FIELD = 256;

/** Where a display is and how xauth names it. */
export interface X11Display {
  /** The local socket: `/tmp/.X11-unix/X<n>` for `:n` and `unix:n`, TCP `host:6000+n` otherwise. */
  target: SocketTarget;
  /** The name to look the cookie up with (`xauth list <name>`). */
  xauthName: string;
  /** Screen number from `:n.s` (0 when absent). */
  screen: number;
}

/** Parses a DISPLAY value (`:0`, `:0.1`, `unix:3`, `localhost:10.0`, `host:1`, or an absolute socket path). */
export function parseDisplay(display: string, unixDir = '/tmp/.X11-unix'): X11Display {
  if (typeof display !== 'string' || display === '' || display.length > 1024)
    throw new InvalidArgumentError('X11 display must be a DISPLAY value such as :0');
  if (display.startsWith('/')) return { target: { path: display }, xauthName: display, screen: 0 };
  const m = /^([^:]*):(\d{1,5})(?:\.(\d{1,5}))?$/.exec(display);
  if (!m) throw new InvalidArgumentError(`X11 display ${JSON.stringify(display)} is not host:number[.screen]`);
  const host = m[1] as string;
  const n = Number(m[2]);
  const screen = m[3] === undefined ? 0 : Number(m[3]);
  if (host === '' || host === 'unix') {
    return { target: { path: `${unixDir}/X${n}` }, xauthName: `:${n}`, screen };
  }
  if (6000 + n > 65535) throw new InvalidArgumentError(`X11 display number ${n} is too large for TCP`);
  // As ssh does: xauth keeps a localhost display's cookie under the Unix name.
  const xauthName = host === 'localhost' ? `unix:${n}` : `${host}:${n}`;
  return { target: { host, port: 6000 + n }, xauthName, screen };
}

/** The MIT-MAGIC-COOKIE-1 data in `xauth list` output (first such line), or undefined. */
export function parseXauthList(out: string): Buffer | undefined {
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    const hex = f[2];
    if (f[1] !== MIT_MAGIC_COOKIE || hex === undefined) continue;
    if (!/^(?:[0-9a-fA-F]{2}){1,256}$/.test(hex)) continue;
    return Buffer.from(hex, 'hex');
  }
  return undefined;
}

/** An X11 connection setup prefix, parsed. */
export interface X11Setup {
  /** True for 'B' (MSB first), false for 'l'. */
  bigEndian: boolean;
  /** Protocol major and minor version (passed on as sent). */
  major: number;
  minor: number;
  /** Authorization protocol name. */
  authName: Buffer;
  /** Authorization data. */
  authData: Buffer;
  /** Bytes of the prefix, padding included. */
  length: number;
}

const pad4 = (n: number) => (n + 3) & ~3;

/**
 * Parses the setup at the start of `buf`. Returns 'short' when more bytes are needed, 'bad' for a
 * byte-order byte that is neither 'B' nor 'l' or a field longer than {@link MAX_X11_AUTH_FIELD}.
 */
export function parseX11Setup(buf: Buffer): X11Setup | 'short' | 'bad' {
  if (buf.length < 1) return 'short';
  const order = buf[0];
  if (order !== 0x42 && order !== 0x6c) return 'bad';
  if (buf.length < 12) return 'short';
  const be = order === 0x42;
  const u16 = (o: number) => (be ? buf.readUInt16BE(o) : buf.readUInt16LE(o));
  const nameLen = u16(6);
  const dataLen = u16(8);
  if (nameLen > MAX_X11_AUTH_FIELD || dataLen > MAX_X11_AUTH_FIELD) return 'bad';
  const length = 12 + pad4(nameLen) + pad4(dataLen);
  if (buf.length < length) return 'short';
  const nameOff = 12;
  const dataOff = 12 + pad4(nameLen);
  return {
    bigEndian: be,
    major: u16(2),
    minor: u16(4),
    authName: Buffer.from(buf.subarray(nameOff, nameOff + nameLen)),
    authData: Buffer.from(buf.subarray(dataOff, dataOff + dataLen)),
    length,
  };
}

/** Encodes a setup prefix with other authorization fields (empty ones for none). */
export function encodeX11Setup(s: Pick<X11Setup, 'bigEndian' | 'major' | 'minor' | 'authName' | 'authData'>): Buffer {
  const out = Buffer.alloc(12 + pad4(s.authName.length) + pad4(s.authData.length));
  out[0] = s.bigEndian ? 0x42 : 0x6c;
  const w16 = (v: number, o: number) => (s.bigEndian ? out.writeUInt16BE(v, o) : out.writeUInt16LE(v, o));
  w16(s.major, 2);
  w16(s.minor, 4);
  w16(s.authName.length, 6);
  w16(s.authData.length, 8);
  s.authName.copy(out, 12);
  s.authData.copy(out, 12 + pad4(s.authName.length));
  return out;
}

/** True when the setup carries MIT-MAGIC-COOKIE-1 with exactly `fake` (compared in constant time). */
export function setupHasCookie(s: X11Setup, fake: Buffer): boolean {
  if (s.authName.toString('latin1') !== MIT_MAGIC_COOKIE) return false;
  if (s.authData.length !== fake.length) return false;
  return timingSafeEqual(s.authData, fake);
}
