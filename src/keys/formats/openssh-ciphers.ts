/** Ciphers that may protect the private section of an OpenSSH key file (decryption only). */
import { createDecipheriv } from 'node:crypto';
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
  };
}

const CIPHERS: Record<string, KeyFileCipher> = {
  'aes128-ctr': plain('aes-128-ctr', 16),
  'aes192-ctr': plain('aes-192-ctr', 24),
  'aes256-ctr': plain('aes-256-ctr', 32),
  'aes128-cbc': plain('aes-128-cbc', 16),
  'aes192-cbc': plain('aes-192-cbc', 24),
  'aes256-cbc': plain('aes-256-cbc', 32),
  'aes128-gcm@openssh.com': gcm('aes-128-gcm', 16),
  'aes256-gcm@openssh.com': gcm('aes-256-gcm', 32),
};

/** The cipher row for `name`; throws {@link KeyError} for one this library cannot decrypt. */
export function keyFileCipher(name: string): KeyFileCipher {
  const c = Object.hasOwn(CIPHERS, name) ? CIPHERS[name] : undefined;
  if (!c) throw new KeyError(`unsupported key file cipher: ${name.replace(/[^\x20-\x7e]/g, '?').slice(0, 64)}`);
  return c;
}
