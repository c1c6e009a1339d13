/** In-memory PacketLink pair for connection tests: asynchronous delivery and simulated backpressure. */
import { EventEmitter } from 'node:events';
import type { ConnectionOptions, PacketLink } from '../../../src/connection/index.js';
import { Connection } from '../../../src/connection/index.js';

export class MemLink extends EventEmitter implements PacketLink {
  peer: Connection | undefined;
  /** Bytes sent but not yet delivered. */
  queued = 0;
  /** Count of sent messages by message number. */
  readonly counts = new Map<number, number>();
  /** Bytes of CHANNEL_DATA payload (94) sent. */
  dataBytes = 0;
  /** Errors thrown by the peer's handlePacket. */
  readonly errors: unknown[] = [];
  private needDrain = false;
  constructor(private readonly threshold = 64 * 1024) {
    super();
  }
  send(payload: Buffer): boolean {
    const copy = Buffer.from(payload);
    const msg = copy[0] as number;
    this.counts.set(msg, (this.counts.get(msg) ?? 0) + 1);
    if (msg === 94) this.dataBytes += copy.readUInt32BE(5);
    this.queued += copy.length;
    setImmediate(() => {
      this.queued -= copy.length;
      try {
        this.peer?.handlePacket(copy);
      } catch (e) {
        this.errors.push(e);
      }
      if (this.needDrain && this.queued === 0) {
        this.needDrain = false;
        this.emit('drain');
      }
    });
    if (this.queued > this.threshold) {
      this.needDrain = true;
      return false;
    }
    return true;
  }
  count(msg: number): number {
    return this.counts.get(msg) ?? 0;
  }
}

export interface Pair {
  client: Connection;
  server: Connection;
  /** Link the client sends on. */
  c2s: MemLink;
  /** Link the server sends on. */
  s2c: MemLink;
}

/** Two connections (client + server) wired back to back. */
export function pair(opts: Omit<ConnectionOptions, 'role'> = {}, threshold?: number): Pair {
  const c2s = new MemLink(threshold);
  const s2c = new MemLink(threshold);
  const client = new Connection(c2s, { ...opts, role: 'client' });
  const server = new Connection(s2c, { ...opts, role: 'server' });
  c2s.peer = server;
  s2c.peer = client;
  return { client, server, c2s, s2c };
}

/** Captures what a connection sends, delivering nothing (for hand-made packets). */
export class CaptureLink extends EventEmitter implements PacketLink {
  readonly sent: Buffer[] = [];
  send(payload: Buffer): boolean {
    this.sent.push(Buffer.from(payload));
    return true;
  }
  last(): Buffer | undefined {
    return this.sent[this.sent.length - 1];
  }
  ofType(msg: number): Buffer[] {
    return this.sent.filter((p) => p[0] === msg);
  }
}

/** Lets queued setImmediate deliveries run `n` rounds. */
export async function settle(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}
