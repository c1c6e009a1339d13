/** Version exchange (RFC 4253 §4.2). */
import { DisconnectReason, ProtocolError } from '../errors.js';

/** Longest version line, CR LF included (RFC 4253 §4.2). */
export const MAX_VERSION_LINE = 255;
/** Most lines a server may send before its version line. */
export const MAX_PRE_BANNER_LINES = 1024;

/** Our software version string. */
export const SOFTWARE_VERSION = 'secsh_0.1';

const EMPTY = Buffer.alloc(0);

export type VersionResult = { done: false } | { done: true; version: string; rest: Buffer; preBanner: string[] };

/**
 * Incremental reader of the peer's identification string. Feed chunks; it returns the version
 * line (without CR LF) and the bytes after it.
 */
export class VersionReader {
  private buf: Buffer = EMPTY;
  private lines = 0;
  private readonly preBanner: string[] = [];

  /** `allowPreBanner`: clients accept other lines before the server's version; servers do not. */
  constructor(private readonly allowPreBanner: boolean) {}

  push(chunk: Buffer): VersionResult {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) {
        if (this.buf.length > MAX_VERSION_LINE) {
          throw this.notSsh(this.buf.subarray(0, 32));
        }
        return { done: false };
      }
      if (nl + 1 > MAX_VERSION_LINE && this.buf.subarray(0, 4).toString('latin1') === 'SSH-') {
        throw new ProtocolError(
          `peer version line is longer than ${MAX_VERSION_LINE} bytes`,
          DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED,
        );
      }
      if (nl + 1 > MAX_VERSION_LINE) throw this.notSsh(this.buf.subarray(0, 32));
      let line = this.buf.subarray(0, nl);
      if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      this.buf = this.buf.subarray(nl + 1);
      const text = line.toString('latin1');
      if (text.startsWith('SSH-')) {
        if (!text.startsWith('SSH-2.0-') && !text.startsWith('SSH-1.99-')) {
          throw new ProtocolError(
            `unsupported SSH protocol version: ${sanitize(text)}`,
            DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED,
          );
        }
        if (line.includes(0)) throw new ProtocolError('NUL byte in version line');
        const rest = this.buf;
        // Not kept: it views the first read (the transport holds this reader for the connection's life).
        this.buf = EMPTY;
        return { done: true, version: text, rest, preBanner: this.preBanner };
      }
      if (!this.allowPreBanner) throw this.notSsh(line);
      if (++this.lines > MAX_PRE_BANNER_LINES) {
        throw new ProtocolError(`peer sent more than ${MAX_PRE_BANNER_LINES} lines before its SSH version`);
      }
      this.preBanner.push(text);
    }
  }

  /**
   * The stream ended before a version line: a ProtocolError saying the peer is not SSH when it sent
   * bytes that were not one (an HTTP server's reply, say); undefined when it sent nothing.
   */
  endedEarly(): ProtocolError | undefined {
    const first = this.preBanner[0];
    if (first !== undefined) return this.notSsh(Buffer.from(first, 'latin1'));
    return this.buf.length > 0 ? this.notSsh(this.buf.subarray(0, 32)) : undefined;
  }

  private notSsh(sample: Buffer): ProtocolError {
    return new ProtocolError(
      `peer is not an SSH ${this.allowPreBanner ? 'server' : 'client'}: the first bytes were not an SSH version line (received ${JSON.stringify(sanitize(sample.toString('latin1')))})`,
      DisconnectReason.PROTOCOL_ERROR,
    );
  }
}

function sanitize(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}
