/**
 * Server user authentication (RFC 4252, RFC 4256) driven by a policy callback: none, password (and
 * the change request), publickey (PK_OK for queries; only a key that signed authenticates),
 * keyboard-interactive, hostbased (see ./hostbased.ts), and partial success for multi-step policies. Limits on attempts (as in sshd,
 * only a "none" sent as the very first request is free), on requests of any kind, password length
 * and prompt answers, and a minimum time for every failed attempt.
 */

import { debuglog } from 'node:util';
import type { DisconnectReasonCode } from '../errors.js';
import { AuthError, DisconnectReason, ProtocolError } from '../errors.js';
import { Certificate, PublicKey, plainSignatureAlgorithm, SK_USER_PRESENT, SK_USER_VERIFIED } from '../keys/index.js';
import type { SecurityKeySignatureInfo, SignatureAlgorithm } from '../keys/types.js';
import { MSG, SshReader, SshWriter } from '../wire/index.js';
import type { SessionPermissions } from './cert-options.js';
import { certificateForceCommand, certificateSourceRefusal, effectivePermissions } from './cert-options.js';
import { signatureAlgorithmOf, verifyHostbasedRequest } from './hostbased.js';
import type { MessageQueue } from './queue.js';
import { type AuthRestrictions, restrictPermissions } from './restrictions.js';

/** Methods the server implements. */
export type AuthMethod = 'none' | 'password' | 'publickey' | 'keyboard-interactive' | 'hostbased';

/** One keyboard-interactive question. */
export interface Prompt {
  /** The question text, e.g. `Code: `. */
  prompt: string;
  /** Whether the client may show the answer as it is typed. */
  echo: boolean;
}

/** A step of a multi-step policy that already passed. */
export interface AuthStep {
  /** The method of the step. */
  method: AuthMethod;
  /** The key that signed, for publickey (for hostbased: the client's host key). */
  key?: PublicKey;
  /** The user certificate the key was presented with, for publickey with a certificate. */
  certificate?: Certificate;
  /** For a security key (sk): the flags and counter its authenticator reported with the signature. */
  securityKey?: SecurityKeySignatureInfo;
  /** For hostbased: the client host name and the user there that the host key vouched for. */
  clientHost?: {
    /** The client host name, trailing dot removed. */
    hostname: string;
    /** The user name on the client host. */
    username: string;
  };
}

/** What the policy callback sees for one attempt. */
export interface AuthContext {
  /** The user name the client asked to log in as (not yet trusted). */
  username: string;
  /** The method of this attempt. */
  method: AuthMethod;
  /** password: the password sent (for a change request, the old one). */
  password?: string;
  /** password: the new password of a change request (RFC 4252 §8). */
  newPassword?: string;
  /**
   * publickey: the key. When `signed` is false this is only a query ("would you accept this key?",
   * answered with PK_OK) and nothing is proven yet; when true the client's signature over the session
   * identifier was verified, so the client holds the private key.
   */
  key?: PublicKey;
  /**
   * publickey with a certificate (`*-cert-v01@openssh.com`): the certificate, already verified against
   * a trusted user CA for this user name and the current time, and its critical options accepted
   * (`source-address` lists the client's address; no unknown option); `key` is then the certified key.
   * A `force-command` option is enforced on the sessions (see {@link AuthResult.forceCommand}), and its
   * extensions limit what the sessions may do (see {@link AuthResult.permissions}).
   */
  certificate?: Certificate;
  /** publickey: true once the signature verified; hostbased: always true (the policy sees only verified requests). */
  signed?: boolean;
  /** publickey and hostbased: the (key) algorithm the client used. */
  signatureAlgorithm?: string;
  /**
   * hostbased (RFC 4252 §9): the client host name the request names, trailing dot removed (printable ASCII:
   * other names, and names ending in two dots, are refused before the policy) — a claim
   * backed only by the host key's signature, so check that `key` is this host's (see `knownClientHost`,
   * which reads known_hosts as sshd reads ssh_known_hosts). `key` is then the host key, already verified
   * to have signed the request, and `remoteAddress` where the connection comes from.
   */
  clientHostname?: string;
  /** hostbased: the user name on the client host (shosts.equiv's second column; sshd's own rule is "the same name"); no control characters. */
  clientUsername?: string;
  /**
   * hostbased with a host certificate: the certificate, whose CA signature is NOT checked here (the CA comes
   * from known_hosts' `@cert-authority` lines for `clientHostname`; `knownClientHost` checks it). `key` is
   * the certified key.
   */
  hostCertificate?: Certificate;
  /**
   * publickey with a security key (`sk-*`), once signed: the authenticator's flags (0x01 user present,
   * 0x04 user verified) and counter. Whatever the policy answers, the login also needs user presence unless
   * it accepts with `restrict.noTouchRequired` (a certificate: the `no-touch-required` extension), and user
   * verification when `restrict.verifyRequired`, a certificate's `verify-required` or
   * {@link ServerAuthOptions.securityKeys} asks for it — sshd's rules.
   */
  securityKey?: SecurityKeySignatureInfo;
  /** Steps of a multi-step policy that already passed (in order). */
  previous: readonly AuthStep[];
  /** The peer's address, when the stream is a socket. */
  remoteAddress?: string;
  /**
   * keyboard-interactive: asks the client `questions` and resolves with the answers (one per
   * question). May be called several times. Rejects if the client gives up.
   */
  prompt(questions: readonly Prompt[], info?: { name?: string; instructions?: string }): Promise<string[]>;
}

/**
 * The policy's answer: `true` accepts, `false` refuses; `{ partial: true }` (or a list of methods
 * still needed) says this step passed but more are required; `{ changePassword: prompt }` (password
 * method only) asks the client for a new password; `{ accept: true, restrict }` accepts with limits
 * (pty, agent/port/X11 forwarding, permitopen/permitlisten, a forced command) on top of a certificate's.
 */
export type AuthDecision =
  | boolean
  | readonly AuthMethod[]
  | {
      /** This step passed; more are required. */
      partial: true;
      /** The methods that may continue (default: every configured method). */
      methods?: readonly AuthMethod[];
    }
  | {
      /** Ask the client for a new password with this prompt (password method only). */
      changePassword: string;
    }
  | {
      /** Accepts, as `true` does. */
      accept: true;
      /** What this login may not do (an authorized_keys line's options: see `authorizedKeyRestrictions`). */
      restrict: AuthRestrictions;
    };

/** The policy callback. */
export type AuthHandler = (ctx: AuthContext) => AuthDecision | Promise<AuthDecision>;

/** Limits and settings of server authentication. */
export interface ServerAuthOptions {
  /** The policy: decides each attempt (see {@link AuthDecision}). */
  authenticate: AuthHandler;
  /** Methods to advertise, in order (default publickey, keyboard-interactive, password). */
  methods?: readonly AuthMethod[];
  /** Text sent as USERAUTH_BANNER before the first reply. */
  banner?: string;
  /** Failed attempts allowed; the next failure disconnects (default 6). */
  maxAttempts?: number;
  /** Longest password (and keyboard-interactive answer) in bytes (default 1024). */
  maxPasswordLength?: number;
  /** Every failed attempt takes at least this long, in ms, so failures do not reveal which check failed (default 150). */
  failureDelay?: number;
  /** Signature algorithms accepted for publickey (default: the secure ones; add 'ssh-rsa' to allow SHA-1). */
  publicKeyAlgorithms?: readonly string[];
  /** Host key algorithms accepted for hostbased, as sshd's HostbasedAcceptedAlgorithms (default: the secure ones). */
  hostbasedAlgorithms?: readonly string[];
  /** The peer's address, passed to the policy. */
  remoteAddress?: string;
  /**
   * The peer's IP address alone (no port), checked against a certificate's `source-address`; when
   * undefined, certificates with `source-address` are refused.
   */
  sourceAddress?: string;
  /** CA keys trusted to sign user certificates (like sshd's TrustedUserCAKeys); none: certificates are refused. */
  trustedUserCAKeys?: readonly PublicKey[];
  /**
   * Security-key (sk) signatures, as sshd's PubkeyAuthOptions: `touchRequired` demands user presence even
   * where `no-touch-required` waives it; `verifyRequired` demands user verification (PIN or biometric) for all.
   */
  securityKeys?: {
    /** User presence (touch) is required even where `no-touch-required` would waive it. */
    touchRequired?: boolean;
    /** User verification (PIN or biometric) is required for every sk signature. */
    verifyRequired?: boolean;
  };
}

/** The result of a successful authentication. */
export interface AuthResult {
  /** The user that logged in. */
  username: string;
  /** Every step that passed, the last one included. */
  steps: AuthStep[];
  /** The key that signed in the last publickey step, if any. */
  key: PublicKey | undefined;
  /** The user certificate of that step, if the key was presented with one. */
  certificate?: Certificate;
  /** A command every session must run instead of what the client asks (a certificate's `force-command`). */
  forceCommand?: string;
  /**
   * What the user may do (pty, agent/port/X11 forwarding): limited to the extensions of the
   * certificate(s) used, intersected over every step; all true for a login without a certificate.
   */
  permissions: SessionPermissions;
}

/** What server auth needs from the transport. */
export interface ServerAuthTransport {
  /** Sends one message payload (message number first); false when the stream is backed up. */
  send(payload: Buffer): boolean;
  /** The session identifier (the first exchange hash) that publickey signatures cover. */
  readonly sessionId: Buffer | undefined;
  /** Sends SSH_MSG_DISCONNECT with `reason` and `description`, and closes. */
  disconnect(reason: DisconnectReasonCode, description: string): void;
}

/** Signature algorithms accepted for user keys by default. */
export const DEFAULT_PUBLICKEY_ALGORITHMS: readonly string[] = Object.freeze([
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);

/** Host key algorithms accepted for hostbased by default (sshd's HostbasedAcceptedAlgorithms): the above but sk. */
export const DEFAULT_HOSTBASED_ALGORITHMS: readonly string[] = Object.freeze(
  DEFAULT_PUBLICKEY_ALGORITHMS.filter((a) => !a.startsWith('sk-')),
);

const SERVICE = 'ssh-connection';
const debug = debuglog('secsh');
const MAX_USERNAME = 256;
const MAX_KEY_BLOB = 16 * 1024;
const MAX_SIGNATURE = 16 * 1024;
const MAX_PROMPTS = 32;
/**
 * Most USERAUTH_REQUESTs on one connection, counted or not (publickey queries and partial successes
 * are not failures): the next one disconnects, as sshd does after 1024 attempts.
 */
const MAX_REQUESTS = 1024;

/** Thrown inside `prompt()` when the client abandons keyboard-interactive with a new request. */
class PromptAborted extends AuthError {}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs the server side of user authentication. Reads SERVICE_REQUEST and USERAUTH messages from
 * `queue` (numbers 5 and 50–79 in order), answers through `t`, and resolves once USERAUTH_SUCCESS
 * is sent. After too many failures it disconnects and rejects with {@link AuthError}; a malformed
 * message rejects with {@link ProtocolError} (the caller ends the connection).
 */
export async function authenticateServer(
  t: ServerAuthTransport,
  queue: MessageQueue,
  o: ServerAuthOptions,
): Promise<AuthResult> {
  const configured: readonly AuthMethod[] = o.methods ?? ['publickey', 'keyboard-interactive', 'password'];
  const maxAttempts = o.maxAttempts ?? 6;
  const maxPassword = o.maxPasswordLength ?? 1024;
  const failureDelay = o.failureDelay ?? 150;
  const pkAlgs = o.publicKeyAlgorithms ?? DEFAULT_PUBLICKEY_ALGORITHMS;

  // ssh-userauth service first.
  const req = await queue.next();
  if (req[0] !== MSG.SERVICE_REQUEST) throw new ProtocolError(`expected SERVICE_REQUEST, got message ${req[0]}`);
  const sr = new SshReader(req, 1);
  const service = sr.ascii(64);
  sr.ensureEnd('SERVICE_REQUEST');
  if (service !== 'ssh-userauth') {
    throw new ProtocolError(`service not available: ${service}`, DisconnectReason.SERVICE_NOT_AVAILABLE);
  }
  t.send(new SshWriter(32).byte(MSG.SERVICE_ACCEPT).string('ssh-userauth').toBuffer());

  let allowed: AuthMethod[] = [...configured];
  const steps: AuthStep[] = [];
  let user: string | undefined;
  let failures = 0;
  let requests = 0;
  let noneTried = false;
  let bannerSent = o.banner === undefined;
  let pending: Buffer | undefined;

  const failure = (partial: boolean) =>
    t.send(new SshWriter(128).byte(MSG.USERAUTH_FAILURE).nameList(allowed).bool(partial).toBuffer());
  const tooMany = (username: string): never => {
    t.disconnect(DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE, 'too many authentication failures');
    throw new AuthError(`too many authentication failures for ${JSON.stringify(username)}`, allowed);
  };

  for (;;) {
    const p = pending ?? (await queue.next());
    pending = undefined;
    const started = Date.now();
    if (p[0] !== MSG.USERAUTH_REQUEST) throw new ProtocolError(`unexpected message ${p[0]} during authentication`);
    requests++;
    const r = new SshReader(p, 1);
    const username = r.utf8(MAX_USERNAME);
    const svc = r.ascii(64);
    const method = r.ascii(64);
    if (user === undefined) user = username;
    else if (user !== username) throw new ProtocolError('change of user name during authentication is not allowed');
    if (svc !== SERVICE) {
      throw new ProtocolError(`service not available: ${svc}`, DisconnectReason.SERVICE_NOT_AVAILABLE);
    }
    if (requests > MAX_REQUESTS) tooMany(username);
    if (!bannerSent) {
      bannerSent = true;
      t.send(
        new SshWriter(256)
          .byte(MSG.USERAUTH_BANNER)
          .string(o.banner as string)
          .string('')
          .toBuffer(),
      );
    }

    let decision: AuthDecision = false;
    let step: AuthStep | undefined;
    /** A reply other than SUCCESS/FAILURE was sent (PK_OK, PASSWD_CHANGEREQ): no failure, no count. */
    let answered = false;
    let countsAsFailure = true;
    const base = { username, previous: steps.slice(), ...(o.remoteAddress ? { remoteAddress: o.remoteAddress } : {}) };
    const noPrompt = () => Promise.reject(new AuthError('prompt() is only available for keyboard-interactive'));
    const known = (m: string): m is AuthMethod =>
      m === 'none' || m === 'password' || m === 'publickey' || m === 'keyboard-interactive' || m === 'hostbased';

    if (!known(method) || (method !== 'none' && !allowed.includes(method))) {
      // Unknown or not offered: refused without asking the policy. The rest of the message is ignored.
      decision = false;
    } else if (method === 'none') {
      // As sshd: "none" asks the policy once per connection, and only a "none" that is the very first
      // request (the usual probe for the method list) is free; any other counts as a failed attempt.
      r.ensureEnd('USERAUTH_REQUEST none');
      if (requests === 1) countsAsFailure = false;
      if (!noneTried) {
        noneTried = true;
        decision = await o.authenticate({ ...base, method, prompt: noPrompt });
        step = { method };
      }
    } else if (method === 'password') {
      const change = r.bool();
      const pw = r.string(maxPassword);
      const np = change ? r.string(maxPassword) : undefined;
      r.ensureEnd('USERAUTH_REQUEST password');
      const ctx: AuthContext = { ...base, method, password: pw.toString('utf8'), prompt: noPrompt };
      if (np) ctx.newPassword = np.toString('utf8');
      decision = await o.authenticate(ctx);
      if (typeof decision === 'object' && decision !== null && 'changePassword' in decision) {
        t.send(
          new SshWriter(256).byte(MSG.USERAUTH_PASSWD_CHANGEREQ).string(decision.changePassword).string('').toBuffer(),
        );
        answered = true;
      }
      step = { method };
    } else if (method === 'publickey') {
      const hasSig = r.bool();
      const alg = r.ascii(64);
      const blob = r.string(MAX_KEY_BLOB);
      const signedEnd = r.offset;
      const sig = hasSig ? r.string(MAX_SIGNATURE) : undefined;
      r.ensureEnd('USERAUTH_REQUEST publickey');
      let key: PublicKey | undefined;
      let certificate: Certificate | undefined;
      // A certificate algorithm (PROTOCOL.certkeys) is signed with the plain one: rsa-sha2-512-cert-v01@… → rsa-sha2-512.
      const sigAlg = plainSignatureAlgorithm(alg);
      try {
        if (sigAlg !== alg) {
          const cas = o.trustedUserCAKeys ?? [];
          if (cas.length > 0) {
            const cert = Certificate.fromBlob(blob);
            cert.verify({ trustedCAs: cas, type: 'user', principal: username });
            if (cert.principals.length === 0) throw new AuthError('certificate lists no principals');
            const refused = certificateSourceRefusal(cert, o.sourceAddress);
            if (refused) throw new AuthError(refused);
            certificate = cert;
            key = cert.publicKey;
          }
        } else {
          key = PublicKey.fromBlob(blob);
        }
      } catch (e) {
        // Not a usable key: the client just gets FAILURE, but say why (as sshd logs it) under NODE_DEBUG=secsh.
        debug('publickey %j for %j refused: %s', alg, username, e instanceof Error ? e.message : String(e));
        key = undefined;
        certificate = undefined;
      }
      const usable =
        key !== undefined && pkAlgs.includes(sigAlg) && key.signatureAlgorithms.includes(sigAlg as SignatureAlgorithm);
      const certField = certificate ? { certificate } : {};
      if (key && usable && !sig) {
        decision = await o.authenticate({
          ...base,
          method,
          key,
          ...certField,
          signed: false,
          signatureAlgorithm: alg,
          prompt: noPrompt,
        });
        if (decision !== false) {
          t.send(new SshWriter(blob.length + 96).byte(MSG.USERAUTH_PK_OK).string(alg).string(blob).toBuffer());
          answered = true;
        }
      } else if (key && usable && sig) {
        const sid = t.sessionId;
        if (!sid) throw new ProtocolError('authentication before key exchange');
        const data = new SshWriter(sid.length + signedEnd + 8).string(sid).raw(p.subarray(0, signedEnd)).toBuffer();
        let ok = false;
        let securityKey: SecurityKeySignatureInfo | undefined;
        try {
          if (signatureAlgorithmOf(sig) === sigAlg) {
            const v = key.verifyDetailed(data, sig, sigAlg as SignatureAlgorithm);
            ok = v.valid;
            securityKey = v.securityKey;
          }
        } catch {
          ok = false;
        }
        if (ok) {
          const skField = securityKey ? { securityKey } : {};
          decision = await o.authenticate({
            ...base,
            method,
            key,
            ...certField,
            signed: true,
            signatureAlgorithm: alg,
            ...skField,
            prompt: noPrompt,
          });
          step = { method, key, ...certField, ...skField };
          const unmet = securityKey && securityKeyRefusal(securityKey, decision, certificate, o.securityKeys);
          if (unmet) {
            // As sshd: a valid signature that lacks the touch or PIN the login needs is a failed attempt.
            debug('publickey %j for %j refused: %s', alg, username, unmet);
            decision = false;
            step = undefined;
          }
        }
      }
    } else if (method === 'hostbased') {
      const sid = t.sessionId;
      if (!sid) throw new ProtocolError('authentication before key exchange');
      const hb = verifyHostbasedRequest(r, p, sid, o.hostbasedAlgorithms ?? DEFAULT_HOSTBASED_ALGORITHMS);
      if ('ok' in hb) {
        const { key, certificate, algorithm, clientHostname, clientUsername } = hb.ok;
        const certField = certificate ? { hostCertificate: certificate } : {};
        const ctx = { ...base, method, key, ...certField, signed: true, signatureAlgorithm: algorithm };
        decision = await o.authenticate({ ...ctx, clientHostname, clientUsername, prompt: noPrompt });
        step = { method, key, clientHost: { hostname: clientHostname, username: clientUsername } };
      } else {
        debug('hostbased for %j refused: %s', username, hb.refused);
      }
    } else {
      // keyboard-interactive: string language (deprecated), string submethods.
      r.utf8(256);
      r.utf8(1024);
      r.ensureEnd('USERAUTH_REQUEST keyboard-interactive');
      let aborted = false;
      const prompt = async (questions: readonly Prompt[], info?: { name?: string; instructions?: string }) => {
        if (aborted) throw new PromptAborted('keyboard-interactive was abandoned by the client');
        if (questions.length > MAX_PROMPTS) throw new AuthError('too many prompts');
        const w = new SshWriter(256)
          .byte(MSG.USERAUTH_INFO_REQUEST)
          .string(info?.name ?? '')
          .string(info?.instructions ?? '')
          .string('')
          .uint32(questions.length);
        for (const q of questions) w.string(q.prompt).bool(q.echo);
        t.send(w.toBuffer());
        const resp = await queue.next();
        if (resp[0] !== MSG.USERAUTH_INFO_RESPONSE) {
          if (resp[0] === MSG.USERAUTH_REQUEST) {
            aborted = true;
            pending = resp;
            throw new PromptAborted('keyboard-interactive was abandoned by the client');
          }
          throw new ProtocolError(`unexpected message ${resp[0]} during keyboard-interactive`);
        }
        const rr = new SshReader(resp, 1);
        const n = rr.uint32();
        if (n !== questions.length) throw new ProtocolError(`${questions.length} prompts but ${n} answers`);
        const answers: string[] = [];
        for (let i = 0; i < n; i++) answers.push(rr.string(maxPassword).toString('utf8'));
        rr.ensureEnd('USERAUTH_INFO_RESPONSE');
        return answers;
      };
      try {
        decision = await o.authenticate({ ...base, method, prompt });
      } catch (e) {
        if (!(e instanceof PromptAborted)) throw e;
        decision = false;
      }
      step = { method };
      if (aborted) {
        // The client moved on with a new request: no reply to this one, but it counts.
        failures++;
        if (failures > maxAttempts) tooMany(username);
        continue;
      }
    }

    if (answered) continue;

    const restrict = acceptedWith(decision);
    if (restrict && step) {
      steps.push(step);
      t.send(Buffer.from([MSG.USERAUTH_SUCCESS]));
      const last = [...steps].reverse().find((s) => s.method === 'publickey' && s.key);
      const result: AuthResult = {
        username,
        steps,
        key: last?.key,
        permissions: restrictPermissions(effectivePermissions(steps.map((s) => s.certificate)), restrict),
      };
      if (last?.certificate) result.certificate = last.certificate;
      // As sshd merges the options of several publickey steps, the first forced command wins (a
      // certificate's before the policy's).
      const forced =
        steps.map((s) => certificateForceCommand(s.certificate)).find((c) => c !== undefined) ?? restrict.forceCommand;
      if (forced !== undefined) result.forceCommand = forced;
      return result;
    }
    const next = partialMethods(decision, configured);
    if (next && step) {
      steps.push(step);
      allowed = next.filter((m) => m !== 'none');
      if (allowed.length === 0) throw new ProtocolError('policy returned partial success with no methods left');
      failure(true);
      continue;
    }
    // A failure: counted and slowed down, except the free first "none".
    if (countsAsFailure) {
      failures++;
      if (failures > maxAttempts) tooMany(username);
      const wait = failureDelay - (Date.now() - started);
      if (wait > 0) await sleep(wait);
    }
    failure(false);
  }
}

/**
 * Why a security key's signature does not satisfy the login (sshd's auth2-pubkey rules), or undefined when it
 * does: user presence (flag 0x01) unless waived by `no-touch-required` (the policy's `restrict.noTouchRequired`
 * for a plain key, the certificate's extension for a certificate) and not forced by `touchRequired`; user
 * verification (flag 0x04) when `restrict.verifyRequired`, the certificate's `verify-required` or `verifyRequired`.
 */
export function securityKeyRefusal(
  sk: SecurityKeySignatureInfo,
  decision: AuthDecision,
  cert: Certificate | undefined,
  global: ServerAuthOptions['securityKeys'],
): string | undefined {
  if (decision === false) return undefined;
  const restrict = acceptedWith(decision) ?? {};
  const noTouch = cert ? cert.extensions.has('no-touch-required') : restrict.noTouchRequired === true;
  if ((global?.touchRequired === true || !noTouch) && (sk.flags & SK_USER_PRESENT) === 0) {
    return 'user presence (authenticator touch) requirement not met';
  }
  const verify =
    global?.verifyRequired === true ||
    restrict.verifyRequired === true ||
    (cert?.criticalOptions.has('verify-required') ?? false);
  if (verify && (sk.flags & SK_USER_VERIFIED) === 0) return 'user verification requirement not met';
  return undefined;
}

/** The restrictions of an accepting decision (none for `true`), or undefined when it does not accept. */
function acceptedWith(d: AuthDecision): AuthRestrictions | undefined {
  if (d === true) return {};
  if (typeof d === 'object' && d !== null && 'accept' in d && d.accept === true) return d.restrict ?? {};
  return undefined;
}

/** The methods a partial-success decision leaves, or undefined when it is not partial success. */
function partialMethods(d: AuthDecision, configured: readonly AuthMethod[]): AuthMethod[] | undefined {
  if (Array.isArray(d)) return [...(d as readonly AuthMethod[])];
  if (typeof d === 'object' && d !== null && 'partial' in d && d.partial === true) {
    return [...(d.methods ?? configured)];
  }
  return undefined;
}
