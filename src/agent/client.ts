/**
 * An ssh-agent client (draft-miller-ssh-agent, OpenSSH PROTOCOL.agent): list, sign, add with
 * constraints, add certificates, remove, lock, unlock, extensions (`query`, `session-bind@openssh.com`).
 */
import { AgentError, InvalidArgumentError, KeyError, SshError } from '../errors.js';
import {
  algorithmFits,
  Certificate,
  CertificateSigner,
  isCertificateType,
  type PrivateKey,
  PublicKey,
  type SignatureAlgorithm,
  type Signer,
} from '../keys/index.js';
import { SshReader, SshWriter } from '../wire/index.js';
import {
  type AddConstraints,
  certificatePrivateBlob,
  decodeIdentities,
  decodeQueryAnswer,
  encodeConstraints,
  encodeSessionBind,
  type SessionBinding,
} from './codec.js';
import { AgentConnection, defaultAgentPath } from './connection.js';
import { AGENT_EXT, AGENT_MSG, LEGACY_FAILURES, MAX_SIGN_DATA, SIGN_FLAGS } from './protocol.js';

/** One identity held by the agent. */
export interface AgentIdentity {
  /** The public key (for a certificate, the certified key); its comment is the agent's comment. */
  key: PublicKey;
  /** The comment the key was added with (often the key file's path or `user@host`). */
  comment: string;
  /** The certificate, when the identity is one. */
  certificate?: Certificate;
  /** The identity's blob as the agent sent it (the certificate's blob for a certificate). */
  blob: Buffer;
}

/** Options of {@link AgentClient}. */
export interface AgentClientOptions {
  /** Milliseconds each request may wait for the agent (default 30000; 0 for no limit). A `confirm` key waits for the user. */
  timeout?: number;
}

const DEFAULT_TIMEOUT = 30_000;

function isFailure(code: number): boolean {
  return code === AGENT_MSG.FAILURE || code === AGENT_MSG.EXTENSION_FAILURE || LEGACY_FAILURES.includes(code);
}

/**
 * Talks to an ssh-agent (default: `$SSH_AUTH_SOCK`; on Windows, OpenSSH's `\\.\pipe\openssh-ssh-agent`
 * when that is unset). The socket is opened on first use and kept open until {@link AgentClient.close} (it
 * does not keep the process alive while idle); requests are sent one at a time, in call order. Every
 * failure is an {@link AgentError}: a refusal, a malformed or oversized reply, no reply within `timeout`.
 * Session bindings (`bindSession`) belong to the socket: a new socket (after a failure) has none.
 */
export class AgentClient {
  /** The agent's socket path; undefined when none was given and none is known (requests then fail with an {@link AgentError}). */
  readonly socketPath: string | undefined;
  /** Milliseconds each request may wait (0: no limit). */
  readonly timeout: number;
  readonly #conn: AgentConnection;

  constructor(socketPath: string | undefined = defaultAgentPath(), opts: AgentClientOptions = {}) {
    const timeout = opts.timeout ?? DEFAULT_TIMEOUT;
    if (!Number.isFinite(timeout) || timeout < 0 || timeout > 0x7fffffff)
      throw new InvalidArgumentError(`timeout must be from 0 to 2147483647 ms, not ${timeout}`);
    this.socketPath = socketPath;
    this.timeout = timeout;
    this.#conn = new AgentConnection(socketPath, timeout);
  }

  /** A new client for the same agent and options, on its own socket (so with its own session bindings). */
  fork(): AgentClient {
    return new AgentClient(this.socketPath, { timeout: this.timeout });
  }

  /** Connects now (requests connect on demand); rejects with AgentError when the agent cannot be reached. */
  connect(): Promise<void> {
    return this.#conn.open();
  }

  /** Lists the agent's identities (SSH_AGENTC_REQUEST_IDENTITIES), certificates included. Keys of types this library cannot parse are skipped. */
  async list(): Promise<AgentIdentity[]> {
    const body = await this.#conn.request(Buffer.from([AGENT_MSG.REQUEST_IDENTITIES]));
    try {
      const r = new SshReader(body);
      const code = r.byte();
      if (isFailure(code)) throw new AgentError('agent refused to list identities');
      if (code !== AGENT_MSG.IDENTITIES_ANSWER)
        throw new AgentError(`unexpected agent reply ${code} to identities request`);
      const out: AgentIdentity[] = [];
      for (const { blob, comment } of decodeIdentities(r)) {
        try {
          const type = new SshReader(blob).ascii(128);
          if (isCertificateType(type)) {
            const certificate = Certificate.fromBlob(blob, comment);
            out.push({ key: certificate.publicKey, comment, certificate, blob });
          } else {
            out.push({ key: PublicKey.fromBlob(blob, comment), comment, blob });
          }
        } catch (e) {
          if (!(e instanceof KeyError) && !(e instanceof SshError)) throw e; // unknown types are skipped
        }
      }
      return out;
    } catch (e) {
      if (e instanceof AgentError) throw e;
      throw new AgentError('malformed agent identities answer', { cause: e });
    }
  }

  /**
   * Asks the agent to sign `data` with `key` (SSH_AGENTC_SIGN_REQUEST, with the rsa-sha2 flags for RSA);
   * `key` may be a certificate (the agent must hold it as one). Returns the SSH signature blob; throws
   * {@link AgentError} when the agent refuses or answers with another algorithm.
   */
  async sign(key: PublicKey | Certificate, data: Uint8Array, algorithm: SignatureAlgorithm): Promise<Buffer> {
    const plain = key instanceof Certificate ? key.publicKey : key;
    if (!algorithmFits(plain.type, algorithm))
      throw new AgentError(`${algorithm} cannot be used with a ${plain.type} key`);
    if (data.length > MAX_SIGN_DATA) throw new AgentError(`${data.length} bytes is too much data to sign`);
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
    const body = await this.#conn.request(Buffer.from(req));
    try {
      const r = new SshReader(body);
      const code = r.byte();
      if (isFailure(code)) throw new AgentError('agent refused to sign');
      if (code !== AGENT_MSG.SIGN_RESPONSE) throw new AgentError(`unexpected agent reply ${code} to sign request`);
      const sig = Buffer.from(r.string());
      r.ensureEnd('agent sign response');
      const name = new SshReader(sig).ascii(64);
      if (name !== algorithm)
        throw new AgentError(`agent made a ${name.slice(0, 64)} signature, ${algorithm} was asked`);
      return sig;
    } catch (e) {
      if (e instanceof AgentError) throw e;
      throw new AgentError('malformed agent sign response', { cause: e });
    }
  }

  /**
   * Adds a private key (SSH_AGENTC_ADD_IDENTITY, or ADD_ID_CONSTRAINED with `constraints`); `comment` defaults
   * to the key's own. With `certificate`, the certified key is added (the key itself is not: add both for both).
   */
  async add(
    key: PrivateKey,
    opts: { comment?: string; constraints?: AddConstraints; certificate?: Certificate } | string = {},
  ): Promise<void> {
    const o = typeof opts === 'string' ? { comment: opts } : opts;
    const comment = o.comment ?? key.comment;
    const constraints = encodeConstraints(o.constraints);
    const priv = o.certificate ? certificatePrivateBlob(key, o.certificate) : key.toPrivateBlob();
    const type = constraints.length > 0 ? AGENT_MSG.ADD_ID_CONSTRAINED : AGENT_MSG.ADD_IDENTITY;
    const w = new SshWriter(priv.length + comment.length + constraints.length + 16)
      .byte(type)
      .raw(priv)
      .string(comment)
      .raw(constraints);
    const req = Buffer.from(w.toBuffer());
    priv.fill(0);
    w.toBuffer().fill(0);
    try {
      await this.#expectSuccess(req, o.certificate ? 'add the certificate' : 'add the key');
    } finally {
      req.fill(0);
    }
  }

  /** Removes one identity (SSH_AGENTC_REMOVE_IDENTITY); pass a Certificate to remove a certificate identity. */
  async remove(key: PublicKey | Certificate): Promise<void> {
    const req = new SshWriter(key.blob.length + 8).byte(AGENT_MSG.REMOVE_IDENTITY).string(key.blob).toBuffer();
    await this.#expectSuccess(Buffer.from(req), 'remove the key');
  }

  /** Removes every identity (SSH_AGENTC_REMOVE_ALL_IDENTITIES). */
  async removeAll(): Promise<void> {
    await this.#expectSuccess(Buffer.from([AGENT_MSG.REMOVE_ALL_IDENTITIES]), 'remove all keys');
  }

  /** Locks the agent with a passphrase (SSH_AGENTC_LOCK): it then lists nothing and signs nothing. */
  async lock(passphrase: string | Uint8Array): Promise<void> {
    await this.#lockRequest(AGENT_MSG.LOCK, passphrase, 'lock');
  }

  /** Unlocks the agent (SSH_AGENTC_UNLOCK); a wrong passphrase is an AgentError. */
  async unlock(passphrase: string | Uint8Array): Promise<void> {
    await this.#lockRequest(AGENT_MSG.UNLOCK, passphrase, 'unlock');
  }

  async #lockRequest(type: number, passphrase: string | Uint8Array, what: string): Promise<void> {
    const pass = typeof passphrase === 'string' ? Buffer.from(passphrase, 'utf8') : Buffer.from(passphrase);
    const w = new SshWriter(pass.length + 8).byte(type).string(pass);
    const req = Buffer.from(w.toBuffer());
    pass.fill(0);
    w.toBuffer().fill(0);
    try {
      await this.#expectSuccess(req, `${what} the agent`);
    } finally {
      req.fill(0);
    }
  }

  /**
   * Sends an extension request (SSH_AGENTC_EXTENSION: `name` then `contents`, OpenSSH's form). Resolves with
   * the reply (type byte included) when it is SUCCESS or EXTENSION_RESPONSE; a refusal is an AgentError.
   */
  async extension(name: string, contents: Uint8Array = Buffer.alloc(0)): Promise<Buffer> {
    const req = new SshWriter(name.length + contents.length + 16)
      .byte(AGENT_MSG.EXTENSION)
      .string(name)
      .raw(contents)
      .toBuffer();
    return this.#extensionReply(Buffer.from(req), name);
  }

  async #extensionReply(req: Buffer, name: string): Promise<Buffer> {
    const body = await this.#conn.request(req);
    const code = body[0] as number;
    if (isFailure(code)) throw new AgentError(`agent refused the ${name} extension`);
    if (code !== AGENT_MSG.SUCCESS && code !== AGENT_MSG.EXTENSION_RESPONSE)
      throw new AgentError(`unexpected agent reply ${code} to the ${name} extension`);
    return body;
  }

  /** The extensions the agent says it supports (the `query` extension); an agent without it rejects with AgentError. */
  async query(): Promise<string[]> {
    const body = await this.extension(AGENT_EXT.QUERY);
    try {
      return decodeQueryAnswer(body);
    } catch (e) {
      throw new AgentError('malformed agent query answer', { cause: e });
    }
  }

  /**
   * Binds this client's socket to an SSH session (`session-bind@openssh.com`): the agent checks the host
   * key's signature over the session id and then applies destination constraints to later requests on this
   * socket. An agent without the extension rejects with AgentError.
   */
  async bindSession(binding: SessionBinding): Promise<void> {
    const body = await this.#extensionReply(encodeSessionBind(binding), AGENT_EXT.SESSION_BIND);
    if (body.length !== 1 || body[0] !== AGENT_MSG.SUCCESS)
      throw new AgentError('unexpected agent reply to session-bind@openssh.com');
  }

  async #expectSuccess(req: Buffer, what: string): Promise<void> {
    const body = await this.#conn.request(req);
    if (body.length === 1 && body[0] === AGENT_MSG.SUCCESS) return;
    if (body.length === 1 && isFailure(body[0] as number)) throw new AgentError(`agent refused to ${what}`);
    throw new AgentError(`unexpected agent reply to a request to ${what}`);
  }

  /**
   * One {@link Signer} per identity the agent holds (skipping keys this library cannot parse); a certificate
   * identity is a {@link CertificateSigner} whose signatures the agent makes with the certificate.
   */
  async signers(): Promise<Signer[]> {
    const ids = await this.list();
    return ids.map(({ key, certificate }) => {
      const target = certificate ?? key;
      const signer: Signer = {
        publicKey: key,
        sign: (data: Uint8Array, algorithm: SignatureAlgorithm) => this.sign(target, data, algorithm),
      };
      return certificate ? new CertificateSigner(signer, certificate) : signer;
    });
  }

  /** Closes the socket; later requests fail with {@link AgentError}. */
  close(): void {
    this.#conn.close();
  }
}
