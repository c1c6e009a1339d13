/**
 * NIST's AES-256-CTR DRBG as the post-quantum submissions' KAT generator (rng.c, PQCgenKAT_kem.c) uses
 * it: `randombytes_init(entropy48)` then `randombytes(n)`, each call drawing counter blocks and then
 * updating key and counter. AES-256 comes from node:crypto (ECB on the counter blocks). Tests only.
 */

import { createCipheriv } from 'node:crypto';

export class NistDrbg {
  private key = Buffer.alloc(32);
  private v = Buffer.alloc(16);

  constructor(entropy: Uint8Array) {
    if (entropy.length !== 48) throw new RangeError('NIST DRBG entropy input is 48 bytes');
    this.update(entropy);
  }

  /** The next n bytes, as the KAT generator's randombytes(x, n). */
  randombytes(n: number): Buffer {
    const blocks = Math.ceil(n / 16);
    // Counter blocks for the output, then three more for the key/counter update, under one key.
    const counters = Buffer.alloc(16 * (blocks + 3));
    for (let i = 0; i < blocks + 3; i++) {
      this.increment();
      this.v.copy(counters, 16 * i);
    }
    const stream = this.encrypt(counters);
    const out = Buffer.from(stream.subarray(0, n));
    this.key = Buffer.from(stream.subarray(16 * blocks, 16 * blocks + 32));
    this.v = Buffer.from(stream.subarray(16 * blocks + 32, 16 * blocks + 48));
    return out;
  }

  private update(provided?: Uint8Array): void {
    const counters = Buffer.alloc(48);
    for (let i = 0; i < 3; i++) {
      this.increment();
      this.v.copy(counters, 16 * i);
    }
    const temp = this.encrypt(counters);
    if (provided) for (let i = 0; i < 48; i++) temp[i] = (temp[i] as number) ^ (provided[i] as number);
    this.key = Buffer.from(temp.subarray(0, 32));
    this.v = Buffer.from(temp.subarray(32, 48));
  }

  private increment(): void {
    for (let j = 15; j >= 0; j--) {
      if (this.v[j] === 0xff) this.v[j] = 0;
      else {
        this.v[j] = (this.v[j] as number) + 1;
        break;
      }
    }
  }

  private encrypt(blocks: Buffer): Buffer {
    const c = createCipheriv('aes-256-ecb', this.key, null).setAutoPadding(false);
    return Buffer.concat([c.update(blocks), c.final()]);
  }
}

/** The 100 seeds of a KAT file: a DRBG from entropy 0, 1, ..., 47 draws 48 bytes per entry. */
export function katSeeds(count: number): Buffer[] {
  const entropy = Uint8Array.from({ length: 48 }, (_, i) => i);
  const drbg = new NistDrbg(entropy);
  return Array.from({ length: count }, () => drbg.randombytes(48));
}
