/**
 * The client's session limit: at most `max` session channels of a connection are open at once (sshd's
 * MaxSessions is 10); more opens wait in order for a slot. A slot is held from the open until the
 * server has certainly let go of the session: the channel is over on the wire (both CLOSEs passed) and
 * a round trip after our CLOSE has completed. sshd frees a session only on the main-loop turn after it
 * read our CLOSE, so an open sent right behind the CLOSE (in the same read) would be refused; the
 * reply to a global request sent after the CLOSE comes back only once that turn is over.
 */
import { debuglog } from 'node:util';
import type { Channel, Connection } from '../connection/index.js';
import { ChannelOpenError, InvalidArgumentError } from '../errors.js';

const debug = debuglog('secsh');

/** Default of {@link SessionSlots}' limit, sshd's MaxSessions. */
export const DEFAULT_MAX_SESSIONS = 10;

/** Longest a released slot waits for the round trip's reply before it is reused anyway (ms). */
const PROBE_TIMEOUT_MS = 5000;

/** Throws an InvalidArgumentError unless `max` is a positive integer. */
export function checkMaxSessions(max: unknown): void {
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1) {
    throw new InvalidArgumentError(`maxSessions must be a positive integer, not ${String(max)}`);
  }
}

export class SessionSlots {
  readonly max: number;
  private used = 0;
  private readonly waiting: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private dead: Error | undefined;
  /** Slots whose channel is over, waiting for the round trip that frees them. */
  private cooling = 0;
  private probing = false;

  constructor(max: number = DEFAULT_MAX_SESSIONS) {
    checkMaxSessions(max);
    this.max = max;
  }

  /** Sessions open (or opening, or just closed and not yet freed) now. */
  get open(): number {
    return this.used;
  }

  /** Opens waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Opens a session channel on `connection` once a slot is free. A refused open names the limit (the
   * server may allow fewer than `max`, as sshd's MaxSessions may be lower).
   */
  async openSession(connection: Connection): Promise<Channel> {
    await this.acquire();
    const inUse = this.used;
    let ch: Channel;
    try {
      ch = await connection.openSession();
    } catch (e) {
      this.release();
      debug('channel: session open refused: %s', (e as Error).message);
      if (e instanceof ChannelOpenError) {
        throw new ChannelOpenError(
          e.reasonCode,
          e.description,
          `${inUse} sessions were open or opening on this connection and maxSessions is ${this.max}; the server may allow fewer (sshd's MaxSessions): lower maxSessions`,
        );
      }
      throw e;
    }
    debug(
      'channel: session %d open (server channel %d; %d of maxSessions %d)',
      ch.localId,
      ch.remoteId,
      inUse,
      this.max,
    );
    if (ch.isReleased) this.cool(connection);
    else ch.once('released', () => this.cool(connection));
    return ch;
  }

  /** The connection is gone: waiting opens reject with `err`, later ones too. */
  fail(err: Error): void {
    this.dead ??= err;
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  private acquire(): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.used < this.max) {
      this.used++;
      return Promise.resolve();
    }
    debug('channel: session open waits for a slot (%d of maxSessions %d open)', this.used, this.max);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next open in line, so the count never exceeds `max`.
    if (next) next.resolve();
    else this.used--;
  }

  /** A channel is over on the wire: its slot is freed after the next round trip (one serves many). */
  private cool(connection: Connection): void {
    this.cooling++;
    if (!this.probing) this.probe(connection);
  }

  private probe(connection: Connection): void {
    if (this.dead) return;
    this.probing = true;
    const freeing = this.cooling;
    this.cooling = 0;
    let settled = false;
    const done = () => {
      // Once per probe: a reply arriving after the timeout must not end a later probe (its slots
      // would be freed twice and the later probe's never).
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.probing = false;
      for (let i = 0; i < freeing; i++) this.release();
      if (this.cooling > 0) this.probe(connection);
    };
    const timer = setTimeout(done, PROBE_TIMEOUT_MS);
    timer.unref();
    // Success or failure, the reply shows the server has handled everything sent before it.
    connection.globalRequest('keepalive@openssh.com', undefined, true).then(done, done);
  }
}
