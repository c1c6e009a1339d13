/**
 * Type-specific parts of session channel requests (RFC 4254 §6) and tcpip channel opens (§7).
 * Encoders produce the tail after `want_reply`; decoders check every length and reject trailing bytes.
 */
import { InvalidArgumentError } from '../errors.js';
import { SshReader, SshWriter } from '../wire/index.js';
import { decodeTerminalModes, encodeTerminalModes } from './modes.js';

/** A pseudo-terminal request: options of {@link Channel.requestPty}, and the `pty` option of `exec`, `spawn` and `shell`. */
export interface PtyOptions {
  /** TERM value (default `vt100`). */
  term?: string;
  /** Columns (default 80). */
  cols?: number;
  /** Rows (default 24). */
  rows?: number;
  /** Width in pixels (default 0). */
  width?: number;
  /** Height in pixels (default 0). */
  height?: number;
  /** Terminal modes by name (`VINTR`, `ECHO`, `TTY_OP_ISPEED`, …; RFC 4254 §8), e.g. `{ ECHO: 0 }`. */
  modes?: Record<string, number>;
}

/** A decoded session request (the `details` of a Channel 'request' event). */
export type SessionRequest =
  | {
      /** A pseudo-terminal (RFC 4254 §6.2). */
      type: 'pty-req';
      /** TERM value, e.g. `xterm-256color`. */
      term: string;
      /** Columns (characters). */
      cols: number;
      /** Rows (characters). */
      rows: number;
      /** Width in pixels (0 when unknown). */
      width: number;
      /** Height in pixels (0 when unknown). */
      height: number;
      /** Terminal modes by name (`ECHO`, `VINTR`, …). */
      modes: Record<string, number>;
    }
  | {
      /** X11 forwarding (§6.3.1). */
      type: 'x11-req';
      /** Forward only one X11 connection. */
      singleConnection: boolean;
      /** X11 authentication protocol, e.g. `MIT-MAGIC-COOKIE-1`. */
      authProtocol: string;
      /** X11 authentication cookie, hex. */
      authCookie: string;
      /** X11 screen number. */
      screen: number;
    }
  | {
      /** An environment variable (§6.4). */
      type: 'env';
      /** Variable name. */
      name: string;
      /** Variable value. */
      value: string;
    }
  | {
      /** Start the user's shell (§6.5). */
      type: 'shell';
    }
  | {
      /** Run a command (§6.5). */
      type: 'exec';
      /** The command line, as the client sent it. */
      command: string;
    }
  | {
      /** Start a subsystem such as `sftp` (§6.5). */
      type: 'subsystem';
      /** Subsystem name. */
      name: string;
    }
  | {
      /** The terminal was resized (§6.7). */
      type: 'window-change';
      /** Columns. */
      cols: number;
      /** Rows. */
      rows: number;
      /** Width in pixels. */
      width: number;
      /** Height in pixels. */
      height: number;
    }
  | {
      /** Whether the client may do flow control (§6.8). */
      type: 'xon-xoff';
      /** True when the client can do ^S/^Q flow control itself. */
      clientCanDo: boolean;
    }
  | {
      /** Deliver a signal to the process (§6.9). */
      type: 'signal';
      /** Signal name without `SIG`, e.g. `INT`. */
      name: string;
    }
  | {
      /** Agent forwarding (OpenSSH). */
      type: 'auth-agent-req@openssh.com';
    };

/** Longest command, value or name accepted in a session request. */
const MAX_REQUEST_STRING = 256 * 1024; // the packet limit: a long command is not a protocol error
const MAX_NAME = 1024;

function u32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new InvalidArgumentError(`${what} out of range`);
  return v;
}

/** `pty-req` tail. */
export function encodePtyRequest(opts: PtyOptions = {}): Buffer {
  return new SshWriter()
    .string(opts.term ?? 'vt100')
    .uint32(u32(opts.cols ?? 80, 'cols'))
    .uint32(u32(opts.rows ?? 24, 'rows'))
    .uint32(u32(opts.width ?? 0, 'width'))
    .uint32(u32(opts.height ?? 0, 'height'))
    .string(encodeTerminalModes(opts.modes))
    .toBuffer();
}

/** `window-change` tail. */
export function encodeWindowChange(cols: number, rows: number, width = 0, height = 0): Buffer {
  return new SshWriter()
    .uint32(u32(cols, 'cols'))
    .uint32(u32(rows, 'rows'))
    .uint32(u32(width, 'width'))
    .uint32(u32(height, 'height'))
    .toBuffer();
}

/** A single length-prefixed string (exec command, subsystem name, signal name). */
export function encodeString(value: string): Buffer {
  return new SshWriter().string(value).toBuffer();
}

/** `env` tail. */
export function encodeEnv(name: string, value: string): Buffer {
  return new SshWriter().string(name).string(value).toBuffer();
}

/** Decodes the tail of a known session request type; returns undefined for other types. */
export function decodeSessionRequest(type: string, data: Buffer): SessionRequest | undefined {
  const r = new SshReader(data);
  let out: SessionRequest;
  switch (type) {
    case 'pty-req':
      out = {
        type,
        term: r.string(MAX_NAME).toString('utf8'),
        cols: r.uint32(),
        rows: r.uint32(),
        width: r.uint32(),
        height: r.uint32(),
        modes: decodeTerminalModes(r.string(MAX_REQUEST_STRING)),
      };
      break;
    case 'x11-req':
      out = {
        type,
        singleConnection: r.bool(),
        authProtocol: r.string(MAX_NAME).toString('utf8'),
        authCookie: r.string(MAX_NAME).toString('utf8'),
        screen: r.uint32(),
      };
      break;
    case 'env':
      out = {
        type,
        name: r.string(MAX_NAME).toString('utf8'),
        value: r.string(MAX_REQUEST_STRING).toString('utf8'),
      };
      break;
    case 'shell':
    case 'auth-agent-req@openssh.com':
      out = { type };
      break;
    case 'exec':
      out = { type, command: r.string(MAX_REQUEST_STRING).toString('utf8') };
      break;
    case 'subsystem':
      out = { type, name: r.string(MAX_NAME).toString('utf8') };
      break;
    case 'window-change':
      out = { type, cols: r.uint32(), rows: r.uint32(), width: r.uint32(), height: r.uint32() };
      break;
    case 'xon-xoff':
      out = { type, clientCanDo: r.bool() };
      break;
    case 'signal':
      out = { type, name: r.string(MAX_NAME).toString('utf8') };
      break;
    default:
      return undefined;
  }
  r.ensureEnd(`${type} request`);
  return out;
}

/** Address part of `direct-tcpip` / `forwarded-tcpip` opens (RFC 4254 §7.1–7.2). */
export interface TcpipOpen {
  /** direct-tcpip: host to connect to; forwarded-tcpip: address that was connected. */
  host: string;
  /** direct-tcpip: port to connect to; forwarded-tcpip: port that was connected. */
  port: number;
  /** Address the connection came from. */
  originHost: string;
  /** Port the connection came from. */
  originPort: number;
}

/** Encodes the type-specific tail of a `direct-tcpip` or `forwarded-tcpip` open. */
export function encodeTcpipOpen(t: TcpipOpen): Buffer {
  return new SshWriter()
    .string(t.host)
    .uint32(u32(t.port, 'port'))
    .string(t.originHost)
    .uint32(u32(t.originPort, 'origin port'))
    .toBuffer();
}

/** Decodes the type-specific tail of a `direct-tcpip` or `forwarded-tcpip` open. */
export function decodeTcpipOpen(data: Buffer): TcpipOpen {
  const r = new SshReader(data);
  const out = {
    host: r.string(MAX_NAME).toString('utf8'),
    port: r.uint32(),
    originHost: r.string(MAX_NAME).toString('utf8'),
    originPort: r.uint32(),
  };
  r.ensureEnd('tcpip open');
  return out;
}
