/**
 * One SSH channel (RFC 4254 §5) as a Node Duplex: the readable side is CHANNEL_DATA from the peer,
 * the writable side becomes our CHANNEL_DATA. Flow control runs both ways: writes wait for the
 * peer's window and for the link's 'drain'; the receive window is credited only as data is consumed.
 */
import { Duplex, Readable, Writable } from 'node:stream';
import { ChannelError, ProtocolError } from '../errors.js';
import { MSG, SshReader, SshWriter } from '../wire/index.js';
import type { PtyOptions } from './requests.js';
import { decodeSessionRequest, encodeEnv, encodePtyRequest, encodeString, encodeWindowChange } from './requests.js';
import type { ChannelHost, ChannelInit, ChannelRequestEvent, ExitSignal } from './types.js';

/** Upper bound on one outgoing CHANNEL_DATA, whatever the peer advertises. */
const MAX_SEND_CHUNK = 128 * 1024;
const EMPTY = Buffer.alloc(0);
/** Most incoming requests awaiting our reply on one channel. */
const MAX_PENDING_REPLIES = 1024;

type Callback = (err?: Error | null) => void;
type SendItem =
  | { kind: 'data'; ext: 0 | 1; buf: Buffer; off: number; cb: Callback }
  | { kind: 'eof'; cb: Callback }
  | { kind: 'msg'; payload: Buffer; onSent: () => void };

/** A Readable whose consumption (any read()) triggers a window credit check. */
class ConsumedReadable extends Readable {
  private readonly onConsume: () => void;
  constructor(onConsume: () => void) {
    super();
    this.onConsume = onConsume;
  }
  override _read(): void {
    this.onConsume();
  }
  override read(size?: number): ReturnType<Readable['read']> {
    const chunk = super.read(size);
    this.onConsume();
    return chunk;
  }
}

/**
 * An open channel. Obtain one from `Connection.openChannel` / `openSession` or `accept()` of an
 * incoming open. Events: 'exit-status' (code), 'exit-signal' ({@link ExitSignal}), 'exit' (code | null,
 * signal | null, coreDumped?, message?) once either arrives, 'request' ({@link ChannelRequestEvent}) for
 * other incoming requests, 'released' once both CLOSE messages have passed or the connection died (the
 * channel is over on the wire, even while unread data keeps 'close' waiting), plus the Duplex events.
 *
 * - `end()` sends CHANNEL_EOF after everything queued (stdout and `stderrOut`).
 * - CHANNEL_CLOSE is sent when the channel is destroyed, or once we sent EOF and either sent an exit
 *   status/signal ourselves (a server ending a session) or received the peer's EOF. Exception, as in
 *   OpenSSH: a client's `session` channel waits for the server's CLOSE instead, since the server may
 *   still send exit-status after its EOF.
 * - When the peer's CLOSE arrives, the readables end and the writable side ends; writes still queued
 *   or made afterwards are discarded. 'close' follows once the readable side is consumed to its end
 *   (as with sockets: call `resume()` if you do not read), always after 'exit'.
 * - With `setEncoding()` the window is accounted in characters rather than bytes (less strict).
 */
export class Channel extends Duplex {
  /** Channel type, e.g. `session`. */
  readonly type: string;
  /** Our channel number. */
  readonly localId: number;
  /** The peer's channel number. */
  readonly remoteId: number;
  /** CHANNEL_EXTENDED_DATA of type 1 (stderr) from the peer. Other extended types are dropped. */
  readonly stderr: Readable;
  /** Writes here go out as CHANNEL_EXTENDED_DATA type 1 (a server's stderr), sharing stdout's window and order. */
  readonly stderrOut: Writable;
  /**
   * True: once a `write()` callback has run, the channel keeps no reference to that chunk (its bytes
   * were encrypted, or copied, on the way out), so the writer may reuse the buffer.
   */
  readonly releasesWrittenChunks = true;
  /** Set when the peer sends `exit-status`. */
  exitStatus: number | undefined = undefined;
  /** Set when the peer sends `exit-signal`. */
  exitSignal: ExitSignal | undefined = undefined;
  /**
   * Set when the connection died before the peer had sent all it had to send on this channel (its
   * CLOSE, or its EOF and, on a client's session, the exit status): the connection's error
   * (ConnectionLostError after a clean close of the connection). Output and exit status may be
   * incomplete then.
   */
  connectionError: Error | undefined = undefined;

  private readonly host: ChannelHost;
  private readonly windowSize: number;
  private readonly localMaxPacket: number;
  private readonly remoteMaxPacket: number;
  private remoteWindow: number;
  private localWindow: number;
  private received = 0;
  private credited = 0;
  private readonly queue: SendItem[] = [];
  private pumping = false;
  private waitingDrain = false;
  private eofSent = false;
  private eofReceived = false;
  private closeSent = false;
  private closeReceived = false;
  private exitSent = false;
  private exitEmitted = false;
  private stderrEnded = false;
  private released = false;
  private readonly closeOnEof: boolean;
  private readonly pending: Array<{ resolve: (ok: boolean) => void; reject: (err: Error) => void }> = [];
  private readonly replies: Array<{ settled: boolean; ok: boolean }> = [];
  /** Replies still due from the peer for requests we already rejected locally (channel destroyed). */
  private orphanReplies = 0;

  /** @internal Created by Connection. */
  constructor(host: ChannelHost, init: ChannelInit) {
    super({ allowHalfOpen: true, autoDestroy: false, writableHighWaterMark: 256 * 1024 });
    this.host = host;
    this.closeOnEof = init.closeOnEof;
    this.type = init.type;
    this.localId = init.localId;
    this.remoteId = init.remoteId;
    this.windowSize = init.localWindow;
    this.localWindow = init.localWindow;
    this.localMaxPacket = init.localMaxPacket;
    this.remoteWindow = init.remoteWindow;
    this.remoteMaxPacket = Math.min(init.remoteMaxPacket, MAX_SEND_CHUNK);
    this.stderr = new ConsumedReadable(() => this.updateCredit());
    this.stderrOut = new Writable({
      write: (chunk: Buffer, _enc, cb) => this.enqueue({ kind: 'data', ext: 1, buf: chunk, off: 0, cb }),
    });
    this.stderr.on('close', () => this.updateCredit());
    const settle = () => this.settleIfDone();
    this.once('end', settle);
    this.once('finish', settle);
  }

  /** After both CLOSEs, destroys the stream (emitting 'close') once it has ended and finished. */
  private settleIfDone(): void {
    if (this.closeReceived && this.closeSent && this.readableEnded && this.writableFinished && !this.destroyed) {
      this.destroy();
    }
  }

  // ---- session requests (RFC 4254 §6) ----

  /**
   * Sends a channel request; resolves true on CHANNEL_SUCCESS, false on CHANNEL_FAILURE (true at once
   * without wantReply). Rejects with the connection's error once the connection died (even when it died
   * before this call), with a ChannelError once the channel is closed.
   */
  request(type: string, data: Buffer = EMPTY, wantReply = true): Promise<boolean> {
    const dead = this.host.deadReason();
    if (dead) return Promise.reject(this.connectionError ?? dead);
    if (this.closeSent || this.closeReceived) {
      return Promise.reject(new ChannelError('channel is closed'));
    }
    const payload = new SshWriter(32 + type.length + data.length)
      .byte(MSG.CHANNEL_REQUEST)
      .uint32(this.remoteId)
      .string(type)
      .bool(wantReply)
      .raw(data)
      .toBuffer();
    if (!wantReply) {
      this.host.send(payload);
      return Promise.resolve(true);
    }
    return new Promise((resolve, reject) => {
      // Sent first: a send that throws must not leave a slot that would take the next request's reply.
      this.host.send(payload);
      this.pending.push({ resolve, reject });
    });
  }

  /** Our requests (want_reply) still awaiting the peer's CHANNEL_SUCCESS/FAILURE. */
  get pendingRequests(): number {
    return this.pending.length;
  }

  /**
   * True once both CLOSE messages have passed or the connection died ('released' has been emitted): the
   * channel is over on the wire, whether or not its data has been read.
   */
  get isReleased(): boolean {
    return this.released;
  }

  private async must(type: string, data?: Buffer): Promise<void> {
    if (!(await this.request(type, data, true))) throw new ChannelError(`${type} request refused`);
  }

  /** Runs a command (`exec`). */
  exec(command: string): Promise<void> {
    return this.must('exec', encodeString(command));
  }

  /** Starts the user's shell. */
  shell(): Promise<void> {
    return this.must('shell');
  }

  /** Starts a subsystem, e.g. `sftp`. */
  subsystem(name: string): Promise<void> {
    return this.must('subsystem', encodeString(name));
  }

  /** Requests a pseudo-terminal. */
  requestPty(opts: PtyOptions = {}): Promise<void> {
    return this.must('pty-req', encodePtyRequest(opts));
  }

  /** Sets an environment variable (no reply asked by default, like ssh). */
  async setEnv(name: string, value: string, wantReply = false): Promise<void> {
    if (!(await this.request('env', encodeEnv(name, value), wantReply))) throw new ChannelError('env request refused');
  }

  /** Tells the peer the terminal size changed. */
  windowChange(cols: number, rows: number, width = 0, height = 0): void {
    this.request('window-change', encodeWindowChange(cols, rows, width, height), false).catch(() => {});
  }

  /** Delivers a signal (name without `SIG`, e.g. `TERM`). */
  signal(name: string): void {
    this.request('signal', encodeString(name), false).catch(() => {});
  }

  /** Server: sends `exit-status` after the data written so far. */
  sendExitStatus(code: number): void {
    const payload = new SshWriter(32)
      .byte(MSG.CHANNEL_REQUEST)
      .uint32(this.remoteId)
      .string('exit-status')
      .bool(false)
      .uint32(code)
      .toBuffer();
    this.enqueueExit(payload);
  }

  /** Server: sends `exit-signal` (name without `SIG`) after the data written so far. */
  sendExitSignal(name: string, coreDumped = false, message = ''): void {
    const payload = new SshWriter(64)
      .byte(MSG.CHANNEL_REQUEST)
      .uint32(this.remoteId)
      .string('exit-signal')
      .bool(false)
      .string(name)
      .bool(coreDumped)
      .string(message)
      .string('')
      .toBuffer();
    this.enqueueExit(payload);
  }

  private enqueueExit(payload: Buffer): void {
    this.queue.push({
      kind: 'msg',
      payload,
      onSent: () => {
        this.exitSent = true;
        this.maybeClose();
      },
    });
    this.pump();
  }

  // ---- Duplex plumbing ----

  /** @internal Node stream plumbing: the consumer wants more data. */
  override _read(): void {
    this.updateCredit();
  }

  override read(size?: number): ReturnType<Readable['read']> {
    const chunk = super.read(size);
    this.updateCredit();
    return chunk;
  }

  /** @internal Node stream plumbing: queues a chunk as CHANNEL_DATA within the peer's window. */
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: Callback): void {
    this.enqueue({ kind: 'data', ext: 0, buf: chunk, off: 0, cb });
  }

  /** @internal Node stream plumbing: sends CHANNEL_EOF after the queued data. */
  override _final(cb: Callback): void {
    this.enqueue({ kind: 'eof', cb });
  }

  /** @internal Node stream plumbing: closes the channel. */
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.sendClose();
    const reason = err ?? new ChannelError('channel destroyed');
    this.failQueue(reason);
    this.rejectPending(reason);
    this.endStderr();
    cb(err);
  }

  private enqueue(item: SendItem): void {
    if (this.closeSent || this.closeReceived || !this.host.isAlive()) {
      if (item.kind !== 'msg') item.cb();
      return;
    }
    if (this.eofSent && item.kind !== 'msg') {
      item.cb(new ChannelError('write after EOF'));
      return;
    }
    this.queue.push(item);
    this.pump();
  }

  /** Sends what the window and the link allow, in order. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const item = this.queue[0];
        if (item === undefined) return;
        if (this.closeSent || !this.host.isAlive()) {
          this.discardQueue();
          return;
        }
        if (this.host.isBlocked()) {
          this.waitDrain();
          return;
        }
        if (item.kind === 'msg') {
          this.queue.shift();
          this.host.send(item.payload);
          item.onSent();
          continue;
        }
        if (item.kind === 'eof') {
          this.queue.shift();
          this.eofSent = true;
          this.host.send(new SshWriter(8).byte(MSG.CHANNEL_EOF).uint32(this.remoteId).toBuffer());
          item.cb();
          this.maybeClose();
          continue;
        }
        const left = item.buf.length - item.off;
        if (left === 0) {
          this.queue.shift();
          item.cb();
          continue;
        }
        const n = Math.min(left, this.remoteWindow, this.remoteMaxPacket);
        if (n === 0) return; // wait for WINDOW_ADJUST
        this.sendData(item.ext, item.buf, item.off, n);
        item.off += n;
        this.remoteWindow -= n;
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Sends CHANNEL_DATA (or EXTENDED_DATA type 1) with `buf[off, off + n)`, encrypted straight from `buf`. */
  private sendData(ext: 0 | 1, buf: Buffer, off: number, n: number): void {
    const head = Buffer.allocUnsafe(ext === 0 ? 9 : 13);
    head[0] = ext === 0 ? MSG.CHANNEL_DATA : MSG.CHANNEL_EXTENDED_DATA;
    head.writeUInt32BE(this.remoteId, 1);
    if (ext === 1) head.writeUInt32BE(1, 5);
    head.writeUInt32BE(n, head.length - 4);
    this.host.sendParts(head, buf.subarray(off, off + n));
  }

  private waitDrain(): void {
    if (this.waitingDrain) return;
    this.waitingDrain = true;
    this.host.waitForDrain(() => {
      this.waitingDrain = false;
      this.pump();
    });
  }

  /** Completes queued writes without sending (the channel is closed). */
  private discardQueue(): void {
    for (const item of this.queue.splice(0)) if (item.kind !== 'msg') item.cb();
  }

  private failQueue(err: Error): void {
    for (const item of this.queue.splice(0)) if (item.kind !== 'msg') item.cb(err);
  }

  private rejectPending(err: Error): void {
    const dropped = this.pending.splice(0);
    this.orphanReplies += dropped.length;
    for (const p of dropped) p.reject(err);
  }

  private endStderr(): void {
    if (this.stderrEnded) return;
    this.stderrEnded = true;
    this.stderr.push(null);
  }

  /** Credits the receive window with what the application consumed, in steps of about half the window. */
  private updateCredit(): void {
    if (this.closeSent || this.closeReceived || this.eofReceived || !this.host.isAlive()) return;
    const buffered =
      (this.destroyed ? 0 : this.readableLength) + (this.stderr.destroyed ? 0 : this.stderr.readableLength);
    const amount = this.received - buffered - this.credited;
    if (amount <= 0 || amount < Math.max(1, Math.floor(this.windowSize / 2))) return;
    this.credited += amount;
    this.localWindow += amount;
    this.host.send(new SshWriter(12).byte(MSG.CHANNEL_WINDOW_ADJUST).uint32(this.remoteId).uint32(amount).toBuffer());
  }

  private maybeClose(): void {
    if (this.closeSent || !this.eofSent) return;
    if (this.exitSent || (this.eofReceived && this.closeOnEof)) this.sendClose();
  }

  private sendClose(): void {
    if (this.closeSent) return;
    this.closeSent = true;
    if (this.host.isAlive()) {
      this.host.send(new SshWriter(8).byte(MSG.CHANNEL_CLOSE).uint32(this.remoteId).toBuffer());
    }
    this.discardQueue();
    if (this.closeReceived) this.release();
  }

  /**
   * Both CLOSE messages have passed (or the connection died): the channel number is free and the
   * channel is over on the wire, whether or not the application has consumed the readable side.
   */
  private release(): void {
    if (this.released) return;
    this.released = true;
    this.host.release(this.localId);
    this.emit('released');
  }

  private emitExit(code: number | null, signal: ExitSignal | null): void {
    if (this.exitEmitted) return;
    this.exitEmitted = true;
    if (signal) this.emit('exit', null, signal.signal, signal.coreDumped, signal.message);
    else this.emit('exit', code, null);
  }

  // ---- called by Connection for incoming messages ----

  /** @internal CHANNEL_DATA (ext null) or CHANNEL_EXTENDED_DATA. */
  handleData(data: Buffer, ext: number | null): void {
    if (this.closeReceived) throw new ProtocolError('channel data after close');
    if (this.eofReceived) throw new ProtocolError('channel data after EOF');
    if (data.length > this.localMaxPacket) throw new ProtocolError('channel data larger than maximum packet');
    if (data.length > this.localWindow) throw new ProtocolError('channel data beyond window');
    this.localWindow -= data.length;
    this.received += data.length;
    if (this.closeSent || data.length === 0) return;
    if (ext === null) {
      // The transport hands over a fresh buffer per packet (never reused), so no copy is needed.
      if (!this.destroyed) this.push(data);
    } else if (ext === 1) {
      if (!this.stderr.destroyed) this.stderr.push(data);
    }
    this.updateCredit();
  }

  /** @internal */
  handleWindowAdjust(bytes: number): void {
    if (this.remoteWindow + bytes > 0xffffffff) throw new ProtocolError('channel window adjust overflows 2^32-1');
    this.remoteWindow += bytes;
    this.pump();
  }

  /** @internal */
  handleEof(): void {
    if (this.closeReceived) throw new ProtocolError('channel EOF after close');
    if (this.eofReceived) return;
    this.eofReceived = true;
    this.push(null);
    this.endStderr();
    this.maybeClose();
  }

  /** @internal */
  handleClose(): void {
    if (this.closeReceived) throw new ProtocolError('duplicate channel close');
    this.closeReceived = true;
    this.eofReceived = true;
    this.push(null);
    this.endStderr();
    this.rejectPending(new ChannelError('channel closed'));
    if (this.closeSent) this.release();
    else this.sendClose();
    if (!this.writableEnded && !this.destroyed) this.end();
    this.settleIfDone();
  }

  /** @internal CHANNEL_SUCCESS / CHANNEL_FAILURE. */
  handleReply(ok: boolean): void {
    const p = this.pending.shift();
    if (p !== undefined) {
      p.resolve(ok);
      return;
    }
    if (this.orphanReplies === 0) throw new ProtocolError('unexpected channel request reply');
    this.orphanReplies--;
  }

  /** @internal CHANNEL_REQUEST. */
  handleRequest(type: string, wantReply: boolean, data: Buffer): void {
    if (this.closeReceived) throw new ProtocolError('channel request after close');
    if (type === 'exit-status') {
      const r = new SshReader(data);
      const code = r.uint32();
      r.ensureEnd('exit-status');
      this.reply(wantReply).settle(true);
      this.exitStatus = code;
      this.emit('exit-status', code);
      this.emitExit(code, null);
      return;
    }
    if (type === 'exit-signal') {
      const r = new SshReader(data);
      const signal = r.string(256).toString('utf8');
      const coreDumped = r.bool();
      const message = r.string(16 * 1024).toString('utf8');
      r.string(256); // language tag
      r.ensureEnd('exit-signal');
      this.reply(wantReply).settle(true);
      this.exitSignal = { signal, coreDumped, message };
      this.emit('exit-signal', this.exitSignal);
      this.emitExit(null, this.exitSignal);
      return;
    }
    const details = decodeSessionRequest(type, data);
    if (this.closeSent) return; // closing: no reply may follow our CLOSE
    const entry = this.reply(wantReply);
    if (this.listenerCount('request') === 0) {
      entry.settle(false);
      return;
    }
    const event: ChannelRequestEvent = {
      type,
      wantReply,
      data: Buffer.from(data),
      details,
      accept: () => entry.settle(true),
      reject: () => entry.settle(false),
    };
    this.emit('request', event);
  }

  /** Reserves a slot for an in-order reply. */
  private reply(wantReply: boolean): { settle(ok: boolean): void } {
    if (!wantReply) return { settle: () => {} };
    if (this.replies.length >= MAX_PENDING_REPLIES) throw new ProtocolError('too many unanswered channel requests');
    const slot = { settled: false, ok: false };
    this.replies.push(slot);
    return {
      settle: (ok: boolean) => {
        if (slot.settled) return;
        slot.settled = true;
        slot.ok = ok;
        this.flushReplies();
      },
    };
  }

  private flushReplies(): void {
    while (this.replies[0]?.settled) {
      const slot = this.replies.shift();
      if (this.closeSent || !this.host.isAlive()) continue;
      const msg = slot?.ok ? MSG.CHANNEL_SUCCESS : MSG.CHANNEL_FAILURE;
      this.host.send(new SshWriter(8).byte(msg).uint32(this.remoteId).toBuffer());
    }
  }

  /**
   * The peer sent all it had to send on this channel: its CLOSE, or its EOF (and, on a client's
   * session, the exit status or signal too).
   */
  private deliveredAll(): boolean {
    if (this.closeReceived) return true;
    if (!this.eofReceived) return false;
    return this.closeOnEof || this.exitStatus !== undefined || this.exitSignal !== undefined;
  }

  /** @internal The connection died: fail everything. */
  abort(err: Error | undefined, fallback: Error): void {
    if (!this.destroyed && this.deliveredAll() && (this.eofSent || !this.closeOnEof)) {
      // The channel was over (the peer's EOF and exit status on a session, whose process is gone;
      // both EOFs otherwise): it ends as after a CLOSE, and what arrived stays readable (destroying
      // would drop output not read yet, e.g. all of it when it came in the same read).
      this.rejectPending(err ?? fallback);
      this.closeReceived = true;
      this.sendClose(); // sends nothing on a dead connection; marks the channel closed
      this.settleIfDone();
      this.release();
      return;
    }
    if (!this.deliveredAll()) this.connectionError = err ?? fallback;
    this.rejectPending(err ?? fallback);
    // The connection reports its error itself; the channel's copy reaches listeners attached by
    // now, and must not crash the process when there are none yet (an open that was confirmed in
    // the same read as the fatal packet hands out its channel only after this 'error' was emitted).
    if (err && this.listenerCount('error') === 0) this.once('error', () => {});
    if (!this.destroyed) this.destroy(err);
    this.release();
  }
}

/** An incoming CHANNEL_OPEN, given to `Connection.onChannelOpen`. Call exactly one of accept/reject. */
export interface ChannelOpenRequest {
  /** Channel type, e.g. `session`, `direct-tcpip`, `forwarded-tcpip`. */
  type: string;
  /** The type-specific tail of the message (see `decodeTcpipOpen` for the tcpip types). */
  data: Buffer;
  /** Confirms the open and returns the channel. */
  accept(): Channel;
  /** Refuses with a `ChannelOpenFailure` code and a description. */
  reject(code: number, description: string): void;
}
