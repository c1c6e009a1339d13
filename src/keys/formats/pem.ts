/** PEM private keys (PKCS#1, SEC1, PKCS#8, legacy encrypted PEM), read through node:crypto. */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { KeyError, KeyPassphraseError } from '../../errors.js';
import { keyTypeOf } from '../kinds/index.js';
import type { KeyType } from '../types.js';
import { asKeyError } from '../util.js';
import { MAX_KEY_FILE } from './armor.js';

/** True when `text` holds a PEM private key block node may understand. */
export function isPemPrivateKey(text: string): boolean {
  return /-----BEGIN (RSA |EC |ENCRYPTED |)PRIVATE KEY-----/.test(text);
}

/** Parses a PEM private key; encrypted ones need `passphrase` ({@link KeyPassphraseError} otherwise). */
export function parsePemPrivateKey(text: string, passphrase?: Uint8Array): { type: KeyType; key: KeyObject } {
  if (text.length > MAX_KEY_FILE) throw new KeyError('key file too large');
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(text);
  if (encrypted && passphrase === undefined) throw new KeyPassphraseError('key is encrypted: a passphrase is required');
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: text,
      format: 'pem',
      ...(encrypted && passphrase !== undefined ? { passphrase: Buffer.from(passphrase) } : {}),
    });
  } catch (e) {
    if (encrypted) throw new KeyPassphraseError('wrong passphrase (or corrupt key)');
    throw new KeyError('malformed PEM private key', { cause: e });
  }
  return asKeyError('unsupported PEM private key', () => ({ type: keyTypeOf(key), key }));
}

/** Encodes a private key as PKCS#8 PEM; with a passphrase, as `ENCRYPTED PRIVATE KEY` (PBES2, PBKDF2, AES-256-CBC). */
export function encodePkcs8PrivateKey(key: KeyObject, passphrase?: Uint8Array): string {
  if (passphrase === undefined) return key.export({ type: 'pkcs8', format: 'pem' }).toString();
  if (passphrase.length === 0) throw new KeyError('empty passphrase: omit it to write a plain key');
  return key
    .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: Buffer.from(passphrase) })
    .toString();
}
