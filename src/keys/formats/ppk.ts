/** PuTTY private key files (.ppk) version 2 (SHA-1 KDF, HMAC-SHA-1) and 3 (Argon2, HMAC-SHA-256): read and write v3. */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { KeyError, KeyPassphraseError } from '../../errors.js';
import { SshReader, SshWriter } from '../../wire/index.js';
import { type Argon2Type, argon2 } from '../argon2.js';
import { isKeyType, kindOf } from '../kinds/index.js';
import { MAX_PUBLIC_BLOB } from '../public-key.js';
import type { KeyType } from '../types.js';
import { asKeyError } from '../util.js';
import { MAX_KEY_FILE } from './armor.js';

const MAX_PRIVATE_BLOB = 16 * 1024;
const LINE = 64;

/** True when `text` looks like a PuTTY key file. */
export function isPpk(text: string): boolean {
  return /^PuTTY-User-Key-File-\d+:/.test(text.trimStart());
}

/** Argon2 settings for writing an encrypted .ppk v3 (defaults: Argon2id, 8192 KiB, 8 passes, 1 lane). */
export interface PpkArgon2Options {
  /** Memory in KiB (default 8192). */
  memory?: number;
  /** Passes (default 8). */
  passes?: number;
  /** Lanes (default 1). */
  parallelism?: number;
}

class Lines {
  private i = 0;
  constructor(private readonly lines: string[]) {}
  header(name: string): string {
    const line = this.lines[this.i++];
    const prefix = `${name}: `;
    if (line === undefined || !line.startsWith(prefix)) throw new KeyError(`PPK: expected ${name}`);
    return line.slice(prefix.length);
  }
  peek(name: string): boolean {
    return this.lines[this.i]?.startsWith(`${name}: `) ?? false;
  }
  body(name: string, maxBytes: number): Buffer {
    const n = Number(this.header(`${name}-Lines`));
    if (!Number.isInteger(n) || n < 0 || n > Math.ceil((maxBytes * 4) / 3 / LINE) + 1)
      throw new KeyError(`PPK: bad ${name}-Lines`);
    const b64 = this.lines.slice(this.i, this.i + n).join('');
    this.i += n;
    if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64))
      throw new KeyError(`PPK: bad base64 in ${name} lines`);
    return Buffer.from(b64, 'base64');
  }
}

function int(s: string, what: string): number {
  if (!/^\d{1,10}$/.test(s)) throw new KeyError(`PPK: bad ${what}`);
  return Number(s);
}

/** The fields covered by the MAC (the same layout in v2 and v3). */
function macInput(alg: string, enc: string, comment: string, pub: Uint8Array, priv: Uint8Array): Buffer {
  return Buffer.from(
    new SshWriter(pub.length + priv.length + 256)
      .string(alg)
      .string(enc)
      .string(comment)
      .string(pub)
      .string(priv)
      .toBuffer(),
  );
}

/** Rebuilds the OpenSSH private fields (after the type name) from the PPK public and private blobs. */
function toOpenSSHFields(type: KeyType, pub: Buffer, priv: Buffer): Buffer {
  const pr = new SshReader(pub);
  if (pr.ascii(64) !== type) throw new KeyError('PPK: public key type does not match the header');
  const sr = new SshReader(priv);
  const w = new SshWriter(4096);
  if (type === 'ssh-ed25519') {
    const pk = pr.string(64);
    const seed = sr.string(64);
    if (seed.length !== 32) throw new KeyError('PPK: bad ed25519 private key');
    w.string(pk).string(Buffer.concat([seed, pk]));
  } else if (type === 'ssh-rsa') {
    const e = pr.string(MAX_PUBLIC_BLOB);
    const n = pr.string(MAX_PUBLIC_BLOB);
    const d = sr.string(MAX_PRIVATE_BLOB);
    const p = sr.string(MAX_PRIVATE_BLOB);
    const q = sr.string(MAX_PRIVATE_BLOB);
    const iqmp = sr.string(MAX_PRIVATE_BLOB);
    w.string(n).string(e).string(d).string(iqmp).string(p).string(q);
  } else if (type === 'ssh-dss') {
    for (let i = 0; i < 4; i++) w.string(pr.string(MAX_PUBLIC_BLOB));
    w.string(sr.string(MAX_PRIVATE_BLOB));
  } else {
    w.string(pr.string(64)).string(pr.string(MAX_PUBLIC_BLOB)).string(sr.string(MAX_PRIVATE_BLOB));
  }
  pr.ensureEnd('PPK public key');
  return Buffer.from(w.toBuffer());
}

/** Parses a .ppk v2 or v3 file; wrong or missing passphrase → {@link KeyPassphraseError}, corrupt → {@link KeyError}. */
export function parsePpk(text: string, passphrase?: Uint8Array): { type: KeyType; key: KeyObject; comment: string } {
  if (text.length > MAX_KEY_FILE) throw new KeyError('key file too large');
  return asKeyError('malformed PuTTY key file', () => {
    const lines = new Lines(
      text
        .trim()
        .split(/\r?\n/)
        .map((l) => l.replace(/\s+$/, '')),
    );
    const first = text.trimStart().split(/\r?\n/, 1)[0] ?? '';
    const m = /^PuTTY-User-Key-File-(\d+): (\S+)$/.exec(first);
    if (!m) throw new KeyError('PPK: bad header');
    const version = Number(m[1]);
    const alg = m[2] ?? '';
    if (version !== 2 && version !== 3) throw new KeyError(`PPK version ${m[1]} is not supported`);
    if (!isKeyType(alg)) throw new KeyError(`PPK: unsupported key type ${alg.slice(0, 64)}`);
    lines.header(`PuTTY-User-Key-File-${version}`);
    const enc = lines.header('Encryption');
    if (enc !== 'none' && enc !== 'aes256-cbc') throw new KeyError(`PPK: unsupported encryption ${enc.slice(0, 32)}`);
    const comment = lines.header('Comment');
    const pub = lines.body('Public', MAX_PUBLIC_BLOB);
    let kdf: { type: Argon2Type; memory: number; passes: number; parallelism: number; salt: Buffer } | undefined;
    if (version === 3 && enc !== 'none') {
      const name = lines.header('Key-Derivation');
      const type = ({ Argon2id: 'argon2id', Argon2i: 'argon2i', Argon2d: 'argon2d' } as const)[name as 'Argon2id'];
      if (!type) throw new KeyError('PPK: unsupported key derivation');
      const memory = int(lines.header('Argon2-Memory'), 'Argon2-Memory');
      const passes = int(lines.header('Argon2-Passes'), 'Argon2-Passes');
      const parallelism = int(lines.header('Argon2-Parallelism'), 'Argon2-Parallelism');
      const saltHex = lines.header('Argon2-Salt');
      if (!/^([0-9a-fA-F]{2}){1,64}$/.test(saltHex)) throw new KeyError('PPK: bad Argon2-Salt');
      kdf = { type, memory, passes, parallelism, salt: Buffer.from(saltHex, 'hex') };
    }
    let priv = lines.body('Private', MAX_PRIVATE_BLOB);
    const macHex = lines.header('Private-MAC');
    if (!/^[0-9a-fA-F]+$/.test(macHex)) throw new KeyError('PPK: bad Private-MAC');
    const mac = Buffer.from(macHex, 'hex');

    let macKey: Buffer;
    if (enc === 'none') {
      macKey = version === 3 ? Buffer.alloc(0) : createHash('sha1').update('putty-private-key-file-mac-key').digest();
    } else {
      if (passphrase === undefined || passphrase.length === 0) {
        throw new KeyPassphraseError('key is encrypted: a passphrase is required');
      }
      if (priv.length === 0 || priv.length % 16 !== 0)
        throw new KeyError('PPK: encrypted private blob is not whole blocks');
      let key: Buffer;
      let iv: Buffer;
      if (version === 3 && kdf) {
        const km = argon2({ ...kdf, password: passphrase, tagLength: 80 });
        key = km.subarray(0, 32);
        iv = km.subarray(32, 48);
        macKey = Buffer.from(km.subarray(48, 80));
      } else {
        const h = (n: number): Buffer =>
          createHash('sha1')
            .update(Buffer.from([0, 0, 0, n]))
            .update(passphrase)
            .digest();
        key = Buffer.concat([h(0), h(1)]).subarray(0, 32);
        iv = Buffer.alloc(16);
        macKey = createHash('sha1').update('putty-private-key-file-mac-key').update(passphrase).digest();
      }
      const d = createDecipheriv('aes-256-cbc', key, iv);
      d.setAutoPadding(false);
      priv = Buffer.concat([d.update(priv), d.final()]);
      key.fill(0);
    }
    const expected = createHmac(version === 3 ? 'sha256' : 'sha1', macKey)
      .update(macInput(alg, enc, comment, pub, priv))
      .digest();
    macKey.fill(0);
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) {
      if (enc !== 'none') throw new KeyPassphraseError('wrong passphrase (or corrupt key)');
      throw new KeyError('PPK: MAC does not verify (corrupt file)');
    }
    const fields = toOpenSSHFields(alg, pub, priv);
    priv.fill(0);
    const key = kindOf(alg).readPrivate(alg, new SshReader(fields));
    fields.fill(0);
    if (!kindOf(alg).publicBlob(alg, key).equals(pub)) throw new KeyError('PPK: private key does not match public key');
    return { type: alg, key, comment };
  });
}

function wrap(b: Uint8Array): string[] {
  const s = Buffer.from(b).toString('base64');
  const out: string[] = [];
  for (let i = 0; i < s.length; i += LINE) out.push(s.slice(i, i + LINE));
  return out;
}

/** The PPK private blob of a key, built from its OpenSSH private fields. */
function ppkPrivateBlob(type: KeyType, key: KeyObject): Buffer {
  const w = new SshWriter(4096);
  kindOf(type).writePrivate(type, key, w);
  const r = new SshReader(w.toBuffer());
  const out = new SshWriter(4096);
  if (type === 'ssh-ed25519') {
    r.string();
    out.string(r.string().subarray(0, 32));
  } else if (type === 'ssh-rsa') {
    r.string();
    r.string();
    const d = r.string();
    const iqmp = r.string();
    const p = r.string();
    const q = r.string();
    out.string(d).string(p).string(q).string(iqmp);
  } else if (type === 'ssh-dss') {
    for (let i = 0; i < 4; i++) r.string();
    out.string(r.string());
  } else {
    r.string();
    r.string();
    out.string(r.string());
  }
  const blob = Buffer.from(out.toBuffer());
  w.toBuffer().fill(0);
  out.toBuffer().fill(0);
  return blob;
}

/** Encodes a key as a PuTTY .ppk version 3 file; with a passphrase, AES-256-CBC keyed by Argon2id. */
export function encodePpk(
  type: KeyType,
  key: KeyObject,
  publicBlob: Buffer,
  comment: string,
  passphrase?: Uint8Array,
  a2: PpkArgon2Options = {},
): string {
  if (passphrase !== undefined && passphrase.length === 0)
    throw new KeyError('empty passphrase: omit it to write a plain key');
  if (/[\r\n]/.test(comment)) throw new KeyError('PPK comments cannot contain line breaks');
  const enc = passphrase ? 'aes256-cbc' : 'none';
  let priv = ppkPrivateBlob(type, key);
  const head = [`PuTTY-User-Key-File-3: ${type}`, `Encryption: ${enc}`, `Comment: ${comment}`];
  head.push(`Public-Lines: ${wrap(publicBlob).length}`, ...wrap(publicBlob));
  let macKey = Buffer.alloc(0);
  let stored = priv;
  if (passphrase) {
    const memory = a2.memory ?? 8192;
    const passes = a2.passes ?? 8;
    const parallelism = a2.parallelism ?? 1;
    const salt = randomBytes(16);
    const km = argon2({ type: 'argon2id', password: passphrase, salt, memory, passes, parallelism, tagLength: 80 });
    const pad = (16 - (priv.length % 16)) % 16;
    if (pad) priv = Buffer.concat([priv, randomBytes(pad)]);
    const c = createCipheriv('aes-256-cbc', km.subarray(0, 32), km.subarray(32, 48));
    c.setAutoPadding(false);
    stored = Buffer.concat([c.update(priv), c.final()]);
    macKey = Buffer.from(km.subarray(48, 80));
    km.fill(0);
    head.push(
      'Key-Derivation: Argon2id',
      `Argon2-Memory: ${memory}`,
      `Argon2-Passes: ${passes}`,
      `Argon2-Parallelism: ${parallelism}`,
      `Argon2-Salt: ${salt.toString('hex')}`,
    );
  }
  const mac = createHmac('sha256', macKey)
    .update(macInput(type, enc, comment, publicBlob, priv))
    .digest('hex');
  const body = wrap(stored);
  priv.fill(0);
  macKey.fill(0);
  head.push(`Private-Lines: ${body.length}`, ...body, `Private-MAC: ${mac}`);
  return `${head.join('\n')}\n`;
}
