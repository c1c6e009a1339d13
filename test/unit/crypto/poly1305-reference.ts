/** Straightforward BigInt Poly1305 (RFC 8439 §2.5.1), an independent reference. */
export function reference(key: Buffer, msg: Buffer): Buffer {
  const le = (b: Buffer) => BigInt(`0x${Buffer.from(b).reverse().toString('hex') || '0'}`);
  const r = le(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  const s = le(key.subarray(16, 32));
  const p = (1n << 130n) - 5n;
  let acc = 0n;
  for (let i = 0; i < msg.length; i += 16) {
    const n = le(Buffer.concat([msg.subarray(i, i + 16), Buffer.from([1])]));
    acc = ((acc + n) * r) % p;
  }
  acc = (acc + s) & ((1n << 128n) - 1n);
  return Buffer.from(acc.toString(16).padStart(32, '0'), 'hex').reverse();
}
