/**
 * The connection protocol (RFC 4254): channel multiplexing and global requests over a
 * {@link PacketLink}. No I/O of its own: the owner feeds messages 80–127 to `handlePacket` and turns a
 * thrown ProtocolError into a DISCONNECT.
 */
import { EventEmitter } from 'node:events';
import {
  ChannelOpenError,
  ChannelOpenFailure,
  ConnectionLostError,
  InvalidArgumentError,
  ProtocolError,
} from '../errors.js';
import { MAX_PACKET_LENGTH } from '../transport/packet-codec.js';
import { MSG, SshReader, SshWriter } from '../wire/index.js';
import { Channel, type ChannelOpenRequest } from './channel.js';
import type { ChannelHost, ConnectionOptions, ConnectionStats, GlobalRequestHandler, PacketLink } from './types.js';

const MAX_TYPE_NAME = 1024;
const MAX_DESCRIPTION = 16 * 1024;
const MAX_WINDOW = 0xffffffff;
/**
 * The largest maximum packet size we advertise: a CHANNEL_DATA of that much data, with its header
 * (padding length, type, channel, length: 10 bytes) and the most padding a peer may add (255 bytes),
 * must still fit the transport's packet limit, or the peer's full-size packet would be refused as
 * corrupt.
 */
export const MAX_OUR_PACKET = MAX_PACKET_LENGTH - 10 - 255;
/** Most incoming global requests awaiting our reply. */
const MAX_PENDING_REPLIES = 1024;

/** True for the message numbers {@link Connection.handlePacket} understands (others deserve UNIMPLEMENTED). */
export function isConnectionMessage(msg: number): boolean {
  return (
    (msg >= MSG.GLOBAL_REQUEST && msg <= MSG.REQUEST_FAILURE) || (msg >= MSG.CHANNEL_OPEN && msg <= MSG.CHANNEL_FAILURE)
  );
}

interface PendingOpen {
  resolve: (ch: Channel) => void;
  reject: (err: Error) => void;
  type: string;
}

interface GlobalReplySlot {
  settled: boolean;
  ok: boolean;
  data: Buffer | undefined;
}

/**
 * Channel multiplexer for one SSH connection. Events: 'close' (err?) after {@link destroy}, and
 * 'error' only for exceptions thrown by `onChannelOpen` / `onGlobalRequest` when an 'error' listener exists.
 */
export class Connection extends EventEmitter {
  /** Which side this is, as given in {@link ConnectionOptions.role}. */
  readonly role: 'client' | 'server';
  /** Incoming CHANNEL_OPEN handler; when unset, opens are refused with UNKNOWN_CHANNEL_TYPE (3). */
  onChannelOpen: ((req: ChannelOpenRequest) => void) | undefined = undefined;
  /** Incoming GLOBAL_REQUEST handler; when unset, requests wanting a reply get REQUEST_FAILURE. */
  onGlobalRequest: GlobalRequestHandler | undefined = undefined;

  private readonly link: PacketLink;
  private readonly windowSize: number;
  private readonly maxPacket: number;
  private readonly maxChannels: number;
  private readonly channels = new Map<number, Channel>();
  private readonly pendingOpens = new Map<number, PendingOpen>();
  /** The peer's opens the application has not answered yet (cleared when the connection dies). */
  private readonly incomingOpens = new Set<object>();
  private readonly pendingGlobal: Array<{ resolve: (v: Buffer | boolean) => void; reject: (err: Error) => void }> = [];
  private readonly globalReplies: GlobalReplySlot[] = [];
  private dead: Error | undefined = undefined;
  private blocked = false;
  private drainWaiters: Array<() => void> = [];
  private readonly host: ChannelHost;
  private readonly onDrain = (): void => this.drained();

  constructor(link: PacketLink, options: ConnectionOptions) {
    super();
    this.link = link;
    this.role = options.role;
    this.windowSize = checkRange(options.windowSize ?? 4 * 1024 * 1024, 1, MAX_WINDOW, 'windowSize');
    this.maxPacket = checkRange(options.maxPacket ?? 32768, 1, MAX_OUR_PACKET, 'maxPacket');
    this.maxChannels = checkRange(options.maxChannels ?? 64, 1, 0x10000, 'maxChannels');
    this.host = {
      send: (p) => this.send(p),
      sendParts: (head, body) => this.sendParts(head, body),
      isBlocked: () => this.blocked,
      isAlive: () => this.dead === undefined,
      deadReason: () => this.dead,
      waitForDrain: (resume) => {
        this.drainWaiters.push(resume);
      },
      release: (id) => {
        this.channels.delete(id);
      },
    };
    link.on('drain', this.onDrain);
  }

  /** Channels currently known (open, or closing until both CLOSE messages have passed). */
  get channelCount(): number {
    return this.channels.size;
  }

  /**
   * What this connection holds right now (read-only counts, for monitoring and tests). Every count
   * returns to zero once the connection is destroyed, and each falls back as its exchange ends:
   * an open is confirmed or refused, a request answered, a channel closed both ways.
   */
  get stats(): ConnectionStats {
    let pendingChannelRequests = 0;
    for (const ch of this.channels.values()) pendingChannelRequests += ch.pendingRequests;
    return {
      channels: this.channels.size,
      pendingOpens: this.pendingOpens.size,
      incomingOpens: this.incomingOpens.size,
      pendingGlobalRequests: this.pendingGlobal.length,
      unansweredGlobalRequests: this.globalReplies.length,
      pendingChannelRequests,
    };
  }

  /** True while an open, a global request or a channel request of ours waits for the peer's answer (allocates nothing). */
  get awaitingReply(): boolean {
    if (this.pendingOpens.size > 0 || this.pendingGlobal.length > 0) return true;
    for (const ch of this.channels.values()) if (ch.pendingRequests > 0) return true;
    return false;
  }

  /** The error this connection died of (ConnectionLostError after a clean close), once destroyed. */
  get closeReason(): Error | undefined {
    return this.dead;
  }

  /** Opens a channel of `type` with an optional type-specific tail. Rejects with ChannelOpenError on OPEN_FAILURE. */
  openChannel(type: string, extra?: Buffer): Promise<Channel> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.inUse() >= this.maxChannels) {
      return Promise.reject(new ChannelOpenError(ChannelOpenFailure.RESOURCE_SHORTAGE, 'too many channels'));
    }
    const id = this.allocateId();
    const w = new SshWriter(64 + (extra?.length ?? 0))
      .byte(MSG.CHANNEL_OPEN)
      .string(type)
      .uint32(id)
      .uint32(this.windowSize)
      .uint32(this.maxPacket);
    if (extra) w.raw(extra);
    return new Promise((resolve, reject) => {
      // Sent first: a send that throws (a payload too large) leaves nothing pending behind.
      this.send(w.toBuffer());
      this.pendingOpens.set(id, { resolve, reject, type });
    });
  }

  /** Opens a `session` channel. */
  openSession(): Promise<Channel> {
    return this.openChannel('session');
  }

  /**
   * Sends GLOBAL_REQUEST. Resolves with the reply's data (or true when it has none) on REQUEST_SUCCESS,
   * false on REQUEST_FAILURE; without wantReply resolves true at once.
   */
  globalRequest(name: string, data?: Buffer, wantReply = true): Promise<Buffer | boolean> {
    if (this.dead) return Promise.reject(this.dead);
    const w = new SshWriter(32 + name.length + (data?.length ?? 0))
      .byte(MSG.GLOBAL_REQUEST)
      .string(name)
      .bool(wantReply);
    if (data) w.raw(data);
    if (!wantReply) {
      this.send(w.toBuffer());
      return Promise.resolve(true);
    }
    return new Promise((resolve, reject) => {
      // Sent first: a send that throws must not leave a slot that would take the next request's reply.
      this.send(w.toBuffer());
      this.pendingGlobal.push({ resolve, reject });
    });
  }

  /**
   * Handles one message numbered 80–127. Throws ProtocolError for malformed or out-of-place messages,
   * unknown channel ids (a WINDOW_ADJUST for one is ignored), window overflow, or data beyond the window or our
   * maximum packet.
   * The connection takes ownership of `payload`: channel data is handed to readers as a view of it,
   * so the caller must not reuse the buffer.
   */
  handlePacket(payload: Buffer): void {
    if (this.dead) return;
    const r = new SshReader(payload);
    const msg = r.byte();
    switch (msg) {
      case MSG.GLOBAL_REQUEST: {
        const name = r.string(MAX_TYPE_NAME).toString('latin1');
        const wantReply = r.bool();
        this.incomingGlobal(name, wantReply, Buffer.from(r.rest()));
        return;
      }
      case MSG.REQUEST_SUCCESS:
      case MSG.REQUEST_FAILURE: {
        const data = r.rest();
        if (msg === MSG.REQUEST_FAILURE && data.length > 0)
          throw new ProtocolError('trailing bytes in REQUEST_FAILURE');
        const p = this.pendingGlobal.shift();
        if (p === undefined) throw new ProtocolError('unexpected global request reply');
        p.resolve(msg === MSG.REQUEST_FAILURE ? false : data.length > 0 ? Buffer.from(data) : true);
        return;
      }
      case MSG.CHANNEL_OPEN: {
        const type = r.string(MAX_TYPE_NAME).toString('latin1');
        const sender = r.uint32();
        const window = r.uint32();
        const maxPacket = r.uint32();
        this.incomingOpen(type, sender, window, maxPacket, Buffer.from(r.rest()));
        return;
      }
      case MSG.CHANNEL_OPEN_CONFIRMATION: {
        const id = r.uint32();
        const sender = r.uint32();
        const window = r.uint32();
        const maxPacket = r.uint32();
        r.rest(); // type-specific data: none for the standard types
        const p = this.pendingOpens.get(id);
        if (p === undefined) throw new ProtocolError('open confirmation for unknown channel');
        if (maxPacket === 0) throw new ProtocolError('channel maximum packet size of 0');
        this.pendingOpens.delete(id);
        const ch = this.createChannel(p.type, id, sender, window, maxPacket);
        p.resolve(ch);
        return;
      }
      case MSG.CHANNEL_OPEN_FAILURE: {
        const id = r.uint32();
        const code = r.uint32();
        const description = r.string(MAX_DESCRIPTION).toString('utf8');
        r.string(MAX_TYPE_NAME); // language tag
        r.ensureEnd('CHANNEL_OPEN_FAILURE');
        const p = this.pendingOpens.get(id);
        if (p === undefined) throw new ProtocolError('open failure for unknown channel');
        this.pendingOpens.delete(id);
        p.reject(new ChannelOpenError(code, description));
        return;
      }
      case MSG.CHANNEL_WINDOW_ADJUST: {
        const id = r.uint32();
        const bytes = r.uint32();
        r.ensureEnd('CHANNEL_WINDOW_ADJUST');
        // A credit can follow the peer's own CLOSE (paramiko's reader thread sends WINDOW_ADJUST while
        // its transport thread answers our CLOSE), so one for a channel that is gone is dropped, as sshd
        // does: it asks nothing of us. Data, EOF, CLOSE and requests for it are still protocol errors.
        const ch = this.channels.get(id);
        if (ch !== undefined) ch.handleWindowAdjust(bytes);
        return;
      }
      case MSG.CHANNEL_DATA: {
        const ch = this.channel(r.uint32());
        const data = r.string(this.maxPacket);
        r.ensureEnd('CHANNEL_DATA');
        ch.handleData(data, null);
        return;
      }
      case MSG.CHANNEL_EXTENDED_DATA: {
        const ch = this.channel(r.uint32());
        const code = r.uint32();
        const data = r.string(this.maxPacket);
        r.ensureEnd('CHANNEL_EXTENDED_DATA');
        ch.handleData(data, code);
        return;
      }
      case MSG.CHANNEL_EOF:
      case MSG.CHANNEL_CLOSE: {
        const ch = this.channel(r.uint32());
        r.ensureEnd(msg === MSG.CHANNEL_EOF ? 'CHANNEL_EOF' : 'CHANNEL_CLOSE');
        if (msg === MSG.CHANNEL_EOF) ch.handleEof();
        else ch.handleClose();
        return;
      }
      case MSG.CHANNEL_REQUEST: {
        const ch = this.channel(r.uint32());
        const type = r.string(MAX_TYPE_NAME).toString('latin1');
        const wantReply = r.bool();
        ch.handleRequest(type, wantReply, r.rest());
        return;
      }
      case MSG.CHANNEL_SUCCESS:
      case MSG.CHANNEL_FAILURE: {
        const ch = this.channel(r.uint32());
        r.ensureEnd('channel request reply');
        ch.handleReply(msg === MSG.CHANNEL_SUCCESS);
        return;
      }
      default:
        throw new ProtocolError(`unexpected message ${msg} in connection layer`);
    }
  }

  /**
   * The transport died or closed: every channel is destroyed (emitting 'error' with `err` when given,
   * then 'close'), every pending promise rejects with `err` (or ConnectionLostError). Idempotent.
   */
  destroy(err?: Error): void {
    if (this.dead) return;
    const reason = err ?? new ConnectionLostError('connection closed');
    this.dead = reason;
    this.link.off('drain', this.onDrain);
    this.drainWaiters = [];
    for (const p of this.pendingOpens.values()) p.reject(reason);
    this.pendingOpens.clear();
    for (const p of this.pendingGlobal.splice(0)) p.reject(reason);
    this.globalReplies.length = 0;
    this.incomingOpens.clear(); // an answer that comes later finds the connection dead
    const channels = [...this.channels.values()];
    this.channels.clear();
    for (const ch of channels) ch.abort(err, reason);
    this.emit('close', err);
  }

  // ---- internals ----

  private send(payload: Buffer): boolean {
    if (this.dead) return false;
    const ok = this.link.send(payload);
    if (!ok) this.blocked = true;
    return ok;
  }

  private sendParts(head: Buffer, body: Buffer): boolean {
    if (this.dead) return false;
    const ok = this.link.sendParts ? this.link.sendParts(head, body) : this.link.send(Buffer.concat([head, body]));
    if (!ok) this.blocked = true;
    return ok;
  }

  private drained(): void {
    this.blocked = false;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (let i = 0; i < waiters.length; i++) {
      if (this.blocked) {
        this.drainWaiters.push(...waiters.slice(i));
        return;
      }
      (waiters[i] as () => void)();
    }
  }

  private inUse(): number {
    return this.channels.size + this.pendingOpens.size + this.incomingOpens.size;
  }

  private allocateId(): number {
    let id = 0;
    while (this.channels.has(id) || this.pendingOpens.has(id)) id++;
    return id;
  }

  private channel(id: number): Channel {
    const ch = this.channels.get(id);
    if (ch === undefined) throw new ProtocolError(`message for unknown channel ${id}`);
    return ch;
  }

  private createChannel(type: string, localId: number, remoteId: number, window: number, maxPacket: number): Channel {
    const ch = new Channel(this.host, {
      type,
      localId,
      remoteId,
      localWindow: this.windowSize,
      localMaxPacket: this.maxPacket,
      remoteWindow: window,
      remoteMaxPacket: maxPacket,
      closeOnEof: !(this.role === 'client' && type === 'session'),
    });
    this.channels.set(localId, ch);
    return ch;
  }

  private openFailure(recipient: number, code: number, description: string): void {
    this.send(
      new SshWriter(64)
        .byte(MSG.CHANNEL_OPEN_FAILURE)
        .uint32(recipient)
        .uint32(code)
        .string(description)
        .string('')
        .toBuffer(),
    );
  }

  private incomingOpen(type: string, sender: number, window: number, maxPacket: number, data: Buffer): void {
    if (maxPacket === 0) {
      this.openFailure(sender, ChannelOpenFailure.CONNECT_FAILED, 'invalid maximum packet size');
      return;
    }
    if (this.inUse() >= this.maxChannels) {
      this.openFailure(sender, ChannelOpenFailure.RESOURCE_SHORTAGE, 'too many channels');
      return;
    }
    const handler = this.onChannelOpen;
    if (handler === undefined) {
      this.openFailure(sender, ChannelOpenFailure.UNKNOWN_CHANNEL_TYPE, 'unknown channel type');
      return;
    }
    const token = {};
    this.incomingOpens.add(token);
    let answered = false;
    const answer = (): boolean => {
      if (answered) return false;
      answered = true;
      this.incomingOpens.delete(token);
      return true;
    };
    const req: ChannelOpenRequest = {
      type,
      data,
      accept: () => {
        if (!answer()) throw new InvalidArgumentError('channel open already answered');
        if (this.dead) throw this.dead;
        const id = this.allocateId();
        const ch = this.createChannel(type, id, sender, window, maxPacket);
        this.send(
          new SshWriter(32)
            .byte(MSG.CHANNEL_OPEN_CONFIRMATION)
            .uint32(sender)
            .uint32(id)
            .uint32(this.windowSize)
            .uint32(this.maxPacket)
            .toBuffer(),
        );
        return ch;
      },
      reject: (code, description) => {
        if (answer() && !this.dead) this.openFailure(sender, code, description);
      },
    };
    try {
      handler(req);
    } catch (e) {
      req.reject(ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED, 'open refused');
      this.handlerError(e);
    }
  }

  private incomingGlobal(name: string, wantReply: boolean, data: Buffer): void {
    const slot: GlobalReplySlot = { settled: false, ok: false, data: undefined };
    if (wantReply) {
      if (this.globalReplies.length >= MAX_PENDING_REPLIES)
        throw new ProtocolError('too many unanswered global requests');
      this.globalReplies.push(slot);
    }
    const settle = (v: boolean | Buffer): void => {
      if (slot.settled) return;
      slot.settled = true;
      slot.ok = v !== false;
      slot.data = Buffer.isBuffer(v) ? v : undefined;
      this.flushGlobalReplies();
    };
    const handler = this.onGlobalRequest;
    if (handler === undefined) {
      settle(false);
      return;
    }
    let result: ReturnType<GlobalRequestHandler>;
    try {
      result = handler(name, data);
    } catch (e) {
      settle(false);
      this.handlerError(e);
      return;
    }
    if (typeof result === 'boolean' || Buffer.isBuffer(result)) {
      settle(result);
    } else {
      result.then(settle, (e: unknown) => {
        settle(false);
        this.handlerError(e);
      });
    }
  }

  private flushGlobalReplies(): void {
    while (this.globalReplies[0]?.settled) {
      const slot = this.globalReplies.shift() as GlobalReplySlot;
      const w = new SshWriter(16 + (slot.data?.length ?? 0)).byte(slot.ok ? MSG.REQUEST_SUCCESS : MSG.REQUEST_FAILURE);
      if (slot.ok && slot.data) w.raw(slot.data);
      this.send(w.toBuffer());
    }
  }

  private handlerError(e: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }
}

function checkRange(v: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new InvalidArgumentError(`${what} must be an integer in [${min}, ${max}]`);
  return v;
}
