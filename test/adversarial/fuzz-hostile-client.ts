/**
 * A hostile SSH client for framing tests: it runs the key exchange itself (secsh's own codecs and KEX
 * method, no Transport), so after NEWKEYS it knows every key. It can then seal a packet and tamper
 * with the bytes before they go on the wire, write junk, replay, truncate, and decrypt everything
 * the server sends back: each DISCONNECT is counted with its reason and text.
 */
import { connect, type Socket } from 'node:net';
import { cipherInfo, createOpener, createSealer, macInfo } from '../../src/crypto/cipher.js';
import { SshError } from '../../src/errors.js';
import { ClientKex } from '../../src/transport/kex-exchange.js';
import type { Negotiated } from '../../src/transport/kexinit.js';
import { decodeKexInit, encodeKexInit, negotiate } from '../../src/transport/kexinit.js';
import { PacketDecoder, PacketEncoder } from '../../src/transport/packet-codec.js';
import { deriveSessionKeys } from '../../src/transport/session-keys.js';
import { VersionReader } from '../../src/transport/version.js';
import { MSG, SshReader } from '../../src/wire/index.js';

/** A forced cipher mode: the cipher and (for non-AEAD ciphers) the MAC. */
export interface CipherMode {
  cipher: string;
  mac: string;
}

/** The modes of the issue: both AEADs, CTR with ETM and with a classic MAC, CBC. */
export const FRAMING_MODES: readonly CipherMode[] = [
  { cipher: 'chacha20-poly1305@openssh.com', mac: '' },
  { cipher: 'aes128-gcm@openssh.com', mac: '' },
  { cipher: 'aes256-gcm@openssh.com', mac: '' },
  { cipher: 'aes128-ctr', mac: 'hmac-sha2-256-etm@openssh.com' },
  { cipher: 'aes128-ctr', mac: 'hmac-sha2-256' },
  { cipher: 'aes128-cbc', mac: 'hmac-sha2-256' },
  { cipher: '3des-cbc', mac: 'hmac-sha2-256' },
];

export function modeName(m: CipherMode): string {
  return m.mac ? `${m.cipher}+${m.mac}` : m.cipher;
}

/** Where each region of one sealed packet lies on the wire. */
export interface PacketLayout {
  /** packet_length as sent. */
  packetLength: number;
  padLength: number;
  payloadLength: number;
  macLength: number;
  /** Wire bytes: 4 + packet_length + MAC. */
  total: number;
  /** Offsets of one byte in each region: length field, padding length, payload, padding, MAC/tag. */
  regions: { name: string; offset: number }[];
}

/** The layout a mode gives a payload of `n` bytes (computed as the packet encoder pads). */
export function layoutOf(mode: CipherMode, n: number): PacketLayout {
  const c = cipherInfo(mode.cipher);
  if (!c) throw new Error(`unknown cipher ${mode.cipher}`);
  const m = c.aead ? undefined : macInfo(mode.mac);
  const excluded = c.aead || m?.etm === true;
  const bs = Math.max(8, c.blockSize);
  const base = 1 + n + (excluded ? 0 : 4);
  let pad = bs - (base % bs);
  if (pad < 4) pad += bs;
  const packetLength = 1 + n + pad;
  const macLength = c.aead ? 16 : (m?.length ?? 0);
  const total = 4 + packetLength + macLength;
  return {
    packetLength,
    padLength: pad,
    payloadLength: n,
    macLength,
    total,
    regions: [
      { name: 'length (high byte)', offset: 0 },
      { name: 'length (low byte)', offset: 3 },
      { name: 'padding length', offset: 4 },
      { name: 'payload (first byte)', offset: 5 },
      { name: 'payload (last byte)', offset: 4 + n },
      { name: 'padding (last byte)', offset: 4 + packetLength - 1 },
      { name: 'MAC/tag (first byte)', offset: 4 + packetLength },
      { name: 'MAC/tag (last byte)', offset: total - 1 },
    ],
  };
}

export interface Disconnect {
  reason: number;
  text: string;
}

/** One connection of the hostile client. */
export class HostileClient {
  readonly sock: Socket;
  readonly mode: CipherMode;
  /** Bytes handed to the socket so far. */
  sent = 0;
  /** Payloads the server sent after its NEWKEYS (decrypted). */
  readonly received: Buffer[] = [];
  readonly disconnects: Disconnect[] = [];
  /** An error decoding the server's stream (there should be none). */
  readError: unknown;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  private readonly enc = new PacketEncoder();
  private readonly dec = new PacketDecoder();
  private readonly version = new VersionReader(true);
  private peerVersion: string | undefined;
  private readonly ourVersion = 'SSH-2.0-Hostile_1.0';
  private ourKexInit: Buffer;
  private kex: ClientKex | undefined;
  private negotiated: Negotiated | undefined;
  private keyed = false;
  private readyResolve!: () => void;
  private readyReject!: (e: unknown) => void;
  private readonly ready: Promise<void>;

  private constructor(sock: Socket, mode: CipherMode) {
    this.sock = sock;
    this.mode = mode;
    this.ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    this.closed = new Promise((resolve) => sock.once('close', () => resolve()));
    sock.on('error', () => {});
    sock.on('close', () => this.readyReject(new Error('closed before NEWKEYS')));
    sock.on('data', (d: Buffer) => this.onData(d));
    const aead = cipherInfo(mode.cipher)?.aead ?? false;
    this.ourKexInit = encodeKexInit({
      kex: ['curve25519-sha256'],
      hostKey: ['ssh-ed25519'],
      cipherCS: [mode.cipher],
      cipherSC: [mode.cipher],
      macCS: aead ? ['hmac-sha2-256'] : [mode.mac],
      macSC: aead ? ['hmac-sha2-256'] : [mode.mac],
      compressionCS: ['none'],
      compressionSC: ['none'],
      languagesCS: [],
      languagesSC: [],
      firstKexPacketFollows: false,
    });
  }

  /** Connects and completes the key exchange in `mode`; resolves once both directions are keyed. */
  static async connect(port: number, mode: CipherMode): Promise<HostileClient> {
    const sock = connect({ port, host: '127.0.0.1' });
    sock.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const c = new HostileClient(sock, mode);
    c.writeRaw(Buffer.from(`${c.ourVersion}\r\n`));
    c.writeRaw(c.enc.encode(c.ourKexInit));
    await c.ready;
    return c;
  }

  /** Seals `payload` as the next packet and returns its wire bytes without sending them. */
  seal(payload: Buffer): Buffer {
    return this.enc.encode(payload);
  }

  /** Writes bytes as they are. */
  writeRaw(b: Buffer): void {
    if (b.length === 0 || this.sock.destroyed) return;
    this.sent += b.length;
    this.sock.write(b);
  }

  private onData(d: Buffer): void {
    try {
      if (this.peerVersion === undefined) {
        const r = this.version.push(d);
        if (!r.done) return;
        this.peerVersion = r.version;
        d = r.rest;
      }
      this.dec.push(d);
      for (;;) {
        const p = this.dec.next();
        if (!p) break;
        this.onPacket(Buffer.from(p));
      }
    } catch (e) {
      this.readError = e;
      this.readyReject(e);
      this.sock.destroy();
    }
  }

  private onPacket(p: Buffer): void {
    const n = p[0];
    if (n === MSG.DISCONNECT) {
      const r = new SshReader(p, 1);
      this.disconnects.push({ reason: r.uint32(), text: r.utf8() });
      return;
    }
    if (this.keyed) {
      this.received.push(p);
      return;
    }
    if (n === MSG.KEXINIT) {
      const theirs = decodeKexInit(p);
      this.negotiated = negotiate(decodeKexInit(this.ourKexInit), theirs, (c) => cipherInfo(c)?.aead ?? false);
      this.kex = new ClientKex(this.negotiated.kex, this.negotiated.hostKey, {
        clientVersion: this.ourVersion,
        serverVersion: this.peerVersion as string,
        clientKexInit: this.ourKexInit,
        serverKexInit: p,
      });
      this.writeRaw(this.enc.encode(this.kex.start()));
      return;
    }
    if (n === MSG.NEWKEYS) {
      const keys = this.keys;
      if (!keys) throw new Error('NEWKEYS before the exchange finished');
      this.dec.setOpener(createOpener(keys.inKeys));
      this.keyed = true;
      this.readyResolve();
      return;
    }
    if (!this.kex) throw new Error(`unexpected message ${n} before KEXINIT`);
    const out = this.kex.handle(p);
    if ('send' in out) {
      this.writeRaw(this.enc.encode(out.send));
      return;
    }
    const r = out.result;
    this.keys = deriveSessionKeys('client', this.negotiated as Negotiated, r, r.h);
    this.writeRaw(this.enc.encode(Buffer.from([MSG.NEWKEYS])));
    this.enc.setSealer(createSealer(this.keys.outKeys));
  }

  private keys: ReturnType<typeof deriveSessionKeys> | undefined;

  /** Ends our side (half-close) and resolves when the server has closed too, or after `ms`. */
  async endAndWait(ms: number): Promise<boolean> {
    this.sock.end();
    return this.waitClosed(ms);
  }

  /** Resolves true once the socket closed, false after `ms`. */
  async waitClosed(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.closed.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
    clearTimeout(timer);
    return r;
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** True for the error types a receiver may end a connection with. */
export function isTyped(e: unknown): e is SshError {
  return e instanceof SshError;
}
