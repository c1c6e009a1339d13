/**
 * One connection to a control socket, client side: connect, exchange HELLOs, then requests one at a
 * time, each answered by a reply carrying its request id. Every wait has a deadline, and whatever the
 * master sends (garbage, a wrong id, an early close), each promise settles with a typed error.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { ConnectionLostError, MuxError, TimeoutError } from '../errors.js';
import { decodeHello, encodeHello, guard, MUX, MuxFramer, type MuxMessage } from './codec.js';

/** Default deadline for connecting, the HELLO and each reply (ms). */
export const DEFAULT_MUX_TIMEOUT = 10_000;

const REPLY_TYPES = new Set<number>([
  MUX.S_OK,
  MUX.S_PERMISSION_DENIED,
  MUX.S_FAILURE,
  MUX.S_ALIVE,
  MUX.S_SESSION_OPENED,
  MUX.S_REMOTE_PORT,
  MUX.S_PROXY,
]);

/** A control-socket connection after the HELLO exchange. */
export class ControlSocket {
  // Nothing after the PROXY reply is split as control messages: it is the proxied connection's.
  private readonly framer = new MuxFramer(undefined, MUX.S_PROXY);
  private waiter: { resolve: (m: MuxMessage) => void; reject: (e: Error) => void } | undefined;
  private queued: MuxMessage[] = [];
  private dead: Error | undefined;
  private nextId = 0;
  private detached = false;

  private constructor(
    readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => {
      if (this.detached || this.dead) return;
      try {
        for (const m of this.framer.push(chunk)) this.deliver(m);
      } catch (e) {
        this.fail(e as Error);
      }
    });
    socket.on('error', (e) => this.fail(new ConnectionLostError(`control socket: ${e.message}`, { cause: e })));
    socket.on('close', () => this.fail(new ConnectionLostError('the control master closed the connection')));
  }

  /** Connects to `path` and exchanges HELLOs. Rejects with MuxError, ConnectionLostError or TimeoutError. */
  static open(path: string, timeoutMs = DEFAULT_MUX_TIMEOUT): Promise<ControlSocket> {
    return new Promise<ControlSocket>((resolve, reject) => {
      const socket = netConnect(path);
      const cs = new ControlSocket(socket, timeoutMs);
      socket.once('connect', () => socket.write(encodeHello()));
      cs.next('HELLO').then(
        (m) => {
          try {
            if (m.type !== MUX.HELLO) throw new MuxError(`expected HELLO from the master, got 0x${hex(m.type)}`);
            decodeHello(m.body);
            resolve(cs);
          } catch (e) {
            cs.fail(e as Error);
            reject(e);
          }
        },
        (e: Error) => {
          cs.fail(e);
          reject(e);
        },
      );
    });
  }

  /** A fresh request id. */
  id(): number {
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0;
    return id;
  }

  /**
   * Sends `frame` and resolves with the reply to `requestId`. A reply for another id, or a message
   * that is no reply, is a MuxError (and ends this connection).
   */
  async request(frame: Buffer, requestId: number, what: string): Promise<MuxMessage> {
    if (this.dead) throw this.dead;
    this.socket.write(frame);
    const m = await this.next(what);
    if (!REPLY_TYPES.has(m.type)) {
      throw this.fail(new MuxError(`unexpected message 0x${hex(m.type)} in reply to ${what}`));
    }
    const rid = guard(() => m.body.uint32(), what);
    if (rid !== requestId) {
      throw this.fail(new MuxError(`reply to ${what} carries request id ${rid}, expected ${requestId}`));
    }
    return m;
  }

  /** Waits for the next message (at most the timeout). */
  next(what: string): Promise<MuxMessage> {
    if (this.dead) return Promise.reject(this.dead);
    const first = this.queued.shift();
    if (first) return Promise.resolve(first);
    return new Promise<MuxMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new TimeoutError(`control master: no reply to ${what} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiter = {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Stops reading control messages and returns the socket with any bytes already read past them. */
  detach(): { socket: Socket; leftover: Buffer } {
    this.detached = true;
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('error');
    this.socket.removeAllListeners('close');
    return { socket: this.socket, leftover: this.framer.drain() };
  }

  /** Closes the connection; pending waits reject with `err` (or ConnectionLostError). Returns the error. */
  fail(err: Error): Error {
    if (this.dead) return this.dead;
    this.dead = err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
    if (!this.detached) this.socket.destroy();
    return err;
  }

  /** Closes the connection. */
  close(): void {
    this.fail(new ConnectionLostError('control connection closed'));
  }

  private deliver(m: MuxMessage): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w.resolve(m);
    } else {
      if (this.queued.length >= 16) throw new MuxError('the control master sent more than 16 unrequested messages');
      this.queued.push(m);
    }
  }
}

/** A type number as 8 hex digits, for messages. */
export function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
