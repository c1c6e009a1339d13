/** One client connection of an {@link AgentServer}: framing, an in-order request queue with a bound, session binds. */
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import type { SessionBinding } from './constraints.js';

/** Largest request accepted (OpenSSH's AGENT_MAX_LEN); a longer length prefix closes the connection. */
export const MAX_AGENT_REQUEST = 256 * 1024;

/** What a connection needs from its server. */
export interface AgentConnectionHost {
  _handle(conn: AgentConnection, req: Buffer): Promise<Buffer>;
  _forget(conn: AgentConnection): void;
  _debug(line: string): void;
}

/** Per-connection state: framing, queue, session binds. */
export class AgentConnection {
  readonly bindings: SessionBinding[] = [];
  bindAttempted = false;
  #chunks: Buffer[] = [];
  #buffered = 0;
  readonly #queue: Buffer[] = [];
  #running = false;
  #closed = false;
  /** The client finished sending: answer what is queued, then end. */
  #ended = false;

  constructor(
    readonly server: AgentConnectionHost,
    readonly stream: Duplex,
    readonly maxPending: number,
  ) {
    stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    stream.on('error', () => this.close());
    stream.on('close', () => this.close());
    stream.on('end', () => {
      this.#ended = true;
      this.#chunks = []; // a partial request is dropped
      if (!this.#running) this.#finish();
    });
  }

  /** After the client's end: once every queued request is answered, end our side too. */
  #finish(): void {
    if (this.#closed || this.#queue.length > 0) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.server._forget(this);
    this.stream.end();
    const t = setTimeout(() => this.stream.destroy(), 5000);
    t.unref();
    this.stream.once('close', () => clearTimeout(t));
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#chunks = [];
    this.#queue.length = 0;
    this.stream.destroy();
    this.server._forget(this);
  }

  #onData(chunk: Buffer): void {
    if (this.#closed || this.#ended) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (this.#buffered >= 4) {
      const head = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
      this.#chunks = [head];
      const len = head.readUInt32BE(0);
      if (len === 0 || len > MAX_AGENT_REQUEST) {
        this.server._debug(`closing connection: request length ${len} out of range`);
        this.close();
        return;
      }
      if (this.#buffered < 4 + len) break;
      this.#queue.push(Buffer.from(head.subarray(4, 4 + len)));
      const rest = head.subarray(4 + len);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#buffered = rest.length;
    }
    if (this.#queue.length >= this.maxPending) this.stream.pause();
    void this.#run();
  }

  async #run(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (let req = this.#queue.shift(); req !== undefined && !this.#closed; req = this.#queue.shift()) {
        if (this.#queue.length < this.maxPending / 2 && this.stream.isPaused()) this.stream.resume();
        let reply: Buffer;
        try {
          reply = await this.server._handle(this, req);
        } catch (e) {
          this.server._debug(`request failed: ${e instanceof Error ? e.message : String(e)}`);
          reply = Buffer.from([5 /* SSH_AGENT_FAILURE */]);
        }
        if (this.#closed) return;
        const frame = Buffer.alloc(4 + reply.length);
        frame.writeUInt32BE(reply.length, 0);
        reply.copy(frame, 4);
        if (!this.stream.write(frame)) {
          await Promise.race([once(this.stream, 'drain'), once(this.stream, 'close')]).catch(() => undefined);
        }
      }
      if (this.stream.isPaused() && !this.#closed) this.stream.resume();
    } finally {
      this.#running = false;
      if (this.#ended) this.#finish();
    }
  }
}
