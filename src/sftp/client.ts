/**
 * SftpClient: an SFTP v3 client over any Duplex (normally the channel of `client.subsystem('sftp')`),
 * shaped like `fs/promises` where SFTP allows, with the OpenSSH extensions when the server offers them.
 */
import type { Duplex, Readable, Writable } from 'node:stream';
import { ProtocolError } from '../errors.js';
import type { SftpAttrs } from './attrs.js';
import { encodeAttrs, SftpStats } from './attrs.js';
import type { UsersGroups } from './backend.js';
import { connectionErrorOf, sftpHandshake, streamGone } from './client-handshake.js';
import type { AppendData, AppendOptions, CopyOptions, RmdirOptions, RmOptions, SftpEntryType } from './client-ops.js';
import { append, copy, entryTypeOf, lstatIfExists, mkdirRecursive, readdir, rm, rmdirRecursive } from './client-ops.js';
import { expectOk, type OpenFlags, openFlags, shownPath, unexpected } from './client-replies.js';
import type {
  ScatteredData,
  SftpDirEntry,
  SftpLimits,
  SftpName,
  SftpPath,
  SftpResponse,
  SftpStatvfs,
  SftpVersion,
  SshWriter,
} from './codec.js';
import {
  buildPacket,
  buildWrite,
  decodeLimits,
  decodeResponse,
  decodeStatvfs,
  decodeUsersGroups,
  displayPath,
  PacketFramer,
  packIds,
} from './codec.js';
import { EXT, FX, FXP, MAX_PACKET, MAX_READ, type SymlinkOrder } from './constants.js';
import type { DirTransferOptions, DirTransferResult } from './dir-transfer.js';
import { downloadDir, uploadDir } from './dir-transfer.js';
import { SftpError } from './errors.js';
import type { ReadStreamOptions, WriteStreamOptions } from './handle.js';
import { createReadStream, createWriteStream, SftpFileBase } from './handle.js';
import type { TransferOptions } from './transfer.js';
import { download, upload } from './transfer.js';

export type {
  AppendData,
  AppendOptions,
  CopyOptions,
  RmdirOptions,
  RmOptions,
  SftpEntryType,
} from './client-ops.js';
export type { OpenFlags } from './client-replies.js';
export { expectOk, openFlags, unexpected } from './client-replies.js';
export type { SftpDirEntry } from './codec.js';

/** Settings of {@link SftpClient.fromChannel}. */
export interface SftpClientOptions {
  /** Largest reply accepted (default 256 KiB). */
  maxPacket?: number;
  /** Milliseconds to wait for SSH_FXP_VERSION (default 30000). */
  handshakeTimeout?: number;
  /**
   * SSH_FXP_SYMLINK's path order on the wire (default 'target-first', OpenSSH's).
   * `Client.sftp()` picks 'link-first' for an AsyncSSH server, which reads the draft's order.
   */
  symlinkOrder?: SymlinkOrder;
}

/** What {@link SftpClient.stats} counts. */
export interface SftpClientStats {
  /** Requests sent and not yet answered. */
  pendingRequests: number;
  /** Files and directories this client opened and has not closed. */
  openHandles: number;
}

type Pending = { resolve: (r: SftpResponse) => void; reject: (e: Error) => void };

function toSeconds(t: Date | number): number {
  return Math.floor(t instanceof Date ? t.getTime() / 1000 : t);
}

/**
 * An SFTP session.
 *
 * @example
 * const sftp = await client.sftp();
 * await sftp.writeFile('/tmp/hello', 'hi');
 * console.log((await sftp.stat('/tmp/hello')).size);
 * await sftp.download('/tmp/hello', './hello');
 * sftp.end();
 */
export class SftpClient {
  /** The server's protocol version (3 expected). */
  readonly version: number;
  /** Extensions the server offered: name → version string. */
  readonly extensions: ReadonlyMap<string, string>;
  /** limits@openssh.com as reported by the server, if offered. */
  limits: SftpLimits | undefined;
  private readonly stream: Duplex;
  private readonly framer: PacketFramer;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closedError: Error | undefined;
  /** Handles opened and not closed yet, by their bytes (hex): a count, in case a server reuses one. */
  private readonly handles = new Map<string, number>();

  /**
   * @internal True when the stream keeps no reference to a written chunk once its callback ran (a
   * secsh Channel): a request's buffer may then be reused as soon as its reply has arrived.
   */
  readonly reusableRequests: boolean;
  private readonly symlinkOrder: SymlinkOrder;

  private constructor(stream: Duplex, framer: PacketFramer, v: SftpVersion, symlinkOrder: SymlinkOrder) {
    this.stream = stream;
    this.symlinkOrder = symlinkOrder;
    this.reusableRequests = (stream as { releasesWrittenChunks?: unknown }).releasesWrittenChunks === true;
    this.framer = framer;
    this.version = v.version;
    this.extensions = v.extensions;
  }

  /** Starts SFTP over `stream` (the channel of an accepted 'sftp' subsystem): INIT/VERSION, then limits. */
  static async fromChannel(stream: Duplex, opts: SftpClientOptions = {}): Promise<SftpClient> {
    const framer = new PacketFramer(opts.maxPacket ?? MAX_PACKET);
    const first = await sftpHandshake(stream, framer, opts.handshakeTimeout ?? 30000);
    if (first.v.version < 3) throw new SftpError(FX.OP_UNSUPPORTED, `server speaks SFTP version ${first.v.version}`);
    const c = new SftpClient(stream, framer, first.v, opts.symlinkOrder ?? 'target-first');
    c.attach();
    for (const p of first.rest) {
      if (Buffer.isBuffer(p)) c.onPacket(p);
      else c.onScatteredData(p);
    }
    if (c.has(EXT.LIMITS)) {
      try {
        c.limits = decodeLimits(await c.extended(EXT.LIMITS, () => {}));
      } catch {
        // A server may refuse or garble limits; a session that died meanwhile is a failure, though.
        if (c.closedError) throw c.closedError;
        c.limits = undefined;
      }
    }
    return c;
  }

  private attach(): void {
    const s = this.stream;
    s.on('data', (chunk: Buffer) => {
      if (this.closedError) return;
      let packets: (Buffer | ScatteredData)[];
      try {
        packets = this.framer.pushScattered(chunk);
      } catch (e) {
        this.fail(e as Error);
        return;
      }
      for (const p of packets) {
        if (Buffer.isBuffer(p)) this.onPacket(p);
        else this.onScatteredData(p);
      }
    });
    const lost = (e: Error) =>
      this.fail(
        new SftpError(FX.CONNECTION_LOST, `SFTP channel failed: ${e.message}`, undefined, undefined, { cause: e }),
      );
    s.on('error', lost);
    s.on('close', () => {
      const e = connectionErrorOf(s);
      if (e) lost(e);
      else this.fail(new SftpError(FX.CONNECTION_LOST, 'SFTP channel closed'));
    });
    s.on('end', () => this.fail(new SftpError(FX.CONNECTION_LOST, 'SFTP channel ended')));
    // The channel may have ended between the VERSION reply and now (a fatal packet in the same read).
    const gone = streamGone(s);
    if (gone) lost(gone);
    else s.resume();
  }

  private onPacket(p: Buffer): void {
    let r: SftpResponse;
    try {
      r = decodeResponse(p);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    const w = this.pending.get(r.id);
    if (!w) {
      this.fail(new ProtocolError(`SFTP reply for unknown request id ${r.id}`));
      return;
    }
    this.pending.delete(r.id);
    w.resolve(r);
  }

  /** A DATA reply left in pieces by the framer (see {@link PacketFramer.pushScattered}). */
  private onScatteredData(p: ScatteredData): void {
    const id = p.head.readUInt32BE(1);
    const w = this.pending.get(id);
    if (!w) {
      this.fail(new ProtocolError(`SFTP reply for unknown request id ${id}`));
      return;
    }
    this.pending.delete(id);
    w.resolve({ type: FXP.DATA, id, parts: p.parts, length: p.length });
  }

  private fail(e: Error): void {
    if (this.closedError) return;
    this.closedError =
      e instanceof SftpError ? e : new SftpError(FX.CONNECTION_LOST, e.message, undefined, undefined, { cause: e });
    const all = [...this.pending.values()];
    this.pending.clear();
    this.handles.clear();
    for (const p of all) p.reject(this.closedError);
    if (!(e instanceof SftpError)) this.stream.destroy();
  }

  /** True when the server offered extension `name`. */
  has(name: string): boolean {
    return this.extensions.has(name);
  }

  /** Ends the session (closes the channel). Pending requests fail. */
  end(): void {
    this.fail(new SftpError(FX.NO_CONNECTION, 'SFTP session ended'));
    this.stream.end();
  }

  /** Requests in flight. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Read-only counts: requests awaiting a reply, and handles this client opened (files and
   * directories) and has not closed. Both are zero once the session has ended or failed: the
   * server drops every handle with the channel.
   */
  get stats(): SftpClientStats {
    let openHandles = 0;
    for (const n of this.handles.values()) openHandles += n;
    return { pendingRequests: this.pending.size, openHandles };
  }

  private allocId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = (this.nextId + 1) % 0x100000000;
      if (!this.pending.has(id)) return id;
    }
  }

  /** @internal Sends a built packet for a new id and waits for its reply. */
  sendRaw(build: (id: number) => Buffer): Promise<SftpResponse> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.allocId();
    const pkt = build(id);
    return new Promise<SftpResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.stream.write(pkt);
    });
  }

  /** @internal Sends a request of `type` whose body `body` writes. */
  request(type: number, body: (w: SshWriter) => void): Promise<SftpResponse> {
    return this.sendRaw((id) => buildPacket(type, id, body));
  }

  /** @internal Waits for a STATUS OK. */
  async status(type: number, body: (w: SshWriter) => void, path?: SftpPath): Promise<void> {
    expectOk(await this.request(type, body), path);
  }

  /** @internal Sends an SSH_FXP_EXTENDED request and returns the EXTENDED_REPLY body (STATUS OK → empty). */
  async extended(name: string, body: (w: SshWriter) => void, path?: SftpPath): Promise<Buffer> {
    if (!this.has(name)) throw new SftpError(FX.OP_UNSUPPORTED, `server does not offer ${name}`, shownPath(path));
    const r = await this.request(FXP.EXTENDED, (w) => {
      w.string(name);
      body(w);
    });
    if (r.type === FXP.EXTENDED_REPLY) return r.data;
    expectOk(r, path);
    return Buffer.alloc(0);
  }

  private async attrsOf(type: number, body: (w: SshWriter) => void, path?: SftpPath): Promise<SftpStats> {
    const r = await this.request(type, body);
    if (r.type === FXP.ATTRS) return new SftpStats(r.attrs);
    throw unexpected(r, path);
  }

  private async nameOf(type: number, body: (w: SshWriter) => void, path?: SftpPath): Promise<string> {
    const r = await this.request(type, body);
    if (r.type === FXP.NAME) {
      const n = r.names[0];
      if (r.names.length !== 1 || !n) throw new ProtocolError(`expected one name, got ${r.names.length}`);
      return n.filename;
    }
    throw unexpected(r, path);
  }

  /** @internal Opens a handle with an SSH_FXP_OPEN or OPENDIR. */
  async openHandle(type: number, body: (w: SshWriter) => void, path: SftpPath): Promise<Buffer> {
    const r = await this.request(type, body);
    if (r.type !== FXP.HANDLE) throw unexpected(r, path);
    // The session may have failed between the reply and now: its handles are gone with it.
    if (this.closedError) throw this.closedError;
    const key = r.handle.toString('hex');
    this.handles.set(key, (this.handles.get(key) ?? 0) + 1);
    return r.handle;
  }

  /** Attributes of `path`, following symlinks. */
  stat(path: SftpPath): Promise<SftpStats> {
    return this.attrsOf(FXP.STAT, (w) => w.string(path), path);
  }

  /** Attributes of `path` itself (a symlink is not followed). */
  lstat(path: SftpPath): Promise<SftpStats> {
    return this.attrsOf(FXP.LSTAT, (w) => w.string(path), path);
  }

  /** Sets attributes of `path` (size truncates, mode chmods, uid/gid chown, times utimes). */
  setstat(path: SftpPath, attrs: SftpAttrs): Promise<void> {
    return this.status(FXP.SETSTAT, (w) => encodeAttrs(w.string(path), attrs), path);
  }

  /** Like {@link setstat} without following a final symlink (lsetstat@openssh.com). */
  async lsetstat(path: SftpPath, attrs: SftpAttrs): Promise<void> {
    await this.extended(EXT.LSETSTAT, (w) => encodeAttrs(w.string(path), attrs), path);
  }

  /** chmod: permission bits only. */
  chmod(path: SftpPath, mode: number): Promise<void> {
    return this.setstat(path, { mode: mode & 0o7777 });
  }

  /** chown: numeric uid and gid. */
  chown(path: SftpPath, uid: number, gid: number): Promise<void> {
    return this.setstat(path, { uid, gid });
  }

  /** Sets access and modification times (Dates or seconds). */
  utimes(path: SftpPath, atime: Date | number, mtime: Date | number): Promise<void> {
    return this.setstat(path, { atime: toSeconds(atime), mtime: toSeconds(mtime) });
  }

  /**
   * Lists a directory: every entry with its attributes, '.' and '..' left out. A listing longer than
   * `maxEntries` (default 1,000,000), or a server that keeps answering with empty batches, is an
   * {@link SftpError} rather than unbounded memory or a loop without end.
   */
  readdir(path: SftpPath, opts: { maxEntries?: number } = {}): Promise<SftpDirEntry[]> {
    return readdir(this, path, opts.maxEntries ?? 1_000_000);
  }

  /** @internal Closes a handle (it counts as closed from the request on, whatever the reply). */
  closeHandle(handle: Buffer): Promise<void> {
    const key = handle.toString('hex');
    const n = this.handles.get(key) ?? 0;
    if (n > 1) this.handles.set(key, n - 1);
    else this.handles.delete(key);
    return this.status(FXP.CLOSE, (w) => w.string(handle));
  }

  /** Creates a directory; with `recursive`, its missing parents too and no error when it exists. */
  async mkdir(path: string, opts: { mode?: number; recursive?: boolean } = {}): Promise<void> {
    const attrs: SftpAttrs = opts.mode !== undefined ? { mode: opts.mode & 0o7777 } : {};
    if (!opts.recursive) return this.status(FXP.MKDIR, (w) => encodeAttrs(w.string(path), attrs), path);
    return mkdirRecursive(this, path, (p) => this.status(FXP.MKDIR, (w) => encodeAttrs(w.string(p), attrs), p));
  }

  /**
   * Removes an empty directory; with `recursive`, a directory and everything in it (see {@link rm},
   * which also removes files and can ignore a missing path). A path that is not a directory (a
   * symlink to one included) is an ENOTDIR error then.
   */
  rmdir(path: SftpPath, opts: RmdirOptions = {}): Promise<void> {
    if (opts.recursive) return rmdirRecursive(this, path, opts);
    return this.status(FXP.RMDIR, (w) => w.string(path), path);
  }

  /**
   * Removes a file, symlink or (with `recursive`) a directory tree, as `fs.rm`: `force` makes a
   * missing path no error. Symlinks are removed, never followed. A tree is removed with at most
   * `concurrency` requests in flight; the first failure (an {@link SftpError} naming its path) stops
   * it once the requests already sent have been answered.
   *
   * @example
   * await sftp.rm('/srv/app/releases/41', { recursive: true, force: true });
   */
  rm(path: SftpPath, opts: RmOptions = {}): Promise<void> {
    return rm(this, path, opts);
  }

  /** Removes a file (or symlink). */
  unlink(path: SftpPath): Promise<void> {
    return this.status(FXP.REMOVE, (w) => w.string(path), path);
  }

  /**
   * Renames `from` to `to`. With posix-rename@openssh.com (when offered) an existing `to` is
   * replaced atomically, as `fs.rename`; otherwise plain SSH_FXP_RENAME, which fails if `to` exists.
   */
  async rename(from: SftpPath, to: SftpPath): Promise<void> {
    const p = `${displayPath(from)} -> ${displayPath(to)}`;
    if (this.has(EXT.POSIX_RENAME)) {
      await this.extended(EXT.POSIX_RENAME, (w) => w.string(from).string(to), p);
      return;
    }
    return this.status(FXP.RENAME, (w) => w.string(from).string(to), p);
  }

  /**
   * Creates a symlink at `path` pointing to `target` (argument order as `fs.symlink`). On the wire
   * the order is OpenSSH's (target first) unless {@link SftpClientOptions.symlinkOrder} says otherwise.
   */
  symlink(target: string, path: string): Promise<void> {
    const [a, b] = this.symlinkOrder === 'link-first' ? [path, target] : [target, path];
    return this.status(FXP.SYMLINK, (w) => w.string(a).string(b), path);
  }

  /** Hard link `newPath` to `oldPath` (hardlink@openssh.com). */
  async link(oldPath: string, newPath: string): Promise<void> {
    await this.extended(EXT.HARDLINK, (w) => w.string(oldPath).string(newPath), `${oldPath} -> ${newPath}`);
  }

  /** The target of a symlink. */
  readlink(path: SftpPath): Promise<string> {
    return this.nameOf(FXP.READLINK, (w) => w.string(path), path);
  }

  /** The canonical absolute path of `path` ('.' gives the starting directory). */
  realpath(path: SftpPath): Promise<string> {
    return this.nameOf(FXP.REALPATH, (w) => w.string(path), path);
  }

  /** Like realpath, expanding `~` and `~user` (expand-path@openssh.com, else realpath). */
  async expandPath(path: string): Promise<string> {
    if (!this.has(EXT.EXPAND_PATH)) return this.realpath(path);
    return this.nameOf(FXP.EXTENDED, (w) => w.string(EXT.EXPAND_PATH).string(path), path);
  }

  /** The home directory of `username` (home-directory extension; for your own, `expandPath('~')`). */
  homeDirectory(username: string): Promise<string> {
    if (!this.has(EXT.HOME_DIRECTORY)) {
      return Promise.reject(new SftpError(FX.OP_UNSUPPORTED, `server does not offer ${EXT.HOME_DIRECTORY}`));
    }
    return this.nameOf(FXP.EXTENDED, (w) => w.string(EXT.HOME_DIRECTORY).string(username), `~${username}`);
  }

  /** User and group names for numeric ids (users-groups-by-id@openssh.com); '' where unknown. */
  async usersGroupsById(uids: readonly number[], gids: readonly number[]): Promise<UsersGroups> {
    const data = await this.extended(EXT.USERS_GROUPS_BY_ID, (w) => w.string(packIds(uids)).string(packIds(gids)));
    const out = decodeUsersGroups(data);
    if (out.users.length !== uids.length || out.groups.length !== gids.length) {
      throw new ProtocolError('users-groups-by-id reply has the wrong number of names');
    }
    return out;
  }

  /**
   * Whether `path` exists (a dangling symlink counts as existing). With `{ type: true }`, false or
   * the entry's type instead of true: '-' file, 'd' directory, 'l' symlink (not followed), … (see
   * {@link SftpEntryType}; ssh2-sftp-client's `exists` gives the same letters).
   *
   * @example
   * if ((await sftp.exists('/srv/app', { type: true })) === 'd') console.log('a directory');
   */
  exists(path: SftpPath): Promise<boolean>;
  exists(path: SftpPath, opts: { type: true }): Promise<SftpEntryType | false>;
  exists(path: SftpPath, opts?: { type?: boolean }): Promise<SftpEntryType | boolean>;
  async exists(path: SftpPath, opts: { type?: boolean } = {}): Promise<SftpEntryType | boolean> {
    const st = await lstatIfExists(this, path);
    if (!st) return false;
    return opts.type ? entryTypeOf(st) : true;
  }

  /** File system statistics (statvfs@openssh.com). */
  async statvfs(path: SftpPath): Promise<SftpStatvfs> {
    return decodeStatvfs(await this.extended(EXT.STATVFS, (w) => w.string(path), path));
  }

  /** Opens a file. `flags` as `fs.open`; `mode` applies when it is created. */
  async open(path: SftpPath, flags: OpenFlags = 'r', mode?: number): Promise<SftpFileHandle> {
    const pflags = openFlags(flags);
    const attrs: SftpAttrs = mode !== undefined ? { mode: mode & 0o7777 } : {};
    const shown = displayPath(path);
    const handle = await this.openHandle(FXP.OPEN, (w) => encodeAttrs(w.string(path).uint32(pflags), attrs), shown);
    return new SftpFileHandle(this, handle, shown);
  }

  /** Largest READ length to ask for: limits@openssh.com's, capped at 255 KiB; 32 KiB when unknown. */
  get readChunk(): number {
    const l = this.limits?.maxReadLength ?? 0;
    return l > 0 ? Math.min(l, MAX_READ) : 32768;
  }

  /** Largest WRITE payload: limits@openssh.com's, capped so a packet fits 256 KiB; 32 KiB when unknown. */
  get writeChunk(): number {
    const l = this.limits?.maxWriteLength ?? 0;
    const pkt = this.limits?.maxPacketLength ?? 0;
    let n = l > 0 ? Math.min(l, MAX_READ) : 32768;
    if (pkt > 0) n = Math.min(n, pkt - 1024);
    return Math.max(n, 512);
  }

  /** Reads a whole file (many requests in flight). */
  async readFile(path: SftpPath): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of createReadStream(this, path)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** Writes (replaces) a whole file. */
  async writeFile(
    path: SftpPath,
    data: Uint8Array | string,
    opts: { mode?: number; flags?: OpenFlags } = {},
  ): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const fh = await this.open(path, opts.flags ?? 'w', opts.mode ?? 0o644);
    try {
      await fh.writeAll(buf, 0);
    } finally {
      await fh.close();
    }
  }

  /**
   * Appends `data` (text as UTF-8, bytes, or a Readable of either) to the file `path`, creating it
   * (with `opts.mode`, default 0o644) when missing; resolves with the bytes appended. The file is
   * opened with SSH_FXF_APPEND, which OpenSSH's and secsh's servers honour (O_APPEND: every write
   * lands at the end); for servers that do not, the writes start at the size the file had when
   * opened, so only a concurrent writer to the same file can come between.
   */
  append(path: SftpPath, data: AppendData, opts: AppendOptions = {}): Promise<number> {
    return append(this, path, data, opts);
  }

  /**
   * Copies the remote file `src` to `dst` on the server, replacing `dst`; resolves with the bytes
   * copied. Uses the server's copy-data extension when offered (the data stays on the server),
   * else reads and writes through this client with many requests in flight. Preserves nothing by
   * default: a new `dst` gets the server's default mode and the current time, an existing one
   * keeps its own mode; `preserve: true` copies the permission bits and times of `src`. `src` and
   * `dst` resolving to one path is a no-op. `dst` must be a file path, not a directory to copy into.
   *
   * @example
   * await sftp.copy('/etc/app.conf', '/etc/app.conf.bak', { preserve: true });
   */
  copy(src: SftpPath, dst: SftpPath, opts: CopyOptions = {}): Promise<number> {
    return copy(this, src, dst, opts);
  }

  /** A Readable of a remote file, keeping `concurrency` reads in flight (exact under short reads). */
  createReadStream(path: SftpPath, opts: ReadStreamOptions = {}): Readable {
    return createReadStream(this, path, opts);
  }

  /** A Writable to a remote file, keeping `concurrency` writes in flight. */
  createWriteStream(path: SftpPath, opts: WriteStreamOptions = {}): Writable {
    return createWriteStream(this, path, opts);
  }

  /** Downloads `remote` to the local path `local` (see {@link TransferOptions}). */
  download(remote: SftpPath, local: string | Buffer, opts: TransferOptions = {}): Promise<number> {
    return download(this, remote, local, opts);
  }

  /** Uploads the local file `local` to `remote` (see {@link TransferOptions}). */
  upload(local: string | Buffer, remote: SftpPath, opts: TransferOptions = {}): Promise<number> {
    return upload(this, local, remote, opts);
  }

  /** Recursively downloads the directory `remote` into `local` (see {@link DirTransferOptions}). */
  downloadDir(remote: SftpPath, local: string, opts: DirTransferOptions = {}): Promise<DirTransferResult> {
    return downloadDir(this, remote, local, opts);
  }

  /** Recursively uploads the local directory `local` into `remote` (see {@link DirTransferOptions}). */
  uploadDir(local: string, remote: string, opts: DirTransferOptions = {}): Promise<DirTransferResult> {
    return uploadDir(this, local, remote, opts);
  }

  /** @internal WRITE without the SshWriter copy. */
  writeRaw(handle: Buffer, offset: number, data: Uint8Array): Promise<SftpResponse> {
    return this.sendRaw((id) => buildWrite(id, handle, offset, data));
  }

  /** @internal Reads a NAME reply's names (for callers using {@link SftpClient.request} directly). */
  static namesOf(r: SftpResponse): SftpName[] {
    if (r.type === FXP.NAME) return r.names;
    throw unexpected(r);
  }
}

/** An open remote file, as {@link SftpClient.open} returns it. */
export class SftpFileHandle extends SftpFileBase {
  readonly #client: SftpClient;

  /** @internal */
  constructor(client: SftpClient, handle: Buffer, path: string) {
    super(client, handle, path);
    this.#client = client;
  }

  /** The client this handle belongs to. */
  get client(): SftpClient {
    return this.#client;
  }
}
