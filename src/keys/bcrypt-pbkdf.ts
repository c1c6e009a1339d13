/** bcrypt_pbkdf as OpenSSH defines it (openbsd-compat/bcrypt_pbkdf.c), used by encrypted OpenSSH keys. */
import { createHash } from 'node:crypto';
import { KeyError } from '../errors.js';
import { BlowfishState } from './blowfish.js';

/** Most rounds accepted; `ssh-keygen` defaults to 16 and each round costs ~5 ms per 32 bytes of output. */
export const BCRYPT_MAX_ROUNDS = 10_000;
const HASH_SIZE = 32;
const MAGIC = Buffer.from('OxychromaticBlowfishSwatDynamite', 'latin1');

function sha512(b: Uint8Array): Buffer {
  return createHash('sha512').update(b).digest();
}

/** One bcrypt_hash: an expensive Blowfish schedule over SHA-512(pass) and SHA-512(salt), then 64 encryptions. */
function bcryptHash(sha2pass: Uint8Array, sha2salt: Uint8Array, out: Uint8Array): void {
  const st = new BlowfishState();
  st.expand(sha2salt, sha2pass);
  for (let i = 0; i < 64; i++) {
    st.expand0(sha2salt);
    st.expand0(sha2pass);
  }
  const words = new Uint32Array(8);
  for (let i = 0; i < 8; i++) words[i] = MAGIC.readUInt32BE(i * 4);
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 8; j += 2) {
      st.encipher(words[j] as number, words[j + 1] as number);
      words[j] = st.l;
      words[j + 1] = st.r;
    }
  }
  const view = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < 8; i++) view.writeUInt32LE(words[i] as number, i * 4);
}

/** Derives `keyLength` bytes from `passphrase` and `salt` with `rounds` rounds of bcrypt_pbkdf. */
export function bcryptPbkdf(passphrase: Uint8Array, salt: Uint8Array, rounds: number, keyLength: number): Buffer {
  if (!Number.isInteger(rounds) || rounds < 1) throw new KeyError('bcrypt_pbkdf: rounds must be at least 1');
  if (rounds > BCRYPT_MAX_ROUNDS) throw new KeyError(`bcrypt_pbkdf: more than ${BCRYPT_MAX_ROUNDS} rounds refused`);
  if (passphrase.length === 0) throw new KeyError('bcrypt_pbkdf: empty passphrase');
  if (salt.length === 0 || salt.length > 1024) throw new KeyError('bcrypt_pbkdf: bad salt length');
  if (!Number.isInteger(keyLength) || keyLength < 1 || keyLength > HASH_SIZE * HASH_SIZE) {
    throw new KeyError('bcrypt_pbkdf: bad key length');
  }
  const key = Buffer.alloc(keyLength);
  const stride = Math.ceil(keyLength / HASH_SIZE);
  const amount = Math.ceil(keyLength / stride);
  const sha2pass = sha512(passphrase);
  const countSalt = Buffer.alloc(salt.length + 4);
  countSalt.set(salt);
  const out = new Uint8Array(HASH_SIZE);
  const tmp = new Uint8Array(HASH_SIZE);
  for (let count = 1; count <= stride; count++) {
    countSalt.writeUInt32BE(count, salt.length);
    bcryptHash(sha2pass, sha512(countSalt), tmp);
    out.set(tmp);
    for (let i = 1; i < rounds; i++) {
      bcryptHash(sha2pass, sha512(tmp), tmp);
      for (let j = 0; j < HASH_SIZE; j++) out[j] = (out[j] as number) ^ (tmp[j] as number);
    }
    // Output bytes are spread across the key with stride `stride`, as OpenSSH does.
    for (let i = 0; i < amount; i++) {
      const dest = i * stride + (count - 1);
      if (dest >= keyLength) break;
      key[dest] = out[i] as number;
    }
  }
  out.fill(0);
  tmp.fill(0);
  sha2pass.fill(0);
  return key;
}
