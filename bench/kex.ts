/**
 * Micro-benchmark: CPU time of one key exchange's arithmetic per method — the client's keypair, the
 * server's response (for the KEM hybrids: encapsulation plus X25519; for curve25519: its keypair and
 * agreement) and the client's agreement (decapsulation plus X25519) — as the median of N runs, and the
 * extra over curve25519-sha256. Also sntrup761's own key generation, encapsulation and decapsulation.
 * No I/O: pure functions of bytes, as the transport calls them.
 * Run: npm run bench:kex (env BENCH_N=runs, default 200)
 */
import { KEX_METHODS } from '../src/crypto/kex.js';
import { sntrup761Decapsulate, sntrup761Encapsulate, sntrup761KeyPair } from '../src/crypto/sntrup761.js';
import { sntrup761UsesWasm } from '../src/crypto/sntrup761-poly.js';

const N = Number(process.env.BENCH_N ?? 200);

function median(fn: () => void): number {
  for (let i = 0; i < Math.min(20, N); i++) fn(); // warm up the JIT
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[N >> 1] as number;
}

/** One exchange: client generate, server respond (or its own keypair and agreement), client agree. */
function handshake(name: string): () => void {
  const row = KEX_METHODS.find((k) => k.name === name);
  if (!row) throw new Error(`no KEX row ${name}`);
  return () => {
    const client = row.generate();
    if (row.respond) {
      const reply = row.respond(client.publicValue);
      client.agree(reply.publicValue);
    } else {
      const server = row.generate();
      server.agree(client.publicValue);
      client.agree(server.publicValue);
    }
  };
}

const methods = ['curve25519-sha256', 'mlkem768x25519-sha256', 'sntrup761x25519-sha512'];
const rows: [string, number][] = methods.map((m) => [m, median(handshake(m))]);
const base = rows[0]?.[1] ?? 0;
console.log(
  `key exchange arithmetic per handshake, median of ${N} (ms); sntrup761 on ${sntrup761UsesWasm() ? 'WebAssembly SIMD' : 'JavaScript'}`,
);
for (const [name, ms] of rows) {
  const extra = name === methods[0] ? '' : `  (+${(ms - base).toFixed(3)} over curve25519)`;
  console.log(`  ${name.padEnd(28)} ${ms.toFixed(3)}${extra}`);
}
let kp = sntrup761KeyPair();
const enc = sntrup761Encapsulate(kp.publicKey);
console.log('sntrup761 alone (ms):');
console.log(
  `  keygen (client)              ${median(() => {
    kp = sntrup761KeyPair();
  }).toFixed(3)}`,
);
console.log(`  encapsulate (server)         ${median(() => sntrup761Encapsulate(kp.publicKey)).toFixed(3)}`);
console.log(
  `  decapsulate (client)         ${median(() => sntrup761Decapsulate(enc.ciphertext, kp.secretKey)).toFixed(3)}`,
);
