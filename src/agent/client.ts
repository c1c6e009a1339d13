/** An ssh-agent client over a UNIX socket: list identities and sign with them. */
import { connect, type Socket } from 'node:net';
import { AgentError, KeyError } from '../errors.js';
import { algorithmFits, type PrivateKey, PublicKey, type SignatureAlgorithm, type Signer } from '../keys/index.js';
import { SshReader, SshWriter } from '../wire/index.js';
import { AGENT_MSG, MAX_AGENT_RESPONSE, MAX_IDENTITIES, SIGN_FLAGS } from './protocol.js';

interface Pending {
  resolve(body: Buffer): void;
  reject(err: Error): void;
}

/** One identity held by the agent. */
export interface AgentIdentity {
  /** The public key (its comment is the agent's comment). */
  key: PublicKey;
  /** The comment the key was added with (often the key file's path or `user@host`). */
  comment: string;
}

/**
 * Talks to an ssh-agent (default: `$SSH_AUTH_SOCK`). The socket is opened on first use and kept open until
 * {@link AgentClient.close} (it does not keep the process alive while idle); requests are sent one at a time,
 * in call order.
 */
export class AgentClient {
  /** The agent's socket path; undefined when none was given and `$SSH_AUTH_SOCK` is unset (requests then fail with an {@link AgentError}). */
  readonly socketPath: string | undefined;
  #socket: Socket | undefined;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #expected: number | undefined;
  #pending: Pending | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(socketPath: string | undefined = process.env.SSH_AUTH_SOCK) {
    this.socketPath = socketPath;
  }

  /** Lists the agent's identities (SSH_AGENTC_REQUEST_IDENTITIES). Keys this library cannot parse are skipped. */
  async list(): Promise<AgentIdentity[]> {
    const body = await this.#request(Buffer.from([AGENT_MSG.REQUEST_IDENTITIES]));
    try {
      const r = new SshReader(body);
      const code = r.byte();
      if (code === AGENT_MSG.FAILURE) throw new AgentError('agent refused to list identities');
      if (code !== AGENT_MSG.IDENTITIES_ANSWER)
        throw new AgentError(`unexpected agent reply ${code} to identities request`);
      const n = r.uint32();
      if (n > MAX_IDENTITIES) throw new AgentError(`agent listed too many identities (${n})`);
      const out: AgentIdentity[] = [];
      for (let i = 0; i < n; i++) {
        const blob = r.string();
        const comment = r.string(8192).toString('utf8');
        try {
          out.push({ key: PublicKey.fromBlob(blob, comment), comment });
        } catch (e) {
          if (!(e instanceof KeyError)) throw e; // certificates and unknown key types are skipped
        }
      }
      r.ensureEnd('agent identities answer');
      return out;
    } catch (e) {
      if (e instanceof AgentError) throw e;
      throw new AgentError('malformed agent identities answer', { cause: e });
    }
  }

  /**
   * Asks the agent to sign `data` with `key` (SSH_AGENTC_SIGN_REQUEST, with the rsa-sha2 flags for RSA).
   * Returns the SSH signature blob; throws {@link AgentError} when the agent refuses or answers with
   * a different algorithm.
   */
  async sign(key: PublicKey, data: Uint8Array, algorithm: SignatureAlgorithm): Promise<Buffer> {
    if (!algorithmFits(key.type, algorithm)) throw new AgentError(`${algorithm} cannot be used with a ${key.type} key`);
    const flags =
      algorithm === 'rsa-sha2-256'
        ? SIGN_FLAGS.RSA_SHA2_256
        : algorithm === 'rsa-sha2-512'
          ? SIGN_FLAGS.RSA_SHA2_512
          : 0;
    const req = new SshWriter(key.blob.length + data.length + 32)
      .byte(AGENT_MSG.SIGN_REQUEST)
      .string(key.blob)
      .string(data)
      .uint32(flags)
      .toBuffer();
    const body = await this.#request(Buffer.from(req));
    let sig: Buffer;
    try {
      const r = new SshReader(body);
      const code = r.byte();
      if (code === AGENT_MSG.FAILURE) throw new AgentError('agent refused to sign');
      if (code !== AGENT_MSG.SIGN_RESPONSE) throw new AgentError(`unexpected agent reply ${code} to sign request`);
      sig = Buffer.from(r.string());
      r.ensureEnd('agent sign response');
      const name = new SshReader(sig).ascii(64);
      if (name !== algorithm)
        throw new AgentError(`agent made a ${name.slice(0, 64)} signature, ${algorithm} was asked`);
    } catch (e) {
      if (e instanceof AgentError) throw e;
      throw new AgentError('malformed agent sign response', { cause: e });
    }
    return sig;
  }

  /** Adds a private key to the agent (SSH_AGENTC_ADD_IDENTITY); `comment` defaults to the key's own. */
  async add(key: PrivateKey, comment: string = key.comment): Promise<void> {
    const priv = key.toPrivateBlob();
    const w = new SshWriter(priv.length + comment.length + 16).byte(AGENT_MSG.ADD_IDENTITY).raw(priv).string(comment);
    const req = Buffer.from(w.toBuffer());
    priv.fill(0);
    w.toBuffer().fill(0);
    try {
      await this.#expectSuccess(req, 'add the key');
    } finally {
      req.fill(0);
    }
  }

  /** Removes one identity (SSH_AGENTC_REMOVE_IDENTITY). */
  async remove(key: PublicKey): Promise<void> {
    const req = new SshWriter(key.blob.length + 8).byte(AGENT_MSG.REMOVE_IDENTITY).string(key.blob).toBuffer();
    await this.#expectSuccess(Buffer.from(req), 'remove the key');
  }

  /** Removes every identity (SSH_AGENTC_REMOVE_ALL_IDENTITIES). */
  async removeAll(): Promise<void> {
    await this.#expectSuccess(Buffer.from([AGENT_MSG.REMOVE_ALL_IDENTITIES]), 'remove all keys');
  }

  async #expectSuccess(req: Buffer, what: string): Promise<void> {
    const body = await this.#request(req);
    if (body.length === 1 && body[0] === AGENT_MSG.SUCCESS) return;
    if (body.length === 1 && body[0] === AGENT_MSG.FAILURE) throw new AgentError(`agent refused to ${what}`);
    throw new AgentError(`unexpected agent reply to a request to ${what}`);
  }

  /** One {@link Signer} per identity the agent holds (skipping keys this library cannot parse). */
  async signers(): Promise<Signer[]> {
    const ids = await this.list();
    return ids.map(({ key }) => ({
      publicKey: key,
      sign: (data: Uint8Array, algorithm: SignatureAlgorithm) => this.sign(key, data, algorithm),
    }));
  }

  /** Closes the socket; later requests fail with {@link AgentError}. */
  close(): void {
    this.#closed = true;
    this.#fail(new AgentError('agent client closed'));
  }

  /** Queues one request; resolves with the response body (without its length). */
  #request(body: Buffer): Promise<Buffer> {
    const run = () => this.#send(body);
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async #send(body: Buffer): Promise<Buffer> {
    if (this.#closed) throw new AgentError('agent client closed');
    const socket = await this.#connect();
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending = { resolve, reject };
      socket.ref();
      const frame = Buffer.alloc(4 + body.length);
      frame.writeUInt32BE(body.length, 0);
      body.copy(frame, 4);
      socket.write(frame);
    });
  }

  #connect(): Promise<Socket> {
    if (this.#socket) return Promise.resolve(this.#socket);
    const path = this.socketPath;
    if (!path) return Promise.reject(new AgentError('no ssh-agent: SSH_AUTH_SOCK is not set'));
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect({ path });
      const onConnectError = (err: Error) => {
        socket.destroy();
        reject(new AgentError(`cannot connect to ssh-agent: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      };
      socket.once('error', onConnectError);
      socket.once('connect', () => {
        socket.off('error', onConnectError);
        this.#socket = socket;
        this.#chunks = [];
        this.#buffered = 0;
        this.#expected = undefined;
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
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#expected === undefined) {
      if (this.#buffered < 4) return;
      const head = Buffer.concat(this.#chunks);
      this.#chunks = [head];
      const len = head.readUInt32BE(0);
      if (len === 0 || len > MAX_AGENT_RESPONSE) {
        this.#fail(new AgentError(`agent response length ${len} out of range`));
        return;
      }
      this.#expected = len;
    }
    const total = 4 + this.#expected;
    if (this.#buffered < total) return;
    if (this.#buffered > total) {
      this.#fail(new AgentError('ssh-agent sent more than one response'));
      return;
    }
    const frame = Buffer.concat(this.#chunks, total);
    const pending = this.#pending;
    this.#pending = undefined;
    this.#chunks = [];
    this.#buffered = 0;
    this.#expected = undefined;
    socket.unref();
    pending.resolve(frame.subarray(4));
  }

  /** Drops the connection and rejects the request in flight. */
  #fail(err: AgentError): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#chunks = [];
    this.#buffered = 0;
    this.#expected = undefined;
    socket?.destroy();
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(err);
  }
}
