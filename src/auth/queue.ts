/** An async queue of payloads for a layer that reads messages one at a time (user authentication). */
import { ConnectionLostError } from '../errors.js';

/**
 * Messages waiting to be read one at a time: the transport pushes, user authentication awaits
 * {@link MessageQueue.next}. Used with {@link authenticateClient} and {@link authenticateServer}.
 */
export class MessageQueue {
  private items: Buffer[] = [];
  private waiters: { resolve: (b: Buffer) => void; reject: (e: Error) => void }[] = [];
  private error: Error | undefined;

  /** Hands a message to the oldest waiting reader, or keeps it for the next one. */
  push(p: Buffer): void {
    const w = this.waiters.shift();
    if (w) w.resolve(p);
    else this.items.push(p);
  }

  /** Fails every pending and future read. */
  fail(err: Error): void {
    if (this.error) return;
    this.error = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  /** The next message, in arrival order; rejects with the error given to {@link MessageQueue.fail} once failed. */
  next(): Promise<Buffer> {
    const p = this.items.shift();
    if (p) return Promise.resolve(p);
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The error the queue failed with, if it did. */
  get failed(): Error | undefined {
    return this.error ?? undefined;
  }

  /** The error to fail a queue with when the connection closes during authentication. */
  static closedError(): Error {
    return new ConnectionLostError('connection closed during authentication');
  }
}
