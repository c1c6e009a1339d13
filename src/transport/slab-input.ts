/**
 * Socket input read straight into one reused buffer (the `onread` option of `net.connect`): reads
 * allocate nothing, and a packet that arrives in several reads is still contiguous when it is
 * decoded, so it is never copied to be joined. The consumer must not keep views of what it is given
 * past the call (the transport's decoder hands out only freshly decrypted payloads).
 */

/** Room kept free for one read. */
const MIN_READ = 64 * 1024;
/** Initial buffer size: a few reads, and more than the largest packet (256 KiB + MAC). */
const INITIAL_SIZE = 1024 * 1024;
/**
 * A read this small that leaves nothing pending means the connection has gone quiet (a bulk
 * transfer ends with a few small packets); a buffer touched beyond {@link RESIDENT_LIMIT} is then
 * swapped for a fresh one, whose pages are not resident until reads reach them. Otherwise every
 * connection that once moved bulk data would keep its whole buffer (1 MiB or more) resident.
 */
const QUIET_READ = 2048;
const RESIDENT_LIMIT = 128 * 1024;

/**
 * Takes a region of unconsumed input and returns how many bytes at its end it did not consume
 * (a partial packet), which are offered again, with more after them, on the next read.
 */
export type SlabSink = (region: Buffer) => number;

/**
 * Whether socket input may be read through `onread` into a reused buffer: on Node.js only. Bun and
 * Deno accept the option, but their reads are not proven to land where the last `buffer()` call
 * pointed (a Deno CI run saw a client decode bytes of an earlier read as a packet header), so there
 * the transport reads 'data' events, which cost an allocation per read and nothing else.
 */
export function reusedReadBufferSupported(): boolean {
  const v = process.versions as Record<string, string | undefined>;
  return v.bun === undefined && v.deno === undefined;
}

/** Owns the read buffer of one socket; pass {@link onread} to `net.connect`. */
export class SlabInput {
  private slab = Buffer.allocUnsafeSlow(INITIAL_SIZE);
  private start = 0;
  private end = 0;
  /** How far into the buffer reads have written since it was allocated. */
  private touched = 0;
  private sink: SlabSink | undefined;

  /** The `onread` option for `net.connect`. */
  readonly onread = {
    buffer: (): Uint8Array => this.nextBuffer(),
    callback: (nread: number): boolean => {
      this.onRead(nread);
      return true;
    },
  };

  /** Sets the consumer; input that arrived before is handed to it at once. */
  attach(sink: SlabSink): void {
    this.sink = sink;
    if (this.end > this.start) this.deliver();
  }

  private nextBuffer(): Uint8Array {
    if (this.slab.length - this.end < MIN_READ) this.compact();
    return this.slab.subarray(this.end);
  }

  private onRead(nread: number): void {
    if (nread <= 0) return;
    this.end += nread;
    if (this.end > this.touched) this.touched = this.end;
    if (this.sink) this.deliver();
    if (nread < QUIET_READ && this.end === 0 && this.touched > RESIDENT_LIMIT) this.release();
  }

  /** Swaps the buffer (all of it consumed) for a fresh one of the initial size. */
  private release(): void {
    this.slab = Buffer.allocUnsafeSlow(INITIAL_SIZE);
    this.touched = 0;
  }

  /** Bytes of the buffer reads have written to since it was allocated (what may be resident). */
  get touchedBytes(): number {
    return this.touched;
  }

  private deliver(): void {
    const sink = this.sink as SlabSink;
    const left = sink(this.slab.subarray(this.start, this.end));
    if (left <= 0) {
      this.start = 0;
      this.end = 0;
    } else {
      this.start = this.end - Math.min(left, this.end - this.start);
    }
  }

  /** Moves unconsumed bytes to the front, or into a larger buffer when they fill most of it. */
  private compact(): void {
    const pending = this.end - this.start;
    if (this.slab.length - pending < MIN_READ) {
      const bigger = Buffer.allocUnsafeSlow(this.slab.length * 2);
      this.slab.copy(bigger, 0, this.start, this.end);
      this.slab = bigger;
      this.touched = pending;
    } else if (this.start > 0) {
      this.slab.copyWithin(0, this.start, this.end);
    }
    this.start = 0;
    this.end = pending;
  }
}
