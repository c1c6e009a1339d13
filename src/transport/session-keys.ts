/**
 * What a finished key exchange yields, without I/O: the six keys of RFC 4253 §7.2 for both
 * directions (as the sealer/opener inputs), the byte limit for the next rekey, and the EXT_INFO
 * codec (RFC 8308) the transport sends and reads around it.
 */
import { DEFAULT_ALGORITHMS } from '../crypto/algorithms.js';
import { cipherInfo, macInfo } from '../crypto/cipher.js';
import { deriveKey } from '../crypto/kex.js';
import type { DirectionKeys, HashName } from '../crypto/types.js';
import { ProtocolError } from '../errors.js';
import { MSG, SshReader, SshWriter } from '../wire/index.js';
import type { Negotiated } from './kexinit.js';
import { PING_EXTENSION, PING_EXTENSION_VERSION } from './ping.js';

/** Default bytes between rekeys when the cipher states no safe limit of its own. */
export const DEFAULT_REKEY_BYTES = 1024 * 1024 * 1024;

/** Keys and compression of both directions, from our side's point of view. */
/** Client role: the first exchange's host key as sent and its signature over H (what `session-bind@openssh.com` carries). */
export interface SessionHostKey {
  /** The server's host key blob from the first key exchange. */
  blob: Buffer;
  /** The host key's signature over the session identifier. */
  signature: Buffer;
}

export interface SessionKeys {
  outKeys: DirectionKeys;
  inKeys: DirectionKeys;
  outCompression: string;
  inCompression: string;
}

/**
 * Derives both directions' keys from the exchange's K and H (with `sessionId`, the first H):
 * client→server uses letters A/C/E, server→client B/D/F; AEAD ciphers get no MAC key.
 */
export function deriveSessionKeys(
  role: 'client' | 'server',
  neg: Negotiated,
  exchange: { hash: HashName; k: Buffer; h: Buffer },
  sessionId: Buffer,
): SessionKeys {
  const { hash, k, h } = exchange;
  const make = (cipher: string, mac: string, letters: ['A' | 'B', 'C' | 'D', 'E' | 'F']): DirectionKeys => {
    const ci = cipherInfo(cipher);
    if (!ci) throw new ProtocolError(`unsupported cipher ${cipher}`);
    const mi = ci.aead ? undefined : macInfo(mac);
    if (!ci.aead && !mi) throw new ProtocolError(`unsupported MAC ${mac}`);
    return {
      cipher,
      mac: ci.aead ? '' : mac,
      iv: deriveKey(hash, k, h, letters[0], sessionId, ci.ivLength),
      key: deriveKey(hash, k, h, letters[1], sessionId, ci.keyLength),
      macKey: mi ? deriveKey(hash, k, h, letters[2], sessionId, mi.keyLength) : Buffer.alloc(0),
    };
  };
  const cs = make(neg.cipherCS, neg.macCS, ['A', 'C', 'E']);
  const sc = make(neg.cipherSC, neg.macSC, ['B', 'D', 'F']);
  return role === 'client'
    ? { outKeys: cs, inKeys: sc, outCompression: neg.compressionCS, inCompression: neg.compressionSC }
    : { outKeys: sc, inKeys: cs, outCompression: neg.compressionSC, inCompression: neg.compressionCS };
}

/** Bytes after which to rekey: the smaller cipher limit of the two directions, and the caller's limit. */
export function rekeyByteLimit(keys: SessionKeys, callerLimit: number | undefined): number {
  const limits = [
    cipherInfo(keys.outKeys.cipher)?.rekeyBytes ?? DEFAULT_REKEY_BYTES,
    cipherInfo(keys.inKeys.cipher)?.rekeyBytes ?? DEFAULT_REKEY_BYTES,
  ];
  if (callerLimit) limits.push(callerLimit);
  return Math.min(...limits);
}

/** Signature algorithms a server announces in server-sig-algs when not told otherwise: the default host key list. */
export const DEFAULT_SERVER_SIG_ALGS: readonly string[] = Object.freeze([...DEFAULT_ALGORITHMS.hostKey]);

/** SSH_MSG_EXT_INFO with server-sig-algs. */
export function encodeServerSigAlgs(algs: readonly string[]): Buffer {
  return new SshWriter(256).byte(MSG.EXT_INFO).uint32(1).string('server-sig-algs').string(algs.join(',')).toBuffer();
}

/**
 * The server's SSH_MSG_EXT_INFO: server-sig-algs (`algs`, default {@link DEFAULT_SERVER_SIG_ALGS}) and
 * `ping@openssh.com` (it answers SSH2_MSG_PING, see ping.ts), as sshd sends them.
 */
export function encodeServerExtInfo(algs: readonly string[] = DEFAULT_SERVER_SIG_ALGS): Buffer {
  return new SshWriter(256)
    .byte(MSG.EXT_INFO)
    .uint32(2)
    .string('server-sig-algs')
    .string(algs.join(','))
    .string(PING_EXTENSION)
    .string(PING_EXTENSION_VERSION)
    .toBuffer();
}

/** Reads SSH_MSG_EXT_INFO (at most 64 extensions, names ≤ 256 bytes, values ≤ 64 KiB) into `into`. */
export function decodeExtInfo(p: Buffer, into: Map<string, Buffer>): void {
  const r = new SshReader(p, 1);
  const count = r.uint32();
  if (count > 64) throw new ProtocolError('too many extensions in EXT_INFO');
  for (let i = 0; i < count; i++) {
    const name = r.ascii(256);
    const value = r.string(64 * 1024);
    into.set(name, Buffer.from(value));
  }
  r.ensureEnd('EXT_INFO');
}
