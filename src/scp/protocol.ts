/**
 * The legacy scp protocol's wire format (what `scp -t` and `scp -f` speak over an exec channel):
 * control lines `C<mode> <size> <name>`, `D<mode> 0 <name>`, `E`, `T<mtime> 0 <atime> 0`, each ended
 * by a newline; one acknowledgement byte after each (0 = ok, 1 = error with a message line, 2 = fatal
 * error with a message line); a file's bytes follow its C line and end with one more 0 byte.
 *
 * {@link ScpReader} pulls lines, bytes and acknowledgements off a Duplex with limits checked before
 * anything is buffered; every wait ends with the data, the stream's end as an {@link ScpError}, or
 * the idle timeout.
 */
import type { Duplex } from 'node:stream';
import { SshError } from '../errors.js';

/** What went wrong in an scp transfer (see {@link ScpError.kind}). */
export type ScpErrorKind =
  /** The peer broke the protocol: a malformed or over-long line, a bad size, mode or name. */
  | 'protocol'
  /** The peer reported a fatal error (acknowledgement 2) or ended the stream early. */
  | 'peer'
  /** Nothing arrived within the idle timeout. */
  | 'timeout';

/** A failure of the scp protocol: the transfer cannot go on. */
export class ScpError extends SshError {
  /** What kind of failure this is. */
  readonly kind: ScpErrorKind;
  constructor(kind: ScpErrorKind, message: string, options?: ErrorOptions) {
    super(message, 'ERR_SSH_SCP', undefined, options);
    this.kind = kind;
  }
}

/** Limits on what a peer may send. */
export interface ScpLimits {
  /** Longest control or message line, newline included (default 8192 bytes). */
  maxLine?: number;
  /** Largest file size a C line may announce (default Number.MAX_SAFE_INTEGER). */
  maxSize?: number;
}

/** The longest line accepted by default: a 4096-byte name plus the mode and size fields, with room to spare. */
export const SCP_MAX_LINE = 8192;

/** A parsed control line. */
export type ScpControl =
  | {
      /** A file follows (C) or a directory starts (D). */
      type: 'C' | 'D';
      /** Permission bits (at most 0o7777). */
      mode: number;
      /** The file's size in bytes (0 for a directory). */
      size: number;
      /** One path component: never empty, '.', '..', nor containing '/' or NUL. */
      name: string;
    }
  | {
      /** The times of the next C or D. */
      type: 'T';
      /** Modification time, seconds since the epoch. */
      mtime: number;
      /** Access time, seconds since the epoch. */
      atime: number;
    }
  | {
      /** The end of the current directory. */
      type: 'E';
    };

const DIGITS = /^[0-9]+$/;

function number(field: string | undefined, what: string, max: number): number {
  if (field === undefined || !DIGITS.test(field) || field.length > 20) throw new ScpError('protocol', `bad ${what}`);
  const n = Number(field);
  if (!Number.isSafeInteger(n) || n > max) throw new ScpError('protocol', `${what} out of range`);
  return n;
}

/** Whether `name` is a single path component a sink may create. */
export function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/**
 * Parses a control line (without its newline). Throws {@link ScpError} ('protocol') on anything
 * malformed: a mode that is not four octal digits, a size that is not a decimal number within
 * `maxSize`, a name that is not one plain path component, times that are not numbers.
 */
export function parseControl(line: string, limits: ScpLimits = {}): ScpControl {
  const kind = line[0];
  if (kind === 'E') {
    if (line.length !== 1) throw new ScpError('protocol', 'bad E line');
    return { type: 'E' };
  }
  if (kind === 'T') {
    const f = line.slice(1).split(' ');
    if (f.length !== 4) throw new ScpError('protocol', 'bad T line');
    const mtime = number(f[0], 'mtime', 0xffffffffff);
    number(f[1], 'mtime usec', 999999);
    const atime = number(f[2], 'atime', 0xffffffffff);
    number(f[3], 'atime usec', 999999);
    return { type: 'T', mtime, atime };
  }
  if (kind !== 'C' && kind !== 'D') throw new ScpError('protocol', 'expected control record');
  const m = /^[CD]([0-7]{4}) ([^ ]*) (.*)$/s.exec(line);
  if (!m) throw new ScpError('protocol', 'bad mode or size');
  const mode = Number.parseInt(m[1] as string, 8);
  const size = number(m[2], 'size', limits.maxSize ?? Number.MAX_SAFE_INTEGER);
  const name = m[3] as string;
  if (!isPlainName(name)) throw new ScpError('protocol', `unexpected filename: ${JSON.stringify(name)}`);
  return { type: kind, mode, size, name };
}

/** `C0644 12 name\n` (or `D0755 0 name\n`). Newlines in `name` are refused: the line would end early. */
export function formatEntry(type: 'C' | 'D', mode: number, size: number, name: string): string {
  if (name.includes('\n')) throw new ScpError('protocol', 'file name contains a newline');
  return `${type}${(mode & 0o7777).toString(8).padStart(4, '0')} ${type === 'D' ? 0 : size} ${name}\n`;
}

/** `T<mtime> 0 <atime> 0\n`. */
export function formatTimes(mtime: number, atime: number): string {
  return `T${Math.max(0, Math.floor(mtime))} 0 ${Math.max(0, Math.floor(atime))} 0\n`;
}

/** An error message line as scp sends it: `\x01scp: <msg>\n` (or `\x02` when fatal). */
export function formatError(message: string, fatal = false): Buffer {
  return Buffer.from(`${fatal ? '\x02' : '\x01'}scp: ${message.replace(/\n/g, ' ')}\n`);
}

/** An acknowledgement: ok, or the peer's error message (acknowledgement 1; 2 throws). */
export type ScpAck =
  | {
      /** The peer acknowledged (a 0 byte). */
      ok: true;
    }
  | {
      /** The peer refused (acknowledgement 1). */
      ok: false;
      /** The peer's message, e.g. `scp: /x: No such file or directory`. */
      message: string;
    };

/** Settings of an {@link ScpReader}. */
export interface ScpReaderOptions extends ScpLimits {
  /**
   * Milliseconds without input while waiting, or waiting for the peer to take what was written,
   * before failing with {@link ScpError} 'timeout' (default: none).
   */
  idleTimeout?: number;
  /** Bytes buffered before the stream is paused (default 1 MiB). */
  highWater?: number;
}

/** Pulls scp lines, acknowledgements and data from a Duplex. */
export class ScpReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly maxLine: number;
  private readonly highWater: number;
  private readonly idleTimeout: number | undefined;
  private readonly onData = (c: Buffer) => {
    this.chunks.push(c);
    this.buffered += c.length;
    if (this.buffered >= this.highWater) this.stream.pause();
    this.notify();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.notify();
  };
  private readonly onError = (e: Error) => {
    this.failure ??= e;
    this.notify();
  };

  constructor(
    private readonly stream: Duplex,
    opts: ScpReaderOptions = {},
  ) {
    this.maxLine = opts.maxLine ?? SCP_MAX_LINE;
    this.highWater = opts.highWater ?? 1024 * 1024;
    this.idleTimeout = opts.idleTimeout;
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onError);
  }

  /** Stops listening to the stream. */
  detach(): void {
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onError);
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Waits for more input; throws when the stream ended, failed or stayed silent too long. */
  private async more(what: string): Promise<void> {
    if (this.failure) throw new ScpError('peer', `${what}: ${this.failure.message}`, { cause: this.failure });
    if (this.ended) throw new ScpError('peer', `lost connection (${what})`);
    if (this.stream.isPaused()) this.stream.resume();
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      this.wake = resolve;
      if (this.idleTimeout !== undefined) {
        timer = setTimeout(() => {
          this.wake = undefined;
          reject(new ScpError('timeout', `timed out ${what}`));
        }, this.idleTimeout);
      }
    }).finally(() => clearTimeout(timer));
  }

  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    let out: Buffer;
    if (first.length > n) {
      out = first.subarray(0, n);
      this.chunks[0] = first.subarray(n);
    } else {
      out = first;
      this.chunks.shift();
    }
    this.buffered -= out.length;
    if (this.buffered < this.highWater && this.stream.isPaused()) this.stream.resume();
    return out;
  }

  /** Waits for input: false when the stream ended with nothing left to read (a clean end). */
  async hasMore(what: string): Promise<boolean> {
    while (this.buffered === 0) {
      if (this.ended && !this.failure) return false;
      await this.more(what);
    }
    return true;
  }

  /** One byte. */
  async byte(what: string): Promise<number> {
    while (this.buffered === 0) await this.more(what);
    return this.take(1)[0] as number;
  }

  /** A line up to its newline (not included), at most `maxLine` bytes; `first` is a byte already read. */
  async line(what: string, first?: number): Promise<string> {
    const parts: Buffer[] = first === undefined ? [] : [Buffer.of(first)];
    let len = parts.length;
    for (;;) {
      while (this.buffered === 0) await this.more(what);
      const c = this.chunks[0] as Buffer;
      const nl = c.indexOf(0x0a);
      const n = nl === -1 ? c.length : nl + 1;
      if (len + n > this.maxLine) throw new ScpError('protocol', `line too long (${what})`);
      const piece = this.take(n);
      len += n;
      if (nl === -1) {
        parts.push(piece);
        continue;
      }
      parts.push(piece.subarray(0, piece.length - 1));
      return Buffer.concat(parts).toString('utf8');
    }
  }

  /** An acknowledgement: 0, or 1 with a message; 2 (fatal) throws {@link ScpError} 'peer'. */
  async ack(what: string): Promise<ScpAck> {
    const b = await this.byte(what);
    if (b === 0) return { ok: true };
    const message = await this.line(what, b === 1 || b === 2 ? undefined : b);
    if (b === 2) throw new ScpError('peer', message);
    return { ok: false, message };
  }

  /** Calls `sink` with the next `n` bytes, in pieces, awaiting it before reading on. */
  async data(n: number, sink: (chunk: Buffer) => Promise<void> | void, what: string): Promise<void> {
    let left = n;
    while (left > 0) {
      while (this.buffered === 0) await this.more(what);
      const piece = this.take(Math.min(left, (this.chunks[0] as Buffer).length));
      left -= piece.length;
      await sink(piece);
    }
  }
}

/** The failure of a write the peer did not take within `timeout` milliseconds. */
function writeTimeout(): ScpError {
  return new ScpError('timeout', 'timed out waiting for the peer to take data');
}

/**
 * Writes to `stream`, resolving once it has taken the bytes (waits for 'drain' when asked to).
 * With `timeout`, a stream that does not drain within that many milliseconds (a peer that stopped
 * reading) fails with {@link ScpError} 'timeout'.
 */
export function send(stream: Duplex, data: string | Buffer, timeout?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed || stream.writableEnded) {
      reject(new ScpError('peer', 'lost connection (write)'));
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const onClose = () => done(new ScpError('peer', 'lost connection (write)'));
    const done = (e?: Error | null) => {
      clearTimeout(timer);
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      if (e) reject(e instanceof ScpError ? e : new ScpError('peer', `write failed: ${e.message}`, { cause: e }));
      else resolve();
    };
    const onDrain = () => done();
    stream.once('close', onClose);
    if (stream.write(data)) done();
    else {
      stream.once('drain', onDrain);
      if (timeout !== undefined) timer = setTimeout(() => done(writeTimeout()), timeout);
    }
  });
}

/**
 * Writes `data` and resolves once the stream has taken it (its write callback ran): for a stream
 * that lets go of written chunks then (a secsh Channel), `data` may be reused afterwards. With
 * `timeout`, fails with {@link ScpError} 'timeout' when that takes longer (then `data` must not be
 * reused: the stream may still hold it).
 */
export function sendTaken(stream: Duplex, data: Buffer, timeout?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed || stream.writableEnded) {
      reject(new ScpError('peer', 'lost connection (write)'));
      return;
    }
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const done = (e?: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.off('close', onClose);
      if (e) reject(e instanceof ScpError ? e : new ScpError('peer', `write failed: ${e.message}`, { cause: e }));
      else resolve();
    };
    const onClose = () => done(new ScpError('peer', 'lost connection (write)'));
    stream.once('close', onClose);
    if (timeout !== undefined) timer = setTimeout(() => done(writeTimeout()), timeout);
    stream.write(data, (e) => done(e));
  });
}
