/**
 * The scp sink: receives what a source (`scp -f` on the far side, or {@link scpSource}) sends and
 * writes it into `fs` under a target, as OpenSSH's scp sink does: names must be one plain path
 * component, a directory needs `recursive`, files are written then truncated to their size, modes
 * are masked by `umask` (and lose setuid, setgid and sticky bits) unless `preserve`. A file that cannot be written is reported to the source
 * (which goes on with the next); a broken protocol ends the transfer with {@link ScpError}.
 */
import type { Duplex } from 'node:stream';
import type { SftpAttrs } from '../sftp/attrs.js';
import { S_IFDIR, S_IFMT, S_IFREG } from '../sftp/attrs.js';
import { FXF } from '../sftp/constants.js';
import type { ScpFile, ScpFs } from './fs.js';
import { errorText } from './fs.js';
import { formatError, parseControl, ScpError, ScpReader, send } from './protocol.js';
import type { ScpResult, ScpTransferOptions } from './source.js';

/** Settings of {@link scpSink}. */
export interface ScpSinkOptions extends ScpTransferOptions {
  /** The target must be an existing directory (`scp -d`, sent when there are several sources). */
  targetIsDirectory?: boolean;
  /** Bits cleared from received modes unless `preserve` (default 0o022); 0o7000 is always cleared then. */
  umask?: number;
  /** Bytes gathered before a write to the file system (default 256 KiB). */
  writeSize?: number;
}

const ACK = Buffer.of(0);

function join(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

class Sink {
  readonly result: ScpResult = { errors: 0, files: 0, bytes: 0 };
  private readonly umask: number;

  constructor(
    private readonly stream: Duplex,
    private readonly reader: ScpReader,
    private readonly fs: ScpFs,
    private readonly opts: ScpSinkOptions,
  ) {
    this.umask = opts.umask ?? 0o022;
  }

  /** Writes to the peer; with idleTimeout, a peer that stops reading fails the transfer. */
  send(data: string | Buffer): Promise<void> {
    return send(this.stream, data, this.opts.idleTimeout);
  }

  /** An error counted and reported locally, not sent: the protocol has no place for it here. */
  note(message: string): void {
    this.result.errors++;
    this.opts.onError?.(message, 'local');
  }

  async localError(message: string): Promise<void> {
    this.result.errors++;
    this.opts.onError?.(message, 'local');
    await this.send(formatError(message));
  }

  async isDir(path: string): Promise<SftpAttrs | undefined> {
    try {
      const st = await this.fs.stat(path);
      return ((st.mode ?? 0) & S_IFMT) === S_IFDIR ? st : undefined;
    } catch {
      return undefined;
    }
  }

  /** SCREWUP: tells the source, then fails. */
  async protocolError(e: ScpError): Promise<never> {
    this.result.errors++;
    await this.send(formatError(`protocol error: ${e.message}`)).catch(() => {});
    throw e;
  }

  async run(target: string, depth: number): Promise<void> {
    const targetIsDir = (await this.isDir(target)) !== undefined;
    let times: { mtime: number; atime: number } | undefined;
    for (;;) {
      if (!(await this.reader.hasMore('waiting for a control line'))) {
        if (depth === 0) return;
        throw new ScpError('peer', 'lost connection (inside a directory)');
      }
      const first = await this.reader.byte('waiting for a control line');
      if (first === 0x0a) await this.protocolError(new ScpError('protocol', 'unexpected <newline>'));
      let line: string;
      try {
        line = await this.reader.line('reading a control line', first);
      } catch (e) {
        if (e instanceof ScpError && e.kind === 'protocol') await this.protocolError(e);
        throw e;
      }
      if (first === 1 || first === 2) {
        this.result.errors++;
        this.opts.onError?.(line.slice(1), 'peer');
        if (first === 2) throw new ScpError('peer', line.slice(1));
        continue;
      }
      let ctl: ReturnType<typeof parseControl>;
      try {
        ctl = parseControl(line, this.opts);
      } catch (e) {
        if (e instanceof ScpError) await this.protocolError(e);
        throw e;
      }
      if (ctl.type === 'E') {
        if (depth === 0) await this.protocolError(new ScpError('protocol', 'unexpected E line'));
        await this.send(ACK);
        return;
      }
      if (ctl.type === 'T') {
        times = { mtime: ctl.mtime, atime: ctl.atime };
        await this.send(ACK);
        continue;
      }
      const np = targetIsDir ? join(target, ctl.name) : target;
      // Without -p, setuid, setgid and sticky bits are cleared too (OpenSSH's sink adds 07000 to its mask).
      const mode = this.opts.preserve ? ctl.mode : ctl.mode & ~(this.umask | 0o7000);
      const t = times;
      times = undefined;
      if (ctl.type === 'D') await this.dir(np, mode, t, depth);
      else await this.file(np, mode, ctl.size, t);
    }
  }

  async dir(np: string, mode: number, times: { mtime: number; atime: number } | undefined, depth: number) {
    if (!this.opts.recursive) await this.protocolError(new ScpError('protocol', 'received directory without -r'));
    if (depth + 1 > (this.opts.maxDepth ?? 128)) await this.protocolError(new ScpError('protocol', 'too deep'));
    let setMode = this.opts.preserve === true;
    let st: SftpAttrs | undefined;
    try {
      st = await this.fs.stat(np);
    } catch {
      st = undefined;
    }
    const exists = st !== undefined;
    if (st && ((st.mode ?? 0) & S_IFMT) !== S_IFDIR) return this.localError(`${np}: Not a directory`);
    try {
      if (!exists) {
        setMode = true;
        await this.fs.mkdir(np, { mode: mode | 0o700 });
      } else if (this.opts.preserve) {
        await this.fs.setstat(np, { mode });
      }
    } catch (e) {
      return this.localError(`${np}: ${errorText(e)}`);
    }
    await this.send(ACK);
    await this.run(np, depth + 1);
    // The source has had the E's acknowledgement and sends its next line: an error message now would
    // answer that line and put every later acknowledgement out of step. OpenSSH's sink ignores these;
    // they are counted (the exit status) and reported locally only.
    if (times) await this.fs.setstat(np, times).catch((e) => this.note(`${np}: set times: ${errorText(e)}`));
    if (setMode) await this.fs.setstat(np, { mode }).catch((e) => this.note(`${np}: set mode: ${errorText(e)}`));
  }

  async file(np: string, mode: number, size: number, times: { mtime: number; atime: number } | undefined) {
    let existing: SftpAttrs | undefined;
    try {
      existing = await this.fs.stat(np);
    } catch {
      existing = undefined;
    }
    let f: ScpFile;
    try {
      f = await this.fs.open(np, FXF.WRITE | FXF.CREAT, { mode: mode | 0o200 });
    } catch (e) {
      return this.localError(`${np}: ${errorText(e)}`);
    }
    let failure: unknown;
    let peerOk = false;
    try {
      await this.send(ACK);
      const meter = this.opts.progress?.(np, size);
      const limit = this.opts.writeSize ?? 256 * 1024;
      let pending: Buffer[] = [];
      let pendingLen = 0;
      let off = 0;
      const flush = async () => {
        const data = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingLen);
        pending = [];
        pendingLen = 0;
        if (failure !== undefined) return;
        try {
          await f.write(off, data);
        } catch (e) {
          failure = e;
        }
        off += data.length;
      };
      try {
        await this.reader.data(
          size,
          async (chunk) => {
            pending.push(chunk);
            pendingLen += chunk.length;
            meter?.update(chunk.length);
            if (pendingLen >= limit) await flush();
          },
          'reading file data',
        );
        if (pendingLen > 0) await flush();
      } finally {
        meter?.done();
      }
      const regular = existing === undefined || ((existing.mode ?? 0) & S_IFMT) === S_IFREG;
      if (failure === undefined && regular) {
        await f.setstat({ size }).catch((e) => {
          failure = e;
        });
      }
      if (failure === undefined && (this.opts.preserve || (existing === undefined && (mode | 0o200) !== mode))) {
        await f.setstat({ mode }).catch((e) => {
          failure = e;
        });
      }
      const ack = await this.reader.ack('waiting for the end of the file');
      if (ack.ok) peerOk = true;
      else {
        this.result.errors++;
        this.opts.onError?.(ack.message, 'peer');
      }
    } finally {
      await f.close().catch((e) => {
        failure ??= e;
      });
    }
    if (times && failure === undefined) {
      await this.fs.setstat(np, times).catch((e) => {
        failure = e;
      });
    }
    if (failure !== undefined) return this.localError(`${np}: ${errorText(failure)}`);
    await this.send(ACK);
    if (peerOk) {
      this.result.files++;
      this.result.bytes += size;
    }
  }
}

/**
 * Receives files (and directories with `recursive`) from the source at the other end of `stream`
 * into `target` in `fs`: into it when it is a directory, else as it. Sends the first
 * acknowledgement, then answers each line. Resolves when the source ends the stream; a file that
 * could not be written counts in `errors` (and was reported to the source). Rejects with
 * {@link ScpError} when the protocol breaks (an over-long line, a bad size or mode, a name with `/`
 * or `..`, a directory without `recursive`, the stream ending inside a directory) or the source
 * sends a fatal error.
 */
export async function scpSink(
  stream: Duplex,
  target: string,
  fs: ScpFs,
  opts: ScpSinkOptions = {},
): Promise<ScpResult> {
  const reader = new ScpReader(stream, opts);
  const sink = new Sink(stream, reader, fs, opts);
  try {
    if (opts.targetIsDirectory && (await sink.isDir(target)) === undefined) {
      let why = 'Not a directory';
      await fs.stat(target).catch((e) => {
        why = errorText(e);
      });
      await sink.localError(`${target}: ${why}`);
      return sink.result;
    }
    await send(stream, ACK, opts.idleTimeout);
    await sink.run(target, 0);
    return sink.result;
  } catch (e) {
    if (e instanceof ScpError) throw e;
    throw new ScpError('peer', `scp sink failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  } finally {
    reader.detach();
  }
}
