/**
 * The secsh side of the Python peers' matrix: a secsh Server that offers every algorithm secsh
 * implements (host keys of every type, DSA included) and records each connection's key exchanges by
 * the client's port; a 1 MiB `cat` echo from secsh's client with data zlib can compress; and the
 * tally behind the `matrix <peer> <role>: …` summary lines.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, type TestContext } from 'node:test';
import type { Client } from '../../src/client/client.js';
import { type AlgorithmKind, supportedAlgorithms } from '../../src/crypto/algorithms.js';
import { ConnectionLostError, DisconnectError, DisconnectReason } from '../../src/errors.js';
import { generatePrivateKey, PrivateKey, type PublicKey, parsePublicKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server, type ServerConnection } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';
import { symlinkOrderFor } from '../../src/sftp/constants.js';
import { LocalFsBackend } from '../../src/sftp/local-backend.js';
import { serveSftp } from '../../src/sftp/server.js';
import type { NegotiatedAlgorithms, RekeyLimit } from '../../src/transport/options.js';
import { drain } from './interop.js';
import {
  HOST_KEY_KINDS,
  type HostKeyKind,
  PY_PASSWORD,
  PY_USER,
  type PyCase,
  type PyCaseResult,
} from './python-peers.js';
import { keygen, type UserKey } from './sshd.js';

const hostKeys = new Map<HostKeyKind, PrivateKey>();

/** A host key of each kind (made once per process and kind). */
export function matrixHostKeys(kinds: readonly HostKeyKind[] = HOST_KEY_KINDS): PrivateKey[] {
  return kinds.map((kind) => {
    let key = hostKeys.get(kind);
    if (!key) {
      const ec = /^ecdsa(256|384|521)$/.exec(kind);
      key =
        kind === 'dsa'
          ? PrivateKey.fromKeyObject(generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 }).privateKey)
          : kind === 'rsa'
            ? generatePrivateKey('rsa', { bits: 2048 })
            : ec
              ? generatePrivateKey('ecdsa', { bits: Number(ec[1]) })
              : generatePrivateKey('ed25519');
      hostKeys.set(kind, key);
    }
    return key;
  });
}

/** What the secsh server saw of one connection. */
export interface ConnRecord {
  /** Every key exchange completed, the first included. */
  exchanges: NegotiatedAlgorithms[];
  /** Why it ended, when it ended with an error (not when the peer merely hung up). */
  error?: Error;
}

export interface MatrixServer {
  port: number;
  /** `type base64` lines of the host keys, for the peers to pin. */
  hostKeyLines: string[];
  /** Connections by the client's port. */
  byClientPort: Map<number, ConnRecord>;
  close(): Promise<void>;
}

export interface MatrixServerOptions {
  /** Keys that may log in as alice (besides the password). */
  userKeys: readonly UserKey[];
  /** Directory served by SFTP; exec runs here too. */
  root: string;
  rekeyLimit?: RekeyLimit;
  /** Host key kinds (default all, DSA included). */
  hostKeys?: readonly HostKeyKind[];
  /** Signature algorithms accepted for user keys (default secsh's: no ssh-rsa). */
  publicKeyAlgorithms?: readonly string[];
}

/** A secsh server on a free 127.0.0.1 port offering every algorithm secsh implements (exec through /bin/sh). */
export async function startMatrixServer(o: MatrixServerOptions): Promise<MatrixServer> {
  const keys = matrixHostKeys(o.hostKeys);
  const allowed: PublicKey[] = o.userKeys.map((k) => parsePublicKey(k.publicLine));
  const all = (k: AlgorithmKind) => supportedAlgorithms(k);
  const server = new Server({
    hostKeys: keys,
    authMethods: ['publickey', 'password'],
    authFailureDelay: 0,
    algorithms: {
      kex: all('kex'),
      hostKey: all('hostKey'),
      cipher: all('cipher'),
      mac: all('mac'),
      compression: all('compression'),
    },
    authenticate: (ctx) => {
      if (ctx.username !== PY_USER) return false;
      if (ctx.method === 'password') return ctx.password === PY_PASSWORD;
      const key = ctx.method === 'publickey' ? ctx.key : undefined;
      return key !== undefined && allowed.some((k) => k.equals(key));
    },
    ...(o.rekeyLimit ? { rekeyLimit: o.rekeyLimit } : {}),
    ...(o.publicKeyAlgorithms ? { publicKeyAlgorithms: o.publicKeyAlgorithms } : {}),
  });
  const byClientPort = new Map<number, ConnRecord>();
  server.on('connection', (conn: ServerConnection) => {
    const record: ConnRecord = { exchanges: [] };
    const port = Number(/:(\d+)$/.exec(conn.remoteAddress ?? '')?.[1]);
    if (Number.isInteger(port)) byClientPort.set(port, record);
    conn.transport.on('kex', (n: NegotiatedAlgorithms) => record.exchanges.push({ ...n }));
    conn.on('close', (err?: Error) => {
      // a peer that hangs up, with or without DISCONNECT "by application", ends a connection cleanly
      const clean =
        err instanceof ConnectionLostError ||
        (err instanceof DisconnectError && err.peerReason === DisconnectReason.BY_APPLICATION);
      if (err && !clean) record.error = err;
    });
  });
  server.on('error', () => {});
  const backend = new LocalFsBackend(o.root);
  const sftp = (session: Session) => {
    const exit = (code: number) => {
      try {
        session.exit(code);
      } catch {
        // the channel is already closed
      }
    };
    serveSftp(session.channel, backend, {
      symlinkOrder: symlinkOrderFor(session.clientVersion, session.serverVersion),
    }).then(
      () => exit(0),
      () => exit(1),
    );
  };
  server.on('session', localProcessHandler({ shell: '/bin/sh', cwd: o.root, subsystems: { sftp } }));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return {
    port,
    hostKeyLines: keys.map((k) => `${k.publicKey.type} ${k.publicKey.blob.toString('base64')}`),
    byClientPort,
    close: () => server.close(),
  };
}

/**
 * Block `n` of the echo data: 4 KiB random then 4 KiB of numbered text, so corruption shows and zlib
 * finds back-references across packets (random data alone goes out as stored blocks).
 */
function mixedBlock(n: number): Buffer {
  const line = Buffer.from(`line ${String(n).padStart(8, '0')}: all work and no play makes jack a dull boy\n`);
  const text = Buffer.alloc(4096);
  for (let o = 0; o < 4096; o += line.length) line.copy(text, o);
  return Buffer.concat([randomBytes(4096), text]);
}

/** `total` bytes of {@link mixedBlock}s. */
export function mixedBytes(total: number): Buffer {
  const blocks: Buffer[] = [];
  for (let n = 0, made = 0; made < total; n++, made += 8192) blocks.push(mixedBlock(n));
  return Buffer.concat(blocks).subarray(0, total);
}

/** A readable of `total` bytes of {@link mixedBlock}s; `digest()` is the sha256 of what it produced. */
export function mixedSource(total: number): { stream: Readable; digest(): string } {
  const hash = createHash('sha256');
  let made = 0;
  let n = 0;
  const stream = new Readable({
    read() {
      if (made >= total) {
        this.push(null);
        return;
      }
      const block = mixedBlock(n++).subarray(0, Math.min(8192, total - made));
      made += block.length;
      hash.update(block);
      this.push(block);
    },
  });
  return { stream, digest: () => hash.copy().digest('hex') };
}

/** Sends `total` bytes through `cat` on `client` and checks they come back unchanged, exit status 0. */
export async function catEcho(client: Client, total: number): Promise<void> {
  const proc = await client.spawn('cat');
  const src = mixedSource(total);
  const [, back, exit] = await Promise.all([pipeline(src.stream, proc.stdin), drain(proc.stdout), proc.exit]);
  assert.equal(back.bytes, total, 'bytes back');
  assert.equal(back.sha256, src.digest(), 'the bytes back are the bytes sent');
  assert.deepEqual(exit, { code: 0, signal: null });
}

/** A scratch directory with user keys made by ssh-keygen (no peer reads a key secsh wrote). */
export interface PyEnv {
  dir: string;
  keys: { ed25519: UserKey; ecdsa: UserKey; rsa: UserKey };
  /** authorized_keys with the three keys, for the peers' servers. */
  authorizedKeysPath: string;
}

/**
 * The {@link PyEnv} of a test file, made on first use and removed in `after` (call at top level;
 * `get()` only after requirePeer(t, …, 'ssh-keygen')).
 */
export function sharedPyEnv(prefix: string): { get(): Promise<PyEnv> } {
  let p: Promise<PyEnv> | undefined;
  after(async () => {
    const env = await p?.catch(() => undefined);
    if (env) await rm(env.dir, { recursive: true, force: true });
  });
  return {
    get: () => {
      p ??= (async () => {
        const dir = await mkdtemp(join(tmpdir(), prefix));
        const [ed25519, ecdsa, rsa] = await Promise.all([
          keygen(join(dir, 'id_ed25519'), ['-t', 'ed25519']),
          keygen(join(dir, 'id_ecdsa'), ['-t', 'ecdsa', '-b', '256']),
          keygen(join(dir, 'id_rsa'), ['-t', 'rsa', '-b', '2048']),
        ]);
        const authorizedKeysPath = join(dir, 'authorized_keys');
        await writeFile(authorizedKeysPath, `${[ed25519, ecdsa, rsa].map((k) => k.publicLine).join('\n')}\n`);
        return { dir, keys: { ed25519, ecdsa, rsa }, authorizedKeysPath };
      })();
      return p;
    },
  };
}

/** A Python client case against `server`: password login, the server's host keys pinned, echo. */
export function pyCase(server: MatrixServer, dir: string, name: string, over: Partial<PyCase> = {}): PyCase {
  return {
    name,
    port: server.port,
    user: PY_USER,
    password: PY_PASSWORD,
    keyFile: null,
    hostKeys: server.hostKeyLines,
    algs: {},
    action: 'echo',
    bytes: 1024 * 1024,
    rekeyBytes: null,
    dir,
    ...over,
  };
}

/** Asserts a Python client's `cat` echo came back whole, exit status 0. */
export function assertCatEchoed(r: PyCaseResult, bytes: number): void {
  assert.equal(r.bytes, bytes, 'bytes back');
  assert.equal(r.sha256Back, r.sha256Sent, 'the bytes back are the bytes sent');
  assert.equal(r.exit, 0);
}

/** Counts the cases (each one connection and handshake) of one peer in one role. */
export class MatrixTally {
  tried = 0;
  passed = 0;
  readonly failed: string[] = [];

  constructor(
    readonly peer: string,
    /** The peer's role: 'server' when secsh is the client. */
    readonly role: 'client' | 'server',
  ) {}

  /** Runs `fn` as subtest `name` of `t` and counts it. */
  async case(t: TestContext, name: string, fn: () => Promise<void> | void): Promise<void> {
    this.tried++;
    let ok = false;
    await t.test(name, async () => {
      await fn();
      ok = true;
    });
    if (ok) this.passed++;
    else this.failed.push(name);
  }

  /** Prints `matrix <peer> <role>: N handshakes tried, N passed, N failed` (and the failed names). */
  summary(): string {
    const line = `matrix ${this.peer} ${this.role}: ${this.tried} handshakes tried, ${this.passed} passed, ${this.failed.length} failed`;
    console.log(this.failed.length ? `${line} (${this.failed.join('; ')})` : line);
    return line;
  }
}
