/**
 * OpenSSH key revocation lists (PROTOCOL.krl, what `ssh-keygen -k` writes and `ssh-keygen -Q`, sshd's
 * RevokedKeys and `ssh-keygen -Y verify -r` read): keys revoked by blob or SHA-1/SHA-256 hash, certificates
 * by serial (list, range, bitmap) or key ID, per CA or for every CA. Also the plain alternative those
 * options accept, a text file of public keys.
 */
import { createHash } from 'node:crypto';
import { KeyError } from '../errors.js';
import { SshReader } from '../wire/index.js';
import { Certificate, isCertificateType } from './certificate.js';
import { algorithmFits, isKeyType } from './kinds/index.js';
import { MAX_PUBLIC_BLOB, PublicKey } from './public-key.js';

/** Largest KRL accepted. */
export const MAX_KRL = 64 * 1024 * 1024;
const MAGIC = Buffer.from('SSHKRL\n\0', 'latin1');
const U64_MAX = 0xffff_ffff_ffff_ffffn;
/** sshbuf's largest bignum (16384 bits), the bound on a serial bitmap. */
const MAX_BITMAP = 2048;

const SECTION = { CERTIFICATES: 1, EXPLICIT_KEY: 2, SHA1: 3, SIGNATURE: 4, SHA256: 5 } as const;
const CERT_SECTION = { SERIAL_LIST: 0x20, SERIAL_RANGE: 0x21, SERIAL_BITMAP: 0x22, KEY_ID: 0x23 } as const;

interface CertRevocations {
  /** undefined: every CA. */
  readonly ca: PublicKey | undefined;
  readonly serials: Set<bigint>;
  readonly ranges: [bigint, bigint][];
  readonly bitmaps: { offset: bigint; bits: Buffer }[];
  /** Key IDs as latin1 strings of their bytes. */
  readonly keyIds: Set<string>;
}

/** True when `data` starts with the KRL magic `SSHKRL\n\0`. */
export function isKrl(data: Uint8Array): boolean {
  return data.length >= MAGIC.length && Buffer.from(data.buffer, data.byteOffset, MAGIC.length).equals(MAGIC);
}

function bitSet(bits: Buffer, i: number): boolean {
  const byte = bits[bits.length - 1 - Math.floor(i / 8)];
  return byte !== undefined && (byte & (1 << (i % 8))) !== 0;
}

/** The number of bits up to and including the highest set one. */
function bitLength(bits: Buffer): number {
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i] as number;
    if (b !== 0) return (bits.length - i - 1) * 8 + (32 - Math.clz32(b));
  }
  return 0;
}

/** A parsed KRL. Create with {@link RevocationList.parse}; ask with {@link RevocationList.isRevoked}. */
export class RevocationList {
  /** The KRL's own version number (`ssh-keygen -z`). */
  readonly version: bigint;
  /** When it was generated, seconds since the epoch. */
  readonly generatedAt: bigint;
  /** Its comment. */
  readonly comment: string;
  /** Keys whose signatures over the KRL verified (KRLs made by ssh-keygen are not signed). */
  readonly signedBy: readonly PublicKey[];
  readonly #keys = new Set<string>();
  readonly #sha1 = new Set<string>();
  readonly #sha256 = new Set<string>();
  readonly #certs: CertRevocations[] = [];

  private constructor(version: bigint, generatedAt: bigint, comment: string, signedBy: PublicKey[]) {
    this.version = version;
    this.generatedAt = generatedAt;
    this.comment = comment;
    this.signedBy = signedBy;
  }

  /**
   * Parses a binary KRL strictly, as OpenSSH 9.2's ssh_krl_from_blob: format version 1, known sections with no
   * unparsed bytes, serial 0 and wrapping ranges refused, signature sections last and valid, not every signing
   * key revoked. Throws {@link KeyError}.
   */
  static parse(data: Uint8Array): RevocationList {
    if (data.length > MAX_KRL) throw new KeyError('KRL too large');
    if (!isKrl(data)) throw new KeyError('not a KRL (no SSHKRL magic)');
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    try {
      const r = new SshReader(buf, MAGIC.length);
      if (r.uint32() !== 1) throw new KeyError('unsupported KRL format version');
      const version = r.uint64();
      const generatedAt = r.uint64();
      r.uint64(); // flags
      r.string(buf.length); // reserved
      const comment = r.string(buf.length);
      if (comment.includes(0)) throw new KeyError('KRL comment holds a NUL');
      const sectionsAt = r.offset;
      const signedBy = verifySignatures(buf, sectionsAt);
      const krl = new RevocationList(version, generatedAt, comment.toString('utf8'), signedBy);
      krl.#load(new SshReader(buf, sectionsAt));
      if (signedBy.length > 0 && signedBy.every((k) => krl.isRevoked(k))) {
        throw new KeyError('every key that signed the KRL is revoked');
      }
      return krl;
    } catch (e) {
      if (e instanceof KeyError) throw e;
      throw new KeyError(`malformed KRL${e instanceof Error ? `: ${e.message}` : ''}`, { cause: e });
    }
  }

  #load(r: SshReader): void {
    while (r.remaining > 0) {
      const type = r.byte();
      const sect = new SshReader(r.string(MAX_KRL));
      switch (type) {
        case SECTION.CERTIFICATES:
          this.#certs.push(readCertSection(sect));
          break;
        case SECTION.EXPLICIT_KEY:
          while (sect.remaining > 0) this.#keys.add(sect.string(MAX_KRL).toString('base64'));
          break;
        case SECTION.SHA1:
        case SECTION.SHA256: {
          const len = type === SECTION.SHA1 ? 20 : 32;
          const set = type === SECTION.SHA1 ? this.#sha1 : this.#sha256;
          while (sect.remaining > 0) {
            const h = sect.string(64);
            if (h.length !== len) throw new KeyError('KRL fingerprint of the wrong length');
            set.add(h.toString('hex'));
          }
          break;
        }
        case SECTION.SIGNATURE:
          r.string(MAX_KRL); // the signature (checked before loading); the key was `sect`
          sect.rest();
          break;
        default:
          throw new KeyError(`unsupported KRL section ${type}`);
      }
      sect.ensureEnd('KRL section');
    }
  }

  #plainRevoked(plainBlob: Buffer): boolean {
    return (
      this.#sha1.has(createHash('sha1').update(plainBlob).digest('hex')) ||
      this.#sha256.has(createHash('sha256').update(plainBlob).digest('hex')) ||
      this.#keys.has(plainBlob.toString('base64'))
    );
  }

  #certRevoked(cert: Certificate): boolean {
    const keyId = Buffer.from(cert.keyId, 'utf8').toString('latin1');
    for (const rc of this.#certs) {
      if (rc.ca !== undefined && !rc.ca.equals(cert.signatureKey)) continue;
      if (rc.keyIds.has(keyId)) return true;
      const s = cert.serial;
      if (s === 0n) continue; // serial 0 is what a CA that chose none writes: never revoked by serial
      if (rc.serials.has(s)) return true;
      if (rc.ranges.some(([lo, hi]) => lo <= s && s <= hi)) return true;
      for (const { offset, bits } of rc.bitmaps) {
        if (s >= offset && s - offset < BigInt(bits.length * 8) && bitSet(bits, Number(s - offset))) return true;
      }
    }
    return false;
  }

  /**
   * True when the key is revoked, as OpenSSH's ssh_krl_check_key decides: its (plain) key by blob, SHA-1 or
   * SHA-256; for a certificate also its serial or key ID under its CA or under every CA, and its CA key.
   */
  isRevoked(key: PublicKey | Certificate): boolean {
    if (key instanceof PublicKey) return this.#plainRevoked(key.blob);
    return (
      this.#plainRevoked(key.publicKey.blob) || this.#certRevoked(key) || this.#plainRevoked(key.signatureKey.blob)
    );
  }
}

function readCertSection(r: SshReader): CertRevocations {
  const caBlob = r.string(MAX_PUBLIC_BLOB);
  r.string(MAX_KRL); // reserved
  const rc: CertRevocations = {
    ca: caBlob.length === 0 ? undefined : PublicKey.fromBlob(caBlob),
    serials: new Set(),
    ranges: [],
    bitmaps: [],
    keyIds: new Set(),
  };
  while (r.remaining > 0) {
    const type = r.byte();
    const s = new SshReader(r.string(MAX_KRL));
    switch (type) {
      case CERT_SECTION.SERIAL_LIST:
        while (s.remaining > 0) {
          const serial = s.uint64();
          if (serial === 0n) throw new KeyError('KRL revokes serial 0');
          rc.serials.add(serial);
        }
        break;
      case CERT_SECTION.SERIAL_RANGE: {
        const lo = s.uint64();
        const hi = s.uint64();
        if (lo === 0n || lo > hi) throw new KeyError('bad KRL serial range');
        rc.ranges.push([lo, hi]);
        break;
      }
      case CERT_SECTION.SERIAL_BITMAP: {
        const offset = s.uint64();
        let bits = s.string(MAX_BITMAP + 1);
        if (bits.length > 0 && (bits[0] as number) & 0x80) throw new KeyError('negative KRL serial bitmap');
        if (bits.length === MAX_BITMAP + 1 && bits[0] !== 0) throw new KeyError('KRL serial bitmap too large');
        while (bits.length > 0 && bits[0] === 0) bits = bits.subarray(1);
        const n = bitLength(bits);
        if (n > 1 && offset + BigInt(n - 1) > U64_MAX) throw new KeyError('KRL serial bitmap wraps');
        if (offset === 0n && bitSet(bits, 0)) throw new KeyError('KRL revokes serial 0');
        rc.bitmaps.push({ offset, bits: Buffer.from(bits) });
        break;
      }
      case CERT_SECTION.KEY_ID:
        while (s.remaining > 0) {
          const id = s.string(MAX_KRL);
          if (id.includes(0)) throw new KeyError('KRL key ID holds a NUL');
          rc.keyIds.add(id.toString('latin1'));
        }
        break;
      default:
        throw new KeyError(`unsupported KRL certificate section ${type}`);
    }
    s.ensureEnd('KRL certificate section');
  }
  return rc;
}

/** First pass: signature sections must come last, each verify over the KRL up to its key, once per key. */
function verifySignatures(buf: Buffer, sectionsAt: number): PublicKey[] {
  const r = new SshReader(buf, sectionsAt);
  const keys: PublicKey[] = [];
  let seen = false;
  while (r.remaining > 0) {
    const type = r.byte();
    const body = r.string(MAX_KRL);
    if (type !== SECTION.SIGNATURE) {
      if (seen) throw new KeyError('KRL has a section after its signature');
      continue;
    }
    seen = true;
    const key = PublicKey.fromBlob(body);
    const signedLength = r.offset;
    const sig = r.string(16 * 1024);
    const alg = new SshReader(sig).ascii(64);
    if (!algorithmFits(key.type, alg) || !key.verify(buf.subarray(0, signedLength), sig, alg)) {
      throw new KeyError('bad KRL signature');
    }
    if (keys.some((k) => k.equals(key))) throw new KeyError('KRL signed twice by one key');
    keys.push(key);
  }
  return keys;
}

/**
 * Revoked keys as `ssh-keygen -r` and sshd's RevokedKeys read them: a binary KRL, or else a text file of
 * public keys (and certificates), one per line, `#` comments allowed. A line that is not a key makes the whole
 * list unusable (a {@link KeyError}), so a broken list refuses rather than allows. For a plain list, a key is
 * revoked when listed, and a certificate when its key or its CA is listed.
 */
export function parseRevokedKeys(data: string | Uint8Array): RevocationList | readonly PublicKey[] {
  if (typeof data !== 'string' && isKrl(data)) return RevocationList.parse(data);
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  if (text.length > MAX_KRL) throw new KeyError('revoked keys file too large');
  const out: PublicKey[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = (lines[n] as string).replace(/^[ \t]+/, '');
    if (line === '' || line === '\r' || line.startsWith('#')) continue;
    const m = /^(\S+)[ \t]+([A-Za-z0-9+/]+={0,2})(?:[ \t\r]|$)/.exec(line);
    const type = m?.[1] ?? '';
    if (!m || (!isKeyType(type) && !isCertificateType(type))) {
      throw new KeyError(`revoked keys line ${n + 1} is not a public key`);
    }
    const blob = Buffer.from(m[2] ?? '', 'base64');
    try {
      const cert = isCertificateType(type) ? Certificate.fromBlob(blob) : undefined;
      const key = cert ? cert.publicKey : PublicKey.fromBlob(blob);
      if ((cert ? cert.certType : key.type) !== type) throw new KeyError('key type does not match its blob');
      out.push(key);
    } catch (e) {
      if (!(e instanceof KeyError)) throw e;
      throw new KeyError(`revoked keys line ${n + 1}: ${e.message}`, { cause: e });
    }
  }
  return out;
}

/** True when `list` (from {@link parseRevokedKeys}) revokes the key, or the certificate, its key or its CA. */
export function isKeyRevoked(
  list: RevocationList | readonly PublicKey[],
  key: PublicKey,
  certificate?: Certificate,
): boolean {
  if (list instanceof RevocationList) return list.isRevoked(certificate ?? key);
  const ca = certificate?.signatureKey;
  return list.some((k) => k.equals(key) || (ca !== undefined && k.equals(ca)));
}
