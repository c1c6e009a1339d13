/**
 * A raw ssh-agent protocol client for tests of the secsh AgentServer: sends frames (pipelined), reads the
 * replies in order, and reports a closed connection as `null` replies instead of throwing; and
 * {@link agentServers}, the servers a test file starts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { AgentServer } from '../../src/agent/index.js';
import { SshWriter } from '../../src/wire/index.js';

export class RawAgent {
  readonly socket: Socket;
  #buf: Buffer = Buffer.alloc(0);
  readonly #waiting: ((b: Buffer | null) => void)[] = [];
  #closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
      while (this.#buf.length >= 4) {
        const len = this.#buf.readUInt32BE(0);
        if (this.#buf.length < 4 + len) break;
        const body = Buffer.from(this.#buf.subarray(4, 4 + len));
        this.#buf = this.#buf.subarray(4 + len);
        this.#waiting.shift()?.(body);
      }
    });
    const end = () => {
      this.#closed = true;
      for (const w of this.#waiting.splice(0)) w(null);
    };
    socket.on('close', end);
    socket.on('error', end);
  }

  static open(path: string): Promise<RawAgent> {
    return new Promise((resolve, reject) => {
      const s = connect({ path });
      s.once('connect', () => resolve(new RawAgent(s)));
      s.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one framed request body; resolves with the reply body, or null when the agent closed the connection. */
  request(body: Uint8Array): Promise<Buffer | null> {
    const frame = new SshWriter(body.length + 4).string(body).toBuffer();
    return this.requestRaw(frame);
  }

  /** Sends bytes as they are and waits for one reply (or the close). */
  requestRaw(bytes: Uint8Array): Promise<Buffer | null> {
    if (this.#closed) return Promise.resolve(null);
    const p = new Promise<Buffer | null>((resolve) => this.#waiting.push(resolve));
    this.socket.write(bytes);
    return p;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Message numbers used by the tests. */
export const M = {
  FAILURE: 5,
  SUCCESS: 6,
  REQUEST_IDENTITIES: 11,
  IDENTITIES_ANSWER: 12,
  SIGN_REQUEST: 13,
  SIGN_RESPONSE: 14,
  ADD_IDENTITY: 17,
  REMOVE_IDENTITY: 18,
  REMOVE_ALL: 19,
  LOCK: 22,
  UNLOCK: 23,
  ADD_ID_CONSTRAINED: 25,
  EXTENSION: 27,
} as const;

/**
 * Agent servers listening in a temporary folder, all closed (and the folder removed) after the
 * test file: call in the file's top level; `start(opts)` gives a listening server and its path.
 */
export function agentServers(prefix: string): {
  start(opts?: ConstructorParameters<typeof AgentServer>[0]): Promise<{ server: AgentServer; path: string }>;
  /** The temporary folder (set once the file's tests run). */
  dir(): string;
  /** Closes `server` with the others after the file. */
  track(server: AgentServer): void;
} {
  let dir = '';
  let n = 0;
  const servers: AgentServer[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    for (const s of servers) await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    dir: () => dir,
    track: (server) => {
      servers.push(server);
    },
    async start(opts = {}) {
      const server = new AgentServer(opts);
      servers.push(server);
      const path = await server.listen(join(dir, `a${n++}.sock`));
      return { server, path };
    },
  };
}
