/** Internal helpers of the client facade: key loading, host key verification, ssh_config merging. */

import { linkKnownHostsVerdict } from '../config/host-key-policy.js';
import type { PassphrasePrompt, SshConfigConnectSettings } from '../config/index.js';
import { expandHome } from '../config/index.js';
import type { Channel } from '../connection/index.js';
import {
  ConnectionLostError,
  DisconnectReason,
  HostKeyError,
  InvalidArgumentError,
  KeyError,
  KeyPassphraseError,
  NegotiationError,
  SshError,
} from '../errors.js';
import type { Certificate, PublicKey, Signer } from '../keys/index.js';
import { CertificateSigner, PrivateKey, parseCertificate, parsePrivateKey, readPrivateKeyFile } from '../keys/index.js';
import type { Transport } from '../transport/transport.js';
import type { ConnectOptions, HostKeyTarget } from './options.js';

export function toSigner(
  key: ConnectOptions['privateKey'],
  passphrase: string | undefined,
  certificate?: ConnectOptions['certificate'],
): Signer {
  const signer = toPlainSigner(key, passphrase);
  if (certificate === undefined) return signer;
  const cert = parseCertificate(typeof certificate === 'string' ? certificate : certificate.toString('utf8'));
  return new CertificateSigner(signer, cert);
}

function toPlainSigner(key: ConnectOptions['privateKey'], passphrase: string | undefined): Signer {
  if (key instanceof PrivateKey) return key;
  if (typeof key === 'string' || Buffer.isBuffer(key))
    return parsePrivateKey(key, passphrase === undefined ? {} : { passphrase });
  if (key && typeof key === 'object' && 'sign' in key && 'publicKey' in key) return key;
  throw new InvalidArgumentError('privateKey must be key file contents, a PrivateKey or a Signer');
}

/** What the client tells the server when an error ends the connection, by its DISCONNECT reason. */
const GENERIC_DISCONNECT: Readonly<Record<number, string>> = {
  [DisconnectReason.PROTOCOL_ERROR]: 'protocol error',
  [DisconnectReason.KEY_EXCHANGE_FAILED]: 'key exchange failed',
  [DisconnectReason.MAC_ERROR]: 'message authentication failed',
  [DisconnectReason.COMPRESSION_ERROR]: 'compression error',
  [DisconnectReason.HOST_KEY_NOT_VERIFIABLE]: 'host key not accepted',
  [DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE]: 'no more authentication methods to try',
  [DisconnectReason.BY_APPLICATION]: 'disconnected by application',
};

/**
 * The DISCONNECT description the client sends for `err`: a generic text for its reason code. The
 * error's own message (known_hosts paths, fingerprints, which keys the agent held) stays local.
 */
export function genericDisconnectText(err: Error): string {
  if (err instanceof NegotiationError) return `no matching ${err.kind} algorithm`;
  const reason = err instanceof SshError ? err.reason : undefined;
  return (reason !== undefined ? GENERIC_DISCONNECT[reason] : undefined) ?? 'disconnected';
}

/**
 * Checks the options that Node would refuse with a plain RangeError/TypeError (port, timeouts), so the
 * caller gets an InvalidArgumentError before anything connects.
 */
export function checkConnectOptions(opts: ConnectOptions): void {
  const p = opts.port;
  if (p !== undefined && (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535)) {
    throw new InvalidArgumentError(`port must be an integer from 1 to 65535, not ${String(p)}`);
  }
  if (opts.family !== undefined && opts.family !== 4 && opts.family !== 6) {
    throw new InvalidArgumentError(`family must be 4 or 6, not ${String(opts.family)}`);
  }
  for (const k of ['readyTimeout', 'keepaliveInterval', 'keepaliveCountMax'] as const) {
    const v = opts[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 0x7fffffff)) {
      throw new InvalidArgumentError(`${k} must be a number from 0 to 2147483647, not ${String(v)}`);
    }
  }
  if (opts.host !== undefined && typeof opts.host !== 'string') throw new InvalidArgumentError('host must be a string');
  if (opts.privateKeyPath !== undefined && (typeof opts.privateKeyPath !== 'string' || opts.privateKeyPath === '')) {
    throw new InvalidArgumentError('privateKeyPath must be a file path');
  }
}

/** Reads `privateKeyPath` (`~` expanded); a file that cannot be read is a KeyError naming it. */
export async function readPrivateKeyPath(
  path: string,
  passphrase: string | undefined,
  ask?: PassphrasePrompt,
): Promise<PrivateKey> {
  const full = expandHome(path);
  let pass = passphrase;
  for (let attempt = 0; ; attempt++) {
    try {
      return await readPrivateKeyFile(full, pass === undefined ? {} : { passphrase: pass });
    } catch (e) {
      if (!(e instanceof KeyPassphraseError) || !ask || attempt >= 3) return rethrowKeyRead(e, full);
      pass = await ask(full, attempt);
      if (pass === undefined) throw e;
    }
  }
}

function rethrowKeyRead(e: unknown, full: string): never {
  if (e instanceof SshError) throw e;
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
  throw new KeyError(`cannot read privateKeyPath ${full}: ${why}`, { cause: e });
}

export function preferTransportError(e: Error, t: Transport): Error {
  // A local wrapper error (e.g. a failed read of a closed queue) hides the real cause.
  if (
    t.closeError instanceof SshError &&
    e instanceof ConnectionLostError &&
    !(t.closeError instanceof ConnectionLostError)
  ) {
    return t.closeError;
  }
  return e;
}

export function pick<K extends keyof ConnectOptions>(o: ConnectOptions, keys: K[]): Pick<ConnectOptions, K> {
  const out: Partial<Pick<ConnectOptions, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out as Pick<ConnectOptions, K>;
}

/** Fills options not given explicitly from ssh_config settings (explicit options win). */
export function applyConfigSettings(opts: ConnectOptions, s: SshConfigConnectSettings | undefined): ConnectOptions {
  if (!s) return opts;
  const eff: ConnectOptions = {
    ...opts,
    host: s.host,
    port: opts.port ?? s.port,
    username: opts.username ?? s.username,
  };
  if (opts.agent === undefined && !s.identitiesOnly && s.agent !== false) eff.agent = s.agent;
  if (opts.agentForward === undefined && s.forwardAgent !== false) eff.agentForward = s.forwardAgent;
  eff.algorithms = { ...s.algorithms, ...opts.algorithms };
  if (opts.readyTimeout === undefined && s.readyTimeout !== undefined) eff.readyTimeout = s.readyTimeout;
  if (opts.keepaliveInterval === undefined && s.keepaliveInterval > 0) eff.keepaliveInterval = s.keepaliveInterval;
  if (opts.keepaliveCountMax === undefined) eff.keepaliveCountMax = s.keepaliveCountMax;
  if (opts.rekeyLimit === undefined && s.rekeyLimit) eff.rekeyLimit = s.rekeyLimit;
  if (opts.authMethods === undefined && s.authMethods) eff.authMethods = s.authMethods;
  if (opts.hostbased === undefined && s.hostbased) eff.hostbased = { keysign: true }; // as ssh: through ssh-keysign
  const update = opts.updateHostKeys ?? s.updateHostKeys;
  eff.updateHostKeys = update === 'ask' && s.batchMode ? false : update; // ssh does not ask under BatchMode
  // As in ssh, a proxy given by the caller (like -J or -o ProxyCommand=…) comes before the config's,
  // and the first of ProxyJump/ProxyCommand set wins; only `proxyJump: 'none'` lets ProxyCommand through.
  if (opts.proxyJump === undefined && opts.proxyCommand === undefined && s.proxyJump)
    eff.proxyJump = s.proxyJump.join(',');
  const jumpOff =
    opts.proxyJump === undefined || (typeof opts.proxyJump === 'string' && opts.proxyJump.toLowerCase() === 'none');
  if (opts.proxyCommand === undefined && jumpOff && s.proxyCommand !== undefined) {
    if (s.proxyUseFdpass) throw new InvalidArgumentError('ProxyUseFdpass is not supported');
    eff.proxyCommand = s.proxyCommand;
  }
  return eff;
}

/** `host:port` (or `[host]:port`, or just `port N` without a host) of a host key check, for messages. */
function targetName(t: HostKeyTarget): string {
  const where =
    t.host === undefined ? `port ${t.port}` : t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
  return t.jumpHost ? `jump host ${where}` : where;
}

export function makeHostVerifier(
  opts: ConnectOptions,
  target: HostKeyTarget,
  knownHostsCheck?: (key: PublicKey, certificate?: Certificate) => Promise<void>,
): (key: PublicKey, certificate?: Certificate) => Promise<void> {
  const verify = async (key: PublicKey, certificate?: Certificate) => {
    const fp = key.fingerprint();
    if (opts.hostKeyFingerprint !== undefined) {
      const want = opts.hostKeyFingerprint.trim().replace(/=+$/, '');
      if (want !== fp) {
        throw new HostKeyError(
          `host key fingerprint mismatch for ${targetName(target)}: server presented ${fp}, expected ${want}`,
          fp,
        );
      }
      if (!opts.hostVerifier) return;
    }
    if (opts.hostVerifier) {
      let ok: boolean;
      try {
        ok = await opts.hostVerifier(key, certificate, { ...target });
      } catch (e) {
        throw new HostKeyError(`host key verifier failed for ${targetName(target)}: ${(e as Error).message}`, fp);
      }
      if (!ok)
        throw new HostKeyError(`host key ${key.type} ${fp} of ${targetName(target)} was rejected by hostVerifier`, fp);
      return;
    }
    if (opts.hostKeyFingerprint !== undefined) return;
    if (opts.insecureAcceptAnyHostKey) return;
    if (knownHostsCheck) return knownHostsCheck(key, certificate);
    throw new HostKeyError(
      target.jumpHost
        ? `no host key verification configured for ${targetName(target)}; it presented ${key.type} ${fp}. Give the hop its own hostKeyFingerprint or hostVerifier (proxyJump: [{ host, hostKeyFingerprint }]), a hostVerifier for the connection, or known_hosts`
        : `no host key verification configured; the server presented ${key.type} ${fp}. Pass hostKeyFingerprint, hostVerifier, or (unsafe) insecureAcceptAnyHostKey`,
      fp,
    );
  };
  if (knownHostsCheck) linkKnownHostsVerdict(verify, knownHostsCheck); // for UpdateHostKeys
  return verify;
}

/**
 * The exit of a session channel: resolves with its exit status or signal, or with nulls when the
 * peer closed the channel without either; rejects with the connection's error when the connection
 * died first. Looks at the channel's state before listening, so a channel that ended before this
 * was called (in the same read as the reply that handed it out) still settles. Marked handled: an
 * `exit` nobody awaits does not become an unhandled rejection.
 */
export function waitExit(ch: Channel): Promise<{ code: number | null; signal: string | null }> {
  const p = new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
    const finish = (): boolean => {
      if (ch.exitStatus !== undefined || ch.exitSignal !== undefined) {
        resolve({ code: ch.exitStatus ?? null, signal: ch.exitSignal?.signal ?? null });
      } else if (ch.connectionError) {
        reject(ch.connectionError);
      } else if (ch.destroyed) {
        resolve({ code: null, signal: null });
      } else {
        return false;
      }
      ch.off('exit', finish);
      ch.off('close', finish);
      return true;
    };
    if (!finish()) {
      ch.on('exit', finish);
      ch.on('close', finish);
    }
  });
  p.catch(() => {});
  return p;
}

/** Resolves when the channel has been destroyed (at once if it already was). */
export function whenClosed(ch: Channel): Promise<void> {
  return new Promise<void>((resolve) => {
    if (ch.destroyed) resolve();
    else ch.once('close', () => resolve());
  });
}
