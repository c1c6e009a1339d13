/**
 * Open-file handles and pipelined reads and writes: many requests in flight, results in order,
 * short reads re-requested exactly so the bytes delivered are always contiguous.
 */
import { Readable, Writable } from 'node:stream';
import { AbortError, ProtocolError } from '../errors.js';
import type { SftpAttrs, SftpStats } from './attrs.js';
import { encodeAttrs, SftpStats as Stats } from './attrs.js';
import { expectOk, type OpenFlags, unexpected } from './client-replies.js';
import type { SftpDirEntry, SftpPath, SftpResponse, SftpStatvfs, SshWriter } from './codec.js';
import { decodeStatvfs, encodeWriteHeader, writeHeaderSize } from './codec.js';
import { EXT, FX, FXP } from './constants.js';
import { SftpError } from './errors.js';
import { Inflight } from './inflight.js';

/**
 * What a file handle, the streams and the compound operations (client-ops.ts, transfer.ts,
 * dir-transfer.ts) need of the client. They depend on this and not on {@link SftpClient}, which
 * imports them. SftpClient satisfies it structurally, checked wherever it passes itself to them (no
 * `implements` clause: that would put this internal interface into the API documentation).
 *
 * @internal
 */
export interface SftpCore {
  /** Largest READ length to ask for. */
  readonly readChunk: number;
  /** Largest WRITE payload. */
  readonly writeChunk: number;
  /** True when a written request buffer may be reused once its callback ran. */
  readonly reusableRequests: boolean;
  /** Whether the server offers the extension `name`. */
  has(name: string): boolean;
  /** Sends a built packet for a new id and waits for its reply. */
  sendRaw(build: (id: number) => Buffer): Promise<SftpResponse>;
  /** Sends a request of `type` whose body `body` writes. */
  request(type: number, body: (w: SshWriter) => void): Promise<SftpResponse>;
  /** Waits for a STATUS OK. */
  status(type: number, body: (w: SshWriter) => void, path?: SftpPath): Promise<void>;
  /** Sends an SSH_FXP_EXTENDED request and returns the EXTENDED_REPLY body (STATUS OK → empty). */
  extended(name: string, body: (w: SshWriter) => void, path?: SftpPath): Promise<Buffer>;
  /** WRITE without the SshWriter copy. */
  writeRaw(handle: Buffer, offset: number, data: Uint8Array): Promise<SftpResponse>;
  /** Opens a handle with an SSH_FXP_OPEN or OPENDIR. */
  openHandle(type: number, body: (w: SshWriter) => void, path: SftpPath): Promise<Buffer>;
  /** Closes a handle. */
  closeHandle(handle: Buffer): Promise<void>;
  open(path: SftpPath, flags?: OpenFlags, mode?: number): Promise<SftpFileBase>;
  stat(path: SftpPath): Promise<SftpStats>;
  lstat(path: SftpPath): Promise<SftpStats>;
  readdir(path: SftpPath): Promise<SftpDirEntry[]>;
  mkdir(path: string, opts?: { mode?: number; recursive?: boolean }): Promise<void>;
  rmdir(path: SftpPath): Promise<void>;
  unlink(path: SftpPath): Promise<void>;
  rename(from: SftpPath, to: SftpPath): Promise<void>;
  realpath(path: SftpPath): Promise<string>;
}

/**
 * An open remote file: what {@link SftpFileHandle} (the handle {@link SftpClient.open} returns)
 * does, without the reference to its {@link SftpClient}.
 */
export class SftpFileBase {
  /** The server's opaque handle. */
  readonly handle: Buffer;
  /** The path it was opened with, as text (bytes that are not UTF-8 shown as `\xNN`, see displayPath). */
  readonly path: string;
  private readonly sftp: SftpCore;
  private closed = false;

  /** @internal */
  constructor(sftp: SftpCore, handle: Buffer, path: string) {
    this.sftp = sftp;
    this.handle = handle;
    this.path = path;
  }

  /** @internal The client this handle sends its requests through. */
  get core(): SftpCore {
    return this.sftp;
  }

  /**
   * One READ of up to `length` bytes at `position`. The result may be shorter than asked
   * (servers may return short reads); an empty buffer means end of file.
   */
  async read(length: number, position: number): Promise<Buffer> {
    const parts = await this.readv(length, position);
    if (parts.length === 0) return Buffer.alloc(0);
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  /**
   * As {@link read}, but the data comes back in the pieces it arrived in (no copy to join them); an
   * empty list means end of file. Suits `FileHandle.writev`.
   */
  async readv(length: number, position: number): Promise<Buffer[]> {
    if (!Number.isSafeInteger(position) || position < 0) throw new RangeError('position out of range');
    if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) throw new RangeError('length out of range');
    const r = await this.sftp.request(FXP.READ, (w) => w.string(this.handle).uint64(BigInt(position)).uint32(length));
    if (r.type === FXP.DATA) {
      const n = r.parts ? r.length : r.data.length;
      if (n > length) throw new ProtocolError(`server returned ${n} bytes for a ${length}-byte read`);
      if (n === 0) return [];
      return r.parts ?? [r.data];
    }
    if (r.type === FXP.STATUS && r.code === FX.EOF) return [];
    throw unexpected(r, this.path);
  }

  /** One WRITE of `data` at `position` (at most the server's write size; see {@link writeAll}). */
  async write(data: Uint8Array, position: number): Promise<void> {
    if (!Number.isSafeInteger(position) || position < 0) throw new RangeError('position out of range');
    expectOk(await this.sftp.writeRaw(this.handle, position, data), this.path);
  }

  /**
   * One WRITE whose packet the caller prepared: `packet` starts with exactly
   * `writeHeaderSize(handle.handle)` bytes of room (for this handle), then `length` bytes of data
   * (read there directly, saving a copy). The header is filled in here.
   */
  async writePrepared(packet: Buffer, length: number, position: number): Promise<void> {
    if (!Number.isSafeInteger(position) || position < 0) throw new RangeError('position out of range');
    const size = writeHeaderSize(this.handle) + length;
    if (length < 0 || size > packet.length) throw new RangeError('length out of range');
    const r = await this.sftp.sendRaw((id) => {
      encodeWriteHeader(packet, id, this.handle, position, length);
      return packet.subarray(0, size);
    });
    expectOk(r, this.path);
  }

  /** Writes all of `data` at `position`, split into write-size pieces with many in flight. */
  async writeAll(data: Uint8Array, position: number, concurrency = 64): Promise<void> {
    const chunk = this.sftp.writeChunk;
    const inflight = new Inflight();
    for (let off = 0; off < data.length && inflight.failure === undefined; off += chunk) {
      inflight.add(this.write(data.subarray(off, Math.min(off + chunk, data.length)), position + off));
      await inflight.below(concurrency);
    }
    await inflight.settle();
    inflight.check();
  }

  /** Attributes of the open file. */
  async stat(): Promise<SftpStats> {
    const r = await this.sftp.request(FXP.FSTAT, (w) => w.string(this.handle));
    if (r.type === FXP.ATTRS) return new Stats(r.attrs);
    throw unexpected(r, this.path);
  }

  /** Sets attributes of the open file. */
  async setstat(attrs: SftpAttrs): Promise<void> {
    await this.sftp.status(FXP.FSETSTAT, (w) => encodeAttrs(w.string(this.handle), attrs), this.path);
  }

  /** Truncates (or extends) the file to `length` bytes. */
  truncate(length = 0): Promise<void> {
    return this.setstat({ size: length });
  }

  /** chmod on the open file. */
  chmod(mode: number): Promise<void> {
    return this.setstat({ mode: mode & 0o7777 });
  }

  /** Sets times on the open file (Dates or seconds). */
  utimes(atime: Date | number, mtime: Date | number): Promise<void> {
    const s = (t: Date | number) => Math.floor(t instanceof Date ? t.getTime() / 1000 : t);
    return this.setstat({ atime: s(atime), mtime: s(mtime) });
  }

  /** Flushes the file to stable storage on the server (fsync@openssh.com). */
  async sync(): Promise<void> {
    await this.sftp.extended(EXT.FSYNC, (w) => w.string(this.handle), this.path);
  }

  /** File system statistics for the open file (fstatvfs@openssh.com). */
  async statvfs(): Promise<SftpStatvfs> {
    return decodeStatvfs(await this.sftp.extended(EXT.FSTATVFS, (w) => w.string(this.handle), this.path));
  }

  /**
   * Server-side copy (copy-data extension): `length` bytes (0 = to end of file) from this handle at
   * `readOffset` to `dest` at `writeOffset`.
   */
  async copyTo(dest: SftpFileBase, readOffset = 0, length = 0, writeOffset = 0): Promise<void> {
    await this.sftp.extended(
      EXT.COPY_DATA,
      (w) =>
        w
          .string(this.handle)
          .uint64(BigInt(readOffset))
          .uint64(BigInt(length))
          .string(dest.handle)
          .uint64(BigInt(writeOffset)),
      this.path,
    );
  }

  /** Closes the handle (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sftp.closeHandle(this.handle);
  }

  /** Pipelined in-order reads from `start` to `end` (exclusive; default: end of file). */
  readChunks(opts: PipelineOptions = {}): AsyncGenerator<Buffer> {
    return pipelinedRead(this, opts);
  }

  /** As {@link readChunks}, each chunk as the pieces it arrived in (see {@link readv}). */
  readChunksV(opts: PipelineOptions = {}): AsyncGenerator<Buffer[]> {
    return pipelinedReadV(this, opts);
  }
}

/**
 * Bytes of READs (or WRITEs) a transfer keeps requested at once unless told otherwise: twice the
 * 4 MiB receive window a channel opens with, so the server never waits for a request, while the
 * replies and requests held stay bounded (64 of 255 KiB would be 16 MiB).
 */
export const DEFAULT_BYTES_IN_FLIGHT = 8 * 1024 * 1024;

/** Default requests in flight for `chunk`-byte requests: 64, or fewer to stay within {@link DEFAULT_BYTES_IN_FLIGHT}. */
export function defaultConcurrency(chunk: number): number {
  return Math.max(1, Math.min(64, Math.floor(DEFAULT_BYTES_IN_FLIGHT / Math.max(1, chunk))));
}

/** Settings of a pipelined read. */
export interface PipelineOptions {
  /** First byte (default 0). */
  start?: number;
  /** Stop before this offset (default: end of file). */
  end?: number;
  /** Bytes per READ (default: the client's read size). */
  chunkSize?: number;
  /** READs in flight (default 64, fewer for large reads: at most 8 MiB asked for at once). */
  concurrency?: number;
  /** Aborting it ends the read with an {@link AbortError}. */
  signal?: AbortSignal;
}

/**
 * Reads a file with many READs in flight, yielding contiguous data in order. A short read is
 * followed by a READ for exactly the rest of that range; the first EOF fixes the end of file.
 *
 * Each reply tops the pipeline up at once (not only when the consumer asks for the next chunk), so
 * a consumer that awaits something per chunk (a file write) does not let the requests run dry. At
 * most `concurrency` READs are in flight and at most `concurrency` answered chunks wait for the
 * consumer, which bounds memory at about 2 × concurrency × chunkSize.
 */
export async function* pipelinedRead(fh: SftpFileBase, opts: PipelineOptions = {}): AsyncGenerator<Buffer> {
  for await (const parts of pipelinedReadV(fh, opts))
    yield parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

/** As {@link pipelinedRead}, each chunk as the pieces it arrived in (no copy to join them). */
export async function* pipelinedReadV(fh: SftpFileBase, opts: PipelineOptions = {}): AsyncGenerator<Buffer[]> {
  const chunk = Math.max(1, Math.min(opts.chunkSize ?? fh.core.readChunk, fh.core.readChunk));
  const concurrency = Math.max(1, opts.concurrency ?? defaultConcurrency(chunk));
  const end = opts.end ?? Number.MAX_SAFE_INTEGER;
  let next = opts.start ?? 0;
  let emit = next;
  let eof = end;
  let inflight = 0;
  let failure: unknown;
  let stopped = false;
  const ready = new Map<number, { parts: Buffer[]; length: number }>();
  const retry: { off: number; len: number }[] = [];
  let wake: (() => void) | undefined;
  const signal = opts.signal;
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort, { once: true });

  const issue = (off: number, len: number) => {
    inflight++;
    fh.readv(len, off).then(
      (parts) => {
        inflight--;
        if (stopped) return;
        let n = 0;
        for (const p of parts) n += p.length;
        if (n === 0) {
          if (off < eof) eof = off;
        } else if (off < eof) {
          ready.set(off, { parts, length: n });
          if (n < len) retry.push({ off: off + n, len: len - n });
        }
        fill();
        wake?.();
      },
      (e) => {
        inflight--;
        failure ??= e;
        wake?.();
      },
    );
  };

  /** Re-requests short-read tails, then keeps `concurrency` READs in flight while the consumer keeps up. */
  const fill = () => {
    if (stopped || failure || signal?.aborted) return;
    while (retry.length > 0) {
      const r = retry.shift() as { off: number; len: number };
      if (r.off < eof) issue(r.off, r.len);
    }
    while (inflight < concurrency && ready.size < concurrency && next < eof) {
      const len = Math.min(chunk, eof - next);
      issue(next, len);
      next += len;
    }
  };

  try {
    for (;;) {
      if (signal?.aborted) throw new AbortError('transfer aborted', { cause: signal.reason });
      if (failure) throw failure;
      fill();
      let piece = ready.get(emit);
      while (piece !== undefined) {
        ready.delete(emit);
        if (emit + piece.length > eof) piece = truncateParts(piece.parts, eof - emit);
        emit += piece.length;
        if (piece.length > 0) yield piece.parts;
        if (signal?.aborted) throw new AbortError('transfer aborted', { cause: signal.reason });
        if (failure) throw failure;
        fill();
        piece = ready.get(emit);
      }
      if (emit >= eof) return;
      // Replies that arrived while the consumer held a yielded chunk: act on them before waiting.
      if (failure || retry.length > 0 || ready.has(emit)) continue;
      if (inflight === 0 && retry.length === 0) {
        // Nothing in flight and nothing could be issued, yet the next range is missing: cannot happen
        // with a conforming server (and waiting would never end).
        throw new SftpError(FX.FAILURE, `missing data at offset ${emit}`, fh.path);
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    stopped = true;
    signal?.removeEventListener('abort', onAbort);
    ready.clear();
  }
}

/** The first `n` bytes of `parts` (views, no copy). */
function truncateParts(parts: Buffer[], n: number): { parts: Buffer[]; length: number } {
  const out: Buffer[] = [];
  let left = n;
  for (const p of parts) {
    if (left <= 0) break;
    out.push(p.length <= left ? p : p.subarray(0, left));
    left -= p.length;
  }
  return { parts: out, length: Math.max(0, n) };
}

/** Settings of {@link SftpClient.createReadStream}. */
export interface ReadStreamOptions {
  /** First byte to read (default 0). */
  start?: number;
  /** Last byte to read, inclusive (as `fs.createReadStream`). */
  end?: number;
  /** Bytes per READ (default and maximum: the client's read size, 255 KiB or the server's limit). */
  chunkSize?: number;
  /** READs in flight (default 64, fewer for large reads: at most 8 MiB asked for at once). */
  concurrency?: number;
  /** Aborting it destroys the stream with an {@link AbortError}. */
  signal?: AbortSignal;
}

/** A Readable of a remote file with many READs in flight. */
export function createReadStream(sftp: SftpCore, path: SftpPath, opts: ReadStreamOptions = {}): Readable {
  async function* gen() {
    const fh = await sftp.open(path, 'r');
    try {
      yield* pipelinedRead(fh, {
        ...opts,
        ...(opts.end !== undefined ? { end: opts.end + 1 } : {}),
      });
    } finally {
      await fh.close().catch(() => {});
    }
  }
  return Readable.from(gen(), { objectMode: false, highWaterMark: 1 << 20 });
}

/** Settings of {@link SftpClient.createWriteStream}. */
export interface WriteStreamOptions {
  /** Open flags (default 'w'). */
  flags?: OpenFlags;
  /** Permissions of a file the stream creates (default 0o644). */
  mode?: number;
  /** Offset of the first byte (default 0). */
  start?: number;
  /** WRITEs in flight (default 64). */
  concurrency?: number;
}

/** A Writable to a remote file with many WRITEs in flight; 'finish' after every WRITE is acknowledged. */
export function createWriteStream(sftp: SftpCore, path: SftpPath, opts: WriteStreamOptions = {}): Writable {
  let fh: SftpFileBase | undefined;
  let pos = opts.start ?? 0;
  const concurrency = Math.max(1, opts.concurrency ?? 64);
  const inflight = new Inflight();
  const send = async (data: Buffer) => {
    const h = fh as SftpFileBase;
    const size = sftp.writeChunk;
    for (let off = 0; off < data.length; off += size) {
      inflight.check();
      const piece = data.subarray(off, Math.min(off + size, data.length));
      inflight.add(h.write(piece, pos));
      pos += piece.length;
      await inflight.below(concurrency);
    }
    inflight.check();
  };
  return new Writable({
    highWaterMark: 1 << 20,
    construct(cb) {
      sftp.open(path, opts.flags ?? 'w', opts.mode ?? 0o644).then(
        (h) => {
          fh = h;
          cb();
        },
        (e) => cb(e),
      );
    },
    write(chunk: Buffer, _enc, cb) {
      send(chunk).then(() => cb(), cb);
    },
    final(cb) {
      inflight
        .settle()
        .then(() => {
          inflight.check();
          return fh?.close();
        })
        .then(() => cb(), cb);
    },
    destroy(err, cb) {
      const h = fh;
      if (!h) return cb(err);
      inflight
        .settle()
        .then(() => h.close())
        .then(
          () => cb(err),
          () => cb(err),
        );
    },
  });
}
