/**
 * Micro-benchmark: seal+open throughput (MB/s) of every cipher (with hmac-sha2-256-etm for the
 * non-AEAD ones) for 32 KiB payloads, plus Poly1305 alone. Open is derived from seal and seal+open. Run: node --import tsx bench/micro-ciphers.ts
 */
import { randomBytes } from 'node:crypto';
import { CIPHERS, createOpener, createSealer } from '../src/crypto/cipher.js';
import { macInfo } from '../src/crypto/mac.js';
import { Poly1305 } from '../src/crypto/poly1305.js';

const PAYLOAD = 32 * 1024;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);

function rate(fn: () => void, bytesPerCall: number): number {
  for (let i = 0; i < 50; i++) fn(); // warm up
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < SECONDS) {
    for (let i = 0; i < 20; i++) fn();
    calls += 20;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  return (calls * bytesPerCall) / elapsed / 1e6;
}

const rows: string[] = [];
const poly = new Poly1305();
const key = randomBytes(32);
const msg = randomBytes(PAYLOAD + 4);
const tag = Buffer.alloc(16);
rows.push(
  `poly1305                        ${rate(() => poly.init(key).update(msg).finish(tag), msg.length).toFixed(0)} MB/s`,
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
  const o = createOpener(keys);
  const body = 1 + PAYLOAD + (s.lengthExcludedFromPadding ? 0 : 4);
  let pad = s.blockSize - (body % s.blockSize);
  if (pad < 4) pad += s.blockSize;
  const packet = randomBytes(4 + 1 + PAYLOAD + pad);
  packet.writeUInt32BE(1 + PAYLOAD + pad, 0);
  packet[4] = pad;
  const sealOnly = createSealer(keys);
  let seq = 0;
  const sealRate = rate(() => sealOnly.seal(seq++, packet), PAYLOAD);
  let rseq = 0;
  const tripRate = rate(() => {
    const w = s.seal(rseq, packet);
    o.packetLength(rseq, w.subarray(0, o.headerLength));
    o.open(rseq, w);
    rseq++;
  }, PAYLOAD);
  // seal+open share the time: open alone = 1 / (1/trip - 1/seal).
  const openRate = 1 / (1 / tripRate - 1 / sealRate);
  rows.push(
    `${`${c.name}${mac ? ` + ${mac.name}` : ''}`.padEnd(32)}seal ${sealRate.toFixed(0)} MB/s, open ${openRate.toFixed(0)} MB/s, seal+open ${tripRate.toFixed(0)} MB/s`,
  );
}
console.log(rows.join('\n'));
