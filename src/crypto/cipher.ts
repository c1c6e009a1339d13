/**
 * Packet ciphers (RFC 4253 §6, RFC 4344, OpenSSH PROTOCOL): the cipher table and the factories that
 * turn one direction's negotiated keys into a {@link PacketSealer} / {@link PacketOpener}.
 *
 * Modes:
 * - none (before the first NEWKEYS): clear packets, padding to 8.
 * - classic cipher + MAC (ctr/cbc with hmac-*): the whole packet is encrypted, including the length;
 *   MAC = HMAC(seq || plaintext packet).
 * - encrypt-then-MAC (`*-etm@openssh.com`): the length is clear; MAC = HMAC(seq || length ||
 *   ciphertext), verified before anything is decrypted.
 * - AEAD (aes-gcm, chacha20-poly1305): see `aes-gcm.ts` and `chacha20-poly1305.ts`.
 *
 * CTR counters and CBC chaining continue across packets, so each direction keeps one node:crypto
 * Cipher/Decipher object for the life of its keys.
 */
import { type Cipher, createCipheriv, createDecipheriv, type Decipher } from 'node:crypto';
import { InvalidArgumentError, ProtocolError } from '../errors.js';
import { GcmOpener, GcmSealer } from './aes-gcm.js';
import { ChaChaPolyOpener, ChaChaPolySealer } from './chacha20-poly1305.js';
import { macInfo, PacketMac } from './mac.js';
import type { CipherInfo, DirectionKeys, PacketOpener, PacketSealer } from './types.js';

export { MACS, macInfo } from './mac.js';

const GiB = 1024 * 1024 * 1024;

/** Every cipher secsh implements: the defaults in preference order, then the insecure rows. */
export const CIPHERS: readonly CipherInfo[] = Object.freeze([
  row('chacha20-poly1305@openssh.com', 64, 0, 8, true, false, GiB),
  row('aes128-gcm@openssh.com', 16, 12, 16, true, false, GiB),
  row('aes256-gcm@openssh.com', 32, 12, 16, true, false, GiB),
  row('aes128-ctr', 16, 16, 16, false, false, GiB),
  row('aes192-ctr', 24, 16, 16, false, false, GiB),
  row('aes256-ctr', 32, 16, 16, false, false, GiB),
  row('aes128-cbc', 16, 16, 16, false, true, GiB),
  row('aes192-cbc', 24, 16, 16, false, true, GiB),
  row('aes256-cbc', 32, 16, 16, false, true, GiB),
  // 64-bit block: RFC 4344 §3.2 asks for a rekey every 2^(L/4) = 2^16 blocks = 512 KiB.
  row('3des-cbc', 24, 8, 8, false, true, 2 ** 16 * 8),
]);

function row(
  name: string,
  keyLength: number,
  ivLength: number,
  blockSize: number,
  aead: boolean,
  insecure: boolean,
  rekeyBytes: number,
): CipherInfo {
  return Object.freeze({ name, keyLength, ivLength, blockSize, aead, insecure, rekeyBytes });
}

/** node:crypto names of the non-AEAD ciphers. */
const NODE_NAMES: Readonly<Record<string, string>> = {
  'aes128-ctr': 'aes-128-ctr',
  'aes192-ctr': 'aes-192-ctr',
  'aes256-ctr': 'aes-256-ctr',
  'aes128-cbc': 'aes-128-cbc',
  'aes192-cbc': 'aes-192-cbc',
  'aes256-cbc': 'aes-256-cbc',
  '3des-cbc': 'des-ede3-cbc',
};

const BY_NAME = new Map(CIPHERS.map((c) => [c.name, c]));

/** Looks up a cipher row by its SSH name. */
export function cipherInfo(name: string): CipherInfo | undefined {
  return BY_NAME.get(name);
}

const NONE_SEALER: PacketSealer = Object.freeze({
  blockSize: 8,
  macLength: 0,
  lengthExcludedFromPadding: false,
  seal: (_seq: number, packet: Buffer) => packet,
});

const NONE_OPENER: PacketOpener = Object.freeze({
  headerLength: 4,
  macLength: 0,
  blockSize: 8,
  lengthExcludedFromPadding: false,
  packetLength: (_seq: number, header: Buffer) => header.readUInt32BE(0),
  // A copy: the input may be a reused read buffer (SlabInput), and payloads are kept (KEXINIT).
  open: (_seq: number, data: Buffer) => Buffer.from(data.subarray(4)),
});

/** Validates `keys` against the tables; returns the cipher row and, for non-AEAD ciphers, the MAC. */
function resolve(keys: DirectionKeys): { info: CipherInfo; mac: PacketMac | undefined } {
  const info = cipherInfo(keys.cipher);
  if (!info) throw new InvalidArgumentError(`unsupported cipher: ${keys.cipher}`);
  if (keys.key.length < info.keyLength)
    throw new InvalidArgumentError(`${info.name} needs a ${info.keyLength}-byte key`);
  if (keys.iv.length < info.ivLength) throw new InvalidArgumentError(`${info.name} needs a ${info.ivLength}-byte IV`);
  if (info.aead) return { info, mac: undefined };
  const m = macInfo(keys.mac);
  if (!m) throw new InvalidArgumentError(`unsupported MAC: ${keys.mac}`);
  if (keys.macKey.length < m.keyLength) throw new InvalidArgumentError(`${m.name} needs a ${m.keyLength}-byte key`);
  return { info, mac: new PacketMac(m, keys.macKey) };
}

function nodeCipher(info: CipherInfo, keys: DirectionKeys, encrypt: boolean): Cipher | Decipher {
  const name = NODE_NAMES[info.name];
  if (name === undefined) throw new InvalidArgumentError(`unsupported cipher: ${info.name}`);
  const key = keys.key.subarray(0, info.keyLength);
  const iv = keys.iv.subarray(0, info.ivLength);
  const c = encrypt ? createCipheriv(name, key, iv) : createDecipheriv(name, key, iv);
  c.setAutoPadding(false);
  return c;
}

/** Runs whole blocks through a persistent stream cipher; the output is exactly as long as the input. */
function run(c: Cipher | Decipher, data: Buffer): Buffer {
  const out = c.update(data);
  if (out.length !== data.length) throw new ProtocolError('cipher input is not a whole number of blocks');
  return out;
}

/**
 * Encrypts the concatenation of `parts`, skipping its first `skip` bytes (which must lie in the first
 * part), appending the ciphertext pieces to `out`. Block ciphers may hold back a partial block per
 * part; the total still comes out whole.
 */
function runParts(c: Cipher | Decipher, parts: readonly Buffer[], skip: number, out: Buffer[]): Buffer[] {
  let inLen = 0;
  let outLen = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = i === 0 ? (parts[0] as Buffer).subarray(skip) : (parts[i] as Buffer);
    if (p.length === 0) continue;
    const ct = c.update(p);
    inLen += p.length;
    outLen += ct.length;
    if (ct.length > 0) out.push(ct);
  }
  if (outLen !== inLen) throw new ProtocolError('cipher input is not a whole number of blocks');
  return out;
}

/**
 * Creates the packet encryptor for one direction. `null` is the initial "none" state (no encryption,
 * no MAC, padding to 8, clear length). Throws InvalidArgumentError for unknown names or short keys.
 */
export function createSealer(keys: DirectionKeys | null): PacketSealer {
  if (keys === null) return NONE_SEALER;
  const { info, mac } = resolve(keys);
  if (info.name === 'chacha20-poly1305@openssh.com') return new ChaChaPolySealer(keys.key);
  if (info.aead) return new GcmSealer(info.keyLength, keys.key, keys.iv);
  if (!mac) throw new InvalidArgumentError(`unsupported MAC: ${keys.mac}`);
  const c = nodeCipher(info, keys, true);
  return macInfo(keys.mac)?.etm ? new EtmSealer(info, c, mac) : new ClassicSealer(info, c, mac);
}

/** Creates the packet decryptor for one direction; `null` is the initial "none" state. */
export function createOpener(keys: DirectionKeys | null): PacketOpener {
  if (keys === null) return NONE_OPENER;
  const { info, mac } = resolve(keys);
  if (info.name === 'chacha20-poly1305@openssh.com') return new ChaChaPolyOpener(keys.key);
  if (info.aead) return new GcmOpener(info.keyLength, keys.key, keys.iv);
  if (!mac) throw new InvalidArgumentError(`unsupported MAC: ${keys.mac}`);
  const c = nodeCipher(info, keys, false);
  return macInfo(keys.mac)?.etm ? new EtmOpener(info, c, mac) : new ClassicOpener(info, c, mac);
}

/** Classic mode: encrypt the whole packet, then append HMAC(seq || plaintext packet). */
class ClassicSealer implements PacketSealer {
  readonly blockSize: number;
  readonly macLength: number;
  readonly lengthExcludedFromPadding = false;
  constructor(
    info: CipherInfo,
    private readonly cipher: Cipher | Decipher,
    private readonly mac: PacketMac,
  ) {
    this.blockSize = info.blockSize;
    this.macLength = mac.length;
  }

  seal(seq: number, packet: Buffer): Buffer {
    const out = Buffer.allocUnsafe(packet.length + this.macLength);
    run(this.cipher, packet).copy(out, 0);
    this.mac.compute(seq, packet).copy(out, packet.length);
    return out;
  }

  sealParts(seq: number, parts: readonly Buffer[]): Buffer[] {
    const out = runParts(this.cipher, parts, 0, []);
    out.push(this.mac.computeParts(seq, parts));
    return out;
  }
}

/** Classic mode: the first block is decrypted to learn the length; the MAC is checked after decryption. */
class ClassicOpener implements PacketOpener {
  readonly headerLength: number;
  readonly macLength: number;
  readonly blockSize: number;
  readonly lengthExcludedFromPadding = false;
  readonly discardCorrupt: boolean;
  /** The decrypted first block of the packet in progress, and its sequence number. */
  private first: Buffer | undefined;
  private firstSeq = -1;
  constructor(
    info: CipherInfo,
    private readonly decipher: Cipher | Decipher,
    private readonly mac: PacketMac,
  ) {
    this.headerLength = info.blockSize;
    this.blockSize = info.blockSize;
    this.macLength = mac.length;
    this.discardCorrupt = info.name.endsWith('-cbc');
  }

  discard(seq: number, data: Buffer): void {
    this.decipher.update(data);
    this.mac.compute(seq, data);
  }

  packetLength(seq: number, header: Buffer): number {
    if (this.first === undefined || this.firstSeq !== seq) {
      if (header.length < this.headerLength) throw new ProtocolError('packet header is too short');
      this.first = run(this.decipher, header.subarray(0, this.headerLength));
      this.firstSeq = seq;
    }
    return this.first.readUInt32BE(0);
  }

  open(seq: number, data: Buffer): Buffer {
    const first = this.first;
    if (first === undefined || this.firstSeq !== seq) throw new ProtocolError('open() called before packetLength()');
    const bs = this.headerLength;
    const end = data.length - this.macLength;
    if (end < bs || first.readUInt32BE(0) !== end - 4) throw new ProtocolError('packet has the wrong size');
    this.first = undefined;
    const plain = Buffer.allocUnsafe(end - 4);
    first.copy(plain, 0, 4);
    if (end > bs) run(this.decipher, data.subarray(bs, end)).copy(plain, bs - 4);
    this.mac.verify(seq, data.subarray(end), first.subarray(0, 4), plain);
    return plain;
  }
}

/** Encrypt-then-MAC: clear length, encrypted body, HMAC(seq || length || ciphertext). */
class EtmSealer implements PacketSealer {
  readonly blockSize: number;
  readonly macLength: number;
  readonly lengthExcludedFromPadding = true;
  constructor(
    info: CipherInfo,
    private readonly cipher: Cipher | Decipher,
    private readonly mac: PacketMac,
  ) {
    this.blockSize = info.blockSize;
    this.macLength = mac.length;
  }

  seal(seq: number, packet: Buffer): Buffer {
    const end = packet.length;
    const out = Buffer.allocUnsafe(end + this.macLength);
    packet.copy(out, 0, 0, 4);
    run(this.cipher, packet.subarray(4)).copy(out, 4);
    this.mac.compute(seq, out.subarray(0, end)).copy(out, end);
    return out;
  }

  sealParts(seq: number, parts: readonly Buffer[]): Buffer[] {
    const first = parts[0];
    if (first === undefined || first.length < 4) throw new RangeError('packet is too short');
    const out = runParts(this.cipher, parts, 4, [first.subarray(0, 4)]);
    out.push(this.mac.computeParts(seq, out));
    return out;
  }
}

/** Encrypt-then-MAC: the MAC is verified before a byte is decrypted. */
class EtmOpener implements PacketOpener {
  readonly headerLength = 4;
  readonly macLength: number;
  readonly blockSize: number;
  readonly lengthExcludedFromPadding = true;
  constructor(
    info: CipherInfo,
    private readonly decipher: Cipher | Decipher,
    private readonly mac: PacketMac,
  ) {
    this.blockSize = info.blockSize;
    this.macLength = mac.length;
  }

  packetLength(_seq: number, header: Buffer): number {
    return header.readUInt32BE(0);
  }

  open(seq: number, data: Buffer): Buffer {
    const end = data.length - this.macLength;
    if (end < 4 || data.readUInt32BE(0) !== end - 4) throw new ProtocolError('packet has the wrong size');
    this.mac.verify(seq, data.subarray(end), data.subarray(0, end));
    return run(this.decipher, data.subarray(4, end));
  }
}
