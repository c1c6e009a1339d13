/**
 * An ssh_config reader that evaluates a file as `ssh` does for one destination: Host and Match
 * blocks, Include (globs, relative to ~/.ssh), first value wins, `%` tokens and `~`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname as osHostname, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { homeDirectory } from './home.js';
import { matchPattern, matchPatternList } from './pattern.js';
import {
  expandTokens,
  parseFlag,
  parseForwardEnd,
  parseSize,
  parseTime,
  type SshForward,
  splitArgs,
  type TokenValues,
} from './ssh-config-values.js';

export {
  applyAlgorithmEdit,
  expandTokens,
  type ForwardEnd,
  type SshForward,
  type TokenValues,
} from './ssh-config-values.js';

/** Largest config file read (bytes). */
export const MAX_SSH_CONFIG_FILE = 1024 * 1024;
const MAX_DEPTH = 16;
const MAX_FILES = 256;

/** Options of {@link resolveSshConfig}. */
export interface ResolveSshConfigOptions {
  /** The config file (default `~/.ssh/config`); a missing file is an empty config. */
  path?: string;
  /** Config text to use instead of reading `path` (Include is still relative to ~/.ssh). */
  text?: string;
  /** Remote user given by the caller (like `ssh -l`): wins over `User`. */
  user?: string;
  /** Port given by the caller (like `ssh -p`): wins over `Port`. */
  port?: number;
  /** Local user name (default from the OS). */
  localUser?: string;
  /** Home directory for `~` and %d (default `$HOME`, else the user database's; see {@link homeDirectory}). */
  homeDir?: string;
  /** Local host name for %l/%L (default from the OS). */
  localHostname?: string;
  /** Run `Match exec` commands with /bin/sh. Off by default: such Match lines then never match. */
  allowExec?: boolean;
  /**
   * Options given on a command line (`ssh -o`), each `Keyword value` or `Keyword=value`: read before
   * the file, so they win over it (the first value obtained is used).
   */
  options?: readonly string[];
  /**
   * The system-wide file read after the user's, as `ssh` reads `/etc/ssh/ssh_config` (`true` for that
   * path). Not read by default.
   */
  systemPath?: string | boolean;
}

/** The options a client uses, after evaluation (paths expanded). */
export interface ResolvedSshConfig {
  /** The destination as given. */
  host: string;
  /** HostName (tokens expanded, lowercased) or the host. */
  hostname: string;
  /** Port (default 22). */
  port: number;
  /** User (default: the local user's name). */
  user: string;
  /** Identity files, expanded; the OpenSSH defaults when none is configured. */
  identityFile: string[];
  /** True when IdentityFile was configured (so `identityFile` is not just the defaults). */
  identityFileConfigured: boolean;
  /** IdentitiesOnly (default false). */
  identitiesOnly: boolean;
  /** IdentityAgent: a socket path, `SSH_AUTH_SOCK`, `none`, or undefined (use $SSH_AUTH_SOCK). */
  identityAgent?: string;
  /** CertificateFile paths, expanded. */
  certificateFile: string[];
  /** ProxyJump hops as written (`[user@]host[:port]` or `ssh://…`), absent for none. */
  proxyJump?: string[];
  /**
   * ProxyCommand as written: the rest of the line, quotes and tokens untouched, as `ssh -G` prints it
   * (not run by this reader). ProxyJump and ProxyCommand exclude each other: the first one set wins.
   */
  proxyCommand?: string;
  /** ProxyUseFdpass (not supported by the client; it refuses such a ProxyCommand). */
  proxyUseFdpass: boolean;
  /** StrictHostKeyChecking (default `ask`; `true` reads as `yes`, `false` and `off` as `no`). */
  strictHostKeyChecking: 'yes' | 'no' | 'ask' | 'accept-new';
  /** Expanded; empty for `none`. */
  userKnownHostsFile: string[];
  /** Algorithm options as written (a list or a `+`/`-`/`^` edit). */
  ciphers?: string;
  /** KexAlgorithms as written. */
  kexAlgorithms?: string;
  /** MACs as written. */
  macs?: string;
  /** HostKeyAlgorithms as written. */
  hostKeyAlgorithms?: string;
  /** PubkeyAcceptedAlgorithms (or its old name PubkeyAcceptedKeyTypes) as written. */
  pubkeyAcceptedAlgorithms?: string;
  /** Seconds; absent for none. */
  connectTimeout?: number;
  /** ServerAliveInterval, seconds (default 0: off). */
  serverAliveInterval: number;
  /** ServerAliveCountMax (default 3). */
  serverAliveCountMax: number;
  /** Compression (default false). */
  compression: boolean;
  /** RekeyLimit: bytes and seconds (0 = default). */
  rekeyLimit: {
    /** Bytes under one key (0: the cipher's default). */
    bytes: number;
    /** Seconds between key exchanges (0: the default). */
    seconds: number;
  };
  /** PreferredAuthentications, in order; absent for the default. */
  preferredAuthentications?: string[];
  /** PasswordAuthentication (default true). */
  passwordAuthentication: boolean;
  /** SendEnv patterns, in order. */
  sendEnv: string[];
  /** SetEnv name/value pairs in order. */
  setEnv: [string, string][];
  /** LocalForward entries, in order. */
  localForward: SshForward[];
  /** RemoteForward entries, in order. */
  remoteForward: SshForward[];
  /** DynamicForward entries (no `connect` end), in order. */
  dynamicForward: SshForward[];
  /** yes/no, or an agent socket path. */
  forwardAgent: boolean | string;
  /** ExitOnForwardFailure (default false): a forward that cannot be set up fails the connection. */
  exitOnForwardFailure: boolean;
  /** ClearAllForwardings (default false): every Local/Remote/DynamicForward above is dropped. */
  clearAllForwardings: boolean;
  /** GatewayPorts (default false): local forwards listen on every address, not only loopback. */
  gatewayPorts: boolean;
  /** HashKnownHosts (default false): names added to known_hosts are written hashed. */
  hashKnownHosts: boolean;
  /** BatchMode (default false): never prompt (for passwords, passphrases or unknown host keys). */
  batchMode: boolean;
  /** ControlPath, tokens expanded; absent for none. */
  controlPath?: string;
  /** ControlMaster as written, lowercased (`yes`, `no`, `ask`, `auto`, `autoask`); absent when unset. */
  controlMaster?: string;
  /**
   * The first value of every other keyword in effect, as written (keyword lowercased, e.g.
   * `escapechar`, `requesttty`, `loglevel`, `visualhostkey`): for programs such as a command line
   * that act on options the library does not.
   */
  other: Record<string, string>;
  /** Match lines skipped because they need `exec` and `allowExec` was not given. */
  warnings: string[];
}

const SCALAR_KEYS = [
  'hostname',
  'port',
  'user',
  'identitiesonly',
  'identityagent',
  'proxyjump',
  'proxycommand',
  'proxyusefdpass',
  'stricthostkeychecking',
  'userknownhostsfile',
  'ciphers',
  'kexalgorithms',
  'macs',
  'hostkeyalgorithms',
  'pubkeyacceptedalgorithms',
  'connecttimeout',
  'serveraliveinterval',
  'serveralivecountmax',
  'compression',
  'rekeylimit',
  'preferredauthentications',
  'passwordauthentication',
  'forwardagent',
  'setenv',
  'exitonforwardfailure',
  'clearallforwardings',
  'gatewayports',
  'hashknownhosts',
  'batchmode',
] as const;
type Scalar = (typeof SCALAR_KEYS)[number];
const MULTI_KEYS = [
  'identityfile',
  'certificatefile',
  'localforward',
  'remoteforward',
  'dynamicforward',
  'sendenv',
] as const;
type Multi = (typeof MULTI_KEYS)[number];
const SCALARS = new Set<string>(SCALAR_KEYS);
const MULTIS = new Set<string>(MULTI_KEYS);
/** Old names OpenSSH still accepts. */
const ALIASES: Record<string, string> = { pubkeyacceptedkeytypes: 'pubkeyacceptedalgorithms' };

interface State {
  scalars: Map<Scalar, { args: string[]; where: string }>;
  multis: Map<Multi, { args: string[]; where: string }[]>;
  hostArg: string;
  /** Name Host lines match: the argument, or the expanded HostName on the final pass. */
  hostForHostLines: string;
  finalPass: boolean;
  wantFinal: boolean;
  files: number;
  opts: ResolveSshConfigOptions;
  local: { user: string; home: string; hostname: string; uid: number };
  /** First value of each keyword not interpreted here (see ResolvedSshConfig.other). */
  other: Map<string, string>;
  warnings: string[];
}

/**
 * A config file's text, or undefined when there is no such file (a path with a NUL byte, or one that
 * runs through a non-directory, names none). Other file system errors are InvalidArgumentErrors.
 */
function readConfigText(path: string): string | undefined {
  if (path.includes('\0')) return undefined;
  try {
    const st = statSync(path); // sync-ok: resolveSshConfig is synchronous API run as the caller connects, never on a peer's message
    if (!st.isFile()) return undefined;
    if (st.size > MAX_SSH_CONFIG_FILE) throw new InvalidArgumentError(`ssh config file too large: ${path}`);
    return readFileSync(path, 'utf8'); // sync-ok: as statSync above
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new InvalidArgumentError(`cannot read ssh config file ${path}: ${code ?? (e as Error).message}`);
  }
}

/** Expands `*`/`?` in each path component (sorted, as glob(3) does). */
function globPaths(pattern: string): string[] {
  if (!/[*?]/.test(pattern)) return [pattern];
  const parts = pattern.split('/');
  let current = [parts[0] === '' ? '/' : (parts[0] as string)];
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i] as string;
    if (part === '') continue;
    const next: string[] = [];
    for (const dir of current) {
      if (!/[*?]/.test(part)) {
        next.push(join(dir, part));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(dir).sort();
      } catch {
        continue;
      }
      for (const n of names)
        if ((part.startsWith('.') || !n.startsWith('.')) && matchPattern(n, part)) next.push(join(dir, n));
    }
    current = next.slice(0, MAX_FILES);
  }
  return current;
}

function remoteUser(s: State): string {
  return s.opts.user ?? s.scalars.get('user')?.args[0] ?? s.local.user;
}

function runExec(s: State, cmd: string, where: string): boolean {
  const host = s.scalars.get('hostname')?.args[0] ?? s.hostArg;
  const t = tokens(s, host, Number(s.scalars.get('port')?.args[0] ?? s.opts.port ?? 22));
  const expanded = expandTokens(cmd, t, where, 'CdhiLlnpru');
  const r = spawnSync('/bin/sh', ['-c', expanded], { stdio: 'ignore', timeout: 30_000 }); // sync-ok: Match exec, run as the caller resolves its config (as ssh does), never on a peer's message
  return r.status === 0;
}

/** Evaluates a Match line's criteria. */
function matchLine(s: State, args: string[], where: string): boolean {
  if (args.length === 0) throw new InvalidArgumentError(`${where}: Match needs criteria`);
  let result = true;
  let skippedExec = false;
  for (let i = 0; i < args.length; i++) {
    let attr = (args[i] as string).toLowerCase();
    const negate = attr.startsWith('!');
    if (negate) attr = attr.slice(1);
    if (attr === 'all') {
      if (negate) result = false;
      continue;
    }
    if (attr === 'canonical' || attr === 'final') {
      if (attr === 'final' && !negate) s.wantFinal = true;
      if (s.finalPass === negate) result = false;
      continue;
    }
    const arg = args[++i];
    if (arg === undefined) throw new InvalidArgumentError(`${where}: Match ${attr} needs an argument`);
    let r: boolean;
    switch (attr) {
      case 'host': {
        const h = s.scalars.get('hostname')?.args[0] ?? s.hostArg;
        r = matchPatternList(h, arg, true) === 1;
        break;
      }
      case 'originalhost':
        r = matchPatternList(s.hostArg, arg, true) === 1;
        break;
      case 'user':
        r = matchPatternList(remoteUser(s), arg, false) === 1;
        break;
      case 'localuser':
        r = matchPatternList(s.local.user, arg, false) === 1;
        break;
      case 'exec':
        if (!result) continue;
        if (!s.opts.allowExec) {
          skippedExec = true;
          continue;
        }
        r = runExec(s, arg, where);
        break;
      default:
        throw new InvalidArgumentError(`${where}: unsupported Match criterion ${attr}`);
    }
    if (r === negate) result = false;
  }
  if (skippedExec) {
    s.warnings.push(`${where}: Match exec not run (allowExec is off); block skipped`);
    return false;
  }
  return result;
}

function hostLine(s: State, args: string[]): boolean {
  let matched = false;
  for (const a of args) {
    const negated = a.startsWith('!');
    const pat = negated ? a.slice(1) : a;
    if (matchPattern(s.hostForHostLines, pat)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function readFileInto(s: State, text: string, file: string, depth: number, activeIn: boolean, userFile: boolean): void {
  if (depth > MAX_DEPTH) throw new InvalidArgumentError(`${file}: Include nested too deeply`);
  if (++s.files > MAX_FILES) throw new InvalidArgumentError('too many ssh config files included');
  let active = activeIn;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const where = `${file} line ${n + 1}`;
    const line = (lines[n] as string).replace(/\r$/, '');
    const m = /^[ \t]*([^\s=]+)[ \t]*(?:=[ \t]*)?(.*)$/.exec(line);
    if (!m || (m[1] as string).startsWith('#')) continue;
    let kw = (m[1] as string).toLowerCase();
    kw = ALIASES[kw] ?? kw;
    const args = splitArgs(m[2] as string, where);
    if (kw === 'host') {
      active = hostLine(s, args);
      continue;
    }
    if (kw === 'match') {
      active = matchLine(s, args, where);
      continue;
    }
    if (kw === 'include') {
      for (const a of args) {
        let p = a.startsWith('~') ? s.local.home + a.slice(1) : a;
        if (!isAbsolute(p)) p = userFile ? join(s.local.home, '.ssh', p) : join('/etc/ssh', p);
        for (const f of globPaths(p)) {
          const t = readConfigText(f);
          if (t !== undefined) readFileInto(s, t, f, depth + 1, active, userFile);
        }
      }
      continue;
    }
    if (!active) continue;
    if (args.length === 0) throw new InvalidArgumentError(`${where}: ${kw} needs a value`);
    if (SCALARS.has(kw)) {
      const k = kw as Scalar;
      if (k === 'proxycommand' || k === 'proxyjump') {
        setProxy(s, k, args, (m[2] as string).replace(/[ \t\f]+$/, ''), where);
        continue;
      }
      if (!s.scalars.has(k)) s.scalars.set(k, { args, where });
    } else if (MULTIS.has(kw)) {
      const k = kw as Multi;
      const list = s.multis.get(k) ?? [];
      list.push({ args, where });
      s.multis.set(k, list);
    } else if (kw !== 'match' && kw !== 'include' && !s.other.has(kw) && s.other.size < MAX_OTHER) {
      s.other.set(kw, (m[2] as string).replace(/[ \t\f]+$/, ''));
    }
  }
}

/**
 * ProxyJump and ProxyCommand as ssh reads them: the first one set wins, except that `ProxyJump none`
 * does not stop a later ProxyCommand (while `ProxyCommand none` stops a later ProxyJump). ProxyCommand
 * keeps the raw rest of the line (the shell parses it).
 */
function setProxy(s: State, k: 'proxycommand' | 'proxyjump', args: string[], raw: string, where: string): void {
  if (s.scalars.has(k)) return;
  if (k === 'proxyjump') {
    if (!s.scalars.has('proxycommand')) s.scalars.set(k, { args, where });
    return;
  }
  const jump = s.scalars.get('proxyjump')?.args[0];
  if (jump === undefined || jump.toLowerCase() === 'none') s.scalars.set(k, { args: [raw], where });
}

function tokens(s: State, host: string, port: number): TokenValues {
  const jump = s.scalars.get('proxyjump')?.args[0];
  return {
    h: host,
    p: port,
    r: remoteUser(s),
    u: s.local.user,
    d: s.local.home,
    n: s.hostArg,
    l: s.local.hostname,
    i: s.local.uid,
    j: jump && jump.toLowerCase() !== 'none' ? jump : '',
  };
}

/** Distinct uninterpreted keywords kept (OpenSSH has fewer than 120). */
const MAX_OTHER = 256;

/** The system-wide client configuration `ssh` reads after the user's. */
const SYSTEM_SSH_CONFIG = '/etc/ssh/ssh_config';

const DEFAULT_IDENTITIES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'];

function one(args: string[], where: string): string {
  if (args.length !== 1) throw new InvalidArgumentError(`${where}: expected one value`);
  return args[0] as string;
}

/**
 * Evaluates an ssh_config file for `host` the way `ssh -G host` does (for the options a client
 * uses). Values from the caller (`user`, `port`) win, then the first value in the file.
 *
 * @example
 * const c = resolveSshConfig('web', { path: '~/.ssh/config' });
 * // { hostname: 'web.internal', port: 2222, user: 'deploy', identityFile: ['/home/me/.ssh/deploy'], … }
 */
export function resolveSshConfig(host: string, opts: ResolveSshConfigOptions = {}): ResolvedSshConfig {
  if (!host || /[\s]/.test(host)) throw new InvalidArgumentError('invalid host');
  let info: { username: string; uid: number; homedir: string } | undefined;
  try {
    info = userInfo();
  } catch {
    info = undefined;
  }
  // `~` follows $HOME first, as every other path of the client does (see home.ts).
  const home = opts.homeDir ?? homeDirectory();
  const local = {
    user: opts.localUser ?? info?.username ?? 'unknown',
    home,
    hostname: opts.localHostname ?? osHostname(),
    uid: info?.uid ?? -1,
  };
  let path = opts.path ?? join(home, '.ssh', 'config');
  if (path.startsWith('~/')) path = join(home, path.slice(2));
  const text = opts.text ?? readConfigText(path) ?? '';
  if (text.length > MAX_SSH_CONFIG_FILE) throw new InvalidArgumentError('ssh config too large');
  const s: State = {
    scalars: new Map(),
    multis: new Map(),
    hostArg: host,
    hostForHostLines: host,
    finalPass: false,
    wantFinal: false,
    files: 0,
    opts,
    local,
    other: new Map(),
    warnings: [],
  };
  const fileName = opts.text !== undefined ? (opts.path ?? 'ssh config') : path;
  const cli = (opts.options ?? []).join('\n');
  if (cli.includes('\0') || cli.length > MAX_SSH_CONFIG_FILE)
    throw new InvalidArgumentError('invalid command-line option');
  const systemPath = opts.systemPath === true ? SYSTEM_SSH_CONFIG : opts.systemPath || undefined;
  const systemText = systemPath !== undefined ? (readConfigText(systemPath) ?? '') : '';
  const readAll = () => {
    if (cli) readFileInto(s, cli, 'command line', 0, true, true);
    readFileInto(s, text, fileName, 0, true, true);
    if (systemText) readFileInto(s, systemText, systemPath as string, 0, true, false);
  };
  readAll();
  const hostname = () => {
    const h = s.scalars.get('hostname');
    if (!h) return host.toLowerCase();
    return expandTokens(one(h.args, h.where), { ...tokens(s, host, 22), h: host }, h.where, 'h').toLowerCase();
  };
  if (s.wantFinal) {
    const h = hostname();
    s.scalars.set('hostname', { args: [h], where: 'final pass' });
    s.hostForHostLines = h;
    s.finalPass = true;
    s.files = 0;
    readAll();
  }
  return finish(s, host, hostname());
}

function finish(s: State, host: string, hostname: string): ResolvedSshConfig {
  const get = (k: Scalar) => s.scalars.get(k);
  const portV = get('port');
  const port = s.opts.port ?? (portV ? Number(one(portV.args, portV.where)) : 22);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new InvalidArgumentError(`${portV?.where ?? 'port'}: invalid port`);
  const t = tokens(s, hostname, port);
  const expand = (v: string, where: string) => expandTokens(v, t, where);
  const flag = (k: Scalar, dflt: boolean) => {
    const v = get(k);
    return v ? parseFlag(one(v.args, v.where), v.where) : dflt;
  };
  const idFiles = (s.multis.get('identityfile') ?? []).flatMap((e) => e.args.map((a) => expand(a, e.where)));
  const res: ResolvedSshConfig = {
    host,
    hostname,
    port,
    user: remoteUser(s),
    identityFile: idFiles.length > 0 ? idFiles : DEFAULT_IDENTITIES.map((n) => join(s.local.home, '.ssh', n)),
    identityFileConfigured: idFiles.length > 0,
    identitiesOnly: flag('identitiesonly', false),
    certificateFile: (s.multis.get('certificatefile') ?? []).flatMap((e) => e.args.map((a) => expand(a, e.where))),
    strictHostKeyChecking: 'ask',
    userKnownHostsFile: [join(s.local.home, '.ssh', 'known_hosts'), join(s.local.home, '.ssh', 'known_hosts2')],
    serverAliveInterval: 0,
    serverAliveCountMax: 3,
    compression: flag('compression', false),
    rekeyLimit: { bytes: 0, seconds: 0 },
    passwordAuthentication: flag('passwordauthentication', true),
    sendEnv: [],
    setEnv: [],
    localForward: [],
    remoteForward: [],
    dynamicForward: [],
    forwardAgent: false,
    exitOnForwardFailure: flag('exitonforwardfailure', false),
    clearAllForwardings: flag('clearallforwardings', false),
    gatewayPorts: flag('gatewayports', false),
    proxyUseFdpass: flag('proxyusefdpass', false),
    hashKnownHosts: flag('hashknownhosts', false),
    batchMode: flag('batchmode', false),
    other: Object.fromEntries(s.other),
    warnings: s.warnings,
  };
  const cp = s.other.get('controlpath')?.replace(/^"(.*)"$/, '$1');
  if (cp !== undefined && cp.toLowerCase() !== 'none') res.controlPath = expand(cp, 'ControlPath');
  const cm = s.other.get('controlmaster')?.toLowerCase();
  if (cm !== undefined) res.controlMaster = cm;
  const agent = get('identityagent');
  if (agent) {
    const a = one(agent.args, agent.where);
    res.identityAgent = a === 'none' || a === 'SSH_AUTH_SOCK' || a.startsWith('$') ? a : expand(a, agent.where);
  }
  const jump = get('proxyjump');
  if (jump && one(jump.args, jump.where).toLowerCase() !== 'none') res.proxyJump = (jump.args[0] as string).split(',');
  const pc = get('proxycommand')?.args[0];
  if (pc !== undefined && pc !== 'none') res.proxyCommand = pc;
  const shk = get('stricthostkeychecking');
  if (shk) {
    const v = one(shk.args, shk.where).toLowerCase();
    const map: Record<string, ResolvedSshConfig['strictHostKeyChecking']> = {
      yes: 'yes',
      true: 'yes',
      no: 'no',
      false: 'no',
      off: 'no',
      ask: 'ask',
      'accept-new': 'accept-new',
    };
    const m = map[v];
    if (!m) throw new InvalidArgumentError(`${shk.where}: invalid StrictHostKeyChecking value`);
    res.strictHostKeyChecking = m;
  }
  const ukh = get('userknownhostsfile');
  if (ukh)
    res.userKnownHostsFile =
      ukh.args.length === 1 && ukh.args[0] === 'none' ? [] : ukh.args.map((a) => expand(a, ukh.where));
  for (const [k, name] of [
    ['ciphers', 'ciphers'],
    ['kexalgorithms', 'kexAlgorithms'],
    ['macs', 'macs'],
    ['hostkeyalgorithms', 'hostKeyAlgorithms'],
    ['pubkeyacceptedalgorithms', 'pubkeyAcceptedAlgorithms'],
  ] as const) {
    const v = get(k);
    if (v) res[name] = one(v.args, v.where);
  }
  const ct = get('connecttimeout');
  if (ct && one(ct.args, ct.where).toLowerCase() !== 'none')
    res.connectTimeout = parseTime(ct.args[0] as string, ct.where);
  const sai = get('serveraliveinterval');
  if (sai) res.serverAliveInterval = parseTime(one(sai.args, sai.where), sai.where);
  const sac = get('serveralivecountmax');
  if (sac) {
    const v = one(sac.args, sac.where);
    if (!/^\d{1,9}$/.test(v)) throw new InvalidArgumentError(`${sac.where}: invalid number`);
    res.serverAliveCountMax = Number(v);
  }
  const rk = get('rekeylimit');
  if (rk) {
    const [b = '', sec] = rk.args;
    const bytes = b.toLowerCase() === 'default' ? 0 : parseSize(b, rk.where);
    const seconds = sec === undefined || /^(default|none)$/i.test(sec) ? 0 : parseTime(sec, rk.where);
    res.rekeyLimit = { bytes, seconds };
  }
  const pa = get('preferredauthentications');
  if (pa)
    res.preferredAuthentications = one(pa.args, pa.where)
      .split(',')
      .filter((x) => x !== '');
  for (const e of s.multis.get('sendenv') ?? []) {
    for (const a of e.args) {
      if (a.startsWith('-')) {
        const pat = a.slice(1);
        res.sendEnv = res.sendEnv.filter((x) => !matchPattern(x, pat));
      } else if (!res.sendEnv.includes(a)) res.sendEnv.push(a);
    }
  }
  const se = get('setenv');
  if (se) {
    for (const a of se.args) {
      const i = a.indexOf('=');
      if (i <= 0) throw new InvalidArgumentError(`${se.where}: SetEnv needs NAME=VALUE`);
      const name = a.slice(0, i);
      if (!res.setEnv.some(([n]) => n === name)) res.setEnv.push([name, a.slice(i + 1)]);
    }
  }
  for (const [k, name] of [
    ['localforward', 'localForward'],
    ['remoteforward', 'remoteForward'],
    ['dynamicforward', 'dynamicForward'],
  ] as const) {
    for (const e of s.multis.get(k) ?? []) res[name].push(parseForward(k, e.args, e.where, expand));
    if (res.clearAllForwardings) res[name] = [];
  }
  const fa = get('forwardagent');
  if (fa) {
    const v = one(fa.args, fa.where);
    res.forwardAgent = /^(yes|no|true|false)$/i.test(v)
      ? parseFlag(v, fa.where)
      : v.startsWith('$')
        ? v
        : expand(v, fa.where);
  }
  return res;
}

function parseForward(
  kind: string,
  args: string[],
  where: string,
  expand: (v: string, w: string) => string,
): SshForward {
  const fixPath = <T extends { path?: string }>(e: T): T =>
    e.path !== undefined ? { ...e, path: expand(e.path, where) } : e;
  const [a = '', b] = args;
  if (kind === 'dynamicforward') {
    if (args.length !== 1) throw new InvalidArgumentError(`${where}: DynamicForward takes one value`);
    return { listen: parseForwardEnd(a, where, false) };
  }
  if (kind === 'remoteforward' && b === undefined) return { listen: fixPath(parseForwardEnd(a, where, false)) };
  if (b === undefined || args.length !== 2)
    throw new InvalidArgumentError(`${where}: forward needs a listen and a target`);
  return { listen: fixPath(parseForwardEnd(a, where, false)), connect: fixPath(parseForwardEnd(b, where, true)) };
}

/** The default user config path, `~/.ssh/config` (`~` as {@link homeDirectory} says). */
export function defaultSshConfigPath(): string {
  return join(homeDirectory(), '.ssh', 'config');
}
