/**
 * The server's forwarding policy, as sshd applies it: AllowTcpForwarding / AllowStreamLocalForwarding
 * (per direction), PermitOpen, PermitListen, GatewayPorts, the privileged-port rule, certificate
 * permissions, and an application callback. Pure functions of the request: no sockets here.
 */
import type { SessionPermissions } from '../auth/cert-options.js';
import { InvalidArgumentError } from '../errors.js';
import type { Certificate, PublicKey } from '../keys/index.js';
import { matchPattern } from '../keys/pattern.js';

/** Which forwarding directions a switch allows: true both, 'local' (direct-*) only, 'remote' (*-forward) only. */
export type ForwardDirection = boolean | 'local' | 'remote';

/**
 * What the client asked for, as the {@link ServerForwardingOptions.policy} callback sees it.
 * `direct-*` opens are `ssh -L`, `-D` and `-W`; `*-forward` requests are `ssh -R`.
 */
export type ForwardRequest = ForwardRequestBase &
  (
    | {
        /** A connection to `host:port` from the server (`ssh -L`, `-D`, `-W`). */
        kind: 'direct-tcpip';
        /** The destination host, as the client named it. */
        host: string;
        /** The destination port. */
        port: number;
        /** Where the connection came from on the client's side. */
        originHost: string;
        /** Its port. */
        originPort: number;
      }
    | {
        /** A connection to a Unix socket on the server (`ssh -L …:/path`). */
        kind: 'direct-streamlocal';
        /** The socket's path. */
        path: string;
      }
    | {
        /** A listener on the server (`ssh -R`). */
        kind: 'tcpip-forward';
        /** The address asked for (`''` every address, `localhost` loopback). */
        bindHost: string;
        /** The port asked for (0: the server picks). */
        bindPort: number;
      }
    | {
        /** A Unix socket listener on the server (`ssh -R /path:…`). */
        kind: 'streamlocal-forward';
        /** The socket's path. */
        path: string;
      }
  );

/** What every {@link ForwardRequest} carries about the user. */
export interface ForwardRequestBase {
  /** The authenticated user. */
  username: string;
  /** What the login allows (certificate extensions); `portForwarding` false refuses before the policy runs. */
  permissions: SessionPermissions;
  /** The key that authenticated the user, when publickey was used (to look up per-key options). */
  key: PublicKey | undefined;
  /** The user certificate of that key, if any. */
  certificate: Certificate | undefined;
  /** The client's address, when the stream is a socket. */
  remoteAddress: string | undefined;
}

/** The application's last word on a request that passed every other check: true allows it. */
export type ForwardPolicy = (req: ForwardRequest) => boolean | Promise<boolean>;

/**
 * Forwarding served by {@link Server} (`ServerOptions.forwarding`). Absent: no forwarding is served
 * and every non-session channel open goes to 'channel-open' listeners, as before. Present: the server
 * itself answers `direct-tcpip`, `direct-streamlocal@openssh.com`, `tcpip-forward`,
 * `streamlocal-forward@openssh.com` and their `cancel-*` requests, allowing only what these settings
 * allow (every check must pass, in this order: the login's `permissions.portForwarding`, the
 * `allow*` switch, PermitOpen / PermitListen and the privileged-port rule, then `policy`).
 *
 * @example
 * new Server({ ...opts, forwarding: { allowTcp: true, permitOpen: ['db.internal:5432'], gatewayPorts: false } });
 */
export interface ServerForwardingOptions {
  /**
   * TCP forwarding (sshd's AllowTcpForwarding): true, 'local' (direct-tcpip only), 'remote'
   * (tcpip-forward only) or false. Default: true when `policy` is given, else false.
   */
  allowTcp?: ForwardDirection;
  /** Unix-socket forwarding (AllowStreamLocalForwarding), as `allowTcp`. Same default. */
  allowStreamLocal?: ForwardDirection;
  /**
   * Where direct-tcpip may connect (sshd's PermitOpen): `host:port`, `[v6addr]:port`, `*` as host or
   * port; `any` (the default) or `none`. Hosts compare exactly, as the client sent them. Unix-socket
   * opens are refused unless the list is `any` or names the socket path (an entry starting with `/`).
   */
  permitOpen?: readonly string[];
  /**
   * What tcpip-forward may listen on (PermitListen): `port` or `host:port`, `*` (and `?`) as wildcards
   * in the host, `*` as the port; `any` (the default) or `none`. A bare port allows any host.
   */
  permitListen?: readonly string[];
  /**
   * GatewayPorts: false (the default) binds remote forwards to loopback whatever the client asks
   * (an explicit `127.0.0.1` or `::1` is kept); true binds the wildcard address; 'clientspecified'
   * binds what the client asked (`''` or `*` = all addresses, `localhost` = loopback).
   */
  gatewayPorts?: boolean | 'clientspecified';
  /** Remote-forward listeners per connection (default 16); more are refused. */
  maxListeners?: number;
  /** Milliseconds a direct-tcpip connect may take before the open fails (default 30000). */
  connectTimeout?: number;
  /** Bits cleared from the mode of remote-forward Unix sockets (StreamLocalBindMask, default 0o177). */
  streamLocalBindMask?: number;
  /** Remove a stale socket file before binding a remote-forward Unix socket (StreamLocalBindUnlink, default false). */
  streamLocalBindUnlink?: boolean;
  /** Called last, for requests every other check allowed. A throw or rejection refuses. */
  policy?: ForwardPolicy;
}

/** One parsed PermitOpen entry: host (or `*`) and port (or `*`), or a socket path. */
type OpenEntry = { host: string; port: number | '*' } | { path: string };
/** One parsed PermitListen entry: a host pattern and a port (or `*`). */
type ListenEntry = { host: string; port: number | '*' };

/** Options validated, with defaults filled in. */
export interface ForwardingSettings {
  readonly tcpLocal: boolean;
  readonly tcpRemote: boolean;
  readonly streamLocal: boolean;
  readonly streamRemote: boolean;
  /** undefined = any. */
  readonly permitOpen: readonly OpenEntry[] | undefined;
  readonly permitListen: readonly ListenEntry[] | undefined;
  readonly gatewayPorts: boolean | 'clientspecified';
  readonly maxListeners: number;
  readonly connectTimeout: number;
  readonly bindMask: number;
  readonly bindUnlink: boolean;
  readonly policy: ForwardPolicy | undefined;
}

const MAX_ENTRIES = 4096;

function direction(v: ForwardDirection | undefined, dflt: boolean, what: string): { local: boolean; remote: boolean } {
  const x = v ?? dflt;
  if (x === true || x === false) return { local: x, remote: x };
  if (x === 'local') return { local: true, remote: false };
  if (x === 'remote') return { local: false, remote: true };
  throw new InvalidArgumentError(`forwarding.${what} must be true, false, 'local' or 'remote'`);
}

/** Splits `host:port` / `[v6]:port` at the port colon; undefined when there is none. */
function splitHostPort(s: string): { host: string; port: string } | undefined {
  if (s.startsWith('[')) {
    const m = /^\[([^\]]*)\]:([^:]+)$/.exec(s);
    return m ? { host: m[1] as string, port: m[2] as string } : undefined;
  }
  const i = s.lastIndexOf(':');
  if (i <= 0) return undefined;
  return { host: s.slice(0, i), port: s.slice(i + 1) };
}

function parsePort(p: string, what: string, entry: string): number | '*' {
  if (p === '*') return '*';
  if (!/^\d{1,5}$/.test(p) || Number(p) > 65535)
    throw new InvalidArgumentError(`${what}: bad port in ${JSON.stringify(entry)}`);
  return Number(p);
}

/** `any` → undefined (everything), `none` → [] (nothing), else the entries. */
function anyOrNone(list: readonly string[] | undefined, what: string): readonly string[] | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) throw new InvalidArgumentError(`${what} must be an array of strings`);
  if (list.length > MAX_ENTRIES) throw new InvalidArgumentError(`${what}: more than ${MAX_ENTRIES} entries`);
  if (list.some((e) => typeof e !== 'string' || e.length === 0 || e.length > 1024)) {
    throw new InvalidArgumentError(`${what}: entries must be non-empty strings`);
  }
  const special = list.filter((e) => e === 'any' || e === 'none');
  if (special.length > 0 && list.length > 1) {
    throw new InvalidArgumentError(`${what}: "${special[0]}" must be the only entry`);
  }
  if (list[0] === 'any') return undefined;
  if (list[0] === 'none') return [];
  return list;
}

/** Parses PermitOpen entries (see {@link ServerForwardingOptions.permitOpen}); throws InvalidArgumentError. */
export function parsePermitOpen(list: readonly string[] | undefined, what = 'permitOpen'): OpenEntry[] | undefined {
  const l = anyOrNone(list, what);
  if (l === undefined) return undefined;
  return l.map((e) => {
    if (e.startsWith('/')) return { path: e };
    const hp = splitHostPort(e);
    if (!hp || hp.host.length === 0)
      throw new InvalidArgumentError(`${what}: expected host:port, not ${JSON.stringify(e)}`);
    return { host: hp.host, port: parsePort(hp.port, what, e) };
  });
}

/** Parses PermitListen entries (see {@link ServerForwardingOptions.permitListen}); throws InvalidArgumentError. */
export function parsePermitListen(
  list: readonly string[] | undefined,
  what = 'permitListen',
): ListenEntry[] | undefined {
  const l = anyOrNone(list, what);
  if (l === undefined) return undefined;
  return l.map((e) => {
    const hp = splitHostPort(e) ?? { host: '*', port: e };
    if (hp.host.length === 0) throw new InvalidArgumentError(`${what}: empty host in ${JSON.stringify(e)}`);
    return { host: hp.host.toLowerCase(), port: parsePort(hp.port, what, e) };
  });
}

/** Validates {@link ServerForwardingOptions} and fills in the defaults. */
export function resolveForwarding(o: ServerForwardingOptions): ForwardingSettings {
  if (typeof o !== 'object' || o === null) throw new InvalidArgumentError('forwarding must be an object');
  if (o.policy !== undefined && typeof o.policy !== 'function') {
    throw new InvalidArgumentError('forwarding.policy must be a function');
  }
  const dflt = o.policy !== undefined;
  const tcp = direction(o.allowTcp, dflt, 'allowTcp');
  const stream = direction(o.allowStreamLocal, dflt, 'allowStreamLocal');
  const gp = o.gatewayPorts ?? false;
  if (gp !== true && gp !== false && gp !== 'clientspecified') {
    throw new InvalidArgumentError("forwarding.gatewayPorts must be true, false or 'clientspecified'");
  }
  const int = (v: number | undefined, d: number, min: number, max: number, what: string): number => {
    const x = v ?? d;
    if (!Number.isSafeInteger(x) || x < min || x > max) {
      throw new InvalidArgumentError(`forwarding.${what} must be an integer from ${min} to ${max}`);
    }
    return x;
  };
  return {
    tcpLocal: tcp.local,
    tcpRemote: tcp.remote,
    streamLocal: stream.local,
    streamRemote: stream.remote,
    permitOpen: parsePermitOpen(o.permitOpen, 'forwarding.permitOpen'),
    permitListen: parsePermitListen(o.permitListen, 'forwarding.permitListen'),
    gatewayPorts: gp,
    maxListeners: int(o.maxListeners, 16, 0, 65536, 'maxListeners'),
    connectTimeout: int(o.connectTimeout, 30_000, 1, 0x7fffffff, 'connectTimeout'),
    bindMask: int(o.streamLocalBindMask, 0o177, 0, 0o777, 'streamLocalBindMask'),
    bindUnlink: o.streamLocalBindUnlink === true,
    policy: o.policy,
  };
}

/** PermitOpen check of a direct-tcpip destination (sshd's open_match: exact host, `*` wildcards). */
export function openPermitted(list: readonly OpenEntry[] | undefined, host: string, port: number): boolean {
  if (list === undefined) return true;
  return list.some((e) => 'host' in e && (e.port === '*' || e.port === port) && (e.host === '*' || e.host === host));
}

/** PermitOpen check of a direct-streamlocal path: only `any`, or an entry naming the path. */
export function openPathPermitted(list: readonly OpenEntry[] | undefined, path: string): boolean {
  if (list === undefined) return true;
  return list.some((e) => 'path' in e && e.path === path);
}

/** PermitListen check of a tcpip-forward (sshd's remote_open_match: host lower-cased, pattern match). */
export function listenPermitted(list: readonly ListenEntry[] | undefined, host: string, port: number): boolean {
  if (list === undefined) return true;
  const h = host.toLowerCase();
  return list.some((e) => (e.port === '*' || e.port === port) && matchPattern(h, e.host));
}

/** Where a remote forward listens: loopback (both families), every address, or one address. */
export type BindTarget = { kind: 'loopback' } | { kind: 'wildcard' } | { kind: 'address'; host: string };

/**
 * The address a tcpip-forward binds under GatewayPorts (sshd's channel_fwd_bind_addr on the
 * server side): `no` keeps only an explicit 127.0.0.1 / ::1 and otherwise uses loopback; `yes`
 * always binds every address; `clientspecified` takes `''` and `*` as every address, `localhost` as
 * loopback and anything else as given.
 */
export function bindTarget(requested: string, gatewayPorts: boolean | 'clientspecified'): BindTarget {
  if (gatewayPorts === true) return { kind: 'wildcard' };
  if (gatewayPorts === 'clientspecified') {
    if (requested === '' || requested === '*') return { kind: 'wildcard' };
    if (requested === 'localhost') return { kind: 'loopback' };
    return { kind: 'address', host: requested };
  }
  if (requested === '127.0.0.1' || requested === '::1') return { kind: 'address', host: requested };
  return { kind: 'loopback' };
}

/** True when binding `port` needs privileges this process lacks (sshd's bind_permitted: below 1024, not root). */
export function privilegedPort(port: number): boolean {
  if (port === 0 || port >= 1024) return false;
  return typeof process.getuid !== 'function' || process.getuid() !== 0;
}

/** Why a request is refused before the application's policy runs, or undefined when it may go on. */
export function refusal(s: ForwardingSettings, req: ForwardRequest): string | undefined {
  if (!req.permissions.portForwarding) return 'port forwarding is not permitted for this login';
  switch (req.kind) {
    case 'direct-tcpip': {
      if (!s.tcpLocal) return 'TCP forwarding is disabled';
      if (!openPermitted(s.permitOpen, req.host, req.port)) return 'destination not permitted (PermitOpen)';
      const own = req.permissions.permitOpen;
      if (own && !permitOpenAllows(own, req.host, req.port))
        return 'destination not permitted for this key (permitopen)';
      return undefined;
    }
    case 'direct-streamlocal':
      if (!s.streamLocal) return 'Unix socket forwarding is disabled';
      if (!openPathPermitted(s.permitOpen, req.path)) return 'destination not permitted (PermitOpen)';
      if (req.permissions.permitOpen) return 'destination not permitted for this key (permitopen)';
      return undefined;
    case 'tcpip-forward': {
      if (!s.tcpRemote) return 'TCP forwarding is disabled';
      if (req.bindPort > 65535) return 'port out of range';
      if (!listenPermitted(s.permitListen, req.bindHost, req.bindPort)) {
        return 'listen address not permitted (PermitListen)';
      }
      const own = req.permissions.permitListen;
      if (own && !permitListenAllows(own, req.bindHost, req.bindPort)) {
        return 'listen address not permitted for this key (permitlisten)';
      }
      if (privilegedPort(req.bindPort)) return 'privileged port';
      return undefined;
    }
    case 'streamlocal-forward':
      if (!s.streamRemote) return 'Unix socket forwarding is disabled';
      return undefined;
  }
}

/** Runs every check and then the policy; resolves with the refusal reason, or undefined when allowed. */
export async function decide(s: ForwardingSettings, req: ForwardRequest): Promise<string | undefined> {
  const no = refusal(s, req);
  if (no !== undefined) return no;
  if (s.policy === undefined) return undefined;
  try {
    return (await s.policy(req)) === true ? undefined : 'refused by policy';
  } catch {
    return 'refused by policy (it threw)';
  }
}

/**
 * True when PermitOpen-style entries (`host:port`, `*` wildcards; `any`, `none`) allow `host:port`;
 * for an authorized_keys line's `permitopen=` values. Malformed entries allow nothing.
 */
export function permitOpenAllows(list: readonly string[], host: string, port: number): boolean {
  try {
    return openPermitted(parsePermitOpen(list), host, port);
  } catch {
    return false;
  }
}

/**
 * True when PermitListen-style entries (`[host:]port`, `*` wildcards; `any`, `none`) allow listening
 * on `host:port`; for an authorized_keys line's `permitlisten=` values. Malformed entries allow nothing.
 */
export function permitListenAllows(list: readonly string[], host: string, port: number): boolean {
  try {
    return listenPermitted(parsePermitListen(list), host, port);
  } catch {
    return false;
  }
}
