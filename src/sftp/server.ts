/**
 * The SFTP server side: serves one SFTP session over a Duplex from an {@link SftpBackend}.
 * Requests are processed one at a time, in order (as OpenSSH's sftp-server does), so a client's
 * pipelined requests see each other's effects; reading from the stream pauses while replies back up.
 */
import type { Duplex } from 'node:stream';
import { ProtocolError } from '../errors.js';
import type { SshReader, SshWriter } from '../wire/index.js';
import type { SftpAttrs } from './attrs.js';
import { decodeAttrs, encodeAttrs } from './attrs.js';
import type { SftpBackend, SftpBackendDir, SftpBackendFile } from './backend.js';
import { longname, TRUSTED_READ_INTO } from './backend.js';
import type { SftpName } from './codec.js';
import {
  buildData,
  buildPacket,
  DATA_HEADER,
  decodeVersion,
  encodeDataHeader,
  encodeLimits,
  encodeNames,
  encodeStatvfs,
  encodeVersion,
  PacketFramer,
  SshReader as Reader,
  readText,
} from './codec.js';
import {
  EXT,
  FX,
  FXF,
  FXP,
  MAX_HANDLE,
  MAX_PACKET,
  MAX_READ,
  SFTP_VERSION,
  type SymlinkOrder,
  symlinkOrderFor,
} from './constants.js';
import { copyData } from './copy-data.js';
import { nodeCodeToStatus, SftpError } from './errors.js';

/** Settings of {@link serveSftp}. */
export interface SftpServerOptions {
  /** Most open handles per session (default 256). */
  maxHandles?: number;
  /** Refuse modifications even if the backend would allow them. */
  readOnly?: boolean;
  /** Called with each request's outcome, for logging. */
  onRequest?: (info: { type: number; path?: string; status: number }) => void;
  /**
   * SSH_FXP_SYMLINK's path order (default 'target-first', OpenSSH's). `sftpSubsystemHandler` picks
   * 'link-first' for AsyncSSH clients, which send the draft's order.
   */
  symlinkOrder?: SymlinkOrder;
  /**
   * End the stream when the client has ended its side and every request is answered (default true).
   * `sftpSubsystemHandler` sets false and ends the channel itself with the exit status: a server's
   * session channel closes once both sides sent EOF, so an exit-status sent after our EOF was lost
   * (OpenSSH's ssh then exits 255, and scp in SFTP mode reports the transfer as failed).
   */
  endStream?: boolean;
}

type Open = { kind: 'file'; file: SftpBackendFile; path: string } | { kind: 'dir'; dir: SftpBackendDir; path: string };

const WRITE_FLAGS = FXF.WRITE | FXF.CREAT | FXF.TRUNC | FXF.APPEND;

/** Thrown inside request handlers to answer with a status. */
class Status extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function toStatus(e: unknown): { status: number; message: string } {
  if (e instanceof Status) return { status: e.status, message: e.message };
  if (e instanceof SftpError) return { status: e.status, message: e.serverMessage || e.nodeCode };
  if (e instanceof ProtocolError) return { status: FX.BAD_MESSAGE, message: 'bad message' };
  const code = (e as { code?: unknown })?.code;
  const status = nodeCodeToStatus(typeof code === 'string' ? code : undefined);
  const messages: Record<number, string> = {
    [FX.NO_SUCH_FILE]: 'No such file',
    [FX.PERMISSION_DENIED]: 'Permission denied',
    [FX.OP_UNSUPPORTED]: 'Operation unsupported',
    [FX.BAD_MESSAGE]: 'Bad message',
  };
  return { status, message: messages[status] ?? (typeof code === 'string' ? `Failure (${code})` : 'Failure') };
}

/**
 * Serves SFTP on `stream` until it closes. Resolves when the session is over (all handles closed).
 *
 * @example
 * session.on('subsystem', (req) => { if (req.name !== 'sftp') return req.reject(); req.accept();
 *   serveSftp(session.channel, new LocalFsBackend('/srv/files')).then(() => session.exit(0)); });
 */
export function serveSftp(stream: Duplex, backend: SftpBackend, opts: SftpServerOptions = {}): Promise<void> {
  return new SftpServerSession(stream, backend, opts).done;
}

/**
 * DATA reply buffers (room for the largest READ) are reused once the channel has taken their bytes
 * (the transport encrypts straight from them, then lets go). One pool for the process, of at most
 * {@link SPARE_MAX}, so idle sessions hold none.
 */
const spare: Buffer[] = [];
const SPARE_MAX = 16;
const SPARE_SIZE = DATA_HEADER + MAX_READ;

/** Returns a reply buffer to the pool (when it has room). */
function recycle(buf: Buffer): void {
  if (spare.length < SPARE_MAX) spare.push(buf);
}

class SftpServerSession {
  readonly done: Promise<void>;
  /** The pooled buffer behind the reply `handle` just returned, if it is one (see {@link spare}). */
  private pooled: Buffer | undefined;
  /** Whether the stream lets go of written chunks once their callback ran (a secsh Channel). */
  private readonly reuse: boolean;
  private resolveDone!: () => void;
  private readonly framer = new PacketFramer(MAX_PACKET);
  private readonly queue: Buffer[] = [];
  private running = false;
  private initialized = false;
  private ended = false;
  private readonly handles = new Map<string, Open>();
  private nextHandle = 0;
  private readonly maxHandles: number;
  private readonly readOnly: boolean;

  constructor(
    private readonly stream: Duplex,
    private readonly backend: SftpBackend,
    private readonly opts: SftpServerOptions,
  ) {
    this.done = new Promise((r) => {
      this.resolveDone = r;
    });
    this.maxHandles = opts.maxHandles ?? 256;
    this.reuse = (stream as { releasesWrittenChunks?: unknown }).releasesWrittenChunks === true;
    this.readOnly = opts.readOnly === true || backend.readOnly === true;
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const p of this.framer.push(chunk)) this.queue.push(p);
      } catch {
        this.finish(true);
        return;
      }
      if (this.queue.length > 64) stream.pause();
      this.pump();
    });
    stream.on('end', () => {
      this.ended = true;
      this.pump();
    });
    stream.on('close', () => this.finish(false));
    stream.on('error', () => this.finish(true));
  }

  private extensions(): Map<string, string> {
    const b = this.backend;
    const m = new Map<string, string>();
    m.set(EXT.POSIX_RENAME, '1');
    if (b.statvfs) m.set(EXT.STATVFS, '2');
    m.set(EXT.FSTATVFS, '2');
    if (b.link) m.set(EXT.HARDLINK, '1');
    m.set(EXT.FSYNC, '1');
    if (b.lsetstat) m.set(EXT.LSETSTAT, '1');
    m.set(EXT.LIMITS, '1');
    m.set(EXT.EXPAND_PATH, '1');
    m.set(EXT.COPY_DATA, '1');
    if (b.homeDirectory) m.set(EXT.HOME_DIRECTORY, '1');
    if (b.usersGroupsById) m.set(EXT.USERS_GROUPS_BY_ID, '1');
    return m;
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        const p = this.queue.shift();
        if (!p) break;
        const reply = await this.handle(p);
        const pooled = this.pooled;
        this.pooled = undefined;
        if (reply === null) {
          this.finish(true);
          return;
        }
        const more = pooled ? this.stream.write(reply, () => recycle(pooled)) : this.stream.write(reply);
        if (!more && !this.stream.destroyed) {
          await new Promise<void>((r) => {
            const done = () => {
              this.stream.off('drain', done);
              this.stream.off('close', done);
              r();
            };
            this.stream.on('drain', done);
            this.stream.on('close', done);
          });
        }
        if (this.queue.length <= 16 && this.stream.isPaused()) this.stream.resume();
      }
      if (this.ended) {
        if (this.opts.endStream !== false && !this.stream.writableEnded) this.stream.end();
        this.finish(false);
      }
    } finally {
      this.running = false;
    }
  }

  private finish(destroy: boolean): void {
    const all = [...this.handles.values()];
    this.handles.clear();
    this.queue.length = 0;
    if (destroy && !this.stream.destroyed) this.stream.destroy();
    Promise.allSettled(all.map((h) => (h.kind === 'file' ? h.file.close() : h.dir.close()))).then(() =>
      this.resolveDone(),
    );
  }

  /** Handles one packet; returns the framed reply, or null to end the session. */
  private async handle(p: Buffer): Promise<Buffer | null> {
    const type = p[0] as number;
    if (!this.initialized) {
      if (type !== FXP.INIT) return null;
      try {
        decodeVersion(p, FXP.INIT);
      } catch {
        return null;
      }
      this.initialized = true;
      return encodeVersion(SFTP_VERSION, this.extensions());
    }
    if (p.length < 5) return null;
    const id = p.readUInt32BE(1);
    const r = new Reader(p, 5);
    let reply: Buffer;
    try {
      reply = await this.dispatch(type, id, r);
    } catch (e) {
      const s = toStatus(e);
      reply = this.status(id, s.status, s.message);
    }
    if (this.opts.onRequest) {
      const status = reply[4] === FXP.STATUS ? reply.readUInt32BE(9) : FX.OK;
      try {
        this.opts.onRequest({ type, status });
      } catch {
        // a logging callback's failure is not the client's
      }
    }
    return reply;
  }

  /**
   * A READ answered through the backend's `readInto`, straight into the reply behind its header. The
   * buffer is pooled only when the stream lets go of written chunks (a secsh Channel does; a generic
   * Duplex may hand the very buffer to its reader), and only for secsh's own readInto: pooled buffers
   * hold earlier replies' bytes, of any session, and it is trusted to report exactly what it filled.
   * An untrusted readInto gets zeroed memory, so unfilled bytes it reports are zeros.
   */
  private async readIntoReply(file: SftpBackendFile, id: number, offset: number, len: number): Promise<Buffer> {
    const readInto = file.readInto as NonNullable<SftpBackendFile['readInto']>;
    const trusted = (file as { [TRUSTED_READ_INTO]?: boolean })[TRUSTED_READ_INTO] === true;
    const pool = this.reuse && trusted;
    const buf = pool
      ? (spare.pop() ?? Buffer.allocUnsafe(SPARE_SIZE))
      : trusted
        ? Buffer.allocUnsafe(DATA_HEADER + len)
        : Buffer.alloc(DATA_HEADER + len);
    const n = Math.min(await readInto.call(file, buf.subarray(DATA_HEADER, DATA_HEADER + len), offset), len);
    if (n === 0) {
      if (pool) recycle(buf);
      return this.status(id, FX.EOF);
    }
    encodeDataHeader(buf, id, n);
    const reply = buf.subarray(0, DATA_HEADER + n);
    if (2 * reply.length < buf.length) {
      // Much shorter than its buffer (a small READ, or one cut short by the end of the file): sent
      // as a copy. Replies may wait in the channel while the peer's window is closed, and each must
      // cost about its own size, not a buffer made for the largest READ.
      if (pool) recycle(buf);
      return Buffer.from(reply);
    }
    if (pool) this.pooled = buf;
    return reply;
  }

  private status(id: number, code: number, message = ''): Buffer {
    const text = message || (code === FX.OK ? 'Success' : code === FX.EOF ? 'End of file' : 'Failure');
    return buildPacket(FXP.STATUS, id, (w) => w.uint32(code).string(text).string(''));
  }

  private ok(id: number): Buffer {
    return this.status(id, FX.OK);
  }

  private reply(type: number, id: number, body: (w: SshWriter) => void): Buffer {
    return buildPacket(type, id, body);
  }

  private path(r: SshReader): string {
    const s = readText(r, 64 * 1024);
    if (s.includes('\0')) throw new Status(FX.NO_SUCH_FILE, 'invalid path');
    return s;
  }

  private handleOf(r: SshReader): Open {
    const h = r.string(MAX_HANDLE).toString('latin1');
    const o = this.handles.get(h);
    if (!o) throw new Status(FX.FAILURE, 'invalid handle');
    return o;
  }

  private file(r: SshReader): { file: SftpBackendFile; path: string } {
    const o = this.handleOf(r);
    if (o.kind !== 'file') throw new Status(FX.FAILURE, 'not a file handle');
    return o;
  }

  private newHandle(o: Open): Buffer {
    if (this.handles.size >= this.maxHandles) throw new Status(FX.FAILURE, 'too many open handles');
    const b = Buffer.alloc(4);
    do {
      b.writeUInt32BE(this.nextHandle);
      this.nextHandle = (this.nextHandle + 1) % 0x100000000;
    } while (this.handles.has(b.toString('latin1')));
    this.handles.set(b.toString('latin1'), o);
    return b;
  }

  private writable(): void {
    if (this.readOnly) throw new Status(FX.PERMISSION_DENIED, 'read-only');
  }

  private attrsReply(id: number, a: SftpAttrs): Buffer {
    return this.reply(FXP.ATTRS, id, (w) => encodeAttrs(w, a));
  }

  private nameReply(id: number, names: SftpName[]): Buffer {
    return this.reply(FXP.NAME, id, (w) => encodeNames(w, names));
  }

  private async dispatch(type: number, id: number, r: SshReader): Promise<Buffer> {
    const b = this.backend;
    switch (type) {
      case FXP.OPEN: {
        const path = this.path(r);
        const pflags = r.uint32();
        const attrs = decodeAttrs(r);
        r.ensureEnd();
        if (pflags & WRITE_FLAGS) this.writable();
        if (this.handles.size >= this.maxHandles) throw new Status(FX.FAILURE, 'too many open handles');
        const file = await b.open(path, pflags, attrs);
        try {
          const h = this.newHandle({ kind: 'file', file, path });
          return this.reply(FXP.HANDLE, id, (w) => w.string(h));
        } catch (e) {
          await file.close().catch(() => {});
          throw e;
        }
      }
      case FXP.OPENDIR: {
        const path = this.path(r);
        r.ensureEnd();
        if (this.handles.size >= this.maxHandles) throw new Status(FX.FAILURE, 'too many open handles');
        const dir = await b.opendir(path);
        const h = this.newHandle({ kind: 'dir', dir, path });
        return this.reply(FXP.HANDLE, id, (w) => w.string(h));
      }
      case FXP.CLOSE: {
        const key = r.string(MAX_HANDLE).toString('latin1');
        r.ensureEnd();
        const o = this.handles.get(key);
        if (!o) throw new Status(FX.FAILURE, 'invalid handle');
        this.handles.delete(key);
        if (o.kind === 'file') await o.file.close();
        else await o.dir.close();
        return this.ok(id);
      }
      case FXP.READ: {
        const f = this.file(r);
        const offset = r.uint64();
        const len = Math.min(r.uint32(), MAX_READ);
        r.ensureEnd();
        if (offset > BigInt(Number.MAX_SAFE_INTEGER)) return this.status(id, FX.EOF);
        if (f.file.readInto) return this.readIntoReply(f.file, id, Number(offset), len);
        const data = await f.file.read(Number(offset), len);
        if (data.length === 0) return this.status(id, FX.EOF);
        return buildData(id, data.length > len ? data.subarray(0, len) : data);
      }
      case FXP.WRITE: {
        const f = this.file(r);
        const offset = r.uint64();
        const data = r.string();
        r.ensureEnd();
        this.writable();
        if (offset + BigInt(data.length) > BigInt(Number.MAX_SAFE_INTEGER))
          throw new Status(FX.FAILURE, 'offset too large');
        await f.file.write(Number(offset), data);
        return this.ok(id);
      }
      case FXP.STAT:
      case FXP.LSTAT: {
        const path = this.path(r);
        r.ensureEnd();
        return this.attrsReply(id, type === FXP.STAT ? await b.stat(path) : await b.lstat(path));
      }
      case FXP.FSTAT: {
        const f = this.file(r);
        r.ensureEnd();
        return this.attrsReply(id, await f.file.stat());
      }
      case FXP.SETSTAT: {
        const path = this.path(r);
        const attrs = decodeAttrs(r);
        r.ensureEnd();
        this.writable();
        await b.setstat(path, attrs);
        return this.ok(id);
      }
      case FXP.FSETSTAT: {
        const f = this.file(r);
        const attrs = decodeAttrs(r);
        r.ensureEnd();
        this.writable();
        await f.file.setstat(attrs);
        return this.ok(id);
      }
      case FXP.READDIR: {
        const o = this.handleOf(r);
        r.ensureEnd();
        if (o.kind !== 'dir') throw new Status(FX.FAILURE, 'not a directory handle');
        const names = await o.dir.read();
        if (!names || names.length === 0) return this.status(id, FX.EOF);
        const filled = names.map((n) => (n.longname ? n : { ...n, longname: longname(n.filename, n.attrs) }));
        return this.nameReply(id, filled);
      }
      case FXP.REMOVE:
      case FXP.RMDIR: {
        const path = this.path(r);
        r.ensureEnd();
        this.writable();
        await (type === FXP.REMOVE ? b.remove(path) : b.rmdir(path));
        return this.ok(id);
      }
      case FXP.MKDIR: {
        const path = this.path(r);
        const attrs = decodeAttrs(r);
        r.ensureEnd();
        this.writable();
        await b.mkdir(path, attrs);
        return this.ok(id);
      }
      case FXP.REALPATH: {
        const path = this.path(r);
        r.ensureEnd();
        const p = await b.realpath(path);
        return this.nameReply(id, [{ filename: p, longname: p, attrs: {} }]);
      }
      case FXP.RENAME: {
        const from = this.path(r);
        const to = this.path(r);
        r.ensureEnd();
        this.writable();
        await b.rename(from, to, false);
        return this.ok(id);
      }
      case FXP.READLINK: {
        const path = this.path(r);
        r.ensureEnd();
        const t = await b.readlink(path);
        return this.nameReply(id, [{ filename: t, longname: t, attrs: {} }]);
      }
      case FXP.SYMLINK: {
        // OpenSSH's order (target, then the link to create) unless the peer follows the draft.
        const first = this.path(r);
        const second = this.path(r);
        const [target, link] = this.opts.symlinkOrder === 'link-first' ? [second, first] : [first, second];
        r.ensureEnd();
        this.writable();
        await b.symlink(target, link);
        return this.ok(id);
      }
      case FXP.EXTENDED:
        return this.extended(id, readText(r, 1024), r);
      default:
        return this.status(id, FX.OP_UNSUPPORTED, 'Operation unsupported');
    }
  }

  private async extended(id: number, name: string, r: SshReader): Promise<Buffer> {
    const b = this.backend;
    switch (name) {
      case EXT.POSIX_RENAME: {
        const from = this.path(r);
        const to = this.path(r);
        r.ensureEnd();
        this.writable();
        await b.rename(from, to, true);
        return this.ok(id);
      }
      case EXT.STATVFS:
      case EXT.FSTATVFS: {
        let s: Awaited<ReturnType<NonNullable<SftpBackend['statvfs']>>> | undefined;
        if (name === EXT.STATVFS) {
          const path = this.path(r);
          r.ensureEnd();
          s = await b.statvfs?.(path);
        } else {
          const f = this.file(r);
          r.ensureEnd();
          s = f.file.statvfs ? await f.file.statvfs() : await b.statvfs?.(f.path);
        }
        if (!s) throw new Status(FX.OP_UNSUPPORTED, 'statvfs not supported');
        const v = this.readOnly ? { ...s, flag: s.flag | 1n } : s;
        return this.reply(FXP.EXTENDED_REPLY, id, (w) => encodeStatvfs(w, v));
      }
      case EXT.HARDLINK: {
        const from = this.path(r);
        const to = this.path(r);
        r.ensureEnd();
        this.writable();
        if (!b.link) throw new Status(FX.OP_UNSUPPORTED, 'hardlink not supported');
        await b.link(from, to);
        return this.ok(id);
      }
      case EXT.FSYNC: {
        const f = this.file(r);
        r.ensureEnd();
        await f.file.sync?.();
        return this.ok(id);
      }
      case EXT.LSETSTAT: {
        const path = this.path(r);
        const attrs = decodeAttrs(r);
        r.ensureEnd();
        this.writable();
        if (!b.lsetstat) throw new Status(FX.OP_UNSUPPORTED, 'lsetstat not supported');
        await b.lsetstat(path, attrs);
        return this.ok(id);
      }
      case EXT.LIMITS: {
        r.ensureEnd();
        return this.reply(FXP.EXTENDED_REPLY, id, (w) =>
          encodeLimits(w, {
            maxPacketLength: MAX_PACKET,
            maxReadLength: MAX_READ,
            maxWriteLength: MAX_READ,
            maxOpenHandles: this.maxHandles,
          }),
        );
      }
      case EXT.EXPAND_PATH: {
        const path = this.path(r);
        r.ensureEnd();
        const p = b.expandPath ? await b.expandPath(path) : await b.realpath(path);
        return this.nameReply(id, [{ filename: p, longname: p, attrs: {} }]);
      }
      case EXT.HOME_DIRECTORY: {
        const user = readText(r, 1024);
        r.ensureEnd();
        if (!b.homeDirectory) throw new Status(FX.OP_UNSUPPORTED, 'home-directory not supported');
        const p = await b.homeDirectory(user);
        return this.nameReply(id, [{ filename: p, longname: p, attrs: {} }]);
      }
      case EXT.USERS_GROUPS_BY_ID: {
        const ids = (buf: Buffer) => {
          if (buf.length % 4 !== 0 || buf.length > 4 * 4096) throw new ProtocolError('bad id list');
          const out: number[] = [];
          for (let i = 0; i < buf.length; i += 4) out.push(buf.readUInt32BE(i));
          return out;
        };
        const uids = ids(r.string());
        const gids = ids(r.string());
        r.ensureEnd();
        if (!b.usersGroupsById) throw new Status(FX.OP_UNSUPPORTED, 'users-groups-by-id not supported');
        const { users, groups } = await b.usersGroupsById(uids, gids);
        const pack = (xs: string[]) => {
          const parts = xs.map((x) => {
            const s = Buffer.from(x, 'utf8');
            const l = Buffer.alloc(4);
            l.writeUInt32BE(s.length);
            return Buffer.concat([l, s]);
          });
          return Buffer.concat(parts);
        };
        return this.reply(FXP.EXTENDED_REPLY, id, (w) => w.string(pack(users)).string(pack(groups)));
      }
      case EXT.COPY_DATA:
        return this.copyData(id, r);
      default:
        return this.status(id, FX.OP_UNSUPPORTED, `unsupported extension ${name.slice(0, 64)}`);
    }
  }

  private async copyData(id: number, r: SshReader): Promise<Buffer> {
    const src = this.file(r);
    const readOffset = r.uint64();
    const length = r.uint64();
    const dst = this.file(r);
    const writeOffset = r.uint64();
    r.ensureEnd();
    this.writable();
    return this.status(id, await copyData(src, readOffset, length, dst, writeOffset));
  }
}

/** The part of a server session {@link sftpSubsystemHandler} needs. */
export interface SftpSessionLike {
  /** The session channel the SFTP packets travel on. */
  readonly channel: Duplex;
  /** The authenticated user (a backend factory can pick a root by it). */
  readonly username: string;
  /** The client's SSH version line (a secsh `Session` has it): picks the SYMLINK order. */
  readonly clientVersion?: string | undefined;
  /** Our own SSH version line (a secsh `Session` has it): AsyncSSH's SYMLINK order depends on it too. */
  readonly serverVersion?: string | undefined;
  /** `accept()` returns false when another handler took the request (a secsh `Session` does so). */
  on(event: 'subsystem', fn: (req: { name: string; accept(): unknown; reject(): void }) => void): unknown;
  /** Ends the session with an exit status when SFTP ends: 0 after a clean end, 1 after an error. */
  exit(code: number | null): void;
}

/**
 * A 'session' listener serving the 'sftp' subsystem from `backend` (or a backend made per session).
 *
 * @example
 * server.on('session', sftpSubsystemHandler(new LocalFsBackend('/srv/files')));
 */
export function sftpSubsystemHandler(
  backend: SftpBackend | ((session: SftpSessionLike) => SftpBackend),
  opts: SftpServerOptions = {},
): (session: SftpSessionLike) => void {
  return (session) => {
    session.on('subsystem', (req) => {
      // Declining leaves other subsystems to the session's other handlers.
      if (req.name !== 'sftp') return req.reject();
      let b: SftpBackend;
      try {
        b = typeof backend === 'function' ? backend(session) : backend;
      } catch {
        return req.reject();
      }
      if (req.accept() === false) return;
      const exit = (code: number) => {
        try {
          session.exit(code);
        } catch {
          // channel already gone
        }
      };
      const symlinkOrder = symlinkOrderFor(session.clientVersion, session.serverVersion);
      serveSftp(session.channel, b, { symlinkOrder, ...opts, endStream: false }).then(
        () => exit(0),
        () => exit(1),
      );
    });
  };
}
