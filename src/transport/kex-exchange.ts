/**
 * The key-exchange method messages (30–49) for both roles, as pure state transitions over bytes:
 * each step consumes a payload and returns payloads to send plus, at the end, the shared secret,
 * exchange hash and (client) the host key and signature to check.
 */

import { chooseGexGroup, hashParts, kexInfo, validateGexGroup } from '../crypto/kex.js';
import type { DhGroup, KexInfo, KexKeyPair } from '../crypto/types.js';
import { DisconnectReason, HostKeyError, ProtocolError } from '../errors.js';
import type { PrivateKey } from '../keys/index.js';
import { Certificate, PublicKey, plainSignatureAlgorithm } from '../keys/index.js';
import type { SignatureAlgorithm } from '../keys/types.js';
import { bigintToUnsigned, MSG, mpintToBigint, SshReader, SshWriter } from '../wire/index.js';

/** Strings both sides hash, in order (V_C, V_S, I_C, I_S). */
export interface HashPrefix {
  clientVersion: string;
  serverVersion: string;
  clientKexInit: Buffer;
  serverKexInit: Buffer;
}

/** The outcome of a finished exchange. */
export interface KexResult {
  /** K encoded as an mpint (or string) with its length prefix. */
  k: Buffer;
  h: Buffer;
  hash: KexInfo['hash'];
  /** Client only: the server's host key, already signature-checked (for a certificate, the certified key). */
  hostKey?: PublicKey;
  /** Client only: the host certificate, when a `*-cert-v01@openssh.com` algorithm was negotiated (not yet verified against a CA). */
  hostCertificate?: Certificate;
  /** Client only: K_S as sent (a host certificate's blob for a certificate) and the server's signature over H (for session-bind@openssh.com). */
  hostKeyBlob?: Buffer;
  signature?: Buffer;
}

/** GEX sizes a client asks for. */
export interface GexSizes {
  /** Smallest group size accepted, in bits. */
  min: number;
  /** Preferred group size, in bits. */
  n: number;
  /** Largest group size accepted, in bits. */
  max: number;
}

export const DEFAULT_GEX: GexSizes = { min: 2048, n: 3072, max: 8192 };

function writePrefix(w: SshWriter, p: HashPrefix): SshWriter {
  return w.string(p.clientVersion).string(p.serverVersion).string(p.clientKexInit).string(p.serverKexInit);
}

/** The public value as it enters messages and the hash: a string for ECDH and KEM (C_INIT, S_REPLY), an mpint for DH. */
function writePublic(w: SshWriter, info: KexInfo, value: Buffer): SshWriter {
  return info.type === 'ecdh' || info.type === 'kem' ? w.string(value) : w.mpintFromUnsigned(value);
}

/** Largest C_INIT/S_REPLY read for a KEM method; the method itself checks the exact length. */
const MAX_KEM_VALUE = 4096;

function readPublic(r: SshReader, info: KexInfo): Buffer {
  if (info.type === 'ecdh') return r.string(1024);
  if (info.type === 'kem') return r.string(MAX_KEM_VALUE);
  const v = mpintToBigint(r.mpintBytes(8193));
  if (v <= 0n) throw new ProtocolError('DH public value out of range', DisconnectReason.KEY_EXCHANGE_FAILED);
  return bigintToUnsigned(v);
}

/** Client side of one key exchange. */
export class ClientKex {
  readonly info: KexInfo;
  private pair: KexKeyPair | undefined;
  private group: DhGroup | undefined;
  private step: 'await-group' | 'await-reply' | 'done';

  constructor(
    name: string,
    private readonly hostKeyAlgorithm: string,
    private readonly prefix: HashPrefix,
    private readonly gex: GexSizes = DEFAULT_GEX,
  ) {
    const info = kexInfo(name);
    if (!info) throw new ProtocolError(`unsupported kex ${name}`, DisconnectReason.KEY_EXCHANGE_FAILED);
    this.info = info;
    this.step = info.type === 'gex' ? 'await-group' : 'await-reply';
  }

  /** The first message the client sends. */
  start(): Buffer {
    if (this.info.type === 'gex') {
      return new SshWriter(32)
        .byte(MSG.KEX_DH_GEX_REQUEST)
        .uint32(this.gex.min)
        .uint32(this.gex.n)
        .uint32(this.gex.max)
        .toBuffer();
    }
    this.pair = this.info.generate(this.info.group);
    // KEXDH_INIT, KEX_ECDH_INIT and KEX_HYBRID_INIT are all message 30 (and their replies 31).
    return writePublic(
      new SshWriter(this.info.type === 'kem' ? 1300 : 600).byte(MSG.KEXDH_INIT),
      this.info,
      this.pair.publicValue,
    ).toBuffer();
  }

  /** Handles a server message; returns a payload to send, or the result. */
  handle(payload: Buffer): { send: Buffer } | { result: KexResult & { hostKey: PublicKey } } {
    const n = payload[0];
    const r = new SshReader(payload, 1);
    if (this.step === 'await-group' && n === MSG.KEX_DH_GEX_GROUP) {
      const p = r.mpint(1025);
      const g = r.mpint(1025);
      r.ensureEnd('KEX_DH_GEX_GROUP');
      const group = { p, g };
      validateGexGroup(group, this.gex.min, this.gex.max);
      this.group = group;
      this.pair = this.info.generate(group);
      this.step = 'await-reply';
      return {
        send: new SshWriter(1100).byte(MSG.KEX_DH_GEX_INIT).mpintFromUnsigned(this.pair.publicValue).toBuffer(),
      };
    }
    const replyMsg = this.info.type === 'gex' ? MSG.KEX_DH_GEX_REPLY : MSG.KEXDH_REPLY;
    if (this.step === 'await-reply' && n === replyMsg && this.pair) {
      const hostKeyBlob = r.string(16 * 1024);
      const serverPublic = readPublic(r, this.info);
      const signature = r.string(16 * 1024);
      r.ensureEnd('KEX reply');
      const k = this.pair.agree(serverPublic);
      const w = writePrefix(new SshWriter(4096), this.prefix).string(hostKeyBlob);
      if (this.info.type === 'gex' && this.group) {
        w.uint32(this.gex.min).uint32(this.gex.n).uint32(this.gex.max).mpint(this.group.p).mpint(this.group.g);
      }
      writePublic(w, this.info, this.pair.publicValue);
      writePublic(w, this.info, serverPublic);
      w.raw(k);
      const h = hashOnce(this.info.hash, w.toBuffer());
      // A certificate algorithm signs H with the plain one (rsa-sha2-512-cert-v01@openssh.com → rsa-sha2-512).
      const sigAlg = plainSignatureAlgorithm(this.hostKeyAlgorithm);
      const isCert = sigAlg !== this.hostKeyAlgorithm;
      let hostKey: PublicKey;
      let hostCertificate: Certificate | undefined;
      try {
        if (isCert) {
          hostCertificate = Certificate.fromBlob(hostKeyBlob);
          hostKey = hostCertificate.publicKey;
        } else {
          hostKey = PublicKey.fromBlob(hostKeyBlob);
        }
      } catch (e) {
        throw new HostKeyError(`server host key could not be parsed: ${(e as Error).message}`);
      }
      // (A certificate's key is of its own type: Certificate.fromBlob derives one from the other.)
      if (!hostKey.signatureAlgorithms.includes(sigAlg as SignatureAlgorithm)) {
        throw new HostKeyError(
          `server sent a ${hostCertificate?.certType ?? hostKey.type} host key for algorithm ${this.hostKeyAlgorithm}`,
          hostKey.fingerprint(),
        );
      }
      if (!hostKey.verify(h, signature, sigAlg as SignatureAlgorithm)) {
        throw new HostKeyError('server host key signature over the exchange hash is invalid', hostKey.fingerprint());
      }
      this.step = 'done';
      return {
        result: {
          k,
          h,
          hash: this.info.hash,
          hostKey,
          hostKeyBlob,
          signature,
          ...(hostCertificate ? { hostCertificate } : {}),
        },
      };
    }
    throw new ProtocolError(`unexpected key exchange message ${n}`, DisconnectReason.PROTOCOL_ERROR);
  }
}

/** Server side of one key exchange. */
export class ServerKex {
  readonly info: KexInfo;
  private step: 'await-request' | 'await-init' | 'done';
  private group: DhGroup | undefined;
  private sizes: GexSizes | undefined;

  /**
   * `hostKeyBlob` is K_S as sent and hashed: the key's own blob by default, or a host certificate's blob
   * (see {@link selectServerHostKey}); `hostKeyAlgorithm` is always the plain signature algorithm.
   */
  constructor(
    name: string,
    private readonly hostKey: PrivateKey,
    private readonly hostKeyAlgorithm: SignatureAlgorithm,
    private readonly prefix: HashPrefix,
    private readonly hostKeyBlob: Buffer = hostKey.publicKey.blob,
  ) {
    const info = kexInfo(name);
    if (!info) throw new ProtocolError(`unsupported kex ${name}`, DisconnectReason.KEY_EXCHANGE_FAILED);
    this.info = info;
    this.step = info.type === 'gex' ? 'await-request' : 'await-init';
  }

  /** Handles a client message; returns payloads to send and, when done, the result. */
  handle(payload: Buffer): { send: Buffer; result?: KexResult } {
    const n = payload[0];
    const r = new SshReader(payload, 1);
    if (this.step === 'await-request' && (n === MSG.KEX_DH_GEX_REQUEST || n === MSG.KEX_DH_GEX_REQUEST_OLD)) {
      let sizes: GexSizes;
      if (n === MSG.KEX_DH_GEX_REQUEST) {
        sizes = { min: r.uint32(), n: r.uint32(), max: r.uint32() };
      } else {
        const bits = r.uint32();
        sizes = { min: bits, n: bits, max: bits };
      }
      r.ensureEnd('KEX_DH_GEX_REQUEST');
      if (sizes.min > sizes.max || sizes.n < sizes.min || sizes.n > sizes.max) {
        throw new ProtocolError('invalid group exchange sizes', DisconnectReason.KEY_EXCHANGE_FAILED);
      }
      this.sizes = sizes;
      this.group = chooseGexGroup(sizes.min, sizes.n, sizes.max);
      this.step = 'await-init';
      return {
        send: new SshWriter(2100).byte(MSG.KEX_DH_GEX_GROUP).mpint(this.group.p).mpint(this.group.g).toBuffer(),
      };
    }
    const initMsg = this.info.type === 'gex' ? MSG.KEX_DH_GEX_INIT : MSG.KEXDH_INIT;
    if (this.step === 'await-init' && n === initMsg) {
      const clientPublic = readPublic(r, this.info);
      r.ensureEnd('KEX init');
      // A KEM method answers the client's value; the others make a keypair and agree.
      let pair: { publicValue: Buffer };
      let k: Buffer;
      if (this.info.respond) {
        const response = this.info.respond(clientPublic);
        pair = response;
        k = response.k;
      } else {
        const ours = this.info.generate(this.info.type === 'gex' ? this.group : this.info.group);
        k = ours.agree(clientPublic);
        pair = ours;
      }
      const hostKeyBlob = this.hostKeyBlob;
      const w = writePrefix(new SshWriter(4096), this.prefix).string(hostKeyBlob);
      if (this.info.type === 'gex' && this.group && this.sizes) {
        w.uint32(this.sizes.min).uint32(this.sizes.n).uint32(this.sizes.max).mpint(this.group.p).mpint(this.group.g);
      }
      writePublic(w, this.info, clientPublic);
      writePublic(w, this.info, pair.publicValue);
      w.raw(k);
      const h = hashOnce(this.info.hash, w.toBuffer());
      const sig = this.hostKey.signSync(h, this.hostKeyAlgorithm);
      const reply = new SshWriter(4096)
        .byte(this.info.type === 'gex' ? MSG.KEX_DH_GEX_REPLY : MSG.KEXDH_REPLY)
        .string(hostKeyBlob);
      writePublic(reply, this.info, pair.publicValue).string(sig);
      this.step = 'done';
      return { send: reply.toBuffer(), result: { k, h, hash: this.info.hash } };
    }
    throw new ProtocolError(`unexpected key exchange message ${n}`, DisconnectReason.PROTOCOL_ERROR);
  }
}

/** What a server signs the exchange hash with for one negotiated host key algorithm. */
export interface ServerHostKeyChoice {
  key: PrivateKey;
  /** The plain signature algorithm (for a certificate algorithm, the name without `-cert-v01@openssh.com`). */
  signatureAlgorithm: SignatureAlgorithm;
  /** K_S: the key blob, or the certificate blob for a `*-cert-v01@openssh.com` algorithm. */
  blob: Buffer;
}

/**
 * Picks the host key (and certificate) for a negotiated host key algorithm: a plain algorithm uses the first
 * key that can make that signature; a certificate algorithm (PROTOCOL.certkeys) uses the first certificate
 * of a matching type whose certified key is in `keys`. Undefined when none fits.
 */
export function selectServerHostKey(
  alg: string,
  keys: readonly PrivateKey[],
  certificates: readonly Certificate[] = [],
): ServerHostKeyChoice | undefined {
  const sigAlg = plainSignatureAlgorithm(alg) as SignatureAlgorithm;
  if (sigAlg === alg) {
    const key = keys.find((k) => k.publicKey.signatureAlgorithms.includes(sigAlg));
    return key ? { key, signatureAlgorithm: sigAlg, blob: key.publicKey.blob } : undefined;
  }
  for (const cert of certificates) {
    if (cert.type !== 'host') continue;
    if (!cert.publicKey.signatureAlgorithms.includes(sigAlg)) continue;
    const key = keys.find((k) => k.publicKey.equals(cert.publicKey));
    if (key) return { key, signatureAlgorithm: sigAlg, blob: cert.blob };
  }
  return undefined;
}

/**
 * The host key algorithms a server can offer: `preference` filtered to those {@link selectServerHostKey}
 * can serve with these keys and certificates (so nothing is advertised that the server cannot sign).
 */
export function serverHostKeyAlgorithms(
  preference: readonly string[],
  keys: readonly PrivateKey[],
  certificates: readonly Certificate[] = [],
): string[] {
  return preference.filter((alg) => selectServerHostKey(alg, keys, certificates) !== undefined);
}

/** H of the exchange-hash input, which is wiped afterwards (it ends with K). */
function hashOnce(hash: KexInfo['hash'], input: Buffer): Buffer {
  const h = hashParts(hash, [input]);
  input.fill(0);
  return h;
}
