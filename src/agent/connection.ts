/**
 * One connection to an agent: length-framed requests sent one at a time, each reply's length checked
 * before its body is buffered, each request bounded by a timeout. Also the one-shot exchange used to
 * bind a socket before it is handed to a forwarded agent channel.
 */
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { AgentError } from '../errors.js';
import { MAX_AGENT_REQUEST, MAX_AGENT_RESPONSE } from './protocol.js';

/** OpenSSH for Windows' agent. */
export const WINDOWS_AGENT_PIPE = '\\\\.\\pipe\\openssh-ssh-agent';

/** The default agent: `$SSH_AUTH_SOCK`, else on Windows OpenSSH's named pipe, else none. */
export function defaultAgentPath(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  if (env.SSH_AUTH_SOCK) return env.SSH_AUTH_SOCK;
  return platform === 'win32' ? WINDOWS_AGENT_PIPE : undefined;
}

/** Frames `body` with its uint32 length; refuses one larger than an agent accepts. */
export function frame(body: Buffer): Buffer {
  if (body.length === 0 || body.length > MAX_AGENT_REQUEST)
    throw new AgentError(`agent request of ${body.length} bytes is out of range`);
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** Collects one length-framed reply from chunks; throws AgentError on a bad length. */
class ReplyReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #expected: number | undefined;

  /** Adds a chunk; returns the reply body once complete, and any bytes after it. */
  push(chunk: Buffer): { body: Buffer; extra: Buffer } | undefined {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#expected === undefined) {
      if (this.#buffered < 4) return undefined;
      const head = Buffer.concat(this.#chunks);
      this.#chunks = [head];
      const len = head.readUInt32BE(0);
      if (len === 0 || len > MAX_AGENT_RESPONSE) throw new AgentError(`agent response length ${len} out of range`);
      this.#expected = len;
    }
    const total = 4 + this.#expected;
    if (this.#buffered < total) return undefined;
    const all = Buffer.concat(this.#chunks, this.#buffered);
    this.#chunks = [];
    this.#buffered = 0;
    this.#expected = undefined;
    return { body: all.subarray(4, total), extra: all.subarray(total) };
  }
}

interface Pending {
  resolve(body: Buffer): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * A socket to an agent, opened on first use and kept until {@link AgentConnection.close} (it does not keep
 * the process alive while idle). Requests run one at a time, in call order.
 */
export class AgentConnection {
  #socket: Socket | undefined;
  #reader = new ReplyReader();
  #pending: Pending | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #generation = 0;

  constructor(
    readonly path: string | undefined,
    /** Milliseconds a request may wait for its reply; 0 for no limit. */
    readonly timeout: number,
  ) {}

  /** How many sockets have been opened (a new one loses the old one's session bindings). */
  get generation(): number {
    return this.#generation;
  }

  /** Opens the socket now (requests open it on demand). */
  async open(): Promise<void> {
    await this.#connect();
  }

  /** Queues one request; resolves with the reply body (without its length). */
  request(body: Buffer): Promise<Buffer> {
    const framed = frame(body);
    const run = () => this.#send(framed);
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /** Closes the socket; later requests fail with {@link AgentError}. */
  close(): void {
    this.#closed = true;
    this.#fail(new AgentError('agent client closed'));
  }

  async #send(framed: Buffer): Promise<Buffer> {
    try {
      if (this.#closed) throw new AgentError('agent client closed');
      const socket = await this.#connect();
      return await new Promise<Buffer>((resolve, reject) => {
        const timer =
          this.timeout > 0
            ? setTimeout(
                () => this.#fail(new AgentError(`agent did not answer within ${this.timeout} ms`)),
                this.timeout,
              )
            : undefined;
        this.#pending = { resolve, reject, timer };
        socket.ref();
        socket.write(framed);
      });
    } finally {
      framed.fill(0); // requests may carry private keys or passphrases
    }
  }

  #connect(): Promise<Socket> {
    if (this.#socket) return Promise.resolve(this.#socket);
    const path = this.path;
    if (!path) return Promise.reject(new AgentError('no ssh-agent: SSH_AUTH_SOCK is not set'));
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect({ path });
      const timer =
        this.timeout > 0
          ? setTimeout(() => {
              socket.destroy();
              reject(new AgentError(`cannot connect to ssh-agent: no answer within ${this.timeout} ms`));
            }, this.timeout)
          : undefined;
      const onConnectError = (err: Error) => {
        if (timer) clearTimeout(timer);
        socket.destroy();
        reject(new AgentError(`cannot connect to ssh-agent: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      };
      socket.once('error', onConnectError);
      socket.once('connect', () => {
        if (timer) clearTimeout(timer);
        socket.off('error', onConnectError);
        if (this.#closed) {
          socket.destroy();
          reject(new AgentError('agent client closed'));
          return;
        }
        this.#socket = socket;
        this.#generation++;
        this.#reader = new ReplyReader();
        socket.unref();
        socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
        socket.on('error', (err) => {
          if (this.#socket === socket) this.#fail(new AgentError('ssh-agent connection failed', { cause: err }));
        });
        socket.on('close', () => {
          if (this.#socket === socket) this.#fail(new AgentError('ssh-agent closed the connection'));
        });
        resolve(socket);
      });
    });
  }

  #onData(socket: Socket, chunk: Buffer): void {
    if (this.#socket !== socket) return;
    if (!this.#pending) {
      this.#fail(new AgentError('unsolicited data from ssh-agent'));
      return;
    }
    let done: { body: Buffer; extra: Buffer } | undefined;
    try {
      done = this.#reader.push(chunk);
    } catch (e) {
      this.#fail(e as AgentError);
      return;
    }
    if (!done) return;
    if (done.extra.length > 0) {
      this.#fail(new AgentError('ssh-agent sent more than one response'));
      return;
    }
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending.timer) clearTimeout(pending.timer);
    socket.unref();
    pending.resolve(done.body);
  }

  /** Drops the socket and rejects the request in flight. */
  #fail(err: AgentError): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#reader = new ReplyReader();
    socket?.destroy();
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending?.timer) clearTimeout(pending.timer);
    pending?.reject(err);
  }
}

/**
 * Sends one request on a fresh agent `socket` and reads exactly its reply, leaving the socket paused with
 * nothing consumed past the reply (bytes after it are pushed back). Used to send `session-bind` on a
 * socket before it is spliced to a forwarded agent channel. Rejects with AgentError on a bad or missing
 * reply within `timeoutMs`.
 */
export function exchangeOnce(socket: Duplex, body: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const reader = new ReplyReader();
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: Error | undefined, body?: Buffer, extra?: Buffer) => {
      if (timer) clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.pause();
      if (extra && extra.length > 0) socket.unshift(extra);
      if (err) reject(err);
      else resolve(body as Buffer);
    };
    const onData = (chunk: Buffer) => {
      try {
        const done = reader.push(chunk);
        if (done) finish(undefined, done.body, done.extra);
      } catch (e) {
        finish(e as Error);
      }
    };
    const onError = (e: Error) => finish(new AgentError('ssh-agent connection failed', { cause: e }));
    const onClose = () => finish(new AgentError('ssh-agent closed the connection'));
    if (timeoutMs > 0)
      timer = setTimeout(() => finish(new AgentError(`agent did not answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.write(frame(body));
  });
}
