/** PEM private keys (PKCS#1, SEC1, DSA, PKCS#8 incl. PBES2 with PBKDF2 or scrypt, legacy encrypted PEM), via node:crypto. */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { KeyError, KeyPassphraseError } from '../../errors.js';
import { derSmallInt, readChildren, readSequence, type Tlv } from '../der.js';
import { keyTypeOf } from '../kinds/index.js';
import type { KeyType } from '../types.js';
import { asKeyError } from '../util.js';
import { dearmor, MAX_KEY_FILE } from './armor.js';

/** Most PBKDF2 iterations accepted in an encrypted PKCS#8 key (OpenSSL writes 2048; OWASP suggests 600,000). */
export const PBKDF2_MAX_ITERATIONS = 1_000_000;
/** Largest scrypt cost N accepted (2^20; OpenSSL also refuses more than 32 MiB of scrypt memory). */
export const SCRYPT_MAX_N = 2 ** 20;

const OID_PBES2 = '2a864886f70d01050d';
const OID_PBKDF2 = '2a864886f70d01050c';
const OID_SCRYPT = '2b06010401da47040b';

function oidHex(t: Tlv | undefined): string {
  if (t?.tag !== 0x06) throw new KeyError('expected an OID');
  return t.body.toString('hex');
}

/**
 * Checks the key-derivation cost of an `ENCRYPTED PRIVATE KEY` before node runs it: PBKDF2 iterations, scrypt
 * N/r/p and legacy PBE iteration counts are capped so a hostile file cannot make parsing take minutes.
 */
export function checkPkcs8Cost(text: string): void {
  asKeyError('malformed encrypted PKCS#8 key', () => {
    const top = readSequence(dearmor(text, 'ENCRYPTED PRIVATE KEY'), 4);
    const alg = readChildren((top[0] as Tlv).body, 4);
    const params = alg[1];
    if (params?.tag !== 0x30) throw new KeyError('missing encryption parameters');
    if (oidHex(alg[0]) !== OID_PBES2) {
      // PKCS#5 v1 / PKCS#12 PBE: SEQUENCE { salt, iterations }.
      const p = readChildren(params.body, 4);
      if (derSmallInt(p[1]) > PBKDF2_MAX_ITERATIONS) throw new KeyError('PBE iteration count too large');
      return;
    }
    const pbes2 = readChildren(params.body, 4);
    const kdf = readChildren((pbes2[0] as Tlv).body, 4);
    const kdfOid = oidHex(kdf[0]);
    const kp = readChildren((kdf[1] as Tlv).body, 8);
    if (kdfOid === OID_PBKDF2) {
      if (derSmallInt(kp[1]) > PBKDF2_MAX_ITERATIONS) {
        throw new KeyError(`PBKDF2 iteration count above ${PBKDF2_MAX_ITERATIONS} refused`);
      }
    } else if (kdfOid === OID_SCRYPT) {
      const n = derSmallInt(kp[1]);
      const r = derSmallInt(kp[2]);
      const par = derSmallInt(kp[3]);
      if (n > SCRYPT_MAX_N || r > 32 || par > 16 || n * r * par > SCRYPT_MAX_N * 8) {
        throw new KeyError('scrypt parameters too costly');
      }
    } else {
      throw new KeyError('unsupported PKCS#8 key derivation function');
    }
  });
}

/** True when `text` holds a PEM private key block node may understand. */
export function isPemPrivateKey(text: string): boolean {
  return /-----BEGIN (RSA |EC |DSA |ENCRYPTED |)PRIVATE KEY-----/.test(text);
}

/** Parses a PEM private key; encrypted ones need `passphrase` ({@link KeyPassphraseError} otherwise). */
export function parsePemPrivateKey(text: string, passphrase?: Uint8Array): { type: KeyType; key: KeyObject } {
  if (text.length > MAX_KEY_FILE) throw new KeyError('key file too large');
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(text);
  if (encrypted && passphrase === undefined) throw new KeyPassphraseError('key is encrypted: a passphrase is required');
  if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) checkPkcs8Cost(text);
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

/**
 * Encodes an RSA or ECDSA private key in the "traditional" PEM form `ssh-keygen -m PEM` writes: PKCS#1
 * (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`); with a passphrase, legacy PEM encryption (AES-128-CBC,
 * `Proc-Type: 4,ENCRYPTED`) as OpenSSH does. Other key types have no such form ({@link KeyError}).
 */
export function encodeTraditionalPemPrivateKey(key: KeyObject, passphrase?: Uint8Array): string {
  const type = key.asymmetricKeyType === 'rsa' ? 'pkcs1' : key.asymmetricKeyType === 'ec' ? 'sec1' : undefined;
  if (type === undefined) throw new KeyError(`a ${String(key.asymmetricKeyType)} key has no traditional PEM form`);
  if (passphrase === undefined) return key.export({ type, format: 'pem' }).toString();
  if (passphrase.length === 0) throw new KeyError('empty passphrase: omit it to write a plain key');
  return key.export({ type, format: 'pem', cipher: 'aes-128-cbc', passphrase: Buffer.from(passphrase) }).toString();
}
