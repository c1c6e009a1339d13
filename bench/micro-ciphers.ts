/**
 * Micro-benchmark: seal and open throughput (MB/s) of every cipher (with hmac-sha2-256-etm for the
 * non-AEAD ones) for 32 KiB payloads, plus Poly1305 alone (default backend and the JS fallback).
 * Each figure is the best of 5 trials (the machine may be shared). Open is measured on packets
 * sealed beforehand. Run: node --import tsx bench/micro-ciphers.ts (env BENCH_PAYLOAD=bytes, BENCH_SECONDS)
 */
import { randomBytes } from 'node:crypto';
import { CIPHERS, createOpener, createSealer } from '../src/crypto/cipher.js';
import { macInfo } from '../src/crypto/mac.js';
import { Poly1305, Poly1305Js } from '../src/crypto/poly1305.js';

const PAYLOAD = Number(process.env.BENCH_PAYLOAD ?? 32 * 1024);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);

function rate(fn: () => void, bytesPerCall: number): number {
  for (let i = 0; i < 50; i++) fn(); // warm up
  let best = 0;
  for (let trial = 0; trial < 5; trial++) {
    let calls = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < SECONDS / 5) {
      for (let i = 0; i < 20; i++) fn();
      calls += 20;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    }
    best = Math.max(best, (calls * bytesPerCall) / elapsed / 1e6);
  }
  return best;
}

const rows: string[] = [];
const poly = new Poly1305();
const key = randomBytes(32);
const msg = randomBytes(PAYLOAD + 4);
const tag = Buffer.alloc(16);
const polyJs = new Poly1305Js();
rows.push(
  `${'poly1305'.padEnd(44)} ${rate(() => poly.init(key).update(msg).finish(tag), msg.length).toFixed(0)} MB/s`,
  `${'poly1305 (JS fallback)'.padEnd(44)} ${rate(() => polyJs.init(key).update(msg).finish(tag), msg.length).toFixed(0)} MB/s`,
);

for (const c of CIPHERS) {
  const mac = c.aead ? undefined : macInfo('hmac-sha2-256-etm@openssh.com');
  const keys = {
    cipher: c.name,
    mac: mac?.name ?? '',
    key: randomBytes(c.keyLength),
    iv: randomBytes(c.ivLength),
    macKey: randomBytes(mac?.keyLength ?? 0),
  };
  const s = createSealer(keys);
  const body = 1 + PAYLOAD + (s.lengthExcludedFromPadding ? 0 : 4);
  let pad = s.blockSize - (body % s.blockSize);
  if (pad < 4) pad += s.blockSize;
  const packet = randomBytes(4 + 1 + PAYLOAD + pad);
  packet.writeUInt32BE(1 + PAYLOAD + pad, 0);
  packet[4] = pad;
  let seq = 0;
  const sealRate = rate(() => s.seal(seq++, packet), PAYLOAD);
  // Open needs packets sealed in order by a fresh sealer (GCM/CTR/CBC keep state), so 64 are sealed
  // once and opened in turn, with a fresh opener (a few µs) for every round of 64.
  const presealer = createSealer(keys);
  const sealed = Array.from({ length: 64 }, (_, i) => presealer.seal(i, packet));
  let o = createOpener(keys);
  let n = 0;
  const openRate = rate(() => {
    if (n === sealed.length) {
      o = createOpener(keys);
      n = 0;
    }
    const w = sealed[n] as Buffer;
    o.packetLength(n, w.subarray(0, o.headerLength));
    o.open(n, w);
    n++;
  }, PAYLOAD);
  rows.push(
    `${`${c.name}${mac ? ` + ${mac.name}` : ''}`.padEnd(44)} seal ${sealRate.toFixed(0)} MB/s, open ${openRate.toFixed(0)} MB/s`,
  );
}
console.log(rows.join('\n'));
