/** Entry points that read keys from text or bytes, whatever the format. */
import { createPublicKey } from 'node:crypto';
import { InvalidArgumentError, KeyError } from '../errors.js';
import { MAX_KEY_FILE } from './formats/armor.js';
import { isOpenSSHPrivateKey, parseOpenSSHPrivateKey, readOpenSSHPublicBlob } from './formats/openssh.js';
import { isPemPrivateKey, parsePemPrivateKey } from './formats/pem.js';
import { isPpk, parsePpk } from './formats/ppk.js';
import { isRfc4716, parseRfc4716 } from './formats/rfc4716.js';
import { isKeyType, keyTypeOf, kindOf } from './kinds/index.js';
import { PrivateKey } from './private-key.js';
import { MAX_PUBLIC_BLOB, PublicKey } from './public-key.js';
import { asKeyError } from './util.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });

function looksLikeBlob(b: Uint8Array): boolean {
  if (b.length < 4) return false;
  const len = Buffer.from(b.buffer, b.byteOffset, b.byteLength).readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > b.length) return false;
  return isKeyType(Buffer.from(b.buffer, b.byteOffset + 4, len).toString('latin1'));
}

/**
 * Parses a public key: the OpenSSH one-line form (`ssh-ed25519 AAAA… comment`), RFC 4716
 * (`---- BEGIN SSH2 PUBLIC KEY ----`), a PEM `PUBLIC KEY` (SPKI)
 * block, or (given bytes) a bare SSH public key blob. Throws {@link KeyError}.
 */
export function parsePublicKey(data: string | Uint8Array): PublicKey {
  if (typeof data !== 'string') {
    if (looksLikeBlob(data)) return PublicKey.fromBlob(data);
    if (data.length > MAX_KEY_FILE) throw new KeyError('public key file too large');
    data = utf8.decode(data);
  }
  if (data.length > MAX_KEY_FILE) throw new KeyError('public key file too large');
  if (isRfc4716(data)) {
    const k = parseRfc4716(data);
    return PublicKey.fromBlob(k.blob, k.comment);
  }
  if (data.includes('-----BEGIN PUBLIC KEY-----')) {
    return asKeyError('malformed PEM public key', () => {
      const key = createPublicKey({ key: data, format: 'pem' });
      const type = keyTypeOf(key);
      return PublicKey.fromBlob(kindOf(type).publicBlob(type, key));
    });
  }
  const line = data
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l.length > 0 && !l.startsWith('#'));
  if (line === undefined) throw new KeyError('no public key found');
  const m = /^(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*))?$/.exec(line);
  if (!m) throw new KeyError('not an OpenSSH public key line');
  const [, type = '', b64 = '', comment = ''] = m;
  if (b64.length % 4 !== 0 || (b64.length * 3) / 4 > MAX_PUBLIC_BLOB) throw new KeyError('bad base64 in public key');
  const key = PublicKey.fromBlob(Buffer.from(b64, 'base64'), comment);
  if (key.type !== type) throw new KeyError('public key type does not match the key blob');
  return key;
}

/** Options for {@link parsePrivateKey}. */
export interface ParsePrivateKeyOptions {
  /** Passphrase of an encrypted key (a string is UTF-8 encoded). */
  passphrase?: string | Uint8Array;
  /**
   * Most bcrypt_pbkdf rounds an encrypted OpenSSH key may ask for (default 1000, at most 10,000): each round costs
   * about 15 ms, so a hostile file cannot stall the caller for long.
   */
  maxKdfRounds?: number;
}

/**
 * Parses a private key: OpenSSH format (plain or bcrypt-encrypted with AES-CTR/CBC/GCM) or PEM (PKCS#1, SEC1,
 * PKCS#8, legacy encrypted PEM) or PuTTY .ppk v2/v3. A missing or wrong passphrase throws {@link KeyPassphraseError}; anything else
 * malformed or unsupported throws {@link KeyError}.
 */
export function parsePrivateKey(data: string | Uint8Array, opts: ParsePrivateKeyOptions = {}): PrivateKey {
  if (data.length > MAX_KEY_FILE) throw new KeyError('key file too large');
  const text = typeof data === 'string' ? data : utf8.decode(data);
  const { passphrase } = opts;
  if (passphrase !== undefined && typeof passphrase !== 'string' && !(passphrase instanceof Uint8Array)) {
    throw new InvalidArgumentError('passphrase must be a string or bytes');
  }
  const pass = typeof passphrase === 'string' ? Buffer.from(passphrase, 'utf8') : passphrase;
  if (isOpenSSHPrivateKey(text)) {
    const k = parseOpenSSHPrivateKey(text, pass, opts.maxKdfRounds);
    return PrivateKey.fromKeyObject(k.key, k.comment);
  }
  if (isPpk(text)) {
    const k = parsePpk(text, pass);
    return PrivateKey.fromKeyObject(k.key, k.comment);
  }
  if (isPemPrivateKey(text)) {
    const k = parsePemPrivateKey(text, pass);
    return PrivateKey.fromKeyObject(k.key);
  }
  if (looksLikePath(text)) {
    throw new KeyError(
      `unrecognised private key format: this looks like a file path (${JSON.stringify(text.trim().slice(0, 200))}), not a key; pass the file's contents (readFileSync, readPrivateKeyFile) or, to Client.connect, privateKeyPath`,
    );
  }
  throw new KeyError('unrecognised private key format');
}

/**
 * Parses any key file ssh2's `utils.parseKey` users reach for: a private key (as {@link parsePrivateKey}:
 * OpenSSH, PEM, PuTTY; `passphrase` for an encrypted one) or a public key (as {@link parsePublicKey}:
 * an OpenSSH line, RFC 4716, PEM SPKI, or a bare blob). Both kinds have `type` and `fingerprint()`;
 * tell them apart with `instanceof PrivateKey`. Throws {@link KeyError} (or {@link KeyPassphraseError}).
 *
 * @example
 * const key = parseKey(await readFile('id_ed25519'), { passphrase });
 * console.log(key.type, key.fingerprint(), key instanceof PrivateKey ? 'private' : 'public');
 */
export function parseKey(data: string | Uint8Array, opts: ParsePrivateKeyOptions = {}): PrivateKey | PublicKey {
  if (data.length > MAX_KEY_FILE) throw new KeyError('key file too large');
  const text = typeof data === 'string' ? data : utf8.decode(data);
  if (isOpenSSHPrivateKey(text) || isPpk(text) || isPemPrivateKey(text)) return parsePrivateKey(text, opts);
  try {
    return parsePublicKey(data);
  } catch (e) {
    if (!(e instanceof KeyError)) throw e;
    if (looksLikePath(text)) return parsePrivateKey(text, opts); // throws, saying it looks like a path
    throw new KeyError(
      `unrecognised key format: neither a private key (OpenSSH, PEM, PuTTY) nor a public key (${e.message})`,
      { cause: e },
    );
  }
}

/**
 * The public key of a private key file that can be read without decrypting it: an OpenSSH-format file keeps its
 * public key in the clear (what `ssh-keygen -l`, `-e` and `-y`-less tools use for an encrypted key). Undefined
 * for formats that do not (PEM, PuTTY); throws {@link KeyError} for a malformed OpenSSH file. The comment is
 * empty: it is stored in the (possibly encrypted) private section.
 */
export function publicKeyOfPrivateKeyFile(data: string | Uint8Array): PublicKey | undefined {
  if (data.length > MAX_KEY_FILE) throw new KeyError('key file too large');
  const text = typeof data === 'string' ? data : utf8.decode(data);
  if (!isOpenSSHPrivateKey(text)) return undefined;
  return PublicKey.fromBlob(readOpenSSHPublicBlob(text));
}

/** One short line that reads as a file path (absolute, ~, ./, a drive letter, or a key file's usual name). */
function looksLikePath(text: string): boolean {
  const t = text.trim();
  if (t.length === 0 || t.length > 4096 || /[\r\n]/.test(t)) return false;
  return (
    /^(~|\.{1,2})?[\\/]/.test(t) ||
    /^[A-Za-z]:[\\/]/.test(t) ||
    /(^|[\\/])id_[A-Za-z0-9_]+$/.test(t) ||
    /\.(pem|key|ppk)$/i.test(t)
  );
}
