/**
 * OpenSSH's connection-multiplexing protocol (PROTOCOL.mux, mux.c): message numbers, encoders, and a
 * decoder for each message that throws {@link MuxError} on anything short, long, or out of range.
 * Every message travels as `uint32 length || uint32 type || body` on the control socket; the framer
 * checks the length against a limit before it buffers anything.
 *
 * OpenSSH writes the NEW_SESSION flags as uint32 (not the bool PROTOCOL.mux names), and so does this.
 */
import { MuxError, WireError } from '../errors.js';
import { SshReader, SshWriter } from '../wire/index.js';

/** The protocol version both sides announce in their HELLO; OpenSSH refuses any other. */
export const MUX_VERSION = 4;

/** Message numbers (client requests `C_`, master replies `S_`). */
export const MUX = {
  HELLO: 0x00000001,
  C_NEW_SESSION: 0x10000002,
  C_ALIVE_CHECK: 0x10000004,
  C_TERMINATE: 0x10000005,
  C_OPEN_FWD: 0x10000006,
  C_CLOSE_FWD: 0x10000007,
  C_NEW_STDIO_FWD: 0x10000008,
  C_STOP_LISTENING: 0x10000009,
  C_PROXY: 0x1000000f,
  S_OK: 0x80000001,
  S_PERMISSION_DENIED: 0x80000002,
  S_FAILURE: 0x80000003,
  S_EXIT_MESSAGE: 0x80000004,
  S_ALIVE: 0x80000005,
  S_SESSION_OPENED: 0x80000006,
  S_REMOTE_PORT: 0x80000007,
  S_TTY_ALLOC_FAIL: 0x80000008,
  S_PROXY: 0x8000000f,
} as const;

/** MUX_C_OPEN_FWD / MUX_C_CLOSE_FWD forwarding types. */
export const MUX_FWD = { LOCAL: 1, REMOTE: 2, DYNAMIC: 3 } as const;

/** The port value that marks a host field as a Unix socket path in a forward request. */
export const MUX_PORT_STREAMLOCAL = 0xfffffffe;

/** Longest control message accepted (OpenSSH's own limit on a mux packet is 256 KiB). */
export const MAX_MUX_MESSAGE = 256 * 1024;
/** Longest string inside a control message. */
const MAX_FIELD = 64 * 1024;

/** A decoded message: its type, and a reader positioned after the type. */
export interface MuxMessage {
  type: number;
  body: SshReader;
}

/** Frames one message: length, type, then the body the caller wrote. */
export function muxFrame(type: number, build?: (w: SshWriter) => void): Buffer {
  const w = new SshWriter(64);
  const end = w.beginLength();
  w.uint32(type);
  build?.(w);
  end();
  return w.toBuffer();
}

/** HELLO with our version and no extensions. */
export function encodeHello(): Buffer {
  return muxFrame(MUX.HELLO, (w) => w.uint32(MUX_VERSION));
}

/** A request that carries only its request id (ALIVE_CHECK, TERMINATE, STOP_LISTENING, PROXY). */
export function encodeSimpleRequest(type: number, requestId: number): Buffer {
  return muxFrame(type, (w) => w.uint32(requestId));
}

/** One port forward as MUX_C_OPEN_FWD carries it. */
export interface MuxForwardSpec {
  /** `ssh -L` (local), `-R` (remote) or `-D` (dynamic). */
  type: 'local' | 'remote' | 'dynamic';
  /** Listen host ('' or undefined: the master's default). */
  listenHost?: string;
  /** Listen port (0 for a remote forward: the server chooses, and the reply says which). */
  listenPort?: number;
  /** A Unix socket to listen on instead of a host and port. */
  listenPath?: string;
  /** Where connections go (not for dynamic forwards). */
  connectHost?: string;
  /** The port connections go to. */
  connectPort?: number;
  /** A Unix socket connections go to instead of a host and port. */
  connectPath?: string;
}

/** MUX_C_OPEN_FWD or MUX_C_CLOSE_FWD. */
export function encodeForward(type: number, requestId: number, f: MuxForwardSpec): Buffer {
  const kind = f.type === 'local' ? MUX_FWD.LOCAL : f.type === 'remote' ? MUX_FWD.REMOTE : MUX_FWD.DYNAMIC;
  return muxFrame(type, (w) => {
    w.uint32(requestId).uint32(kind);
    if (f.listenPath !== undefined) w.string(f.listenPath).uint32(MUX_PORT_STREAMLOCAL);
    else w.string(f.listenHost ?? '').uint32(f.listenPort ?? 0);
    if (f.connectPath !== undefined) w.string(f.connectPath).uint32(MUX_PORT_STREAMLOCAL);
    else w.string(f.connectHost ?? '').uint32(f.connectPort ?? 0);
  });
}

/** Reads the body of MUX_C_OPEN_FWD / MUX_C_CLOSE_FWD after its request id; ports are checked. */
export function decodeForward(r: SshReader): MuxForwardSpec {
  return guard(() => {
    const kind = r.uint32();
    const type =
      kind === MUX_FWD.LOCAL
        ? 'local'
        : kind === MUX_FWD.REMOTE
          ? 'remote'
          : kind === MUX_FWD.DYNAMIC
            ? 'dynamic'
            : undefined;
    if (type === undefined) throw new MuxError(`unknown forwarding type ${kind}`);
    const end = (host: string, port: number, what: string): { host?: string; port?: number; path?: string } => {
      if (port === MUX_PORT_STREAMLOCAL) return { path: host };
      if (port > 65535) throw new MuxError(`invalid ${what} port ${port}`);
      return { host, port };
    };
    const listen = end(r.string(MAX_FIELD).toString('utf8'), r.uint32(), 'listen');
    const connect = end(r.string(MAX_FIELD).toString('utf8'), r.uint32(), 'connect');
    r.ensureEnd('forward request');
    return {
      type,
      ...(listen.path !== undefined
        ? { listenPath: listen.path }
        : { listenHost: listen.host ?? '', listenPort: listen.port ?? 0 }),
      ...(connect.path !== undefined
        ? { connectPath: connect.path }
        : { connectHost: connect.host ?? '', connectPort: connect.port ?? 0 }),
    };
  }, 'forward request');
}

/** The fields of MUX_C_NEW_SESSION. */
export interface MuxSessionRequest {
  tty: boolean;
  x11: boolean;
  agent: boolean;
  subsystem: boolean;
  /** Escape character, or 0xffffffff for none. */
  escapeChar: number;
  term: string;
  command: string;
  env: string[];
}

/** MUX_C_NEW_SESSION (the three descriptors follow it out of band). */
export function encodeNewSession(requestId: number, s: MuxSessionRequest): Buffer {
  return muxFrame(MUX.C_NEW_SESSION, (w) => {
    w.uint32(requestId).string('');
    w.uint32(s.tty ? 1 : 0)
      .uint32(s.x11 ? 1 : 0)
      .uint32(s.agent ? 1 : 0)
      .uint32(s.subsystem ? 1 : 0);
    w.uint32(s.escapeChar).string(s.term).string(s.command);
    for (const e of s.env) w.string(e);
  });
}

/** Reads the body of MUX_C_NEW_SESSION after its request id. */
export function decodeNewSession(r: SshReader): MuxSessionRequest {
  return guard(() => {
    r.string(MAX_FIELD); // reserved
    const flag = (): boolean => r.uint32() !== 0;
    const tty = flag();
    const x11 = flag();
    const agent = flag();
    const subsystem = flag();
    const escapeChar = r.uint32();
    const term = r.string(MAX_FIELD).toString('utf8');
    const command = r.string(MAX_FIELD).toString('utf8');
    const env: string[] = [];
    while (r.remaining > 0) {
      if (env.length >= 4096) throw new MuxError('NEW_SESSION: more than 4096 environment strings');
      env.push(r.string(MAX_FIELD).toString('utf8'));
    }
    return { tty, x11, agent, subsystem, escapeChar, term, command, env };
  }, 'NEW_SESSION');
}

/** MUX_S_OK / S_ALIVE / S_PROXY / ... built by a master. */
export function encodeReply(type: number, requestId: number, build?: (w: SshWriter) => void): Buffer {
  return muxFrame(type, (w) => {
    w.uint32(requestId);
    build?.(w);
  });
}

/** A master's refusal (S_FAILURE or S_PERMISSION_DENIED) with its reason. */
export function encodeRefusal(type: number, requestId: number, reason: string): Buffer {
  return encodeReply(type, requestId, (w) => w.string(reason));
}

/** Runs a decoder, turning a short read into a MuxError naming the message. */
export function guard<T>(f: () => T, what: string): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof MuxError) throw e;
    if (e instanceof WireError) throw new MuxError(`malformed ${what} message: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Checks a HELLO body: version 4, then name/value extension pairs (ignored, as OpenSSH does). */
export function decodeHello(r: SshReader): void {
  guard(() => {
    const version = r.uint32();
    if (version !== MUX_VERSION) {
      throw new MuxError(`unsupported multiplexing protocol version ${version} (expected ${MUX_VERSION})`);
    }
    let n = 0;
    while (r.remaining > 0) {
      if (++n > 64) throw new MuxError('HELLO: more than 64 extensions');
      r.string(MAX_FIELD);
      r.string(MAX_FIELD);
    }
  }, 'HELLO');
}

/** Reads a refusal's reason text (S_FAILURE, S_PERMISSION_DENIED) and makes it an error. */
export function refusalError(type: number, r: SshReader, what: string): MuxError {
  const reason = guard(() => r.string(MAX_FIELD).toString('utf8'), 'refusal');
  const kind = type === MUX.S_PERMISSION_DENIED ? 'permission denied' : 'failed';
  return new MuxError(`control master: ${what} ${kind}: ${reason.replace(/[^\x20-\x7e]/g, '?')}`);
}

/** Reads a uint32 and the end of a message. */
export function readLastUint32(r: SshReader, what: string): number {
  return guard(() => {
    const v = r.uint32();
    r.ensureEnd(what);
    return v;
  }, what);
}

/**
 * Splits the control stream into messages. The length is checked against `max` before anything is
 * buffered for it; a length below 4 (no room for the type) is an error too.
 */
export class MuxFramer {
  private chunks: Buffer[] = [];
  private have = 0;
  private stopped = false;
  /**
   * @param max Longest message accepted.
   * @param stopAfter A message type after which the stream is no longer split (PROXY: the bytes that
   *   follow are another framing); later bytes are only buffered, for {@link drain}.
   */
  constructor(
    private readonly max = MAX_MUX_MESSAGE,
    private readonly stopAfter?: number,
  ) {}

  /** True once a message of the `stopAfter` type was returned: nothing more is split. */
  get held(): boolean {
    return this.stopped;
  }

  /** Bytes buffered towards the next message. */
  get buffered(): number {
    return this.have;
  }

  /** Feeds bytes; returns every whole message they complete (the body excludes length and type). */
  push(chunk: Buffer): MuxMessage[] {
    this.chunks.push(chunk);
    this.have += chunk.length;
    const out: MuxMessage[] = [];
    for (;;) {
      if (this.stopped || this.have < 4) break;
      const head = this.peek(4);
      const len = head.readUInt32BE(0);
      if (len < 4 || len > this.max) {
        throw new MuxError(`control message length ${len} is out of range (4..${this.max})`);
      }
      if (this.have < 4 + len) break;
      const whole = this.take(4 + len);
      const type = whole.readUInt32BE(4);
      out.push({ type, body: new SshReader(whole, 8) });
      if (type === this.stopAfter) this.stopped = true;
    }
    return out;
  }

  /** Returns the buffered bytes (for a switch to another framing, as after PROXY) and empties the framer. */
  drain(): Buffer {
    const b = Buffer.concat(this.chunks);
    this.chunks = [];
    this.have = 0;
    return b;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) return first;
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }

  private take(n: number): Buffer {
    const joined = this.peek(n);
    const msg = joined.subarray(0, n);
    const rest = joined.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.have -= n;
    return msg;
  }
}
