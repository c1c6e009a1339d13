/** Ciphers that may protect the private section of an OpenSSH key file. */
import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto';
import { poly1305 } from '../../crypto/poly1305.js';
import { KeyError, KeyPassphraseError } from '../../errors.js';

/** One row of the key-file cipher table. */
export interface KeyFileCipher {
  readonly keyLength: number;
  readonly ivLength: number;
  readonly blockSize: number;
  /** Bytes of authentication tag following the encrypted section (AEAD only). */
  readonly tagLength: number;
  /** Decrypts `data`; throws {@link KeyPassphraseError} when an AEAD tag does not verify. */
  decrypt(key: Buffer, iv: Buffer, data: Buffer, tag: Buffer): Buffer;
  /** Encrypts `data` (a whole number of blocks); returns the ciphertext and the tag (empty for non-AEAD). */
  encrypt(key: Buffer, iv: Buffer, data: Buffer): { data: Buffer; tag: Buffer };
}

function plain(nodeName: string, keyLength: number): KeyFileCipher {
  return {
    keyLength,
    ivLength: 16,
    blockSize: 16,
    tagLength: 0,
    decrypt(key, iv, data) {
      const d = createDecipheriv(nodeName, key, iv);
      d.setAutoPadding(false);
      return Buffer.concat([d.update(data), d.final()]);
    },
    encrypt(key, iv, data) {
      const c = createCipheriv(nodeName, key, iv);
      c.setAutoPadding(false);
      return { data: Buffer.concat([c.update(data), c.final()]), tag: Buffer.alloc(0) };
    },
  };
}

function gcm(nodeName: 'aes-128-gcm' | 'aes-256-gcm', keyLength: number): KeyFileCipher {
  return {
    keyLength,
    ivLength: 12,
    blockSize: 16,
    tagLength: 16,
    decrypt(key, iv, data, tag) {
      const d = createDecipheriv(nodeName, key, iv, { authTagLength: 16 });
      d.setAuthTag(tag);
      const out = d.update(data);
      try {
        d.final();
      } catch {
        throw new KeyPassphraseError('wrong passphrase (or corrupt key)');
      }
      return out;
    },
    encrypt(key, iv, data) {
      const c = createCipheriv(nodeName, key, iv, { authTagLength: 16 });
      const out = Buffer.concat([c.update(data), c.final()]);
      return { data: out, tag: c.getAuthTag() };
    },
  };
}

/**
 * chacha20-poly1305@openssh.com as used for key files: sequence number 0 and no additional data, so only the
 * first 32 key bytes matter. The Poly1305 key is keystream block 0, the tag covers the whole ciphertext and the
 * payload is decrypted from block counter 1. node's IV is a 32-bit LE counter || 96-bit nonce (all zero here).
 */
const chachaPoly: KeyFileCipher = {
  keyLength: 64,
  ivLength: 0,
  blockSize: 8,
  tagLength: 16,
  decrypt(key, _iv, data, tag) {
    const mainKey = key.subarray(0, 32);
    const polyKey = createCipheriv('chacha20', mainKey, Buffer.alloc(16)).update(Buffer.alloc(32));
    const expected = poly1305(polyKey, data);
    polyKey.fill(0);
    if (!timingSafeEqual(expected, tag)) throw new KeyPassphraseError('wrong passphrase (or corrupt key)');
    const iv = Buffer.alloc(16);
    iv[0] = 1;
    return createCipheriv('chacha20', mainKey, iv).update(data);
  },
  encrypt(key, _iv, data) {
    const mainKey = key.subarray(0, 32);
    const iv = Buffer.alloc(16);
    iv[0] = 1;
    const out = createCipheriv('chacha20', mainKey, iv).update(data);
    const polyKey = createCipheriv('chacha20', mainKey, Buffer.alloc(16)).update(Buffer.alloc(32));
    const tag = poly1305(polyKey, out);
    polyKey.fill(0);
    return { data: out, tag: Buffer.from(tag) };
  },
};

const CIPHERS: Record<string, KeyFileCipher> = {
  'aes128-ctr': plain('aes-128-ctr', 16),
  'aes192-ctr': plain('aes-192-ctr', 24),
  'aes256-ctr': plain('aes-256-ctr', 32),
  'aes128-cbc': plain('aes-128-cbc', 16),
  'aes192-cbc': plain('aes-192-cbc', 24),
  'aes256-cbc': plain('aes-256-cbc', 32),
  'aes128-gcm@openssh.com': gcm('aes-128-gcm', 16),
  'aes256-gcm@openssh.com': gcm('aes-256-gcm', 32),
  'chacha20-poly1305@openssh.com': chachaPoly,
};

/** The cipher row for `name`; throws {@link KeyError} for one this library cannot decrypt. */
export function keyFileCipher(name: string): KeyFileCipher {
  const c = Object.hasOwn(CIPHERS, name) ? CIPHERS[name] : undefined;
  if (!c) throw new KeyError(`unsupported key file cipher: ${name.replace(/[^\x20-\x7e]/g, '?').slice(0, 64)}`);
  return c;
}
