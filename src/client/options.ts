/** Option and result types of the client facade. */
import type { Duplex, Readable, Writable } from 'node:stream';
import type { AgentClient } from '../agent/index.js';
import type { KeyboardInteractiveRequest } from '../auth/client.js';
import type { PassphrasePrompt, StrictHostKeyChecking, UnknownHostKeyQuestion } from '../config/index.js';
import type { Channel, PtyOptions } from '../connection/index.js';
import type { AlgorithmOptions } from '../crypto/algorithms.js';
import type { SessionForwardOptions } from '../forward/session-forward.js';
import type { Certificate, PrivateKey, PublicKey, Signer } from '../keys/index.js';
import type { RekeyLimit } from '../transport/transport.js';
import type { HostKeysUpdateQuestion, HostKeysUpdateResult } from './hostkey-update.js';

export type { HostKeysUpdateQuestion, HostKeysUpdateResult } from './hostkey-update.js';

/**
 * Where ssh_config comes from, as the `ssh` command assembles it.
 *
 * @example
 * // ssh -F ~/.ssh/work.conf -o Port=2222 web
 * await Client.connect({ host: 'web', config: { path: '~/.ssh/work.conf', options: ['Port=2222'], systemPath: true } });
 */
export interface SshConfigSource {
  /** The user's file (default `~/.ssh/config`); `false` for none, like `ssh -F none`. */
  path?: string | false;
  /** Command-line options (`ssh -o`), `Keyword value` or `Keyword=value` each; they win over the files. */
  options?: readonly string[];
  /** The system-wide file read last: `true` for `/etc/ssh/ssh_config`, or a path. Default none. */
  systemPath?: string | boolean;
}

/** Something to log to; each method is optional. */
export interface Logger {
  /** Details: negotiated algorithms, identity files tried, a proxy command's start. */
  debug?(message: string): void;
  /** Milestones: the server's host key, a key added to known_hosts, authenticated. */
  info?(message: string): void;
  /** Problems: ssh_config lines skipped, a failed connect. */
  warn?(message: string): void;
}

export type { PtyOptions } from '../connection/index.js';

/** Options of {@link Client.connect}. */
export interface ConnectOptions {
  /** Host name or address; with `config`, the Host alias to look up as `ssh` does. */
  host?: string;
  /** Resolve and connect over IPv4 only (4) or IPv6 only (6), like `ssh -4` / `ssh -6`. Default either. */
  family?: 4 | 6;
  /** Default 22 (or the config's Port). */
  port?: number;
  /** Required unless `config` is given (then the config's User, or the local user name). */
  username?: string;
  /**
   * A private key: file contents (OpenSSH, PEM or PuTTY) or a parsed key. For a file's path use
   * `privateKeyPath`.
   */
  privateKey?: string | Buffer | PrivateKey | Signer;
  /**
   * The path of a private key file (a leading `~` is the home directory), read at connect; like `ssh`,
   * a file that group or others may access is refused. With `privateKey` too, both are offered.
   */
  privateKeyPath?: string;
  /** An OpenSSH certificate for `privateKey` (the `-cert.pub` contents): authenticates with the certificate. */
  certificate?: string | Buffer;
  /** Decrypts an encrypted `privateKey` (and the config's identity files). */
  passphrase?: string;
  /** Password for the `password` method (and a lone keyboard-interactive password prompt). */
  password?: string;
  /**
   * Asked for a password when `password` is not given, once per try (`attempt` from 0, up to three);
   * undefined stops. A command line prompts on the terminal here.
   */
  onPassword?: (attempt: number) => string | undefined | Promise<string | undefined>;
  /** An ssh-agent socket path, or `true` for `$SSH_AUTH_SOCK`. */
  agent?: string | boolean | AgentClient;
  /**
   * Forward the local agent to every session (`ssh -A`; off by default): `true` for `$SSH_AUTH_SOCK`
   * (a warning, and no forwarding, when it is not set) or an agent socket path. Sessions may override it.
   */
  agentForward?: boolean | string;
  /**
   * With `config`: set up the host's LocalForward, RemoteForward and DynamicForward once connected
   * (default true), as `ssh` does; GatewayPorts, ExitOnForwardFailure and ClearAllForwardings apply.
   * Each forward that is not set up is named in a warning (`logger.warn`, else a process warning).
   */
  configForwards?: boolean;
  /** Answers keyboard-interactive questions: one answer per prompt, in order. */
  onKeyboardInteractive?: (req: KeyboardInteractiveRequest) => string[] | Promise<string[]>;
  /** The server asks for a new password; resolve with it. */
  onPasswordChange?: (prompt: string) => string | Promise<string>;
  /**
   * Decides whether a server's host key is accepted. For a host certificate `key` is the certified
   * key and `certificate` the certificate (its CA signature is not checked; call `certificate.verify`).
   * `target` names the host being checked: with `proxyJump` the verifier is asked about every jump
   * host too (`target.jumpHost` true), unless that hop has options of its own.
   */
  hostVerifier?: (
    key: PublicKey,
    certificate: Certificate | undefined,
    target: HostKeyTarget,
  ) => boolean | Promise<boolean>;
  /**
   * A pinned host key fingerprint (`SHA256:…` as `ssh-keygen -l` prints it) of the destination; jump
   * hosts are checked by their own `proxyJump` options, `hostVerifier` or known_hosts.
   */
  hostKeyFingerprint?: string;
  /**
   * Asked about a host key that is not in known_hosts when the policy is `ask` (ssh_config's default
   * StrictHostKeyChecking): resolve true to accept it (it is then added to the first known_hosts
   * file), false to refuse. Not called under BatchMode. A command line prompts on the terminal here.
   */
  onUnknownHostKey?: (q: UnknownHostKeyQuestion) => boolean | Promise<boolean>;
  /**
   * Asked for the passphrase of an encrypted identity (`privateKeyPath` or the config's IdentityFile)
   * that `passphrase` does not open, up to three times; undefined skips the key.
   */
  onPassphrase?: PassphrasePrompt;
  /** Accepts any host key (jump hosts' too). Named for what it is: only for tests and throwaway hosts. */
  insecureAcceptAnyHostKey?: boolean;
  /**
   * The known_hosts file checked when none of hostVerifier, hostKeyFingerprint and
   * insecureAcceptAnyHostKey is given (default `~/.ssh/known_hosts`, or the config's
   * UserKnownHostsFile). `false`: no file.
   */
  knownHosts?: string | false;
  /**
   * known_hosts policy: `strict` (default; unknown or changed keys fail with HostKeyError),
   * `accept-new` (unknown hosts are added, changed keys fail), `off` (anything is accepted).
   */
  strictHostKeyChecking?: StrictHostKeyChecking;
  /** Write names added by `accept-new` hashed (`|1|…`), like `HashKnownHosts yes`. */
  hashKnownHosts?: boolean;
  /**
   * Host key rotation, ssh's UpdateHostKeys: when the server announces its host keys after
   * authentication (`hostkeys-00@openssh.com`, sent by OpenSSH 6.8+ and secsh servers), keys not on
   * file are added to the first known_hosts file once the server has proven it holds them, and the
   * host's keys the server no longer has are removed. Only when the host key was checked against
   * known_hosts and found there (or just added to it): not for a certificate, `hostVerifier`,
   * `hostKeyFingerprint` or `strictHostKeyChecking: 'off'`; not for a jump host; skipped (as ssh
   * skips it) when a `@cert-authority`/`@revoked` line, a wildcard or a host list names the host
   * (other than the host name with its address, as CheckHostIP writes), or a key is on file under
   * another name. Names are written hashed under `hashKnownHosts`
   * (HashKnownHosts), or when the host's entries in that file are hashed already. `'ask'` asks
   * `onUpdateHostKeys` first (no update without it, or under BatchMode). The client emits
   * 'hostkeys' with a {@link HostKeysUpdateResult} (after `connect` has resolved).
   *
   * Default false; with `config`, the config's UpdateHostKeys, whose default (as ssh's) is yes unless
   * UserKnownHostsFile names other files than `~/.ssh/known_hosts` or VerifyHostKeyDNS is on.
   */
  updateHostKeys?: boolean | 'ask';
  /**
   * Asked before known_hosts is changed when `updateHostKeys` is `'ask'`: resolve true to allow. An
   * answer still pending when the connection closes is disregarded: the update is skipped and
   * nothing is written.
   */
  onUpdateHostKeys?: (q: HostKeysUpdateQuestion) => boolean | Promise<boolean>;
  /**
   * Apply ssh_config as `ssh` does: `true` for `~/.ssh/config`, or a path. HostName, Port, User,
   * IdentityFile, IdentityAgent, algorithms, ConnectTimeout, ServerAlive*, RekeyLimit,
   * PreferredAuthentications, StrictHostKeyChecking, UserKnownHostsFile, ProxyJump, ProxyCommand and
   * Compression are used; options given here win. A config's ProxyCommand is run (see `proxyCommand`):
   * only pass `config` for a file you trust as you trust your own `~/.ssh/config`. An object adds
   * command-line options and the system file, as the `ssh` command reads them.
   */
  config?: boolean | string | SshConfigSource;
  /**
   * Jump hosts like `ssh -J`: `[user@]host[:port]`, comma-separated, first hop first; `none` for none.
   * Or a list, first hop first, each a string or a {@link JumpHost} with its own host key check and
   * login. Each hop is verified by its own `hostKeyFingerprint`/`hostVerifier` when given, else by
   * this connection's `hostVerifier` (told the hop's host and port) or `insecureAcceptAnyHostKey`,
   * else by known_hosts (`knownHosts`, `strictHostKeyChecking`) as `ssh -J` does.
   */
  proxyJump?: string | readonly (string | JumpHost)[];
  /**
   * Runs this command and speaks SSH over its stdin/stdout, as `ssh -o ProxyCommand=…` does:
   * `$SHELL -c "exec <command>"` (/bin/sh when SHELL is unset), stderr left on this process's
   * stderr, tokens %h (host), %p, %r (user), %n and %k (the host as given) and %% expanded. The
   * command is hung up (SIGHUP) when the connection closes; if it fails or exits before the
   * handshake, connect rejects with a ConnectionLostError naming its exit status. `none` for none.
   * Not with `proxyJump` or `sock`. ProxyUseFdpass and `ProxyCommand -` are not supported.
   */
  proxyCommand?: string;
  /** Algorithm lists: a full list, or OpenSSH edits of the defaults (`+name`, `-name`, `^name`). */
  algorithms?: AlgorithmOptions;
  /** Any Duplex to run SSH over instead of a TCP connection to host:port. */
  sock?: Duplex;
  /** Milliseconds for connect + key exchange + authentication (default 20000). */
  readyTimeout?: number;
  /** Milliseconds between keepalives when the server is silent (0 = off, the default). */
  keepaliveInterval?: number;
  /** Unanswered keepalives before the connection is closed (default 3). */
  keepaliveCountMax?: number;
  /** When to re-exchange keys (defaults in {@link RekeyLimit}). */
  rekeyLimit?: RekeyLimit;
  /** Aborts connecting; after connecting, closes the connection. */
  signal?: AbortSignal;
  /** Where to log connection progress (nothing is logged by default; see also `NODE_DEBUG=secsh`). */
  logger?: Logger;
  /** Called with the server's pre-auth banner text. */
  onBanner?: (message: string) => void;
  /** Authentication methods in order (default hostbased, publickey, keyboard-interactive, password). */
  authMethods?: string[];
  /**
   * Hostbased authentication (RFC 4252 §9, OpenSSH's HostbasedAuthentication): the client signs with a
   * host key, and the server trusts the host's word for who the user is there. Tried first when given;
   * for the destination only (jump hosts are not offered it).
   */
  hostbased?: HostbasedOptions;
  /**
   * Session channels (exec, spawn, shell, subsystem, sftp) open at once on this connection (default
   * 10, sshd's MaxSessions); more wait in order until one has closed, so `Promise.all` of many
   * `exec`s works. A server that refuses a session anyway gets a ChannelOpenError naming this limit.
   */
  maxSessions?: number;
}

/** The host key and names of {@link ConnectOptions.hostbased}: `key`, or `keysign` to sign as `ssh` does. */
export interface HostbasedOptions {
  /**
   * The client host's private key (e.g. the contents of `/etc/ssh/ssh_host_ed25519_key`, which needs
   * root to read), a parsed key or a Signer. The signature algorithm is chosen as for publickey
   * (rsa-sha2-512/256 from the server's server-sig-algs). With `keysign`: the host's public key
   * (a PublicKey or a `.pub` line; default the first readable of /etc/ssh/ssh_host_{ed25519,ecdsa,rsa}_key.pub).
   */
  key?: string | Buffer | PrivateKey | Signer | PublicKey;
  /**
   * Sign through OpenSSH's setuid `ssh-keysign`, as `ssh` does, so a user who cannot read the host's
   * private keys can log in by hostbased: `true` for `/usr/lib/openssh/ssh-keysign`, or its path. It
   * must be enabled (`EnableSSHKeysign yes` in /etc/ssh/ssh_config), the connection must be TCP (the
   * name of its local address is the host name it signs for, and `localHostname`'s default), and
   * `localUsername` the user running this process. When it refuses, hostbased is skipped and the
   * reason is in the final AuthError; over a stream that is no TCP socket, or with no host public key
   * to read, hostbased is not tried (NODE_DEBUG=secsh says why). With `config`, HostbasedAuthentication
   * yes turns this on.
   */
  keysign?: boolean | string;
  /** A host certificate for `key` (`-cert.pub` contents): offered under the certificate algorithm. */
  certificate?: string | Buffer;
  /**
   * This host's name as the server's known_hosts and shosts.equiv name it (default `os.hostname()`);
   * sent fully qualified with a trailing dot, as OpenSSH sends it.
   */
  localHostname?: string;
  /** The user's name on this host (default: the user running the process). */
  localUsername?: string;
}

/** The host whose key a {@link ConnectOptions.hostVerifier} is asked about. */
export interface HostKeyTarget {
  /** The host name as connected to (undefined over a caller's `sock` without `host`). */
  host: string | undefined;
  /** The port connected to. */
  port: number;
  /** True for a jump host (a `proxyJump` hop), false for the destination. */
  jumpHost: boolean;
}

/**
 * A jump host given as an object in `proxyJump`. What is not given here comes from the connect
 * options as for a string hop (config, known_hosts settings, keys, agent, hostVerifier, timeouts);
 * the connection's `hostKeyFingerprint` and `password` are the destination's and are not used.
 */
export interface JumpHost
  extends Pick<
    ConnectOptions,
    | 'hostKeyFingerprint'
    | 'hostVerifier'
    | 'insecureAcceptAnyHostKey'
    | 'knownHosts'
    | 'strictHostKeyChecking'
    | 'privateKey'
    | 'privateKeyPath'
    | 'certificate'
    | 'passphrase'
    | 'password'
    | 'agent'
  > {
  /** The jump host's name or address. */
  host: string;
  /** Default 22. */
  port?: number;
  /** Default: the connection's username. */
  username?: string;
}

/** Negotiated algorithm names (client to server direction). */
export interface Algorithms {
  /** Key exchange method, e.g. `mlkem768x25519-sha256`. */
  kex: string;
  /** Host key (signature) algorithm, e.g. `ssh-ed25519`. */
  hostKey: string;
  /** Cipher, e.g. `chacha20-poly1305@openssh.com`. */
  cipher: string;
  /** MAC (`''` under an AEAD cipher, which needs none). */
  mac: string;
  /** Compression: `none`, `zlib@openssh.com` or `zlib`. */
  compression: string;
}

/** Options for commands. */
export interface ExecOptions extends SessionForwardOptions {
  /** Sent to the command's stdin, then EOF. */
  stdin?: string | Buffer | Readable;
  /** Environment variables to request (sent without asking for a reply; sshd silently drops those its AcceptEnv does not allow). */
  env?: Record<string, string>;
  /** Request a pseudo-terminal: `true` for the defaults, or its settings (stderr then arrives merged into stdout). */
  pty?: boolean | PtyOptions;
  /** 'utf8' (default) gives strings; 'buffer' gives Buffers. */
  encoding?: 'utf8' | 'buffer';
}

/** The result of {@link Client.exec}. */
export interface ExecResult<T extends string | Buffer = string> {
  /** Everything the command wrote to stdout. */
  stdout: T;
  /** Everything the command wrote to stderr. */
  stderr: T;
  /** Exit status, or null when the command died of a signal or the server sent none. */
  code: number | null;
  /** Signal name without `SIG` (e.g. 'TERM'), or null. */
  signal: string | null;
}

/** A running remote command. */
export interface RemoteProcess {
  /** The command's stdin; `end()` it to send EOF. */
  stdin: Writable;
  /** The command's stdout. */
  stdout: Readable;
  /** The command's stderr. */
  stderr: Readable;
  /** The session channel underneath (for `signal()`, `windowChange()`). */
  channel: Channel;
  /**
   * The exit status or signal. Nulls when the server closed the channel without sending either;
   * rejects with the connection's error (a typed SshError) when the connection died first.
   */
  exit: Promise<{
    /** Exit status, or null. */
    code: number | null;
    /** Signal name without `SIG`, or null. */
    signal: string | null;
  }>;
}
