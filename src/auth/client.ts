/**
 * Client user authentication (RFC 4252, RFC 4256): none, hostbased (see ./hostbased.ts), publickey
 * (with a PK_OK query before signing), keyboard-interactive, password (with the change request), and
 * partial success across several methods in a row.
 */
import { debuglog } from 'node:util';
import { authChannel, type ClientAuthEvent } from '../diagnostics.js';

export type { ClientAuthEvent } from '../diagnostics.js';

import { AgentError, AuthError, ProtocolError } from '../errors.js';
import { certificateAlgorithmFor, certificateOf, type Signer } from '../keys/index.js';
import type { SignatureAlgorithm } from '../keys/types.js';
import { MSG, SshReader, SshWriter } from '../wire/index.js';
import { type HostbasedCredentials, signedHostbasedRequest } from './hostbased.js';
import type { MessageQueue } from './queue.js';

/** One keyboard-interactive round. */
export interface KeyboardInteractiveRequest {
  /** The round's title (often empty). */
  name: string;
  /** Text to show before the prompts (often empty). */
  instructions: string;
  /** The questions, in order; answer each, in the same order (none: an empty round to acknowledge). */
  prompts: {
    /** The question text, e.g. `Password: `. */
    prompt: string;
    /** Whether the answer may be shown as it is typed. */
    echo: boolean;
  }[];
}

/** Passwords asked for before the method is given up, as ssh's NumberOfPasswordPrompts. */
const PASSWORD_TRIES = 3;

/** Settings of {@link authenticateClient}: who to log in as, and with what. */
export interface ClientAuthOptions {
  /** The user to log in as. */
  username: string;
  /** Password for the `password` method (and to answer a lone keyboard-interactive password prompt). */
  password?: string;
  /**
   * Asked for a password when `password` is not given, once per try (`attempt` from 0; three tries,
   * like ssh's NumberOfPasswordPrompts); undefined stops trying the method.
   */
  onPassword?: (attempt: number) => string | undefined | Promise<string | undefined>;
  /** Keys to try in order (files, then agent keys). */
  signers?: readonly Signer[];
  /** Loads more signers lazily (the agent), called once when publickey is first tried. */
  loadSigners?: () => Promise<Signer[]>;
  /** Answers a keyboard-interactive round: one answer per prompt. */
  onKeyboardInteractive?: (req: KeyboardInteractiveRequest) => string[] | Promise<string[]>;
  /** The server asks for a new password (RFC 4252 §8); resolve with it. */
  onPasswordChange?: (prompt: string) => string | Promise<string>;
  /**
   * Hostbased authentication (RFC 4252 §9): sign with this host key for the user `localUsername` on
   * `localHostname`. Tried first by default, as ssh orders it.
   */
  hostbased?: HostbasedCredentials | undefined;
  /** Method order; default hostbased, publickey, keyboard-interactive, password. */
  methods?: readonly string[];
  /** Called with a USERAUTH_BANNER message. */
  onBanner?: (message: string) => void;
}

/** What the auth layer needs from the transport. */
export interface AuthTransport {
  /** Sends one message payload (message number first); false when the stream is backed up. */
  send(payload: Buffer): boolean;
  /** The session identifier (the first exchange hash) that publickey signatures cover. */
  readonly sessionId: Buffer | undefined;
  /** The server's `server-sig-algs` (from EXT_INFO), when it sent one. */
  readonly serverSigAlgs: string[] | undefined;
  /** Extensions the server announced in EXT_INFO (`publickey-hostbound@openssh.com` turns on host-bound publickey). */
  readonly peerExtensions?: ReadonlyMap<string, Buffer>;
  /** The host key blob of the first key exchange, as the server sent it (signed into host-bound publickey requests). */
  readonly sessionHostKey?:
    | {
        /** The server's host key as sent in the first key exchange. */
        readonly blob: Buffer;
      }
    | undefined;
}

/**
 * The server's host key blob when it offers `publickey-hostbound-v00@openssh.com` (OpenSSH PROTOCOL §2.5), as
 * ssh uses it: the signature then also covers the host key, which an agent with destination constraints checks.
 */
function hostBoundKey(t: AuthTransport): Buffer | undefined {
  if (t.peerExtensions?.get('publickey-hostbound@openssh.com')?.toString('latin1') !== '0') return undefined;
  return t.sessionHostKey?.blob;
}

const SERVICE = 'ssh-connection';
const debug = debuglog('secsh');

function note(ev: ClientAuthEvent): void {
  const key = ev.key ? ` ${ev.key.type} ${ev.key.fingerprint}${ev.key.algorithm ? ` (${ev.key.algorithm})` : ''}` : '';
  const left = ev.methodsLeft ? `; server allows: ${ev.methodsLeft.join(',') || '(none)'}` : '';
  debug('auth: %s%s for %j: %s%s', ev.method, key, ev.username, ev.result, left);
  if (authChannel.hasSubscribers) authChannel.publish(ev);
}

/** Publishes the outcome of one attempt (a SUCCESS or FAILURE reply). */
function noteReply(username: string, method: string, r: Reply, key?: ClientAuthEvent['key']): void {
  if (r.kind === 'method') return;
  const ev: ClientAuthEvent = {
    role: 'client',
    username,
    method,
    result: r.kind === 'success' ? 'accepted' : r.partial ? 'partial' : 'refused',
    ...(key ? { key } : {}),
    ...(r.kind === 'failure' ? { methodsLeft: r.methods } : {}),
  };
  note(ev);
}

type Reply =
  | { kind: 'success' }
  | { kind: 'failure'; methods: string[]; partial: boolean }
  | { kind: 'method'; payload: Buffer };

/** Picks the signature algorithm for a key, honouring server-sig-algs for RSA (rsa-sha2-* over ssh-rsa). */
export function chooseSignatureAlgorithm(
  signer: Signer,
  serverSigAlgs: readonly string[] | undefined,
): SignatureAlgorithm | undefined {
  const algs = signer.publicKey.signatureAlgorithms;
  if (signer.publicKey.type !== 'ssh-rsa') return algs[0];
  if (!serverSigAlgs) return 'rsa-sha2-512';
  return (
    algs.find((a) => a !== 'ssh-rsa' && serverSigAlgs.includes(a)) ??
    (serverSigAlgs.includes('ssh-rsa') ? 'ssh-rsa' : undefined)
  );
}

/**
 * Runs user authentication to success or throws {@link AuthError}. `queue` yields the messages
 * numbered 5–6 and 50–79 the server sends.
 */
export async function authenticateClient(t: AuthTransport, queue: MessageQueue, o: ClientAuthOptions): Promise<void> {
  t.send(new SshWriter(32).byte(MSG.SERVICE_REQUEST).string('ssh-userauth').toBuffer());
  const accept = await queue.next();
  if (accept[0] !== MSG.SERVICE_ACCEPT) throw new ProtocolError(`expected SERVICE_ACCEPT, got message ${accept[0]}`);

  const base = () => new SshWriter(512).byte(MSG.USERAUTH_REQUEST).string(o.username).string(SERVICE);

  /** Reads until SUCCESS/FAILURE or a method-specific message (60+). */
  async function reply(): Promise<Reply> {
    for (;;) {
      const p = await queue.next();
      const n = p[0];
      const r = new SshReader(p, 1);
      if (n === MSG.USERAUTH_SUCCESS) {
        r.ensureEnd('USERAUTH_SUCCESS');
        return { kind: 'success' };
      }
      if (n === MSG.USERAUTH_FAILURE) {
        const methods = r.nameList();
        const partial = r.bool();
        r.ensureEnd('USERAUTH_FAILURE');
        return { kind: 'failure', methods, partial };
      }
      if (n === MSG.USERAUTH_BANNER) {
        const msg = r.utf8(64 * 1024);
        r.ascii(256);
        r.ensureEnd('USERAUTH_BANNER');
        o.onBanner?.(msg);
        continue;
      }
      if (n !== undefined && n >= 60 && n <= 79) return { kind: 'method', payload: p };
      throw new ProtocolError(`unexpected message ${n} during authentication`);
    }
  }

  // "none" first: learns the allowed methods (and succeeds on servers that need nothing).
  t.send(base().string('none').toBuffer());
  const res = await reply();
  noteReply(o.username, 'none', res);
  if (res.kind === 'success') return;
  if (res.kind === 'method') throw new ProtocolError('unexpected method message for none');
  let allowed = res.methods;

  const order = o.methods ?? ['hostbased', 'publickey', 'keyboard-interactive', 'password'];
  let signers: Signer[] = [...(o.signers ?? [])];
  let loaded = false;
  const triedKeys = new Set<string>();
  const tried = new Set<string>();
  /** What was tried and refused, for the final error: methods, and each key offered (type and fingerprint). */
  const failures: string[] = [];

  async function tryPublicKey(): Promise<Reply | undefined> {
    if (!loaded && o.loadSigners) {
      loaded = true;
      try {
        const more = await o.loadSigners();
        debug('auth: the agent offers %d key(s)', more.length);
        signers = [...signers, ...more];
      } catch (e) {
        debug('auth: agent failed: %s', (e as Error).message);
        failures.push(`agent: ${(e as Error).message}`);
      }
    }
    for (const signer of signers) {
      // A certificate signer offers its certificate blob under the certificate algorithm name (PROTOCOL.certkeys).
      const cert = certificateOf(signer);
      const blob = cert ? cert.blob : signer.publicKey.blob;
      const id = blob.toString('base64');
      if (triedKeys.has(id)) continue;
      triedKeys.add(id);
      const shown = `${cert ? cert.certType : signer.publicKey.type} ${signer.publicKey.fingerprint()}`;
      const alg = chooseSignatureAlgorithm(signer, t.serverSigAlgs);
      const keyInfo = {
        type: cert ? cert.certType : signer.publicKey.type,
        fingerprint: signer.publicKey.fingerprint(),
      };
      if (!alg) {
        note({ role: 'client', username: o.username, method: 'publickey', result: 'skipped', key: keyInfo });
        failures.push(`publickey (${shown} not offered: the server accepts none of its signature algorithms)`);
        continue;
      }
      const keyAlg = cert ? certificateAlgorithmFor(alg) : alg;
      const offered = { ...keyInfo, algorithm: keyAlg };
      debug('auth: offering publickey %s %s (%s)', offered.type, offered.fingerprint, keyAlg);
      const hostKey = hostBoundKey(t);
      const method = hostKey ? 'publickey-hostbound-v00@openssh.com' : 'publickey';
      const request = (sign: boolean) => {
        const w = base().string(method).bool(sign).string(keyAlg).string(blob);
        return (hostKey ? w.string(hostKey) : w).toBuffer();
      };
      t.send(request(false));
      let r = await reply();
      if (r.kind === 'method') {
        const pr = new SshReader(r.payload, 1);
        if (r.payload[0] !== MSG.USERAUTH_PK_OK) throw new ProtocolError('unexpected message in publickey auth');
        pr.ascii(64);
        pr.string(16 * 1024);
        pr.ensureEnd('USERAUTH_PK_OK');
        note({ role: 'client', username: o.username, method: 'publickey', result: 'pk-ok', key: offered });
        const sid = t.sessionId as Buffer;
        const tail = request(true);
        const data = new SshWriter(sid.length + tail.length + 8).string(sid).raw(tail).toBuffer();
        let sig: Buffer;
        try {
          sig = await signer.sign(data, alg);
        } catch (e) {
          // As ssh: a key the agent will not sign with (locked, destination-constrained, not confirmed) is skipped.
          if (!(e instanceof AgentError)) throw e;
          debug('auth: the agent did not sign with %s: %s', shown, e.message);
          failures.push(`publickey (${shown}: ${e.message})`);
          continue;
        }
        t.send(new SshWriter(tail.length + sig.length + 8).raw(tail).string(sig).toBuffer());
        r = await reply();
        if (r.kind === 'method') throw new ProtocolError('unexpected message after publickey signature');
      }
      noteReply(o.username, 'publickey', r, offered);
      if (r.kind === 'success' || (r.kind === 'failure' && r.partial)) return r;
      failures.push(`publickey (${shown})`);
      if (r.kind === 'failure') allowed = r.methods;
      if (!allowed.includes('publickey')) return r;
    }
    return undefined;
  }

  async function tryHostbased(h: HostbasedCredentials): Promise<Reply | undefined> {
    const cert = certificateOf(h.signer);
    const key = { type: cert ? cert.certType : h.signer.publicKey.type, fingerprint: h.signer.publicKey.fingerprint() };
    const shown = `${key.type} ${key.fingerprint}`;
    const alg = chooseSignatureAlgorithm(h.signer, t.serverSigAlgs);
    if (!alg) {
      note({ role: 'client', username: o.username, method: 'hostbased', result: 'skipped', key });
      failures.push(`hostbased (${shown} not offered: the server accepts none of its signature algorithms)`);
      return undefined;
    }
    let req: Awaited<ReturnType<typeof signedHostbasedRequest>>;
    try {
      req = await signedHostbasedRequest(base, t.sessionId as Buffer, h, alg);
    } catch (e) {
      // As ssh: a host key that will not sign (ssh-keysign refused) skips the method.
      if (!(e instanceof AuthError)) throw e;
      note({ role: 'client', username: o.username, method: 'hostbased', result: 'skipped', key });
      failures.push(`hostbased (${shown}: ${e.message})`);
      return undefined;
    }
    debug('auth: hostbased as %j on %j with %s (%s)', h.localUsername, h.localHostname, shown, req.keyAlgorithm);
    t.send(req.payload);
    const r = await reply();
    if (r.kind === 'method') throw new ProtocolError('unexpected message in hostbased auth');
    noteReply(o.username, 'hostbased', r, { ...key, algorithm: req.keyAlgorithm });
    if (r.kind === 'failure' && !r.partial) failures.push(`hostbased (${shown})`);
    return r;
  }

  async function tryKeyboardInteractive(): Promise<Reply> {
    t.send(base().string('keyboard-interactive').string('').string('').toBuffer());
    for (;;) {
      const r = await reply();
      if (r.kind !== 'method') return r;
      if (r.payload[0] !== MSG.USERAUTH_INFO_REQUEST)
        throw new ProtocolError('unexpected keyboard-interactive message');
      const pr = new SshReader(r.payload, 1);
      const name = pr.utf8(4096);
      const instructions = pr.utf8(16 * 1024);
      pr.ascii(256);
      const count = pr.uint32();
      if (count > 64) throw new ProtocolError('too many keyboard-interactive prompts');
      const prompts: { prompt: string; echo: boolean }[] = [];
      for (let i = 0; i < count; i++) prompts.push({ prompt: pr.utf8(4096), echo: pr.bool() });
      pr.ensureEnd('USERAUTH_INFO_REQUEST');
      debug('auth: keyboard-interactive round with %d prompt(s)', count);
      let answers: string[];
      if (o.onKeyboardInteractive) {
        answers = await o.onKeyboardInteractive({ name, instructions, prompts });
      } else if (o.password !== undefined && prompts.length === 1 && /password/i.test(prompts[0]?.prompt ?? '')) {
        answers = [o.password];
      } else if (prompts.length === 0) {
        answers = [];
      } else {
        throw new AuthError(
          'server asked keyboard-interactive questions and no onKeyboardInteractive handler was given',
        );
      }
      if (answers.length !== prompts.length)
        throw new AuthError(`keyboard-interactive: ${prompts.length} prompts but ${answers.length} answers`);
      const w = new SshWriter(256).byte(MSG.USERAUTH_INFO_RESPONSE).uint32(answers.length);
      for (const a of answers) w.string(a);
      t.send(w.toBuffer());
    }
  }

  async function tryPasswords(): Promise<Reply | undefined> {
    if (o.password !== undefined) return tryPassword(o.password);
    let last: Reply | undefined;
    for (let attempt = 0; attempt < PASSWORD_TRIES && o.onPassword; attempt++) {
      const pw = await o.onPassword(attempt);
      if (pw === undefined) break;
      last = await tryPassword(pw);
      if (last.kind !== 'failure' || last.partial || !last.methods.includes('password')) break;
    }
    return last;
  }

  async function tryPassword(pw: string): Promise<Reply> {
    t.send(base().string('password').bool(false).string(pw).toBuffer());
    const r = await reply();
    if (r.kind !== 'method') return r;
    if (r.payload[0] !== MSG.USERAUTH_PASSWD_CHANGEREQ) throw new ProtocolError('unexpected password auth message');
    const pr = new SshReader(r.payload, 1);
    const prompt = pr.utf8(4096);
    pr.ascii(256);
    pr.ensureEnd('USERAUTH_PASSWD_CHANGEREQ');
    debug('auth: the server asks for a password change');
    if (!o.onPasswordChange)
      throw new AuthError('the server requires a password change and no onPasswordChange handler was given');
    const next = await o.onPasswordChange(prompt);
    t.send(base().string('password').bool(true).string(pw).string(next).toBuffer());
    const r2 = await reply();
    if (r2.kind === 'method') throw new ProtocolError('unexpected message after password change');
    return r2;
  }

  for (;;) {
    let progressed = false;
    for (const m of order) {
      if (!allowed.includes(m)) continue;
      let r: Reply | undefined;
      if (m === 'publickey') {
        if (signers.length === 0 && !o.loadSigners) continue;
        r = await tryPublicKey();
        if (!r) continue;
      } else if (m === 'hostbased') {
        if (tried.has(m) || !o.hostbased) continue;
        tried.add(m);
        r = await tryHostbased(o.hostbased);
        if (!r) continue;
      } else if (m === 'keyboard-interactive') {
        if (tried.has(m) || (!o.onKeyboardInteractive && o.password === undefined)) continue;
        tried.add(m);
        r = await tryKeyboardInteractive();
      } else if (m === 'password') {
        if (tried.has(m) || (o.password === undefined && !o.onPassword)) continue;
        tried.add(m);
        r = await tryPasswords();
        if (!r) continue;
      } else {
        continue;
      }
      // publickey and hostbased report each attempt with its key themselves.
      if (m !== 'publickey' && m !== 'hostbased') noteReply(o.username, m, r);
      if (r.kind === 'success') return;
      if (r.kind === 'failure') {
        allowed = r.methods;
        if (r.partial) {
          // A step of a multi-step policy passed: methods may be tried again for the next step.
          tried.clear();
          progressed = true;
          break;
        }
        // publickey and hostbased list each key they offered themselves.
        if (m !== 'publickey' && m !== 'hostbased') failures.push(m);
      }
    }
    if (!progressed) {
      throw new AuthError(
        `authentication failed for user ${JSON.stringify(o.username)} (tried: ${[...new Set(failures)].join(', ') || 'none'}; server allows: ${allowed.join(', ')})`,
        allowed,
      );
    }
  }
}
