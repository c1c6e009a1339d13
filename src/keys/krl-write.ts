/**
 * Writing OpenSSH key revocation lists (PROTOCOL.krl) as `ssh-keygen -k` does: keys revoked by blob or by
 * SHA-1/SHA-256 hash, certificates by serial (single or range) or key ID, per CA or for any CA. Unsigned, as
 * ssh-keygen writes them. {@link RevocationList.parse} reads the result back.
 */
import { createHash } from 'node:crypto';
import { KeyError } from '../errors.js';
import { SshReader, SshWriter } from '../wire/index.js';
import type { Certificate } from './certificate.js';
import { MAX_KRL, RevocationList } from './krl.js';
import type { PublicKey } from './public-key.js';

const MAGIC = Buffer.from('SSHKRL\n\0', 'latin1');
const U64_MAX = 0xffff_ffff_ffff_ffffn;
const SECTION = { CERTIFICATES: 1, EXPLICIT_KEY: 2, SHA1: 3, SHA256: 5 } as const;
const CERT_SECTION = { SERIAL_LIST: 0x20, SERIAL_RANGE: 0x21, KEY_ID: 0x23 } as const;

interface CaEntry {
  ca: PublicKey | undefined;
  ranges: [bigint, bigint][];
  keyIds: Set<string>;
}

/** blob_cmp: bytes first, then the shorter first. */
function blobCompare(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  const r = Buffer.compare(a.subarray(0, n), b.subarray(0, n));
  return r !== 0 ? r : a.length - b.length;
}

/** Sorted, merged serial intervals (adjacent and overlapping ones joined). */
function mergeRanges(ranges: [bigint, bigint][]): [bigint, bigint][] {
  const sorted = [...ranges].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (!last || lo > last[1] + 1n) out.push([lo, hi]);
    else if (hi > last[1]) last[1] = hi;
  }
  return out;
}

/**
 * Collects revocations and encodes them as a binary KRL.
 *
 * @example
 * const krl = new KrlBuilder({ comment: 'lost laptop' });
 * krl.revokeKey(parsePublicKey(line));
 * await writeFile('revoked.krl', krl.toBuffer());
 */
export class KrlBuilder {
  /** The KRL's version number (`ssh-keygen -z`). */
  version: bigint;
  /** The KRL's comment (`ssh-keygen -C`). */
  comment: string;
  readonly #keys = new Map<string, Buffer>();
  readonly #sha1 = new Map<string, Buffer>();
  readonly #sha256 = new Map<string, Buffer>();
  readonly #cas = new Map<string, CaEntry>();
  #kept: Buffer = Buffer.alloc(0);

  constructor(opts: { version?: bigint; comment?: string } = {}) {
    this.version = opts.version ?? 0n;
    this.comment = opts.comment ?? '';
  }

  /**
   * A builder that keeps everything an existing KRL revokes (`ssh-keygen -k -u`): its sections are copied as
   * they are, before the new ones (readers merge sections), with its version and comment. A signed KRL is
   * refused ({@link KeyError}): new sections after its signature would not verify.
   */
  static from(krl: Uint8Array): KrlBuilder {
    const list = RevocationList.parse(krl);
    if (list.signedBy.length > 0) throw new KeyError('a signed KRL cannot be extended');
    const buf = Buffer.from(krl.buffer, krl.byteOffset, krl.byteLength);
    const r = new SshReader(buf, MAGIC.length);
    r.uint32();
    r.uint64();
    r.uint64();
    r.uint64();
    r.string(MAX_KRL);
    r.string(MAX_KRL);
    const b = new KrlBuilder({ version: list.version, comment: list.comment });
    b.#kept = Buffer.from(r.rest());
    return b;
  }

  #ca(ca: PublicKey | undefined): CaEntry {
    const id = ca ? ca.blob.toString('base64') : '';
    let e = this.#cas.get(id);
    if (!e) {
      e = { ca, ranges: [], keyIds: new Set() };
      this.#cas.set(id, e);
    }
    return e;
  }

  /**
   * Revokes a key as ssh_krl_revoke_key does: a plain key by its blob; a certificate by its serial under its
   * CA, or by its key ID when its serial is 0.
   */
  revokeKey(key: PublicKey | Certificate): this {
    if ('certType' in key) {
      if (key.serial === 0n) return this.revokeKeyId(key.signatureKey, key.keyId);
      return this.revokeSerials(key.signatureKey, key.serial, key.serial);
    }
    this.#keys.set(key.blob.toString('base64'), Buffer.from(key.blob));
    return this;
  }

  /** Revokes a key by the SHA-1 hash of its blob (`sha1:` in a `ssh-keygen -k` spec). */
  revokeSha1(key: PublicKey | Uint8Array): this {
    const h = 'blob' in key ? createHash('sha1').update(key.blob).digest() : Buffer.from(key);
    if (h.length !== 20) throw new KeyError('a SHA-1 hash is 20 bytes');
    this.#sha1.set(h.toString('hex'), h);
    return this;
  }

  /** Revokes a key by the SHA-256 hash of its blob (`sha256:` or `hash: SHA256:…`). */
  revokeSha256(key: PublicKey | Uint8Array): this {
    const h = 'blob' in key ? createHash('sha256').update(key.blob).digest() : Buffer.from(key);
    if (h.length !== 32) throw new KeyError('a SHA-256 hash is 32 bytes');
    this.#sha256.set(h.toString('hex'), h);
    return this;
  }

  /** Revokes the certificates with serials `lo`–`hi` (1 or more) signed by `ca` (undefined: by any CA). */
  revokeSerials(ca: PublicKey | undefined, lo: bigint, hi: bigint = lo): this {
    if (lo < 1n || hi < lo || hi > U64_MAX) throw new KeyError('a revoked serial range is 1 ≤ lo ≤ hi < 2^64');
    this.#ca(ca).ranges.push([lo, hi]);
    return this;
  }

  /** Revokes the certificates with key ID `keyId` signed by `ca` (undefined: by any CA). */
  revokeKeyId(ca: PublicKey | undefined, keyId: string): this {
    if (keyId.includes('\0')) throw new KeyError('a key ID holds no NUL');
    this.#ca(ca).keyIds.add(keyId);
    return this;
  }

  /** The binary KRL (format version 1, generated now, not signed). */
  toBuffer(generatedAt: bigint = BigInt(Math.floor(Date.now() / 1000))): Buffer {
    const w = new SshWriter(1024)
      .raw(MAGIC)
      .uint32(1)
      .uint64(this.version)
      .uint64(generatedAt)
      .uint64(0n)
      .string('')
      .string(this.comment)
      .raw(this.#kept);
    for (const e of this.#cas.values()) {
      const s = new SshWriter(256).string(e.ca ? e.ca.blob : Buffer.alloc(0)).string('');
      const merged = mergeRanges(e.ranges);
      const singles = merged.filter(([lo, hi]) => lo === hi);
      if (singles.length > 0) {
        const list = new SshWriter(8 * singles.length);
        for (const [lo] of singles) list.uint64(lo);
        s.byte(CERT_SECTION.SERIAL_LIST).string(list.toBuffer());
      }
      for (const [lo, hi] of merged.filter(([l, h]) => l !== h)) {
        s.byte(CERT_SECTION.SERIAL_RANGE).string(new SshWriter(16).uint64(lo).uint64(hi).toBuffer());
      }
      if (e.keyIds.size > 0) {
        const ids = new SshWriter(64);
        for (const id of [...e.keyIds].sort()) ids.string(id);
        s.byte(CERT_SECTION.KEY_ID).string(ids.toBuffer());
      }
      w.byte(SECTION.CERTIFICATES).string(s.toBuffer());
    }
    for (const [type, map] of [
      [SECTION.EXPLICIT_KEY, this.#keys],
      [SECTION.SHA1, this.#sha1],
      [SECTION.SHA256, this.#sha256],
    ] as const) {
      if (map.size === 0) continue;
      const s = new SshWriter(256);
      for (const b of [...map.values()].sort(blobCompare)) s.string(b);
      w.byte(type).string(s.toBuffer());
    }
    return Buffer.from(w.toBuffer());
  }
}
