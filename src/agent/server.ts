/**
 * An ssh-agent server (draft-miller-ssh-agent, OpenSSH PROTOCOL.agent): an in-memory keyring served on a
 * Unix socket or on any Duplex (a forwarded agent channel, for example).
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { chmod, link, lstat, mkdtemp, rm, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import type { Duplex } from 'node:stream';
import { AgentError, InvalidArgumentError, KeyError, WireError } from '../errors.js';
import { algorithmFits, Certificate, type PrivateKey, type PublicKey } from '../keys/index.js';
import { SshReader, SshWriter } from '../wire/index.js';
import { AgentConnection, MAX_AGENT_REQUEST } from './connection-server.js';

export { MAX_AGENT_REQUEST };

import {
  type DestinationConstraint,
  identityPermitted,
  type KeyConstraints,
  parseConstraints,
  parseHostKeyBlob,
  parseUserauthRequest,
  sameKey,
} from './constraints.js';
import { type Identity, Keyring, MAX_COMMENT, readAgentKey, signAlgorithm, typeOf } from './keyring.js';
import { AGENT_MSG } from './protocol.js';

/** Most session binds recorded per connection (as OpenSSH). */
export const MAX_SESSION_BINDS = 16;
/** Extensions answered by `query`. */
export const AGENT_EXTENSIONS: readonly string[] = ['query', 'session-bind@openssh.com'];

/** Options of {@link AgentServer}. */
export interface AgentServerOptions {
  /**
   * Asked before a key added with the confirm constraint signs; resolve true to allow. Without it such keys
   * never sign (OpenSSH asks through ssh-askpass).
   */
  onConfirm?: (key: PublicKey | Certificate, comment: string) => Promise<boolean>;
  /** Lifetime in seconds for keys added without one (as `ssh-agent -t`). */
  defaultLifetime?: number;
  /** Most keys held (default 2048); adding more fails. */
  maxKeys?: number;
  /** Most simultaneous connections (default 1024); more are closed at once. */
  maxConnections?: number;
  /** Requests queued per connection before the server stops reading from it (default 128). */
  maxPending?: number;
  /** Debug lines (what `ssh-agent -d` prints); never secrets. */
  log?: (line: string) => void;
}

/** Options of {@link AgentServer.add}. */
export interface AgentAddOptions {
  /** The key's comment, as listed (default: the key's own). */
  comment?: string;
  /** Seconds until the key is removed. */
  lifetime?: number;
  /** Each signature asks `onConfirm` first. */
  confirm?: boolean;
  /** Serve the key under this certificate (which must certify it) instead of as a plain key. */
  certificate?: Certificate;
  /** Where the key may be used (`ssh-add -h`): checked against each connection's session binds. */
  destinations?: DestinationConstraint[];
}

const LOCK_SALT = 16;
const LOCK_HASH = 32;
const SCRYPT = { N: 1 << 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function scryptAsync(pass: Buffer, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(pass, salt, LOCK_HASH, SCRYPT, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Longest timer Node accepts. */
const MAX_TIMER = 0x7fff_ffff;

/**
 * An ssh-agent: holds keys in memory and signs with them for clients on its socket or on streams handed to
 * {@link AgentServer.serve}. Keys are added by clients (ssh-add) or with {@link AgentServer.add}.
 */
export class AgentServer {
  readonly #keys = new Keyring();
  readonly #conns = new Set<AgentConnection>();
  readonly #opts: Required<Pick<AgentServerOptions, 'maxKeys' | 'maxConnections' | 'maxPending'>> & AgentServerOptions;
  #server: Server | undefined;
  #socketPath: string | undefined;
  #ownDir: string | undefined;
  #lock: { salt: Buffer; hash: Buffer } | undefined;
  #unlockFailures = 0;
  #unlockQueue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(opts: AgentServerOptions = {}) {
    const { defaultLifetime } = opts;
    if (defaultLifetime !== undefined && !(Number.isInteger(defaultLifetime) && defaultLifetime >= 0))
      throw new InvalidArgumentError('defaultLifetime must be a non-negative integer number of seconds');
    this.#opts = { maxKeys: 2048, maxConnections: 1024, maxPending: 128, ...opts };
  }

  /** The Unix socket path after {@link AgentServer.listen}. */
  get socketPath(): string | undefined {
    return this.#socketPath;
  }

  /** Whether the agent is locked. */
  get locked(): boolean {
    return this.#lock !== undefined;
  }

  /** How many keys are held. */
  get size(): number {
    this.#keys.expire();
    return this.#keys.size;
  }

  /**
   * Listens on a Unix socket. Without `path`, a new 0700 directory under the temp directory holds
   * `agent.<pid>`. A given `path` must not exist (it is never reused or replaced); the socket is made 0600
   * in a private directory beside it and hard-linked into place. Resolves with the path.
   */
  async listen(path?: string): Promise<string> {
    if (this.#server) throw new InvalidArgumentError('agent already listening');
    if (this.#closed) throw new InvalidArgumentError('agent closed');
    let sockPath: string;
    let privateDir: string;
    if (path === undefined) {
      privateDir = await mkdtemp(join(tmpdir(), 'ssh-'));
      sockPath = join(privateDir, `agent.${process.pid}`);
    } else {
      path = resolvePath(path); // the agent may change directory later (secsh agent does)
      const exists = await lstat(path).then(
        () => true,
        (e: NodeJS.ErrnoException) => e.code !== 'ENOENT',
      );
      if (exists) throw new AgentError(`agent socket path already exists: ${path}`);
      privateDir = await mkdtemp(join(dirname(path), '.sa-')); // short: socket paths are limited to ~107 bytes
      sockPath = join(privateDir, 's');
    }
    const server = createServer({ allowHalfOpen: true }, (s) => this.#accept(s));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ path: sockPath, readableAll: false, writableAll: false }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      await chmod(sockPath, 0o600);
      if (path !== undefined) {
        await link(sockPath, path); // fails with EEXIST rather than replacing anything
        await unlink(sockPath);
        await rm(privateDir, { recursive: true, force: true });
        sockPath = path;
      } else {
        this.#ownDir = privateDir;
      }
    } catch (e) {
      server.close();
      await rm(privateDir, { recursive: true, force: true }).catch(() => undefined);
      if (e instanceof AgentError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new AgentError(`cannot listen on agent socket: ${code ?? String(e)}`, { cause: e });
    }
    server.on('error', (e) => this._debug(`listener error: ${e.message}`));
    this.#server = server;
    this.#socketPath = sockPath;
    this._debug('listening');
    return sockPath;
  }

  #accept(s: Socket): void {
    this.serve(s);
  }

  /** Serves the agent protocol on `stream` (a socket, a forwarded channel, …) until it closes. */
  serve(stream: Duplex): void {
    if (this.#closed || this.#conns.size >= this.#opts.maxConnections) {
      this._debug('connection refused: closed or too many connections');
      stream.on('error', () => undefined);
      stream.destroy();
      return;
    }
    this.#conns.add(new AgentConnection(this, stream, this.#opts.maxPending));
  }

  /** Stops listening, closes every connection, forgets every key and removes the socket it made. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [...this.#conns]) c.close();
    this.#keys.clear();
    this.#lock = undefined;
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.#socketPath) await unlink(this.#socketPath).catch(() => undefined);
    if (this.#ownDir) await rm(this.#ownDir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Adds a key directly (as ADD_ID_CONSTRAINED would). Throws {@link AgentError} at the key limit. */
  add(key: PrivateKey, opts: AgentAddOptions = {}): void {
    const pub = opts.certificate ?? key.publicKey;
    if (opts.certificate && !opts.certificate.publicKey.equals(key.publicKey))
      throw new InvalidArgumentError('certificate does not certify this key');
    this.#store(key, pub, opts.comment ?? key.comment, {
      lifetime: opts.lifetime,
      confirm: opts.confirm ?? false,
      destinations: opts.destinations ?? [],
    });
  }

  /** The keys held (public halves or certificates) with their comments. */
  identities(): {
    /** The key, or the certificate it is served under. */
    key: PublicKey | Certificate;
    /** Its comment. */
    comment: string;
  }[] {
    this.#keys.expire();
    return [...this.#keys.values()].map((id) => ({ key: id.publicKey, comment: id.comment }));
  }

  /** @internal */
  _forget(c: AgentConnection): void {
    this.#conns.delete(c);
  }

  /** @internal */
  _debug(line: string): void {
    this.#opts.log?.(line);
  }

  #store(privateKey: PrivateKey, publicKey: PublicKey | Certificate, comment: string, c: KeyConstraints): void {
    const blob = publicKey.blob;
    const old = this.#keys.get(blob);
    if (!old && this.#keys.size >= this.#opts.maxKeys) throw new AgentError('agent key limit reached');
    const lifetime = c.lifetime ?? this.#opts.defaultLifetime;
    const id: Identity = {
      blob,
      publicKey,
      privateKey,
      comment,
      expiresAt: lifetime === undefined ? undefined : Date.now() + lifetime * 1000,
      confirm: c.confirm,
      destinations: c.destinations,
      timer: undefined,
    };
    if (id.expiresAt !== undefined) this.#arm(id);
    this.#keys.set(id);
  }

  #arm(id: Identity): void {
    const wait = Math.max(0, Math.min(MAX_TIMER, (id.expiresAt ?? 0) - Date.now()));
    id.timer = setTimeout(() => {
      if (this.#keys.get(id.blob) !== id) return;
      if (Date.now() >= (id.expiresAt ?? 0)) {
        this._debug(`expired key ${typeOf(id.publicKey)}`);
        this.#keys.delete(id.blob);
      } else this.#arm(id);
    }, wait);
    id.timer.unref();
  }

  /** @internal Handles one request body; resolves with the reply body. */
  async _handle(conn: AgentConnection, req: Buffer): Promise<Buffer> {
    this.#keys.expire();
    const r = new SshReader(req);
    const type = r.byte();
    const M = AGENT_MSG;
    if (this.#lock && type !== M.UNLOCK) {
      if (type === M.REQUEST_IDENTITIES) return Buffer.from([M.IDENTITIES_ANSWER, 0, 0, 0, 0]);
      return Buffer.from([M.FAILURE]);
    }
    try {
      switch (type) {
        case M.REQUEST_IDENTITIES:
          r.ensureEnd('identities request');
          return this.#list(conn);
        case M.SIGN_REQUEST:
          return await this.#sign(conn, r);
        case M.ADD_IDENTITY:
        case M.ADD_ID_CONSTRAINED:
          return this.#status(this.#addFromWire(conn, req, r));
        case M.REMOVE_IDENTITY:
          return this.#status(this.#remove(conn, r));
        case M.REMOVE_ALL_IDENTITIES:
          r.ensureEnd('remove all');
          this.#keys.clear();
          this._debug('removed all identities');
          return this.#status(true);
        case M.LOCK:
        case M.UNLOCK:
          return this.#status(await this.#lockUnlock(r, type === M.LOCK));
        case M.EXTENSION:
          return this.#extension(conn, r);
        default:
          this._debug(`unsupported request type ${type}`);
          return this.#status(false);
      }
    } catch (e) {
      if (e instanceof WireError || e instanceof KeyError || e instanceof AgentError) {
        this._debug(`refused request ${type}: ${e.message}`);
        return this.#status(false);
      }
      throw e;
    }
  }

  #status(ok: boolean): Buffer {
    return Buffer.from([ok ? AGENT_MSG.SUCCESS : AGENT_MSG.FAILURE]);
  }

  #visible(conn: AgentConnection, id: Identity): boolean {
    return identityPermitted(id.destinations, conn.bindings, conn.bindAttempted, undefined);
  }

  #list(conn: AgentConnection): Buffer {
    const ids = [...this.#keys.values()].filter((id) => this.#visible(conn, id));
    const w = new SshWriter(64 + ids.length * 128).byte(AGENT_MSG.IDENTITIES_ANSWER).uint32(ids.length);
    for (const id of ids) w.string(id.blob).string(id.comment);
    return Buffer.from(w.toBuffer());
  }

  async #sign(conn: AgentConnection, r: SshReader): Promise<Buffer> {
    const blob = r.string(64 * 1024);
    const data = Buffer.from(r.string(MAX_AGENT_REQUEST));
    const flags = r.uint32();
    r.ensureEnd('sign request');
    const id = this.#keys.get(blob);
    if (!id) {
      this._debug('sign: key not found');
      return this.#status(false);
    }
    if (id.destinations.length > 0 && !this.#destinationAllows(conn, id, data)) return this.#status(false);
    if (id.confirm) {
      const ask = this.#opts.onConfirm;
      let ok = false;
      if (ask)
        ok = await Promise.resolve()
          .then(() => ask(id.publicKey, id.comment))
          .then(
            (v) => v === true,
            () => false,
          );
      if (!ok) {
        this._debug('sign: confirmation refused');
        return this.#status(false);
      }
      if (this.#keys.get(blob) !== id || this.#lock) return this.#status(false);
    }
    const alg = signAlgorithm(id, flags);
    const sig = id.privateKey.signSync(data, alg);
    return Buffer.from(new SshWriter(sig.length + 16).byte(AGENT_MSG.SIGN_RESPONSE).string(sig).toBuffer());
  }

  /** OpenSSH's checks before a destination-constrained key signs. */
  #destinationAllows(conn: AgentConnection, id: Identity, data: Buffer): boolean {
    const binds = conn.bindings;
    const last = binds[binds.length - 1];
    if (!last) {
      this._debug('refusing destination-constrained key on an unbound connection');
      return false;
    }
    const ua = parseUserauthRequest(data, id.blob, typeOf(id.publicKey));
    if (!ua) {
      this._debug('refusing destination-constrained key for data that is not a user-auth request');
      return false;
    }
    if (!identityPermitted(id.destinations, binds, conn.bindAttempted, ua.user)) {
      this._debug('destination-constrained key not permitted for this destination');
      return false;
    }
    if (!ua.sessionId.equals(last.sessionId)) {
      this._debug('sign request for a session other than the last bound');
      return false;
    }
    if (binds.length > 1 && ua.hostKey === undefined) {
      this._debug('no host key in a forwarded sign request');
      return false;
    }
    if (ua.hostKey !== undefined && !sameKey(ua.hostKey, last.hostKey)) {
      this._debug('host key in request differs from the last bound');
      return false;
    }
    return true;
  }

  #addFromWire(conn: AgentConnection, req: Buffer, r: SshReader): boolean {
    const { privateKey, publicKey } = readAgentKey(req, r);
    const comment = r.utf8(MAX_COMMENT);
    const constraints = parseConstraints(r);
    const old = this.#keys.get(publicKey.blob);
    if (old && !this.#visible(conn, old)) return false;
    this.#store(privateKey, publicKey, comment, constraints);
    this._debug(`added ${typeOf(publicKey)} key${constraints.destinations.length ? ' (destination-constrained)' : ''}`);
    return true;
  }

  #remove(conn: AgentConnection, r: SshReader): boolean {
    const blob = r.string(64 * 1024);
    r.ensureEnd('remove request');
    const id = this.#keys.get(blob);
    if (!id || !this.#visible(conn, id)) return false;
    return this.#keys.delete(blob);
  }

  /** LOCK/UNLOCK: the passphrase is kept as a salted scrypt hash; wrong unlocks wait longer each time. */
  #lockUnlock(r: SshReader, lock: boolean): Promise<boolean> {
    const pass = Buffer.from(r.string(MAX_AGENT_REQUEST));
    r.ensureEnd('lock request');
    const run = async (): Promise<boolean> => {
      try {
        if (pass.length === 0) return false;
        if (lock) {
          if (this.#lock) return false;
          const salt = randomBytes(LOCK_SALT);
          this.#lock = { salt, hash: Buffer.alloc(LOCK_HASH) }; // locked from now on, even while hashing
          const hash = await scryptAsync(pass, salt);
          hash.copy(this.#lock.hash);
          hash.fill(0);
          this._debug('agent locked');
          return true;
        }
        const held = this.#lock;
        if (!held) return false;
        const hash = await scryptAsync(pass, held.salt);
        const ok = timingSafeEqual(hash, held.hash);
        hash.fill(0);
        if (ok && this.#lock === held) {
          this.#lock = undefined;
          this.#unlockFailures = 0;
          this._debug('agent unlocked');
          return true;
        }
        this.#unlockFailures = Math.min(100, this.#unlockFailures + 1);
        this._debug(`unlock failed, delaying ${this.#unlockFailures / 10}s`);
        await delay(100 * this.#unlockFailures);
        return false;
      } finally {
        pass.fill(0);
      }
    };
    // Lock and unlock attempts run one at a time across connections, so the delay cannot be dodged.
    const p = this.#unlockQueue.then(run, run);
    this.#unlockQueue = p.catch(() => undefined);
    return p;
  }

  #extension(conn: AgentConnection, r: SshReader): Buffer {
    const name = r.ascii(256);
    if (name === 'query') {
      r.ensureEnd('query');
      const w = new SshWriter(128).byte(AGENT_MSG.SUCCESS);
      for (const ext of AGENT_EXTENSIONS) w.string(ext);
      return Buffer.from(w.toBuffer());
    }
    if (name === 'session-bind@openssh.com') return this.#status(this.#sessionBind(conn, r));
    this._debug('unsupported extension');
    return this.#status(false);
  }

  /** `session-bind@openssh.com`: host key, session id, the host key's signature over it, forwarding flag. */
  #sessionBind(conn: AgentConnection, r: SshReader): boolean {
    conn.bindAttempted = true;
    const hostKey = parseHostKeyBlob(r.string(64 * 1024));
    const sessionId = Buffer.from(r.string(256));
    const sig = r.string(64 * 1024);
    const forwarding = r.byte() !== 0;
    r.ensureEnd('session-bind');
    const pub = hostKey instanceof Certificate ? hostKey.publicKey : hostKey;
    let alg: string;
    try {
      alg = new SshReader(sig).ascii(64);
    } catch {
      return false;
    }
    if (!algorithmFits(pub.type, alg) || !pub.verify(sessionId, sig, alg)) {
      this._debug('session-bind: bad host key signature');
      return false;
    }
    for (const b of conn.bindings) {
      if (!b.forwarding) {
        this._debug('session-bind: connection already bound for authentication');
        return false;
      }
      const sidMatch = b.sessionId.equals(sessionId);
      if (sidMatch && sameKey(b.hostKey, hostKey)) return true;
      if (sidMatch) {
        this._debug('session-bind: session id bound to a different host key');
        return false;
      }
    }
    if (conn.bindings.length >= MAX_SESSION_BINDS) {
      this._debug('session-bind: too many session ids');
      return false;
    }
    conn.bindings.push({ hostKey, sessionId, forwarding });
    this._debug(`session-bind: recorded ${typeOf(hostKey)} (${forwarding ? 'forwarding' : 'authentication'})`);
    return true;
  }
}
