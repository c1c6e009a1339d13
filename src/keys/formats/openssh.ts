/** The OpenSSH private key format (`openssh-key-v1`, PROTOCOL.key), reading plain and encrypted files. */
import { type KeyObject, randomBytes } from 'node:crypto';
import { KeyError, KeyPassphraseError } from '../../errors.js';
import { SshReader, SshWriter } from '../../wire/index.js';
import { bcryptPbkdf } from '../bcrypt-pbkdf.js';
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
export function parseOpenSSHPrivateKey(text: string, passphrase?: Uint8Array): DecodedPrivateKey {
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
    if (!isKeyType(type)) throw new KeyError(`unsupported key type: ${type.replace(/[^\x20-\x7e]/g, '?')}`);
    const kind = kindOf(type);
    const key = kind.readPrivate(type, pr);
    const comment = pr.string(MAX_COMMENT).toString('utf8');
    const pad = pr.rest();
    if (pad.length >= blockSize) throw new KeyError('too much padding in private section');
    for (let i = 0; i < pad.length; i++) {
      if (pad[i] !== i + 1) throw new KeyError('bad padding in private section');
    }
    const derived = kind.publicBlob(type, key);
    if (!derived.equals(publicBlob)) throw new KeyError('private key does not match the public key in the file');
    return { type, key, publicBlob, comment };
  });
}

/** Encodes a private key as an unencrypted `openssh-key-v1` file (the text `ssh-keygen` writes). */
export function encodeOpenSSHPrivateKey(type: KeyType, key: KeyObject, publicBlob: Buffer, comment: string): string {
  const kind = kindOf(type);
  const check = randomBytes(4).readUInt32BE(0);
  const priv = new SshWriter(1024).uint32(check).uint32(check).string(type);
  kind.writePrivate(type, key, priv);
  priv.string(comment);
  for (let i = 1; priv.length % 8 !== 0; i++) priv.byte(i);
  const out = new SshWriter(2048)
    .raw(MAGIC)
    .string('none')
    .string('none')
    .string('')
    .uint32(1)
    .string(publicBlob)
    .string(priv.toBuffer());
  const text = armor(out.toBuffer(), OPENSSH_LABEL);
  priv.toBuffer().fill(0);
  out.toBuffer().fill(0);
  return text;
}
