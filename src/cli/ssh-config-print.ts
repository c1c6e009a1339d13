/**
 * `secsh ssh -G`: the evaluated configuration printed as `ssh -G` prints it — lowercase keywords in
 * OpenSSH's order and value formats — for the keywords secsh's resolveSshConfig knows, plus those the
 * command line sets (requesttty, sessiontype, stdinnull, escapechar, forwardx11, addressfamily, loglevel).
 * Algorithm lists are secsh's own (its defaults with the config's edits applied), not OpenSSH's.
 */
import { homedir } from 'node:os';
import { sshConfigConnectSettings } from '../config/index.js';
import type { ResolvedSshConfig, SshForward } from '../index.js';
import { applyAlgorithmEdit, DEFAULT_ALGORITHMS, DEFAULT_PUBLICKEY_ALGORITHMS } from '../index.js';
import type { SshOptions } from './ssh-options.js';
import { parseEscapeChar } from './ssh-options.js';

/** What -G needs besides the resolved config: the flags and -o values the library does not evaluate. */
export interface PrintContext {
  opts: SshOptions;
  /** The forwards given with -L/-R/-D (they come before the config's). */
  cliForwards: { local: SshForward[]; remote: SshForward[]; dynamic: SshForward[] };
}

const yn = (b: boolean) => (b ? 'yes' : 'no');

/** The first value of a keyword the resolver keeps as written (from -o or the files). */
export function otherValue(r: ResolvedSshConfig, key: string): string | undefined {
  const v = r.other[key.toLowerCase()];
  return v === undefined ? undefined : v.replace(/^"(.*)"$/, '$1');
}

function flagOpt(r: ResolvedSshConfig, key: string, dflt: boolean): boolean {
  const v = otherValue(r, key)?.toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  return dflt;
}

function end(e: SshForward['listen'], bareListen: boolean): string {
  if (e.path !== undefined) return e.path;
  if (e.host !== undefined && e.host !== '') return `[${e.host}]:${e.port}`;
  return bareListen ? String(e.port) : `[]:${e.port}`;
}

function forwardLine(f: SshForward): string {
  const listen = end(f.listen, true);
  return f.connect ? `${listen} ${end(f.connect, false)}` : listen;
}

/** `~/…` for paths under the home directory, as ssh -G prints the default identity files. */
function tilde(p: string, home: string): string {
  return p.startsWith(`${home}/`) ? `~${p.slice(home.length)}` : p;
}

/** The -G text for `r` (evaluated with the command line's options). */
export function formatSshConfig(r: ResolvedSshConfig, ctx: PrintContext): string {
  const { opts } = ctx;
  const lines: string[] = [];
  const put = (k: string, v: string | number | undefined) => {
    if (v !== undefined) lines.push(`${k} ${v}`);
  };
  const stdio = opts.stdioForward !== undefined;
  put('host', r.host);
  put('user', r.user);
  put('hostname', r.hostname);
  put('port', r.port);
  const fam = opts.family ?? otherValue(r, 'AddressFamily');
  put('addressfamily', fam === 4 || fam === 'inet' ? 'inet' : fam === 6 || fam === 'inet6' ? 'inet6' : 'any');
  put('batchmode', yn(r.batchMode));
  put('compression', yn(r.compression));
  put('clearallforwardings', yn(r.clearAllForwardings || stdio));
  put('exitonforwardfailure', yn(r.exitOnForwardFailure || stdio));
  put('forwardx11', yn(opts.forwardX11 ?? flagOpt(r, 'ForwardX11', false)));
  put('gatewayports', yn(r.gatewayPorts));
  put('identitiesonly', yn(r.identitiesOnly));
  put('passwordauthentication', yn(r.passwordAuthentication));
  put('proxyusefdpass', yn(r.proxyUseFdpass));
  put('requesttty', requestTtyText(opts, r));
  put(
    'sessiontype',
    opts.noCommand || stdio
      ? 'none'
      : opts.subsystem
        ? 'subsystem'
        : (otherValue(r, 'SessionType')?.toLowerCase() ?? 'default'),
  );
  put('stdinnull', yn(opts.stdinNull || flagOpt(r, 'StdinNull', false)));
  put(
    'stricthostkeychecking',
    { yes: 'true', no: 'false', ask: 'ask', 'accept-new': 'accept-new' }[r.strictHostKeyChecking],
  );
  put('updatehostkeys', String(sshConfigConnectSettings(r).updateHostKeys));
  put('serveralivecountmax', r.serverAliveCountMax);
  put('serveraliveinterval', r.serverAliveInterval);
  const alg = (list: readonly string[], edit: string | undefined) =>
    (edit === undefined ? [...list] : applyAlgorithmEdit(list, edit)).join(',');
  put('ciphers', alg(DEFAULT_ALGORITHMS.cipher, r.ciphers));
  put('hostkeyalgorithms', alg(DEFAULT_ALGORITHMS.hostKey, r.hostKeyAlgorithms));
  put('identityagent', r.identityAgent);
  put('kexalgorithms', alg(DEFAULT_ALGORITHMS.kex, r.kexAlgorithms));
  put('loglevel', logLevel(opts, r));
  put('macs', alg(DEFAULT_ALGORITHMS.mac, r.macs));
  put('preferredauthentications', r.preferredAuthentications?.join(','));
  put('pubkeyacceptedalgorithms', alg(DEFAULT_PUBLICKEY_ALGORITHMS, r.pubkeyAcceptedAlgorithms));
  const clear = r.clearAllForwardings || stdio;
  const fw = (cli: SshForward[], cfg: SshForward[]) => (clear ? [] : [...cli, ...cfg]);
  for (const f of fw(ctx.cliForwards.dynamic, r.dynamicForward)) put('dynamicforward', forwardLine(f));
  for (const f of fw(ctx.cliForwards.local, r.localForward)) put('localforward', forwardLine(f));
  for (const f of fw(ctx.cliForwards.remote, r.remoteForward)) put('remoteforward', forwardLine(f));
  const home = homedir();
  for (const f of r.identityFile) put('identityfile', r.identityFileConfigured ? f : tilde(f, home));
  for (const f of r.certificateFile) put('certificatefile', f);
  put('userknownhostsfile', r.userKnownHostsFile.length > 0 ? r.userKnownHostsFile.join(' ') : 'none');
  for (const e of r.sendEnv) put('sendenv', e);
  for (const [k, v] of r.setEnv) put('setenv', `${k}=${v}`);
  put('forwardagent', typeof r.forwardAgent === 'string' ? r.forwardAgent : yn(r.forwardAgent));
  put('connecttimeout', r.connectTimeout ?? 'none');
  put('escapechar', visEscape(opts.escapeChar ?? otherValue(r, 'EscapeChar') ?? '~'));
  put('rekeylimit', `${r.rekeyLimit.bytes} ${r.rekeyLimit.seconds}`);
  put('proxycommand', r.proxyCommand);
  put('proxyjump', r.proxyJump?.join(','));
  return `${lines.join('\n')}\n`;
}

/** ssh -G's requesttty: auto, false (no), true (yes), force. */
export function requestTtyMode(opts: SshOptions, r: ResolvedSshConfig): 'auto' | 'no' | 'yes' | 'force' {
  if (opts.tty >= 2) return 'force';
  if (opts.tty === 1) return 'yes';
  if (opts.noTty || opts.stdioForward !== undefined) return 'no';
  const v = otherValue(r, 'RequestTTY')?.toLowerCase();
  if (v === 'force') return 'force';
  if (v === 'yes' || v === 'true') return 'yes';
  if (v === 'no' || v === 'false') return 'no';
  return 'auto';
}

function requestTtyText(opts: SshOptions, r: ResolvedSshConfig): string {
  return { auto: 'auto', no: 'false', yes: 'true', force: 'force' }[requestTtyMode(opts, r)];
}

function logLevel(opts: SshOptions, r: ResolvedSshConfig): string {
  if (opts.verbose > 0) return `DEBUG${opts.verbose}`;
  if (opts.quiet) return 'SILENT';
  return otherValue(r, 'LogLevel')?.toUpperCase() ?? 'INFO';
}

/** The escape character as ssh -G prints it (vis(3) with VIS_WHITE): `~`, `\\^]`, `none`. */
function visEscape(text: string): string {
  const c = parseEscapeChar(text);
  if (c === null) return 'none';
  if (c === undefined) return text;
  if (c < 32) return `\\^${String.fromCharCode(c + 64)}`;
  if (c === 127) return '\\^?';
  if (c === 32) return '\\040';
  if (c === 92) return '\\\\';
  if (c > 127) return `\\M-${visEscape(String.fromCharCode(c - 128))}`;
  return String.fromCharCode(c);
}
