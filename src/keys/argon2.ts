/**
 * Argon2 (RFC 9106), version 0x13, types d/i/id — used by PuTTY .ppk v3 key files. node:crypto has no Argon2
 * before v24, so this is a plain-JS implementation: 64-bit words are kept as (low, high) 32-bit pairs.
 */
import { createHash } from 'node:crypto';
import { KeyError } from '../errors.js';
import { blake2b } from './blake2b.js';

/** Argon2 variants by their type number. */
export type Argon2Type = 'argon2d' | 'argon2i' | 'argon2id';
const TYPE_NUM: Record<Argon2Type, number> = { argon2d: 0, argon2i: 1, argon2id: 2 };

/** Parameters of {@link argon2}. */
export interface Argon2Params {
  /** The variant (PuTTY's PPK v3 uses `argon2id` by default). */
  type: Argon2Type;
  /** The password (passphrase) bytes. */
  password: Uint8Array;
  /** The salt, 8 to 1024 bytes. */
  salt: Uint8Array;
  /** Memory in KiB (blocks of 1 KiB), at least 8 × `parallelism`, at most `ARGON2_LIMITS.maxMemory`. */
  memory: number;
  /** Passes over the memory (time cost), 1 to `ARGON2_LIMITS.maxPasses`. */
  passes: number;
  /** Lanes, 1 to `ARGON2_LIMITS.maxParallelism` (lanes change the result). */
  parallelism: number;
  /** Bytes of output, 4 to 1024. */
  tagLength: number;
  /** Optional key (Argon2's secret input K). */
  secret?: Uint8Array;
  /** Optional associated data (Argon2's input X). */
  associatedData?: Uint8Array;
}

/** Limits checked before any work: memory (KiB), passes, lanes, and memory × passes (block computations). */
export const ARGON2_LIMITS = {
  /** Most memory, in KiB (256 MiB). */
  maxMemory: 256 * 1024,
  /** Most passes. */
  maxPasses: 256,
  /** Most lanes. */
  maxParallelism: 64,
  /** Most memory (KiB) × passes, i.e. 1 KiB block computations (524,288). */
  maxCost: 8192 * 64,
};

const WORDS = 256; // 32-bit words in a 1 KiB block

function le32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** H' of RFC 9106 §3.3: variable-length hash built from BLAKE2b. */
function hashPrime(out: number, input: Uint8Array): Buffer {
  const x = Buffer.concat([le32(out), input]);
  if (out <= 64) return blake2b(x, out);
  const parts: Buffer[] = [];
  let v = createHash('blake2b512').update(x).digest();
  parts.push(v.subarray(0, 32));
  let left = out - 32;
  while (left > 64) {
    v = createHash('blake2b512').update(v).digest();
    parts.push(v.subarray(0, 32));
    left -= 32;
  }
  parts.push(left === 64 ? createHash('blake2b512').update(v).digest() : blake2b(v, left));
  return Buffer.concat(parts);
}

/** High 32 bits of the 64-bit product of two unsigned 32-bit numbers. */
function mulHi(x: number, y: number): number {
  const a0 = x & 0xffff;
  const a1 = x >>> 16;
  const b0 = y & 0xffff;
  const b1 = y >>> 16;
  const t = a1 * b0 + ((a0 * b0) >>> 16);
  const w1 = (t & 0xffff) + a0 * b1;
  return (a1 * b1 + (t >>> 16) + (w1 >>> 16)) >>> 0;
}

/** v[x] = v[x] + v[y] + 2 * lo32(v[x]) * lo32(v[y]) (mod 2^64); indices are of 64-bit words. */
function fBlaMka(v: Uint32Array, x: number, y: number): void {
  const xl = v[2 * x] as number;
  const yl = v[2 * y] as number;
  const pLo = Math.imul(xl, yl) >>> 0;
  const pHi = mulHi(xl, yl);
  const dLo = (pLo << 1) >>> 0;
  const dHi = ((pHi << 1) | (pLo >>> 31)) >>> 0;
  const lo = xl + yl + dLo;
  v[2 * x] = lo >>> 0;
  v[2 * x + 1] = ((v[2 * x + 1] as number) + (v[2 * y + 1] as number) + dHi + ((lo / 4294967296) | 0)) >>> 0;
}

/** v[d] = rotr64(v[d] ^ v[a], n). */
function rotrXor(v: Uint32Array, d: number, a: number, n: number): void {
  const lo = ((v[2 * d] as number) ^ (v[2 * a] as number)) >>> 0;
  const hi = ((v[2 * d + 1] as number) ^ (v[2 * a + 1] as number)) >>> 0;
  if (n === 32) {
    v[2 * d] = hi;
    v[2 * d + 1] = lo;
  } else if (n < 32) {
    v[2 * d] = ((lo >>> n) | (hi << (32 - n))) >>> 0;
    v[2 * d + 1] = ((hi >>> n) | (lo << (32 - n))) >>> 0;
  } else {
    const m = n - 32; // rotate right by n = swap halves, then rotate right by n - 32
    v[2 * d] = ((hi >>> m) | (lo << (32 - m))) >>> 0;
    v[2 * d + 1] = ((lo >>> m) | (hi << (32 - m))) >>> 0;
  }
}

// BlaMka G on 64-bit words a, b, c, d of `v`.
function gb(v: Uint32Array, a: number, b: number, c: number, d: number): void {
  fBlaMka(v, a, b);
  rotrXor(v, d, a, 32);
  fBlaMka(v, c, d);
  rotrXor(v, b, c, 24);
  fBlaMka(v, a, b);
  rotrXor(v, d, a, 16);
  fBlaMka(v, c, d);
  rotrXor(v, b, c, 63);
}

/** The permutation P on the 16 words of `block` listed in `w` (word indices). */
function permute(v: Uint32Array, w: Int32Array): void {
  gb(v, w[0] as number, w[4] as number, w[8] as number, w[12] as number);
  gb(v, w[1] as number, w[5] as number, w[9] as number, w[13] as number);
  gb(v, w[2] as number, w[6] as number, w[10] as number, w[14] as number);
  gb(v, w[3] as number, w[7] as number, w[11] as number, w[15] as number);
  gb(v, w[0] as number, w[5] as number, w[10] as number, w[15] as number);
  gb(v, w[1] as number, w[6] as number, w[11] as number, w[12] as number);
  gb(v, w[2] as number, w[7] as number, w[8] as number, w[13] as number);
  gb(v, w[3] as number, w[4] as number, w[9] as number, w[14] as number);
}

const ROWS: Int32Array[] = [];
const COLS: Int32Array[] = [];
for (let i = 0; i < 8; i++) {
  ROWS.push(Int32Array.from({ length: 16 }, (_, j) => 16 * i + j));
  COLS.push(Int32Array.from({ length: 16 }, (_, j) => 2 * i + (j % 2) + 16 * Math.floor(j / 2)));
}

const r = new Uint32Array(WORDS);
const q = new Uint32Array(WORDS);

/** The compression function G: out = P(x ^ y) ^ (x ^ y), XORed into out when `xor` (passes after the first). */
function compress(mem: Uint32Array, x: number, y: number, out: number, xor: boolean): void {
  for (let i = 0; i < WORDS; i++) r[i] = ((mem[x + i] as number) ^ (mem[y + i] as number)) >>> 0;
  q.set(r);
  for (const row of ROWS) permute(q, row);
  for (const col of COLS) permute(q, col);
  if (xor)
    for (let i = 0; i < WORDS; i++)
      mem[out + i] = ((mem[out + i] as number) ^ (q[i] as number) ^ (r[i] as number)) >>> 0;
  else for (let i = 0; i < WORDS; i++) mem[out + i] = ((q[i] as number) ^ (r[i] as number)) >>> 0;
}

/** Derives `tagLength` bytes with Argon2. Throws {@link KeyError} when a parameter is out of range or too costly. */
export function argon2(p: Argon2Params): Buffer {
  const { memory, passes, parallelism: lanes, tagLength } = p;
  const L = ARGON2_LIMITS;
  if (!Number.isInteger(lanes) || lanes < 1 || lanes > L.maxParallelism) throw new KeyError('Argon2: bad parallelism');
  if (!Number.isInteger(passes) || passes < 1 || passes > L.maxPasses) throw new KeyError('Argon2: bad pass count');
  if (!Number.isInteger(memory) || memory < 8 * lanes || memory > L.maxMemory)
    throw new KeyError('Argon2: bad memory size');
  if (memory * passes > L.maxCost) throw new KeyError('Argon2: memory × passes too costly');
  if (!Number.isInteger(tagLength) || tagLength < 4 || tagLength > 1024) throw new KeyError('Argon2: bad tag length');
  if (p.salt.length < 8 || p.salt.length > 1024) throw new KeyError('Argon2: bad salt length');
  const type = TYPE_NUM[p.type];
  if (type === undefined) throw new KeyError('Argon2: unknown type');
  const secret = p.secret ?? new Uint8Array(0);
  const ad = p.associatedData ?? new Uint8Array(0);
  const h0 = createHash('blake2b512')
    .update(Buffer.concat([le32(lanes), le32(tagLength), le32(memory), le32(passes), le32(0x13), le32(type)]))
    .update(le32(p.password.length))
    .update(p.password)
    .update(le32(p.salt.length))
    .update(p.salt)
    .update(le32(secret.length))
    .update(secret)
    .update(le32(ad.length))
    .update(ad)
    .digest();

  const segLen = Math.floor(memory / (4 * lanes));
  const laneLen = segLen * 4;
  const blocks = laneLen * lanes;
  const mem = new Uint32Array(blocks * WORDS);
  const at = (lane: number, col: number): number => (lane * laneLen + col) * WORDS;
  const loadBlock = (dst: number, bytes: Buffer): void => {
    for (let i = 0; i < WORDS; i++) mem[dst + i] = bytes.readUInt32LE(i * 4);
  };
  for (let l = 0; l < lanes; l++) {
    loadBlock(at(l, 0), hashPrime(1024, Buffer.concat([h0, le32(0), le32(l)])));
    loadBlock(at(l, 1), hashPrime(1024, Buffer.concat([h0, le32(1), le32(l)])));
  }

  // Scratch for data-independent addressing: [zero block | input block | address block] outside `mem`.
  const scratch = new Uint32Array(3 * WORDS);
  const ZERO = 0;
  const INPUT = WORDS;
  const ADDR = 2 * WORDS;
  const nextAddresses = (): void => {
    scratch[INPUT + 12] = ((scratch[INPUT + 12] as number) + 1) >>> 0;
    compress(scratch, ZERO, INPUT, ADDR, false);
    compress(scratch, ZERO, ADDR, ADDR, false);
  };

  for (let pass = 0; pass < passes; pass++) {
    for (let slice = 0; slice < 4; slice++) {
      for (let lane = 0; lane < lanes; lane++) {
        const independent = type === 1 || (type === 2 && pass === 0 && slice < 2);
        if (independent) {
          scratch.fill(0);
          scratch[INPUT] = pass;
          scratch[INPUT + 2] = lane;
          scratch[INPUT + 4] = slice;
          scratch[INPUT + 6] = blocks;
          scratch[INPUT + 8] = passes;
          scratch[INPUT + 10] = type;
        }
        let start = 0;
        if (pass === 0 && slice === 0) {
          start = 2;
          if (independent) nextAddresses();
        }
        for (let i = start; i < segLen; i++) {
          const col = slice * segLen + i;
          const prevCol = col === 0 ? laneLen - 1 : col - 1;
          let j1: number;
          let j2: number;
          if (independent) {
            if (i % 128 === 0) nextAddresses();
            j1 = scratch[ADDR + 2 * (i % 128)] as number;
            j2 = scratch[ADDR + 2 * (i % 128) + 1] as number;
          } else {
            j1 = mem[at(lane, prevCol)] as number;
            j2 = mem[at(lane, prevCol) + 1] as number;
          }
          const refLane = pass === 0 && slice === 0 ? lane : j2 % lanes;
          const same = refLane === lane;
          let area: number;
          if (pass === 0) {
            if (slice === 0) area = i - 1;
            else area = same ? slice * segLen + i - 1 : slice * segLen + (i === 0 ? -1 : 0);
          } else {
            area = same ? laneLen - segLen + i - 1 : laneLen - segLen + (i === 0 ? -1 : 0);
          }
          const rel = area - 1 - mulHi(area, mulHi(j1, j1));
          const startPos = pass !== 0 && slice !== 3 ? (slice + 1) * segLen : 0;
          const refCol = (startPos + rel) % laneLen;
          compress(mem, at(lane, prevCol), at(refLane, refCol), at(lane, col), pass !== 0);
        }
      }
    }
  }

  const final = Buffer.alloc(1024);
  const acc = new Uint32Array(WORDS);
  for (let l = 0; l < lanes; l++) {
    const off = at(l, laneLen - 1);
    for (let i = 0; i < WORDS; i++) acc[i] = ((acc[i] as number) ^ (mem[off + i] as number)) >>> 0;
  }
  for (let i = 0; i < WORDS; i++) final.writeUInt32LE(acc[i] as number, i * 4);
  mem.fill(0);
  const tag = hashPrime(tagLength, final);
  final.fill(0);
  return tag;
}
