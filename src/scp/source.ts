/**
 * The scp source: sends files and directories to a sink (`scp -t` on the far side, or {@link scpSink})
 * as OpenSSH's scp does — T (with preserve), C and its bytes, D … E for directories, one
 * acknowledgement after each. A file that cannot be read is reported to the sink and to
 * `onError`, and the others go on.
 */
import type { Duplex } from 'node:stream';
import type { SftpAttrs } from '../sftp/attrs.js';
import { S_IFDIR, S_IFMT, S_IFREG } from '../sftp/attrs.js';
import { FXF } from '../sftp/constants.js';
import type { ScpFile, ScpFs } from './fs.js';
import { errorText } from './fs.js';
import type { ScpReaderOptions } from './protocol.js';
import { formatEntry, formatError, formatTimes, ScpError, ScpReader, send, sendTaken } from './protocol.js';

/** A progress sink for one file (e.g. a progress meter). */
export interface ScpProgress {
  /** `bytes` more have been transferred. */
  update(bytes: number): void;
  /** The file is over (sent, or failed). */
  done(): void;
}

/** Settings shared by {@link scpSource} and {@link scpSink}. */
export interface ScpTransferOptions extends ScpReaderOptions {
  /** Directories too (`-r`). */
  recursive?: boolean;
  /** Modes and times too (`-p`). */
  preserve?: boolean;
  /**
   * A message for the user: `origin` 'local' for this side's errors (already sent to the peer as
   * scp does), 'peer' for the text of the peer's error message (it starts with `scp: `).
   */
  onError?: (message: string, origin: 'local' | 'peer') => void;
  /** Called when a file's bytes start to move; what it returns hears of their progress. */
  progress?: (path: string, size: number) => ScpProgress | undefined;
  /** Deepest directory nesting sent or accepted (default 128): a symlink loop or a hostile source ends there. */
  maxDepth?: number;
}

/** Settings of {@link scpSource}. */
export interface ScpSourceOptions extends ScpTransferOptions {
  /** Bytes read from a file at a time (default 256 KiB). */
  chunkSize?: number;
}

/** What a transfer did. */
export interface ScpResult {
  /** Errors reported (ours and the peer's); scp exits 1 when there were any. */
  errors: number;
  /** Files transferred completely. */
  files: number;
  /** Bytes of file data transferred. */
  bytes: number;
}

function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i === -1 ? p : p.slice(i + 1);
}

class Source {
  readonly result: ScpResult = { errors: 0, files: 0, bytes: 0 };
  private readonly chunk: number;
  private buffers: Buffer[] | undefined;

  constructor(
    private readonly stream: Duplex,
    private readonly reader: ScpReader,
    private readonly fs: ScpFs,
    private readonly opts: ScpSourceOptions,
  ) {
    this.chunk = opts.chunkSize ?? 256 * 1024;
  }

  /** Two reusable read buffers, when the stream releases written chunks and `f` can read into one. */
  pool(f: ScpFile): Buffer[] | undefined {
    if (!f.readInto || (this.stream as { releasesWrittenChunks?: unknown }).releasesWrittenChunks !== true) return;
    this.buffers ??= [Buffer.allocUnsafe(this.chunk), Buffer.allocUnsafe(this.chunk)];
    return this.buffers;
  }

  /** Writes to the peer; with idleTimeout, a peer that stops reading fails the transfer. */
  send(data: string | Buffer): Promise<void> {
    return send(this.stream, data, this.opts.idleTimeout);
  }

  /** run_err: counted, sent to the sink, shown locally. */
  async localError(message: string): Promise<void> {
    this.result.errors++;
    this.opts.onError?.(message, 'local');
    await this.send(formatError(message));
  }

  /** Waits for the sink's answer; false (and the message reported) when it refused. */
  async response(what: string): Promise<boolean> {
    const a = await this.reader.ack(what);
    if (a.ok) return true;
    this.result.errors++;
    this.opts.onError?.(a.message, 'peer');
    return false;
  }

  async times(st: SftpAttrs): Promise<boolean> {
    if (!this.opts.preserve) return true;
    await this.send(formatTimes(st.mtime ?? 0, st.atime ?? st.mtime ?? 0));
    return this.response('waiting for the T line ack');
  }

  async path(raw: string, depth = 0): Promise<void> {
    let name = raw;
    while (name.length > 1 && name.endsWith('/')) name = name.slice(0, -1);
    let st: SftpAttrs;
    try {
      st = await this.fs.stat(name);
    } catch (e) {
      return this.localError(`${name}: ${errorText(e)}`);
    }
    const type = (st.mode ?? 0) & S_IFMT;
    if (type === S_IFDIR && this.opts.recursive) {
      if (depth >= (this.opts.maxDepth ?? 128)) return this.localError(`${name}: directory nesting too deep`);
      return this.dir(name, st, depth);
    }
    if (type !== S_IFREG) return this.localError(`${name}: not a regular file`);
    return this.file(name, st);
  }

  async file(name: string, st: SftpAttrs): Promise<void> {
    let f: ScpFile;
    try {
      f = await this.fs.open(name, FXF.READ, {});
    } catch (e) {
      return this.localError(`${name}: ${errorText(e)}`);
    }
    try {
      const size = st.size ?? 0;
      if (!(await this.times(st))) return;
      await this.send(formatEntry('C', st.mode ?? 0o644, size, basename(name)));
      if (!(await this.response('waiting for the C line ack'))) return;
      const meter = this.opts.progress?.(name, size);
      let failure: unknown;
      let off = 0;
      // Over a secsh Channel (which lets go of a chunk once its write callback ran) a file is read
      // into two buffers in turn; elsewhere each chunk is a new buffer.
      const pool = this.pool(f);
      let slot = 0;
      const fill = async (at: number, want: number): Promise<Buffer> => {
        if (!pool || !f.readInto) return f.read(at, want);
        const buf = (pool[slot] as Buffer).subarray(0, want);
        slot ^= 1;
        let got = 0;
        while (got < want) {
          const n = await f.readInto(buf.subarray(got), at + got);
          if (n <= 0) break;
          got += Math.min(n, want - got);
        }
        return buf.subarray(0, got);
      };
      // The next chunk is read while the current one is being sent.
      const readAt = async (at: number): Promise<Buffer> => {
        const want = Math.min(this.chunk, size - at);
        if (failure !== undefined) return Buffer.alloc(want);
        try {
          const data = await fill(at, want);
          // A file that shrank: the promised size is sent anyway, padded, as scp does.
          if (data.length === 0) throw Object.assign(new Error('file shrank'), { code: 'EIO' });
          return data;
        } catch (e) {
          failure ??= e;
          return Buffer.alloc(want);
        }
      };
      let next = size > 0 ? readAt(0) : undefined;
      try {
        while (next) {
          const data = await next;
          off += data.length;
          next = off < size ? readAt(off) : undefined;
          await (pool ? sendTaken(this.stream, data, this.opts.idleTimeout) : this.send(data));
          meter?.update(data.length);
        }
      } finally {
        // Never close the file under a read still running.
        await next?.catch(() => {});
        meter?.done();
      }
      if (failure === undefined) {
        await this.send(Buffer.of(0));
        this.result.bytes += size;
      } else {
        await this.localError(`${name}: ${errorText(failure)}`);
      }
      if ((await this.response('waiting for the file ack')) && failure === undefined) this.result.files++;
    } finally {
      await f.close().catch(() => {});
    }
  }

  /**
   * A directory: D, its entries as they are listed (one batch of names held at a time, not the whole
   * listing: a directory may be huge), E. The directory stays open while its entries are sent, as
   * OpenSSH's source keeps it.
   */
  async dir(name: string, st: SftpAttrs, depth: number): Promise<void> {
    let d: Awaited<ReturnType<ScpFs['opendir']>>;
    let batch: Awaited<ReturnType<typeof d.read>>;
    try {
      d = await this.fs.opendir(name);
    } catch (e) {
      return this.localError(`${name}: ${errorText(e)}`);
    }
    try {
      try {
        batch = await d.read();
      } catch (e) {
        return this.localError(`${name}: ${errorText(e)}`);
      }
      if (!(await this.times(st))) return;
      await this.send(formatEntry('D', st.mode ?? 0o755, 0, basename(name)));
      if (!(await this.response('waiting for the D line ack'))) return;
      while (batch !== null) {
        for (const { filename: n } of batch) {
          if (n === '.' || n === '..') continue;
          if (n.includes('\n')) {
            await this.localError(`${name}/${n.replace(/\n/g, '\\n')}: name contains a newline`);
            continue;
          }
          await this.path(name === '/' ? `/${n}` : `${name}/${n}`, depth + 1);
        }
        try {
          batch = await d.read();
        } catch (e) {
          // The rest of the listing is lost: said so, and the directory ends here.
          await this.localError(`${name}: ${errorText(e)}`);
          batch = null;
        }
      }
    } finally {
      await d.close().catch(() => {});
    }
    await this.send('E\n');
    await this.response('waiting for the E line ack');
  }
}

/**
 * Sends `paths` (files, and directories with `recursive`) from `fs` to the sink at the other end of
 * `stream`, after the sink's first acknowledgement. Resolves with what was done; a file that failed
 * counts in `errors` and the others go on. Rejects with {@link ScpError} when the protocol breaks or
 * the sink reports a fatal error.
 */
export async function scpSource(
  stream: Duplex,
  paths: readonly string[],
  fs: ScpFs,
  opts: ScpSourceOptions = {},
): Promise<ScpResult> {
  const reader = new ScpReader(stream, opts);
  const src = new Source(stream, reader, fs, opts);
  try {
    if (!(await src.response('waiting for the sink to start'))) return src.result;
    for (const p of paths) await src.path(p);
    return src.result;
  } catch (e) {
    if (e instanceof ScpError) throw e;
    throw new ScpError('peer', `scp source failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  } finally {
    reader.detach();
  }
}
