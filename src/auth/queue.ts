/** An async queue of payloads for a layer that reads messages one at a time (user authentication). */
import { ConnectionLostError } from '../errors.js';

export class MessageQueue {
  private items: Buffer[] = [];
  private waiters: { resolve: (b: Buffer) => void; reject: (e: Error) => void }[] = [];
  private error: Error | undefined;

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

  next(): Promise<Buffer> {
    const p = this.items.shift();
    if (p) return Promise.resolve(p);
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  get failed(): Error | undefined {
    return this.error ?? undefined;
  }

  static closedError(): Error {
    return new ConnectionLostError('connection closed during authentication');
  }
}
