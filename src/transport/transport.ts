/**
 * The SSH transport (RFC 4253) bound to any Duplex stream: version exchange, binary packets, key
 * exchange and re-exchange, strict KEX, ext-info, DISCONNECT. Upper layers get payloads through
 * `onMessage` and send with `send()`.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { debuglog } from 'node:util';
import { cipherInfo, createOpener, createSealer } from '../crypto/cipher.js';
import type { PacketOpener, PacketSealer } from '../crypto/types.js';
import { closeChannel, kexChannel } from '../diagnostics.js';
import type { DisconnectReasonCode } from '../errors.js';
import {
  ConnectionLostError,
  DisconnectError,
  DisconnectReason,
  HostKeyError,
  NegotiationError,
  ProtocolError,
  SshError,
} from '../errors.js';
import type { PublicKey } from '../keys/index.js';
import { MSG, ownCopy, SshReader, SshWriter } from '../wire/index.js';
import { TransportCompression } from './compression.js';
import { disconnectPayload, peerDisconnect } from './disconnect.js';
import type { HashPrefix, KexResult } from './kex-exchange.js';
import { ClientKex, ServerKex, selectServerHostKey, serverHostKeyAlgorithms } from './kex-exchange.js';
import { buildKexInit, decodeKexInit, type KexInitMessage, type Negotiated, negotiate } from './kexinit.js';
import type { NegotiatedAlgorithms, TransportOptions } from './options.js';
import { MAX_PACKET_LENGTH, PacketDecoder, PacketEncoder } from './packet-codec.js';
import { classify, type Phase } from './phase.js';
import { answerPing } from './ping.js';
import {
  DEFAULT_REKEY_BYTES,
  decodeExtInfo,
  deriveSessionKeys,
  encodeServerExtInfo,
  rekeyByteLimit,
  type SessionHostKey,
} from './session-keys.js';
import { SOFTWARE_VERSION, VersionReader } from './version.js';

const debug = debuglog('secsh');

export type { GexSizes } from './kex-exchange.js';
export type { NegotiatedAlgorithms, RekeyLimit, TransportOptions } from './options.js';

interface KexRun {
  ours: Buffer | undefined;
  theirs: KexInitMessage | undefined;
  theirsRaw: Buffer | undefined;
  negotiated: Negotiated | undefined;
  method: ClientKex | ServerKex | undefined;
  ignoreNext: boolean;
  newKeysSent: boolean;
  newKeysReceived: boolean;
  incoming: { opener: PacketOpener; compression: string } | undefined;
  outgoing: { sealer: PacketSealer; compression: string } | undefined;
  result: KexResult | undefined;
}

type Waiter = { resolve: () => void; reject: (e: Error) => void };

const MAX_INBOX = 4096;
/** Bytes of output the transport lets the stream buffer before it reports backpressure. */
const OUTPUT_MARK = 256 * 1024;

/**
 * One SSH transport connection over a stream.
 *
 * @example
 * const t = new Transport(socket, { role: 'client', algorithms: resolveAlgorithms(undefined), verifyHostKey });
 * t.start(); await t.ready();
 */
export class Transport extends EventEmitter {
  /** Which side of the key exchange this is. */
  readonly role: 'client' | 'server';
  private readonly stream: Duplex;
  private readonly opts: TransportOptions;
  private readonly versionReader: VersionReader;
  private readonly decoder = new PacketDecoder();
  private readonly encoder = new PacketEncoder();
  private readonly ourVersion: string;
  private peerVersionLine: string | undefined;
  private kex: KexRun | undefined;
  private firstKexDone = false;
  private strict = false;
  private phase: Phase = 'initial-kex';
  private held: Buffer[] = [];
  private inbox: Buffer[] = [];
  private handler: ((payload: Buffer) => void) | undefined;
  private readyWaiters: Waiter[] = [];
  private rekeyWaiters: Waiter[] = [];
  private corked = false;
  private needDrain = false;
  /** The stream writes several buffers at once (_writev), so encoded pieces need not be joined. */
  private readonly scatterWrites: boolean;
  private readonly compression = new TransportCompression(MAX_PACKET_LENGTH);
  private rekeyTimer: NodeJS.Timeout | undefined;
  private bytesLimit = DEFAULT_REKEY_BYTES;
  private packetsReceived = 0;
  private rawWrites = 0;
  private extInfoReceived = 0;
  private started = false;
  /** The error that closed the transport, once closed. */
  closeError: Error | undefined;
  /** True once the transport has closed (for any reason; see {@link Transport.closeError}). */
  closed = false;
  /** H of the first exchange. */
  sessionId: Buffer | undefined;
  /** The server's host key (client role), from the first exchange. */
  hostKey: PublicKey | undefined;
  /** Client role: the first exchange's host key blob as sent and its signature over H (what `session-bind@openssh.com` carries). */
  sessionHostKey: SessionHostKey | undefined;
  /** The last negotiation. */
  negotiated: NegotiatedAlgorithms | undefined;
  /** Extensions the peer announced in SSH_MSG_EXT_INFO. */
  readonly peerExtensions = new Map<string, Buffer>();
  /** Time of the last packet received (ms since epoch). */
  lastReceived = Date.now();
  /** Called after input whose packets made us send nothing (see `src/client/quick-ack.ts`). */
  onQuietInput: (() => void) | undefined;

  constructor(stream: Duplex, opts: TransportOptions) {
    super();
    this.stream = stream;
    this.opts = opts;
    this.role = opts.role;
    this.ourVersion = `SSH-2.0-${opts.softwareVersion ?? SOFTWARE_VERSION}`;
    this.versionReader = new VersionReader(opts.role === 'client');
    if (opts.role === 'server' && (!opts.hostKeys || opts.hostKeys.length === 0)) {
      throw new TypeError('a server transport needs at least one host key');
    }
    this.scatterWrites = typeof (stream as Duplex & { _writev?: unknown })._writev === 'function';
    const sock = stream as Duplex & { setNoDelay?: (v: boolean) => void };
    if (typeof sock.setNoDelay === 'function') sock.setNoDelay(true);
  }

  /** The peer's identification string (without CR LF), once received. */
  get peerVersion(): string | undefined {
    return this.peerVersionLine;
  }

  /** Signature algorithms the server accepts for user auth (from ext-info), if it said. */
  get serverSigAlgs(): string[] | undefined {
    const v = this.peerExtensions.get('server-sig-algs');
    return v ? v.toString('latin1').split(',').filter(Boolean) : undefined;
  }

  /** Starts the protocol: sends our version and KEXINIT, and reads from the stream. */
  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.opts.input) this.opts.input.attach((region) => this.onRegion(region));
    else this.stream.on('data', (chunk: Buffer) => this.onData(chunk));
    // Closed before a version line, after bytes that were not one: the peer does not speak SSH.
    const notSsh = () => (this.peerVersionLine === undefined ? this.versionReader.endedEarly() : undefined);
    this.stream.on('end', () => this.fail(notSsh() ?? new ConnectionLostError('connection closed by peer')));
    this.stream.on('close', () => this.fail(notSsh() ?? new ConnectionLostError('connection closed')));
    this.stream.on('error', (err: Error) =>
      this.fail(new ConnectionLostError(`connection error: ${err.message}`, { cause: err })),
    );
    this.stream.on('drain', () => this.onStreamDrain());
    this.writeRaw(Buffer.from(`${this.ourVersion}\r\n`, 'latin1'));
    this.startKex();
  }

  /** Resolves when the first key exchange is complete and (client) the host key was accepted. */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(this.closeError ?? new ConnectionLostError());
    if (this.firstKexDone) return Promise.resolve();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /**
   * Sets the receiver of upper-layer messages (auth and connection, numbers 5–6 and 50+).
   * Messages that arrived before a receiver was set are delivered first.
   */
  setMessageHandler(handler: ((payload: Buffer) => void) | undefined): void {
    this.handler = handler;
    while (this.handler && this.inbox.length && !this.closed) {
      const p = this.inbox.shift() as Buffer;
      this.deliver(p);
    }
  }

  /**
   * Sends an upper-layer payload. During a key exchange it is held and sent under the new keys.
   * Returns false when the stream is backed up; 'drain' follows.
   */
  send(payload: Buffer): boolean {
    if (this.closed) return false;
    if (this.holding) {
      this.held.push(payload);
      this.needDrain = true;
      return false;
    }
    return this.sendPacket(payload);
  }

  /**
   * Sends the payload `head || body` (channel data: a small header and the application's bytes)
   * without joining the two first. `body` is read only during the call. Otherwise as {@link send}.
   */
  sendParts(head: Buffer, body: Buffer): boolean {
    if (this.closed) return false;
    if (this.holding || this.compression.active) return this.send(Buffer.concat([head, body]));
    const n = head.length + body.length;
    if (n > MAX_PACKET_LENGTH - 64) throw new ProtocolError('outgoing payload too large');
    let ok = true;
    const pieces = this.encoder.encodeParts(head, body);
    // A stream without _writev (a Channel, for a jump host) would turn each piece into its own
    // write (its own outer packet): join them there; sockets take the pieces in one writev.
    if (this.scatterWrites) for (const b of pieces) ok = this.writeRaw(b) && ok;
    else ok = this.writeRaw(pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces));
    this.checkRekey();
    return ok;
  }

  /** Starts a key re-exchange (if none is running) and resolves when the new keys are in use both ways. */
  rekey(): Promise<void> {
    if (this.closed) return Promise.reject(this.closeError ?? new ConnectionLostError());
    const p = new Promise<void>((resolve, reject) => this.rekeyWaiters.push({ resolve, reject }));
    if (!this.kex) this.startKex();
    return p;
  }

  /** Answers the packet just received with SSH_MSG_UNIMPLEMENTED (for upper layers that do not know a message). */
  sendUnimplemented(): void {
    const seq = (this.decoder.seq + 0xffffffff) % 0x100000000;
    this.send(new SshWriter(16).byte(MSG.UNIMPLEMENTED).uint32(seq).toBuffer());
  }

  /** Sends SSH_MSG_DISCONNECT and closes. */
  disconnect(
    reason: DisconnectReasonCode = DisconnectReason.BY_APPLICATION,
    description = 'disconnected by application',
  ): void {
    if (this.closed) return;
    this.sendDisconnect(reason, description);
    this.close(undefined);
  }

  /** Closes the transport with an error (sends DISCONNECT when the error has a reason). */
  destroy(err?: Error): void {
    if (err) this.fail(err);
    else this.disconnect();
  }

  // ---- output ----

  /** Upper-layer payloads are held: our KEXINIT is out and our NEWKEYS not yet (they go under the new keys). */
  private get holding(): boolean {
    return this.kex?.ours !== undefined && !this.kex.newKeysSent;
  }

  private writeRaw(buf: Buffer): boolean {
    this.rawWrites++;
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(() => {
        this.corked = false;
        this.stream.uncork();
      });
    }
    // The stream's own mark (16 KiB for sockets) would let one packet through per tick; we keep up to
    // OUTPUT_MARK queued, so packets produced together leave in one writev. The stream still emits
    // 'drain' once it empties, since its write() returned false.
    const ok = this.stream.write(buf) || this.stream.writableLength < OUTPUT_MARK;
    if (!ok) this.needDrain = true;
    return ok;
  }

  /** Compresses (when on) and encrypts one payload. */
  private frame(payload: Buffer): Buffer {
    const body = this.compression.compress(payload);
    if (body.length > MAX_PACKET_LENGTH - 64) throw new ProtocolError('outgoing payload too large');
    return this.encoder.encode(body);
  }

  private sendPacket(payload: Buffer): boolean {
    const ok = this.writeRaw(this.frame(payload));
    if (payload[0] === MSG.USERAUTH_SUCCESS && this.role === 'server') this.onAuthenticated();
    this.checkRekey();
    return ok;
  }

  private onStreamDrain(): void {
    if (this.needDrain && !this.holding) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  private sendDisconnect(reason: number, description: string): void {
    try {
      const p = disconnectPayload(reason, description);
      if (this.started) this.writeRaw(this.frame(p));
    } catch {
      // best effort
    }
  }

  // ---- input ----

  /**
   * Input from a reused buffer: decodes what `region` completes and returns how many bytes at its
   * end are left for the next call (nothing here keeps a view of `region`).
   */
  private onRegion(region: Buffer): number {
    if (this.peerVersionLine === undefined) {
      this.onData(Buffer.from(region));
      return 0;
    }
    this.onData(region);
    return this.closed ? 0 : this.decoder.detach(region);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    try {
      if (this.peerVersionLine === undefined) {
        const r = this.versionReader.push(chunk);
        if (!r.done) return;
        this.peerVersionLine = r.version;
        debug('peer version %s', r.version);
        chunk = r.rest;
        if (chunk.length === 0) return;
      }
      this.decoder.push(chunk);
      const writes = this.rawWrites;
      for (let n = 0; ; n++) {
        if (this.closed) return;
        const payload = this.decoder.next();
        if (!payload) {
          if (n > 0 && this.rawWrites === writes) this.onQuietInput?.();
          break;
        }
        this.lastReceived = Date.now();
        this.packetsReceived++;
        const plain = this.compression.decompress(payload);
        if (plain.length === 0) throw new ProtocolError('empty packet payload');
        this.handlePayload(plain);
        this.checkRekey();
      }
    } catch (e) {
      this.fail(e instanceof Error ? e : new ProtocolError(String(e)));
    }
  }

  private handlePayload(p: Buffer): void {
    const n = p[0] as number;
    const peer = this.role === 'client' ? 'server' : 'client';
    const inKex = !!this.kex?.theirs && !this.kex.newKeysReceived;
    const verdict = classify(n, peer, this.phase, this.strict);
    if (verdict === 'fatal') {
      throw new ProtocolError(`unexpected message ${n} from ${peer} during ${inKex ? 'key exchange' : this.phase}`);
    }
    if (verdict === 'unimplemented') {
      this.sendUnimplemented();
      return;
    }
    if (verdict === 'deliver') {
      if (this.role === 'client' && n === MSG.USERAUTH_SUCCESS) this.onAuthenticated();
      this.deliver(p);
      return;
    }
    switch (n) {
      case MSG.DISCONNECT:
        this.close(peerDisconnect(p));
        return;
      case MSG.IGNORE:
      case MSG.DEBUG:
        return;
      case MSG.PING:
      case MSG.PONG: // answered once authenticated, outside a key exchange
        answerPing(p, this.phase === 'connected' && !this.kex, this.stream, this);
        return;
      case MSG.UNIMPLEMENTED: {
        const seq = new SshReader(p, 1).uint32();
        debug('peer says packet %d was unimplemented', seq);
        this.emit('unimplemented', seq);
        return;
      }
      case MSG.EXT_INFO:
        this.onExtInfo(p);
        return;
      case MSG.KEXINIT:
        this.onKexInit(p);
        return;
      case MSG.NEWKEYS:
        this.onNewKeys(p);
        return;
      default:
        this.onKexMethodMessage(p);
    }
  }

  private deliver(p: Buffer): void {
    if (!this.handler) {
      if (this.inbox.length >= MAX_INBOX) throw new ProtocolError('too many unhandled messages');
      this.inbox.push(p);
      return;
    }
    this.handler(p);
  }

  private onAuthenticated(): void {
    if (this.phase === 'connected') return;
    this.phase = 'connected';
    this.compression.onAuthenticated();
  }

  private onExtInfo(p: Buffer): void {
    // RFC 8308 §2.4: a server sends EXT_INFO after its first NEWKEYS and once more before
    // USERAUTH_SUCCESS; a client only after its first NEWKEYS. More is a peer filling our memory.
    this.extInfoReceived++;
    if (this.extInfoReceived > (this.role === 'client' ? 2 : 1)) throw new ProtocolError('too many EXT_INFO messages');
    decodeExtInfo(p, this.peerExtensions);
    this.emit('ext-info', this.peerExtensions);
  }

  // ---- key exchange ----

  private ourKexInit(): Buffer {
    const hostKey = this.role === 'server' ? this.serverHostKeyAlgorithms() : this.opts.algorithms.hostKey;
    return buildKexInit(this.role, this.opts.algorithms, hostKey, {
      first: this.sessionId === undefined,
      strict: this.opts.strictKex !== false,
    });
  }

  /** Host key algorithms a server can sign with: its preference list filtered by the keys it has. */
  private serverHostKeyAlgorithms(): string[] {
    return serverHostKeyAlgorithms(this.opts.algorithms.hostKey, this.opts.hostKeys ?? [], this.opts.hostCertificates);
  }

  private newRun(): KexRun {
    return {
      ours: undefined,
      theirs: undefined,
      theirsRaw: undefined,
      negotiated: undefined,
      method: undefined,
      ignoreNext: false,
      newKeysSent: false,
      newKeysReceived: false,
      incoming: undefined,
      outgoing: undefined,
      result: undefined,
    };
  }

  private startKex(): void {
    if (this.closed) return;
    if (!this.kex) this.kex = this.newRun();
    if (this.kex.ours) return;
    this.kex.ours = this.ourKexInit();
    this.needDrain = true;
    this.sendPacket(this.kex.ours);
    if (this.kex.theirs) this.beginMethod();
  }

  private onKexInit(p: Buffer): void {
    if (this.kex?.theirs) throw new ProtocolError('second KEXINIT during key exchange');
    const msg = decodeKexInit(p);
    if (!this.firstKexDone) {
      const peerStrict = msg.kex.includes(
        this.role === 'client' ? 'kex-strict-s-v00@openssh.com' : 'kex-strict-c-v00@openssh.com',
      );
      if (peerStrict && this.opts.strictKex !== false) {
        this.strict = true;
        if (this.packetsReceived !== 1) throw new ProtocolError('strict KEX: KEXINIT was not the first packet');
      }
    }
    if (!this.kex) this.kex = this.newRun();
    this.kex.theirs = msg;
    this.kex.theirsRaw = Buffer.from(p);
    if (!this.kex.ours) {
      this.startKex(); // calls beginMethod
    } else {
      this.beginMethod();
    }
  }

  private beginMethod(): void {
    const run = this.kex as KexRun;
    const ours = decodeKexInit(run.ours as Buffer);
    const theirs = run.theirs as KexInitMessage;
    const [c, s] = this.role === 'client' ? [ours, theirs] : [theirs, ours];
    const neg = negotiate(c, s, (name) => cipherInfo(name)?.aead ?? false);
    run.negotiated = neg;
    if (theirs.firstKexPacketFollows && neg.ignoreGuess) run.ignoreNext = true;
    const prefix: HashPrefix = {
      clientVersion: this.role === 'client' ? this.ourVersion : (this.peerVersionLine as string),
      serverVersion: this.role === 'client' ? (this.peerVersionLine as string) : this.ourVersion,
      clientKexInit: this.role === 'client' ? (run.ours as Buffer) : (run.theirsRaw as Buffer),
      serverKexInit: this.role === 'client' ? (run.theirsRaw as Buffer) : (run.ours as Buffer),
    };
    debug('negotiated %o', neg);
    if (this.role === 'client') {
      const m = new ClientKex(neg.kex, neg.hostKey, prefix, this.opts.gex);
      run.method = m;
      this.sendPacket(m.start());
    } else {
      const hk = selectServerHostKey(neg.hostKey, this.opts.hostKeys ?? [], this.opts.hostCertificates);
      if (!hk) throw new NegotiationError('host key', c.hostKey, s.hostKey);
      run.method = new ServerKex(neg.kex, hk.key, hk.signatureAlgorithm, prefix, hk.blob);
    }
  }

  private onKexMethodMessage(p: Buffer): void {
    const run = this.kex;
    if (!run?.method || run.result) throw new ProtocolError(`unexpected key exchange message ${p[0]}`);
    if (run.ignoreNext) {
      run.ignoreNext = false;
      return;
    }
    if (run.method instanceof ClientKex) {
      const out = run.method.handle(p);
      if ('send' in out) {
        this.sendPacket(out.send);
        return;
      }
      this.finishMethod(run, out.result);
      const key = out.result.hostKey;
      if (this.hostKey && !this.hostKey.equals(key)) {
        throw new HostKeyError('server host key changed during key re-exchange', key.fingerprint());
      }
      if (this.hostKey) {
        this.sendNewKeys(run);
        return;
      }
      const verify = this.opts.verifyHostKey;
      if (!verify) throw new HostKeyError('no host key verifier configured', key.fingerprint());
      Promise.resolve()
        .then(() => verify(key, out.result.hostCertificate))
        .then(
          () => {
            if (this.closed) return;
            this.hostKey = key;
            try {
              this.sendNewKeys(run);
            } catch (e) {
              this.fail(e as Error);
            }
          },
          (e: unknown) => {
            const err =
              e instanceof SshError
                ? e
                : new HostKeyError(`host key rejected: ${(e as Error)?.message ?? String(e)}`, key.fingerprint());
            this.fail(err);
          },
        );
      return;
    }
    const out = run.method.handle(p);
    this.sendPacket(out.send);
    if (out.result) {
      this.finishMethod(run, out.result);
      this.sendNewKeys(run);
    }
  }

  /** Derives both directions' keys from K and H. */
  private finishMethod(run: KexRun, result: KexResult): void {
    run.result = result;
    if (!this.sessionId) {
      this.sessionId = ownCopy(result.h);
      if (result.hostKeyBlob && result.signature)
        this.sessionHostKey = { blob: ownCopy(result.hostKeyBlob), signature: ownCopy(result.signature) };
    }
    const neg = run.negotiated as Negotiated;
    const keys = deriveSessionKeys(this.role, neg, result, this.sessionId);
    run.outgoing = { sealer: createSealer(keys.outKeys), compression: keys.outCompression };
    run.incoming = { opener: createOpener(keys.inKeys), compression: keys.inCompression };
    result.k.fill(0); // K is not needed once the keys are derived
    this.bytesLimit = rekeyByteLimit(keys, this.opts.rekeyLimit?.bytes);
    this.negotiated = {
      kex: neg.kex,
      hostKey: neg.hostKey,
      cipher: keys.outKeys.cipher,
      mac: keys.outKeys.mac,
      compression: keys.outCompression,
      inbound: { cipher: keys.inKeys.cipher, mac: keys.inKeys.mac, compression: keys.inCompression },
    };
  }

  private sendNewKeys(run: KexRun): void {
    if (this.closed || run.newKeysSent) return;
    this.writeRaw(this.frame(Buffer.from([MSG.NEWKEYS])));
    run.newKeysSent = true;
    const out = run.outgoing as { sealer: PacketSealer; compression: string };
    this.encoder.setSealer(out.sealer);
    if (this.strict) this.encoder.seq = 0;
    this.compression.outgoingKeys(out.compression);
    if (this.role === 'server' && this.sessionId && !this.firstKexDone && run.theirs?.kex.includes('ext-info-c'))
      this.sendPacket(encodeServerExtInfo(this.opts.serverSigAlgs));
    // Flush what upper layers queued during the exchange.
    const held = this.held;
    this.held = [];
    for (const h of held) this.sendPacket(h);
    this.maybeFinishKex();
  }

  private onNewKeys(p: Buffer): void {
    const run = this.kex;
    if (p.length !== 1) throw new ProtocolError('NEWKEYS with trailing bytes');
    if (!run?.incoming || run.newKeysReceived) throw new ProtocolError('unexpected NEWKEYS');
    run.newKeysReceived = true;
    this.decoder.setOpener(run.incoming.opener);
    if (this.strict) this.decoder.seq = 0;
    this.compression.incomingKeys(run.incoming.compression);
    if (this.phase === 'initial-kex') this.phase = 'auth';
    this.maybeFinishKex();
  }

  private maybeFinishKex(): void {
    const run = this.kex;
    if (!run?.newKeysSent || !run.newKeysReceived) return;
    this.kex = undefined;
    const first = !this.firstKexDone;
    this.firstKexDone = true;
    this.scheduleTimedRekey();
    if (kexChannel.hasSubscribers) kexChannel.publish({ role: this.role, first, algorithms: this.negotiated });
    this.emit('kex', this.negotiated);
    if (first) {
      for (const w of this.readyWaiters.splice(0)) w.resolve();
    }
    for (const w of this.rekeyWaiters.splice(0)) w.resolve();
    if (this.needDrain && this.stream.writableLength < Math.max(OUTPUT_MARK, this.stream.writableHighWaterMark)) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  private scheduleTimedRekey(): void {
    if (this.rekeyTimer) clearTimeout(this.rekeyTimer);
    const secs = this.opts.rekeyLimit?.seconds ?? 3600;
    if (secs > 0) {
      this.rekeyTimer = setTimeout(() => {
        if (!this.kex && !this.closed) this.startKex();
      }, secs * 1000);
      this.rekeyTimer.unref();
    }
  }

  private checkRekey(): void {
    if (!this.firstKexDone || this.kex || this.closed) return;
    const maxPackets = this.opts.rekeyLimit?.packets ?? 2 ** 31;
    if (
      this.encoder.bytes >= this.bytesLimit ||
      this.decoder.bytes >= this.bytesLimit ||
      this.encoder.packets >= maxPackets ||
      this.decoder.packets >= maxPackets
    ) {
      debug('rekey: limit reached');
      this.startKex();
    }
  }

  // ---- closing ----

  private fail(err: Error): void {
    if (this.closed) return;
    const reason = err instanceof SshError ? err.reason : undefined;
    if (reason !== undefined && reason !== DisconnectReason.CONNECTION_LOST && !(err instanceof DisconnectError)) {
      this.sendDisconnect(reason, (this.opts.disconnectText?.(err) ?? err.message).slice(0, 200));
    }
    this.close(err);
  }

  private close(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = err;
    if (this.rekeyTimer) clearTimeout(this.rekeyTimer);
    this.compression.close();
    debug('transport closed: %s', err?.message ?? 'ok');
    if (closeChannel.hasSubscribers) {
      closeChannel.publish({
        role: this.role,
        error: err ? { code: (err as SshError).code, message: err.message } : undefined,
      });
    }
    const e = err ?? new ConnectionLostError('connection closed');
    for (const w of this.readyWaiters.splice(0)) w.reject(e);
    for (const w of this.rekeyWaiters.splice(0)) w.reject(e);
    try {
      this.stream.end();
    } catch {
      // ignore
    }
    const s = this.stream;
    setTimeout(() => s.destroy(), 100).unref();
    this.emit('close', err);
  }
}
