/** The OpenSSH private key format (`openssh-key-v1`, PROTOCOL.key), reading plain and encrypted files. */
import { type KeyObject, randomBytes } from 'node:crypto';
import { KeyError, KeyPassphraseError } from '../../errors.js';
import { SshReader, SshWriter } from '../../wire/index.js';
import { BCRYPT_MAX_ROUNDS, bcryptPbkdf } from '../bcrypt-pbkdf.js';
import { isKeyType, kindOf } from '../kinds/index.js';
import { MAX_PUBLIC_BLOB } from '../public-key.js';
import type { KeyType } from '../types.js';
import { asKeyError } from '../util.js';
import { armor, dearmor } from './armor.js';
import { keyFileCipher } from './openssh-ciphers.js';

export const OPENSSH_LABEL = 'OPENSSH PRIVATE KEY';
const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
/** Largest private section accepted (a 16384-bit RSA key needs ~10 KiB). */
const MAX_SECTION = 64 * 1024;
const MAX_COMMENT = 4096;

/** Default most bcrypt rounds a key file may ask for when read (~15 ms each here; ssh-keygen's default is 16). */
export const DEFAULT_MAX_ROUNDS = 1000;

/** A decoded OpenSSH private key. */
export interface DecodedPrivateKey {
  readonly type: KeyType;
  readonly key: KeyObject;
  readonly publicBlob: Buffer;
  readonly comment: string;
}

/** True when `text` looks like an OpenSSH-format private key. */
export function isOpenSSHPrivateKey(text: string): boolean {
  return text.includes(`-----BEGIN ${OPENSSH_LABEL}-----`);
}

/**
 * Parses an `openssh-key-v1` private key. Encrypted keys (bcrypt KDF with AES-CTR/CBC/GCM) need `passphrase`:
 * none given or a wrong one → {@link KeyPassphraseError}; anything malformed → {@link KeyError}.
 */
export function parseOpenSSHPrivateKey(
  text: string,
  passphrase?: Uint8Array,
  maxRounds: number = DEFAULT_MAX_ROUNDS,
): DecodedPrivateKey {
  return readOpenSSHKeyFile(text, passphrase, maxRounds, (type, pr, publicBlob) => {
    if (!isKeyType(type)) throw new KeyError(`unsupported key type: ${type.replace(/[^\x20-\x7e]/g, '?')}`);
    const kind = kindOf(type);
    const key = kind.readPrivate(type, pr);
    return {
      value: { type, key, publicBlob },
      check: () => {
        if (!kind.publicBlob(type, key).equals(publicBlob)) {
          throw new KeyError('private key does not match the public key in the file');
        }
      },
    };
  });
}

/**
 * The public key blob an `openssh-key-v1` file carries in the clear (before its private section), which can be
 * read without the passphrase of an encrypted key. Throws {@link KeyError} when the file is malformed.
 */
export function readOpenSSHPublicBlob(text: string): Buffer {
  const data = dearmor(text, OPENSSH_LABEL);
  return asKeyError('malformed OpenSSH private key', () => {
    if (data.length < MAGIC.length || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new KeyError('not an openssh-key-v1 key (bad magic)');
    }
    const r = new SshReader(data, MAGIC.length);
    r.ascii(64);
    r.ascii(64);
    r.string(1024);
    const nkeys = r.uint32();
    if (nkeys !== 1) throw new KeyError(`OpenSSH key files with ${nkeys} keys are not supported`);
    return Buffer.from(r.string(MAX_PUBLIC_BLOB));
  });
}

/**
 * Opens an `openssh-key-v1` file (decrypting it when it is encrypted) and hands the private section, after the
 * check values and the key type, to `body`; then reads the comment and checks the padding. `body` returns its
 * value and a check run after the padding (a mismatch with the public key is reported after a wrong
 * passphrase would have been). Errors as {@link parseOpenSSHPrivateKey}.
 */
export function readOpenSSHKeyFile<T>(
  text: string,
  passphrase: Uint8Array | undefined,
  maxRounds: number,
  body: (type: string, r: SshReader, publicBlob: Buffer) => { value: T; check: () => void },
): T & { comment: string } {
  const data = dearmor(text, OPENSSH_LABEL);
  return asKeyError('malformed OpenSSH private key', () => {
    if (data.length < MAGIC.length || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new KeyError('not an openssh-key-v1 key (bad magic)');
    }
    const r = new SshReader(data, MAGIC.length);
    const cipherName = r.ascii(64);
    const kdfName = r.ascii(64);
    const kdfOptions = r.string(1024);
    const nkeys = r.uint32();
    if (nkeys !== 1) throw new KeyError(`OpenSSH key files with ${nkeys} keys are not supported`);
    const publicBlob = Buffer.from(r.string(MAX_PUBLIC_BLOB));
    const section = r.string(MAX_SECTION);

    let plain: Buffer;
    let blockSize: number;
    const encrypted = cipherName !== 'none';
    if (!encrypted) {
      if (kdfName !== 'none' || kdfOptions.length !== 0) throw new KeyError('unencrypted key with a KDF');
      r.ensureEnd('OpenSSH private key');
      plain = section;
      blockSize = 8;
    } else {
      if (kdfName !== 'bcrypt') throw new KeyError(`unsupported key file KDF: ${kdfName.slice(0, 64)}`);
      const cipher = keyFileCipher(cipherName);
      const tag = r.raw(cipher.tagLength);
      r.ensureEnd('OpenSSH private key');
      blockSize = cipher.blockSize;
      if (passphrase === undefined || passphrase.length === 0)
        throw new KeyPassphraseError('key is encrypted: a passphrase is required');
      const kr = new SshReader(kdfOptions);
      const salt = kr.string(1024);
      const rounds = kr.uint32();
      kr.ensureEnd('bcrypt KDF options');
      if (section.length === 0 || section.length % blockSize !== 0) {
        throw new KeyError('encrypted section is not a whole number of blocks');
      }
      if (rounds > maxRounds) {
        throw new KeyError(`bcrypt KDF with ${rounds} rounds refused (limit ${maxRounds}; see maxKdfRounds)`);
      }
      const km = bcryptPbkdf(passphrase, salt, rounds, cipher.keyLength + cipher.ivLength);
      const key = km.subarray(0, cipher.keyLength);
      const iv = km.subarray(cipher.keyLength);
      try {
        plain = cipher.decrypt(key, iv, section, tag);
      } finally {
        km.fill(0);
      }
    }
    if (plain.length % blockSize !== 0) throw new KeyError('private section is not padded to the block size');

    const pr = new SshReader(plain);
    const check1 = pr.uint32();
    const check2 = pr.uint32();
    if (check1 !== check2) {
      if (encrypted) throw new KeyPassphraseError('wrong passphrase');
      throw new KeyError('corrupt OpenSSH private key (check values differ)');
    }
    const type = pr.ascii(64);
    const { value, check } = body(type, pr, publicBlob);
    const comment = pr.string(MAX_COMMENT).toString('utf8');
    const pad = pr.rest();
    // OpenSSH checks only the 1, 2, 3, … pattern (PuTTY pads unencrypted keys to 16 bytes); bound it anyway.
    if (pad.length > 255) throw new KeyError('too much padding in private section');
    for (let i = 0; i < pad.length; i++) {
      if (pad[i] !== i + 1) throw new KeyError('bad padding in private section');
    }
    check();
    return { ...value, comment };
  });
}

/** Options for {@link encodeOpenSSHPrivateKey}. */
export interface OpenSSHEncodeOptions {
  /** Encrypts the private section with a key derived by bcrypt_pbkdf from this passphrase. */
  passphrase?: Uint8Array;
  /** bcrypt_pbkdf rounds (default 16, as ssh-keygen). */
  rounds?: number;
  /** Cipher for an encrypted key (default `aes256-ctr`, as ssh-keygen). */
  cipher?: string;
}

/** Encodes a private key as an `openssh-key-v1` file, encrypted when a passphrase is given (as `ssh-keygen`). */
export function encodeOpenSSHPrivateKey(
  type: KeyType,
  key: KeyObject,
  publicBlob: Buffer,
  comment: string,
  opts: OpenSSHEncodeOptions = {},
): string {
  const kind = kindOf(type);
  const encrypted = opts.passphrase !== undefined;
  if (encrypted && opts.passphrase?.length === 0) throw new KeyError('empty passphrase: omit it to write a plain key');
  const cipherName = encrypted ? (opts.cipher ?? 'aes256-ctr') : 'none';
  const cipher = encrypted ? keyFileCipher(cipherName) : undefined;
  const rounds = opts.rounds ?? 16;
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > BCRYPT_MAX_ROUNDS) {
    throw new KeyError(`bcrypt rounds must be 1–${BCRYPT_MAX_ROUNDS}`);
  }
  const blockSize = cipher ? cipher.blockSize : 8;
  const check = randomBytes(4).readUInt32BE(0);
  const priv = new SshWriter(1024).uint32(check).uint32(check).string(type);
  kind.writePrivate(type, key, priv);
  priv.string(comment);
  for (let i = 1; priv.length % blockSize !== 0; i++) priv.byte(i);
  let section = priv.toBuffer();
  let kdfName = 'none';
  let kdfOptions: Uint8Array = Buffer.alloc(0);
  let tag: Buffer = Buffer.alloc(0);
  if (cipher && opts.passphrase) {
    const salt = randomBytes(16);
    kdfName = 'bcrypt';
    kdfOptions = new SshWriter(32).string(salt).uint32(rounds).toBuffer();
    const km = bcryptPbkdf(opts.passphrase, salt, rounds, cipher.keyLength + cipher.ivLength);
    try {
      const enc = cipher.encrypt(km.subarray(0, cipher.keyLength), km.subarray(cipher.keyLength), section);
      section.fill(0);
      section = enc.data;
      tag = enc.tag;
    } finally {
      km.fill(0);
    }
  }
  const out = new SshWriter(2048)
    .raw(MAGIC)
    .string(cipherName)
    .string(kdfName)
    .string(kdfOptions)
    .uint32(1)
    .string(publicBlob)
    .string(section)
    .raw(tag);
  const text = armor(out.toBuffer(), OPENSSH_LABEL);
  section.fill(0);
  out.toBuffer().fill(0);
  return text;
}
