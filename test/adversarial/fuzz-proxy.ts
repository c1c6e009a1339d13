/**
 * A tampering TCP proxy on 127.0.0.1 for framing tests. It forwards both ways and follows the
 * server→client stream through its clear part (version line, then unencrypted packets) to the
 * server's NEWKEYS; from there it hands each byte's offset to a tamper plan that may flip bits,
 * cut the stream, or add bytes after a given offset.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { MSG } from '../../src/wire/index.js';

/** What to do with the server's bytes after its NEWKEYS (offsets count from the first keyed byte). */
export interface TamperPlan {
  /** Bits to flip: byte offset and bit number. */
  flips?: { offset: number; bit: number }[];
  /** Forward only this many keyed bytes, then close both sides. */
  cutAt?: number;
  /** Bytes to insert once `after` keyed bytes have been forwarded (junk, or a replayed packet). */
  insert?: { after: number; bytes: Buffer | ((seen: Buffer) => Buffer) };
}

export interface TamperProxy {
  port: number;
  /** Keyed server→client bytes forwarded so far, per connection. */
  keyedBytes: Buffer[];
  close(): Promise<void>;
}

/** Starts a proxy to 127.0.0.1:`target` applying `plan()` (asked once per connection). */
export async function startTamperProxy(target: number, plan: () => TamperPlan): Promise<TamperProxy> {
  const sockets = new Set<Socket>();
  const keyedBytes: Buffer[] = [];
  const server: Server = createServer((client) => {
    const p = plan();
    const upstream = connect({ port: target, host: '127.0.0.1' });
    sockets.add(client);
    sockets.add(upstream);
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (d: Buffer) => upstream.write(d));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    let clear: Buffer = Buffer.alloc(0);
    let keyedSeen = -1; // keyed bytes forwarded; -1 while still in the clear phase
    const seen: Buffer[] = [];
    const index = keyedBytes.length;
    keyedBytes.push(Buffer.alloc(0));
    let inserted = false;
    let cut = false;
    const forwardKeyed = (d: Buffer) => {
      if (cut) return;
      let out = Buffer.from(d);
      for (const f of p.flips ?? []) {
        const i = f.offset - keyedSeen;
        if (i >= 0 && i < out.length) out[i] = (out[i] as number) ^ (1 << f.bit);
      }
      if (p.cutAt !== undefined && keyedSeen + out.length >= p.cutAt) {
        out = out.subarray(0, p.cutAt - keyedSeen);
        cut = true;
      }
      const pieces: Buffer[] = [];
      if (p.insert && !inserted && keyedSeen + out.length >= p.insert.after) {
        const k = p.insert.after - keyedSeen;
        const before = out.subarray(0, k);
        seen.push(before);
        const extra = typeof p.insert.bytes === 'function' ? p.insert.bytes(Buffer.concat(seen)) : p.insert.bytes;
        pieces.push(before, extra, out.subarray(k));
        seen.push(out.subarray(k));
        inserted = true;
      } else {
        pieces.push(out);
        seen.push(out);
      }
      keyedSeen += out.length;
      keyedBytes[index] = Buffer.concat(seen);
      for (const b of pieces) if (b.length > 0) client.write(b);
      if (cut) {
        client.end();
        upstream.destroy();
      }
    };
    let versionDone = false;
    upstream.on('data', (d: Buffer) => {
      if (keyedSeen >= 0) {
        forwardKeyed(d);
        return;
      }
      // The clear phase: forward each complete item (version line, unencrypted packet) as it is
      // parsed; the bytes after the server's NEWKEYS are the first keyed ones.
      clear = Buffer.concat([clear, d]);
      for (;;) {
        if (!versionDone) {
          const nl = clear.indexOf('\n');
          if (nl < 0) return;
          client.write(clear.subarray(0, nl + 1));
          clear = clear.subarray(nl + 1);
          versionDone = true;
          continue;
        }
        if (clear.length < 6) return;
        const end = 4 + clear.readUInt32BE(0);
        if (clear.length < end) return;
        const type = clear[5];
        client.write(clear.subarray(0, end));
        clear = clear.subarray(end);
        if (type === MSG.NEWKEYS) {
          keyedSeen = 0;
          const rest = clear;
          clear = Buffer.alloc(0);
          if (rest.length > 0) forwardKeyed(rest);
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (!addr || typeof addr !== 'object') throw new Error('proxy did not bind');
  return {
    port: addr.port,
    keyedBytes,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
