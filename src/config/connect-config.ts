/**
 * Turns a resolved ssh_config into client settings: identities read from disk, agent socket,
 * algorithm lists secsh supports, timeouts, keepalive, auth methods and the host key policy.
 */
import { readFile } from 'node:fs/promises';
import { type AlgorithmKind, nameableAlgorithms } from '../crypto/algorithms.js';
import { InvalidArgumentError, KeyError, KeyPassphraseError } from '../errors.js';
import {
  type Certificate,
  CertificateSigner,
  type PrivateKey,
  parseCertificate,
  parsePrivateKey,
  type Signer,
} from '../keys/index.js';
import type { StrictHostKeyChecking } from './host-key-policy.js';
import type { ResolvedSshConfig } from './ssh-config.js';
import { parseFlag } from './ssh-config-values.js';

/** Client settings derived from ssh_config (explicit connect options override each). */
export interface SshConfigConnectSettings {
  /** The real host name to connect to. */
  host: string;
  /** The port (Port, default 22). */
  port: number;
  /** The remote user (User, default the local user's name). */
  username: string;
  /** IdentityFile paths, expanded (including OpenSSH's defaults when none is configured). */
  identityFiles: string[];
  /** CertificateFile paths, expanded. */
  certificateFiles: string[];
  /** IdentitiesOnly: offer only the identity files (and their certificates), not every agent key. */
  identitiesOnly: boolean;
  /** Agent socket path, `true` for $SSH_AUTH_SOCK, `false` for none. */
  agent: string | boolean;
  /** ForwardAgent: `true` for $SSH_AUTH_SOCK, an agent socket path (a `$VAR` resolved), `false` for none. */
  forwardAgent: string | boolean;
  /** Algorithm options (OpenSSH edit strings or lists), restricted to names secsh implements. */
  algorithms: Partial<Record<AlgorithmKind, string>>;
  /** Milliseconds, from ConnectTimeout. */
  readyTimeout?: number;
  /** Milliseconds, from ServerAliveInterval (0 = off). */
  keepaliveInterval: number;
  /** Unanswered keepalives before the connection is dropped (ServerAliveCountMax, default 3). */
  keepaliveCountMax: number;
  /** From RekeyLimit; absent when it leaves both at their defaults. */
  rekeyLimit?: {
    /** Bytes under one key. */
    bytes?: number;
    /** Seconds between key exchanges. */
    seconds?: number;
  };
  /** From PreferredAuthentications and PasswordAuthentication. */
  authMethods?: string[];
  /** HashKnownHosts: names added to known_hosts are hashed. */
  hashKnownHosts: boolean;
  /** HostbasedAuthentication (default no): sign hostbased requests through ssh-keysign, as ssh does. */
  hostbased: boolean;
  /** BatchMode: no prompts (an `ask` host key policy is then strict). */
  batchMode: boolean;
  /**
   * UpdateHostKeys: `yes` true, `no` false, `ask` 'ask'. Unset, as ssh: true unless UserKnownHostsFile
   * names other files than `~/.ssh/known_hosts` (and `known_hosts2`) or VerifyHostKeyDNS is on.
   */
  updateHostKeys: boolean | 'ask';
  /** From StrictHostKeyChecking: `yes` becomes `'strict'`, `ask` (the default) `'ask'` (strict without onUnknownHostKey), `no` `'off'`. */
  strictHostKeyChecking: StrictHostKeyChecking;
  /** UserKnownHostsFile paths, expanded (default `~/.ssh/known_hosts` and `known_hosts2`). */
  knownHostsFiles: string[];
  /** Jump hosts, `[user@]host[:port]`, first hop first. */
  proxyJump?: string[];
  /** ProxyCommand as written (tokens unexpanded); never set together with proxyJump. */
  proxyCommand?: string;
  /** ProxyUseFdpass yes (unsupported: a connect that would use the ProxyCommand refuses it). */
  proxyUseFdpass?: boolean;
}

const AUTH_METHODS = ['hostbased', 'publickey', 'keyboard-interactive', 'password'];
const DEFAULT_AUTH_ORDER = ['hostbased', 'publickey', 'keyboard-interactive', 'password'];

/**
 * Keeps the names secsh implements in an OpenSSH algorithm option (for host keys, certificate algorithms
 * such as `ssh-ed25519-cert-v01@openssh.com` included); undefined when nothing usable remains.
 */
export function supportedAlgorithmOption(kind: AlgorithmKind, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const prefix = /^[+\-^]/.test(value) ? (value[0] as string) : '';
  if (prefix === '-') return value;
  const supported = nameableAlgorithms(kind);
  const names = value
    .slice(prefix.length)
    .split(',')
    .filter((n) => n !== '' && (/[*?]/.test(n) || supported.includes(n)));
  if (names.length === 0) return undefined;
  return prefix + names.join(',');
}

/** Maps StrictHostKeyChecking: yes → strict, ask → ask (strict unless there is someone to ask), accept-new, no → off. */
export function strictnessFromConfig(v: ResolvedSshConfig['strictHostKeyChecking']): StrictHostKeyChecking {
  if (v === 'accept-new') return 'accept-new';
  if (v === 'no') return 'off';
  if (v === 'ask') return 'ask';
  return 'strict';
}

/** UpdateHostKeys (see {@link SshConfigConnectSettings.updateHostKeys}). */
function updateHostKeysOf(r: ResolvedSshConfig): boolean | 'ask' {
  const v = r.other.updatehostkeys;
  if (v !== undefined) return v.toLowerCase() === 'ask' ? 'ask' : parseFlag(v, 'UpdateHostKeys');
  const dns = r.other.verifyhostkeydns;
  if (dns !== undefined && (dns.toLowerCase() === 'ask' || parseFlag(dns, 'VerifyHostKeyDNS'))) return false;
  // The default list (`~/.ssh/known_hosts ~/.ssh/known_hosts2`, expanded), or the first alone.
  const [first, second, ...rest] = r.userKnownHostsFile;
  return (
    first !== undefined &&
    /[/\\]\.ssh[/\\]known_hosts$/.test(first) &&
    rest.length === 0 &&
    (second ?? `${first}2`) === `${first}2`
  );
}

/** ForwardAgent's value: yes/no as is, `$VAR` from the environment (none when unset), a path as given. */
function forwardAgentOf(v: string | boolean, env: NodeJS.ProcessEnv): string | boolean {
  if (typeof v === 'boolean') return v;
  if (v.startsWith('$')) return env[v.slice(1).replace(/^\{(.*)\}$/, '$1')] || false;
  return v;
}

/** Derives client settings from a resolved config. `env` is consulted for `$VAR` agent paths. */
export function sshConfigConnectSettings(
  r: ResolvedSshConfig,
  env: NodeJS.ProcessEnv = process.env,
): SshConfigConnectSettings {
  let agent: string | boolean = !!env.SSH_AUTH_SOCK;
  const ia = r.identityAgent;
  if (ia === 'none') agent = false;
  else if (ia === 'SSH_AUTH_SOCK') agent = !!env.SSH_AUTH_SOCK;
  else if (ia?.startsWith('$')) agent = env[ia.slice(1).replace(/^\{(.*)\}$/, '$1')] ?? false;
  else if (ia !== undefined) agent = ia;
  const algorithms: Partial<Record<AlgorithmKind, string>> = {};
  const set = (k: AlgorithmKind, v: string | undefined) => {
    const s = supportedAlgorithmOption(k, v);
    if (s !== undefined) algorithms[k] = s;
  };
  set('cipher', r.ciphers);
  set('mac', r.macs);
  set('kex', r.kexAlgorithms);
  set('hostKey', r.hostKeyAlgorithms);
  algorithms.compression = r.compression ? 'zlib@openssh.com,zlib,none' : 'none';
  let authMethods: string[] | undefined;
  if (r.preferredAuthentications) authMethods = r.preferredAuthentications.filter((m) => AUTH_METHODS.includes(m));
  if (!r.passwordAuthentication) authMethods = (authMethods ?? DEFAULT_AUTH_ORDER).filter((m) => m !== 'password');
  const out: SshConfigConnectSettings = {
    host: r.hostname,
    port: r.port,
    username: r.user,
    identityFiles: r.identityFile,
    certificateFiles: r.certificateFile,
    identitiesOnly: r.identitiesOnly,
    agent,
    forwardAgent: forwardAgentOf(r.forwardAgent, env),
    algorithms,
    keepaliveInterval: r.serverAliveInterval * 1000,
    keepaliveCountMax: r.serverAliveCountMax,
    strictHostKeyChecking: strictnessFromConfig(r.strictHostKeyChecking),
    knownHostsFiles: r.userKnownHostsFile,
    hashKnownHosts: r.hashKnownHosts,
    batchMode: r.batchMode,
    updateHostKeys: updateHostKeysOf(r),
    hostbased: parseFlag(r.other.hostbasedauthentication ?? 'no', 'HostbasedAuthentication'),
  };
  if (r.connectTimeout !== undefined && r.connectTimeout > 0) out.readyTimeout = r.connectTimeout * 1000;
  if (r.rekeyLimit.bytes > 0 || r.rekeyLimit.seconds > 0) {
    out.rekeyLimit = {
      ...(r.rekeyLimit.bytes > 0 ? { bytes: r.rekeyLimit.bytes } : {}),
      ...(r.rekeyLimit.seconds > 0 ? { seconds: r.rekeyLimit.seconds } : {}),
    };
  }
  if (authMethods) out.authMethods = authMethods;
  if (r.proxyJump) out.proxyJump = r.proxyJump;
  if (r.proxyCommand !== undefined) out.proxyCommand = r.proxyCommand;
  if (r.proxyUseFdpass) out.proxyUseFdpass = true;
  return out;
}

async function readCertificate(path: string, log?: (message: string) => void): Promise<Certificate | undefined> {
  let data: string;
  try {
    data = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return parseCertificate(data);
  } catch (e) {
    if (e instanceof KeyError) log?.(`secsh: skipping certificate ${path}: ${e.message}`);
    else throw e;
    return undefined;
  }
}

/** Asked for the passphrase of an encrypted key file; undefined skips the key. */
export type PassphrasePrompt = (path: string, attempt: number) => string | undefined | Promise<string | undefined>;

/** Wrong passphrases allowed per key before it is skipped, as ssh's NumberOfPasswordPrompts. */
const PASSPHRASE_ATTEMPTS = 3;

/**
 * Reads the identity files that exist. Encrypted keys are used when `passphrase` opens them, else
 * when `ask` returns one that does (up to three tries); unreadable, encrypted or unsupported files
 * are skipped (reported through `log`). As `ssh` does, a
 * certificate for a key — `<identity>-cert.pub`, or one of `certificateFiles` (CertificateFile) whose
 * key matches — is tried first, as a {@link CertificateSigner}, before the plain key.
 */
export async function loadIdentityFiles(
  paths: readonly string[],
  passphrase: string | undefined,
  log?: (message: string) => void,
  certificateFiles: readonly string[] = [],
  ask?: PassphrasePrompt,
): Promise<Signer[]> {
  const keys: { path: string; key: PrivateKey }[] = [];
  for (const p of paths) {
    let data: Buffer;
    try {
      data = await readFile(p);
    } catch {
      continue;
    }
    let pass = passphrase;
    for (let attempt = 0; ; attempt++) {
      try {
        keys.push({ path: p, key: parsePrivateKey(data, pass === undefined ? {} : { passphrase: pass }) });
        break;
      } catch (e) {
        if (e instanceof KeyPassphraseError && ask && attempt < PASSPHRASE_ATTEMPTS) {
          pass = await ask(p, attempt);
          if (pass !== undefined) continue;
        }
        if (e instanceof KeyPassphraseError) log?.(`secsh: skipping encrypted identity ${p} (no matching passphrase)`);
        else if (e instanceof KeyError) log?.(`secsh: skipping identity ${p}: ${e.message}`);
        else throw e;
        break;
      }
    }
  }
  const certs: Certificate[] = [];
  for (const c of certificateFiles) {
    const cert = await readCertificate(c, log);
    if (cert) certs.push(cert);
  }
  const out: Signer[] = [];
  for (const { path, key } of keys) {
    const own = await readCertificate(`${path}-cert.pub`, log);
    for (const cert of [own, ...certs]) {
      if (
        cert?.publicKey.equals(key.publicKey) &&
        !out.some((s) => s instanceof CertificateSigner && s.certificate.blob.equals(cert.blob))
      ) {
        out.push(new CertificateSigner(key, cert));
      }
    }
    out.push(key);
  }
  return out;
}

/** One ProxyJump hop, as {@link parseJumpHost} splits it. */
export interface JumpHostSpec {
  /** Host name or address (an IPv6 address without its brackets). */
  host: string;
  /** The port, when the hop names one. */
  port?: number;
  /** The user, when the hop names one. */
  user?: string;
}

/** Parses a ProxyJump hop `[user@]host[:port]` or `ssh://[user@]host[:port]`. */
export function parseJumpHost(spec: string): JumpHostSpec {
  let s = spec.startsWith('ssh://') ? spec.slice(6) : spec;
  let user: string | undefined;
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    user = s.slice(0, at);
    s = s.slice(at + 1);
  }
  let port: number | undefined;
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m) throw new InvalidArgumentError(`invalid jump host: ${spec}`);
  if (m[2] !== undefined) {
    port = Number(m[2]);
    if (port < 1 || port > 65535) throw new InvalidArgumentError(`invalid jump host port: ${spec}`);
  }
  return { host: m[1] as string, ...(port !== undefined ? { port } : {}), ...(user ? { user } : {}) };
}
