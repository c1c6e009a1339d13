/** Small helpers shared by the key kinds and formats. */
import { KeyError, SshError } from '../errors.js';
import type { SshReader } from '../wire/index.js';

/** Runs `fn`, turning any non-key error (a short read, an OpenSSL refusal) into a {@link KeyError}. */
export function asKeyError<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof KeyError || (e instanceof SshError && e.code === 'ERR_SSH_KEY_PASSPHRASE')) throw e;
    const detail = e instanceof SshError ? `: ${e.message}` : '';
    throw new KeyError(`${what}${detail}`, { cause: e });
  }
}

/**
 * Reads an mpint that must be positive and at most `maxBytes` long (a leading zero byte, if any, does not
 * count). Returns the unsigned big-endian magnitude with leading zeros stripped. With `minimal`, a zero
 * byte the sign does not need is refused (RFC 4251 §5 forbids it): public key blobs are compared and
 * revoked by their bytes, so one key must have one encoding.
 */
export function readPositiveMpint(r: SshReader, maxBytes: number, what: string, minimal = false): Buffer {
  const len = r.uint32();
  if (len > maxBytes + 1) throw new KeyError(`${what} is too large (${len} bytes, at most ${maxBytes})`);
  const raw = r.raw(len);
  if (raw.length === 0) throw new KeyError(`${what} is zero`);
  if ((raw[0] as number) & 0x80) throw new KeyError(`${what} is negative`);
  if (minimal && raw[0] === 0 && !((raw[1] ?? 0) & 0x80)) throw new KeyError(`${what} has a needless leading zero`);
  let i = 0;
  while (i < raw.length && raw[i] === 0) i++;
  const mag = raw.subarray(i);
  if (mag.length === 0) throw new KeyError(`${what} is zero`);
  if (mag.length > maxBytes) throw new KeyError(`${what} is too large`);
  return mag;
}

/** Unsigned big-endian bytes → base64url (JWK form, no leading zeros). */
export function b64u(b: Uint8Array): string {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return Buffer.from(b.buffer, b.byteOffset + i, b.byteLength - i).toString('base64url');
}

/** base64url → bytes, left-padded with zeros to `length` when given. */
export function fromB64u(s: string | undefined, length?: number): Buffer {
  if (s === undefined) throw new KeyError('key export is missing a component');
  const b = Buffer.from(s, 'base64url');
  if (length === undefined || b.length === length) return b;
  if (b.length > length) throw new KeyError('key component too long');
  const out = Buffer.alloc(length);
  b.copy(out, length - b.length);
  return out;
}

/** Unsigned bytes → bigint. */
export function toBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`);
}

/** Number of significant bits of unsigned big-endian bytes. */
export function bitLength(b: Uint8Array): number {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return 0;
  return (b.length - i - 1) * 8 + (32 - Math.clz32(b[i] as number));
}
