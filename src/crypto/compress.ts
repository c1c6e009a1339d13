/**
 * `zlib` / `zlib@openssh.com` packet compression (RFC 4253 §6.2): one continuous zlib stream per
 * direction (zlib header once, at the start), each packet's payload flushed with Z_PARTIAL_FLUSH so
 * the peer can inflate it on its own.
 *
 * node:zlib has no public synchronous streaming API. Its zlib handle's `writeSync` (the primitive
 * `zlib.deflateSync` is built on) is driven here directly, behind a small typed wrapper, so that the
 * stream state survives between packets and output is produced in bounded chunks.
 */
import { constants, createDeflate, createInflate } from 'node:zlib';
import { DisconnectReason, ProtocolError } from '../errors.js';

/** The internal node:zlib handle methods used here (stable since Node 12, used by `zlib.*Sync`). */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Buffer,
    inOff: number,
    inLen: number,
    output: Buffer,
    outOff: number,
    outLen: number,
  ): void;
  onerror: (message: string, errno: number, code?: string) => void;
  close(): void;
}

/** What the stream objects carry: the handle and the `[availOutAfter, availInAfter]` result array. */
interface ZlibInternals {
  _handle: ZlibHandle | null;
  _writeState: Uint32Array;
}

const CHUNK = 16 * 1024;

/** One direction's zlib stream, driven synchronously. */
class SyncZlib {
  private readonly handle: ZlibHandle;
  private readonly state: Uint32Array;
  private readonly out = Buffer.allocUnsafe(CHUNK);
  private error: string | undefined;
  private closed = false;

  constructor(stream: object) {
    const s = stream as Partial<ZlibInternals>;
    if (!s._handle || !(s._writeState instanceof Uint32Array) || typeof s._handle.writeSync !== 'function') {
      throw new Error('node:zlib internals changed: no synchronous handle');
    }
    this.handle = s._handle;
    this.state = s._writeState;
    // Record errors instead of letting the stream object destroy itself asynchronously.
    this.handle.onerror = (message: string) => {
      this.error = message;
    };
  }

  /**
   * Feeds all of `input` with `flush` and returns the output. Throws when the output would pass
   * `limit` bytes (checked per chunk, before more is produced) or zlib reports an error.
   */
  run(input: Buffer, flush: number, limit: number, what: string): Buffer {
    if (this.closed)
      throw new ProtocolError(`${what} stream is unusable after an earlier error`, DisconnectReason.COMPRESSION_ERROR);
    const parts: Buffer[] = [];
    let total = 0;
    let inOff = 0;
    let inLen = input.length;
    for (;;) {
      this.handle.writeSync(flush, input, inOff, inLen, this.out, 0, CHUNK);
      if (this.error !== undefined) this.fail(`${what} failed: ${this.error}`);
      const availOut = this.state[0] as number;
      const availIn = this.state[1] as number;
      const have = CHUNK - availOut;
      if (have > 0) {
        total += have;
        if (total > limit) this.fail(`${what} output exceeds ${limit} bytes`);
        parts.push(Buffer.from(this.out.subarray(0, have)));
      }
      inOff += inLen - availIn;
      inLen = availIn;
      if (availOut !== 0) break; // zlib had room left: everything is consumed and flushed
    }
    if (parts.length === 1) return parts[0] as Buffer;
    return Buffer.concat(parts, total);
  }

  private fail(message: string): never {
    this.closed = true;
    this.handle.close();
    throw new ProtocolError(message, DisconnectReason.COMPRESSION_ERROR);
  }

  close(): void {
    if (!this.closed) {
      this.closed = true;
      this.handle.close();
    }
  }
}

/** Compresses outgoing payloads: one zlib stream for the life of the keys' direction. */
export class PacketCompressor {
  private readonly z: SyncZlib;

  /** `level` is the zlib compression level (default 6, as OpenSSH). */
  constructor(level = 6) {
    this.z = new SyncZlib(createDeflate({ level }));
  }

  /** Compresses one payload and flushes it (Z_PARTIAL_FLUSH), so the peer can decode it at once. */
  compress(payload: Buffer): Buffer {
    return this.z.run(payload, constants.Z_PARTIAL_FLUSH, Number.MAX_SAFE_INTEGER, 'compression');
  }

  /** Releases the zlib state. */
  close(): void {
    this.z.close();
  }
}

/** Decompresses incoming payloads from one continuous zlib stream. */
export class PacketDecompressor {
  private readonly z: SyncZlib;
  private readonly maxOutput: number;

  /** `maxOutput` caps the inflated size of one payload; larger output is refused before it is produced. */
  constructor(maxOutput: number) {
    if (!Number.isSafeInteger(maxOutput) || maxOutput < 0)
      throw new RangeError('maxOutput must be a non-negative integer');
    this.maxOutput = maxOutput;
    this.z = new SyncZlib(createInflate());
  }

  /**
   * Inflates one packet's payload. Throws ProtocolError (reason COMPRESSION_ERROR) when the data is
   * corrupt or inflates to more than `maxOutput` bytes.
   */
  decompress(payload: Buffer): Buffer {
    return this.z.run(payload, constants.Z_SYNC_FLUSH, this.maxOutput, 'decompression');
  }

  /** Releases the zlib state. */
  close(): void {
    this.z.close();
  }
}
