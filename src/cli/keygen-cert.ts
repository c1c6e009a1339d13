/**
 * `secsh keygen -s ca -I id [-h] [-n principals] [-V validity] [-O option] [-z serial] file.pub …` (signing
 * certificates) and `-L` (showing them), with ssh-keygen's messages and layout.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import type { Certificate, SignatureAlgorithm, Signer } from '../keys/index.js';
import { CERT_FOREVER, issueCertificate, parseSshsigTime } from '../keys/index.js';
import type { KeygenOptions } from './keygen-common.js';
import {
  agentSignerFor,
  err,
  fatal,
  identityFile,
  loadIdentity,
  loadPublic,
  out,
  readKeyLine,
  strerror,
  typeLabel,
} from './keygen-common.js';

const X11 = 1;
const AGENT = 2;
const PORT = 4;
const PTY = 8;
const USER_RC = 16;
const NO_TOUCH = 32;
const VERIFY = 64;
const DEFAULT_FLAGS = X11 | AGENT | PORT | PTY | USER_RC;

const FLAG_OPTIONS: Record<string, [number, boolean]> = {
  'no-x11-forwarding': [X11, false],
  'permit-x11-forwarding': [X11, true],
  'no-agent-forwarding': [AGENT, false],
  'permit-agent-forwarding': [AGENT, true],
  'no-port-forwarding': [PORT, false],
  'permit-port-forwarding': [PORT, true],
  'no-pty': [PTY, false],
  'permit-pty': [PTY, true],
  'no-user-rc': [USER_RC, false],
  'permit-user-rc': [USER_RC, true],
  'touch-required': [NO_TOUCH, false],
  'no-touch-required': [NO_TOUCH, true],
  'no-verify-required': [VERIFY, false],
  'verify-required': [VERIFY, true],
};

/** An address as bytes (4 or 16). */
function addressBytes(addr: string, family: number): number[] {
  if (family === 4) return addr.split('.').map(Number);
  const dotted = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(addr); // ::ffff:1.2.3.4
  if (dotted) {
    const [, pre = '', a, b, c, d] = dotted;
    const hex = (x?: string, y?: string) => ((Number(x) << 8) | Number(y)).toString(16);
    return addressBytes(`${pre}${hex(a, b)}:${hex(c, d)}`, 6);
  }
  const [head = '', tail] = addr.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const words = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  return words.flatMap((w) => {
    const n = Number.parseInt(w, 16);
    return [n >> 8, n & 0xff];
  });
}

/**
 * addr_match_cidr_list's check: comma-separated IPv4/IPv6 addresses, each with an optional /prefix in range
 * whose host bits are zero (`10.0.0.0/8`, not `10.0.0.1/8`).
 */
function validCidrList(list: string): boolean {
  return list.split(',').every((entry) => {
    const [addr = '', prefix, extra] = entry.split('/');
    const family = isIP(addr);
    if (family === 0 || extra !== undefined) return false;
    if (prefix === undefined) return true;
    const bits = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) return false;
    const bytes = addressBytes(addr, family);
    for (let i = Number(prefix); i < bits; i++) {
      if (((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) return false;
    }
    return true;
  });
}

/** What the `-O` options put in the certificate (add_cert_option, finalise_cert_exts). */
function certOptions(o: KeygenOptions): { critical: Map<string, string>; extensions: Map<string, string> } {
  let flags = o.hostCert ? 0 : DEFAULT_FLAGS;
  let command: string | undefined;
  let source: string | undefined;
  const critical = new Map<string, string>();
  const extensions = new Map<string, string>();
  for (const opt of o.options) {
    const lower = opt.toLowerCase();
    const flag = FLAG_OPTIONS[lower];
    if (lower === 'clear') flags = 0;
    else if (flag) flags = flag[1] ? flags | flag[0] : flags & ~flag[0];
    else if (lower.startsWith('force-command=')) {
      const v = opt.slice(14);
      if (v === '') fatal('Empty force-command option');
      if (command !== undefined) fatal('force-command already specified');
      command = v;
    } else if (lower.startsWith('source-address=')) {
      const v = opt.slice(15);
      if (v === '') fatal('Empty source-address option');
      if (source !== undefined) fatal('source-address already specified');
      if (!validCidrList(v)) fatal('Invalid source-address list');
      source = v;
    } else if (lower.startsWith('extension:') || lower.startsWith('critical:')) {
      const body = opt.slice(opt.indexOf(':') + 1);
      const eq = body.indexOf('=');
      const target = lower.startsWith('critical:') ? critical : extensions;
      target.set(eq < 0 ? body : body.slice(0, eq), eq < 0 ? '' : body.slice(eq + 1));
    } else fatal(`Unsupported certificate option "${opt}"`);
  }
  if (command !== undefined) critical.set('force-command', command);
  if (source !== undefined) critical.set('source-address', source);
  if (flags & VERIFY) critical.set('verify-required', '');
  if (flags & X11) extensions.set('permit-X11-forwarding', '');
  if (flags & AGENT) extensions.set('permit-agent-forwarding', '');
  if (flags & PORT) extensions.set('permit-port-forwarding', '');
  if (flags & PTY) extensions.set('permit-pty', '');
  if (flags & USER_RC) extensions.set('permit-user-rc', '');
  if (flags & NO_TOUCH) extensions.set('no-touch-required', '');
  return { critical, extensions };
}

/** convtime: `90`, `5m`, `1h30m`, `2d`, `1w` → seconds; undefined when malformed. */
function convtime(s: string): number | undefined {
  const mult: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  if (s === '') return undefined;
  let total = 0;
  const re = /(\d+)([sSmMhHdDwW]?)/y;
  let at = 0;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * (mult[(m[2] ?? '').toLowerCase()] ?? 1);
    at = re.lastIndex;
  }
  return total;
}

function relative(s: string, now: bigint): bigint {
  const secs = convtime(s.slice(1));
  if (secs === undefined) fatal(`Invalid relative certificate time ${s}`);
  if (s.startsWith('-') && BigInt(secs) > now) fatal(`Certificate time ${s} cannot be represented`);
  return s.startsWith('-') ? now - BigInt(secs) : now + BigInt(secs);
}

function hex64(s: string): bigint {
  if (!/^0x[0-9a-fA-F]+$/.test(s)) fatal('Invalid certificate time: not a number');
  return BigInt(s) & 0xffff_ffff_ffff_ffffn;
}

function absolute(s: string, what: string): bigint {
  try {
    return BigInt(parseSshsigTime(s));
  } catch {
    fatal(`Invalid ${what} time "${s}"`);
  }
}

/** parse_cert_times: `-V +52w`, `-V from:to` with relative, absolute, `0x…`, `always` and `forever` ends. */
export function parseValidity(spec: string, now = BigInt(Math.floor(Date.now() / 1000))): [bigint, bigint] {
  if (spec.startsWith('+') && !spec.includes(':')) {
    const secs = convtime(spec.slice(1));
    if (secs === undefined) fatal(`Invalid relative certificate life ${spec}`);
    return [((now - 59n) / 60n) * 60n, now + BigInt(secs)];
  }
  const colon = spec.indexOf(':');
  if (colon <= 0 || colon === spec.length - 1) fatal(`Invalid certificate life specification ${spec}`);
  const from = spec.slice(0, colon);
  const to = spec.slice(colon + 1);
  const a =
    from.startsWith('-') || from.startsWith('+')
      ? relative(from, now)
      : from === 'always'
        ? 0n
        : from.startsWith('0x')
          ? hex64(from)
          : absolute(from, 'from');
  const b =
    to.startsWith('-') || to.startsWith('+')
      ? relative(to, now)
      : to === 'forever'
        ? CERT_FOREVER
        : to.startsWith('0x')
          ? hex64(to)
          : absolute(to, 'to');
  if (b <= a) fatal('Empty certificate validity interval');
  return [a, b];
}

/** format_absolute_time: local `YYYY-MM-DDTHH:MM:SS`. */
function localTime(t: bigint): string {
  const d = new Date(Number(t > 253402300799n ? 253402300799n : t) * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** sshkey_format_cert_validity. */
function validityText(after: bigint, before: bigint): string {
  if (after === 0n && before === CERT_FOREVER) return 'forever';
  if (after === 0n) return `before ${localTime(before)}`;
  if (before === CERT_FOREVER) return `after ${localTime(after)}`;
  return `from ${localTime(after)} to ${localTime(before)}`;
}

function tilde(path: string): string {
  return path === '~' || path.startsWith('~/') ? `${homedir()}${path.slice(1)}` : path;
}

function parseSerial(s: string | undefined): { serial: bigint; autoinc: boolean } {
  if (s === undefined) return { serial: 0n, autoinc: false };
  const autoinc = s.startsWith('+');
  const digits = autoinc ? s.slice(1) : s;
  if (!/^\d+$/.test(digits) || BigInt(digits) > 0xffff_ffff_ffff_ffffn) fatal(`Invalid serial number "${digits}"`);
  return { serial: BigInt(digits), autoinc };
}

/** The CA signature algorithm: `-t` must name the CA's type; RSA CAs sign with rsa-sha2-512 unless told. */
function caAlgorithm(o: KeygenOptions, caType: string): SignatureAlgorithm | undefined {
  if (o.type === undefined) return caType === 'ssh-rsa' ? 'rsa-sha2-512' : undefined;
  const rsaNames = ['rsa', 'ssh-rsa', 'rsa-sha2-256', 'rsa-sha2-512'];
  const names: Record<string, string[]> = {
    'ssh-rsa': rsaNames,
    'ssh-ed25519': ['ed25519', 'ssh-ed25519'],
    'ssh-dss': ['dsa', 'ssh-dss'],
  };
  const ok = caType.startsWith('ecdsa-sha2-')
    ? ['ecdsa', caType].includes(o.type)
    : (names[caType] ?? [caType]).includes(o.type);
  if (!ok) fatal(`CA key type ${caType} doesn't match specified ${o.type}`);
  if (caType !== 'ssh-rsa') return undefined;
  return o.type === 'rsa-sha2-256'
    ? 'rsa-sha2-256'
    : o.type === 'ssh-rsa' || o.type === 'rsa'
      ? 'ssh-rsa'
      : 'rsa-sha2-512';
}

/** `-s`: signs each public key file, writing `name-cert.pub` and logging ssh-keygen's "Signed … key" line. */
export async function signCertificates(o: KeygenOptions): Promise<number> {
  if (o.keyId === undefined) fatal('Must specify key id (-I) when certifying');
  const [validAfter, validBefore] = o.validity ? parseValidity(o.validity) : [0n, CERT_FOREVER];
  const { serial, autoinc } = parseSerial(o.serial);
  const { critical, extensions } = certOptions(o);
  const ca = await caSigner(o, tilde(o.caKey as string));
  try {
    return await signEach(o, ca.signer, validAfter, validBefore, serial, autoinc, critical, extensions);
  } finally {
    ca.close();
  }
}

/** The CA: its private key file, or with -U the agent holding the key of the public key file. */
async function caSigner(o: KeygenOptions, path: string): Promise<{ signer: Signer; close(): void }> {
  if (!o.preferAgent) return { signer: await loadIdentity(o, path), close: () => undefined };
  const pub = await loadPublic(path);
  if (!pub) fatal(`Cannot load CA public key ${path}: No such file or directory`);
  const agent = await agentSignerFor(pub.key);
  if (!agent) fatal('Cannot use public key for CA signature: agent not present');
  if (!agent.signer) {
    agent.close();
    fatal(`CA key ${path} not found in agent`);
  }
  return { signer: agent.signer, close: () => agent.close() };
}

async function signEach(
  o: KeygenOptions,
  ca: Signer,
  validAfter: bigint,
  validBefore: bigint,
  firstSerial: bigint,
  autoinc: boolean,
  critical: Map<string, string>,
  extensions: Map<string, string>,
): Promise<number> {
  let serial = firstSerial;
  const alg = caAlgorithm(o, ca.publicKey.type);
  for (const arg of o.args) {
    let principals: string[] = [];
    if (o.principals !== undefined) {
      principals = o.principals.split(',');
      if (principals.some((p) => p === '')) fatal('Empty principal name');
      if (principals.length > 256) fatal('Too many certificate principals specified');
    }
    const path = tilde(arg);
    const pub = await loadPublic(path);
    if (!pub) fatal(`load pubkey "${path}": No such file or directory`);
    if (pub.cert) fatal(`do_ca_sign: key "${path}" type ${typeLabel(pub.key, pub.cert)} cannot be certified`);
    const cert = await issueCertificate(ca, pub.key, {
      type: o.hostCert ? 'host' : 'user',
      keyId: o.keyId as string,
      principals,
      validAfter,
      validBefore,
      serial,
      criticalOptions: critical,
      extensions,
      ...(alg ? { signatureAlgorithm: alg } : {}),
      comment: pub.comment,
    });
    const outPath = `${path.endsWith('.pub') ? path.slice(0, -4) : path}-cert.pub`;
    try {
      await writeFile(outPath, `${cert.certType} ${cert.blob.toString('base64')} ${pub.comment}\n`, { mode: 0o644 });
    } catch (e) {
      fatal(`Unable to save public key to ${outPath}: ${strerror(e)}`);
    }
    if (!o.quiet) {
      const to = o.principals !== undefined ? ` for ${o.principals}` : '';
      err(
        `Signed ${cert.type} key ${outPath}: id "${cert.keyId}" serial ${cert.serial}${to} valid ${validityText(validAfter, validBefore)}\n`,
      );
    }
    if (autoinc) serial++;
  }
  return 0;
}

const KNOWN_EXTENSIONS = new Set([
  'permit-X11-forwarding',
  'permit-agent-forwarding',
  'permit-port-forwarding',
  'permit-pty',
  'permit-user-rc',
  'no-touch-required',
]);

/** show_options: one line per option, values of the known ones, hex of the unknown ones. */
function showOptions(options: ReadonlyMap<string, string>, critical: boolean): string {
  let s = '';
  for (const [name, value] of options) {
    s += `                ${name}`;
    if (!critical && KNOWN_EXTENSIONS.has(name)) s += '\n';
    else if (critical && (name === 'force-command' || name === 'source-address')) s += ` ${value}\n`;
    else if (critical && name === 'verify-required') s += '\n';
    else if (value !== '') {
      const raw = Buffer.alloc(4 + Buffer.byteLength(value));
      raw.writeUInt32BE(Buffer.byteLength(value), 0);
      raw.write(value, 4);
      s += ` UNKNOWN OPTION: ${raw.toString('hex')} (len ${raw.length})\n`;
    } else s += ' UNKNOWN FLAG OPTION\n';
  }
  return s;
}

/** print_cert: ssh-keygen -L's layout. */
export function formatCertificate(cert: Certificate, hash: KeygenOptions['hash']): string {
  const pad = '        ';
  let s = `${pad}Type: ${cert.certType} ${cert.type} certificate\n`;
  s += `${pad}Public key: ${typeLabel(cert.publicKey, cert)} ${cert.publicKey.fingerprint(hash)}\n`;
  s += `${pad}Signing CA: ${typeLabel(cert.signatureKey)} ${cert.signatureKey.fingerprint(hash)} (using ${cert.signatureAlgorithm})\n`;
  s += `${pad}Key ID: "${cert.keyId}"\n`;
  s += `${pad}Serial: ${cert.serial}\n`;
  s += `${pad}Valid: ${validityText(cert.validAfter, cert.validBefore)}\n`;
  s += `${pad}Principals: `;
  if (cert.principals.length === 0) s += '(none)\n';
  else s += `${cert.principals.map((p) => `\n                ${p}`).join('')}\n`;
  s += `${pad}Critical Options: `;
  s += cert.criticalOptions.size === 0 ? '(none)\n' : `\n${showOptions(cert.criticalOptions, true)}`;
  s += `${pad}Extensions: `;
  s += cert.extensions.size === 0 ? '(none)\n' : `\n${showOptions(cert.extensions, false)}`;
  return s;
}

/** `-L`: prints every certificate in a file (or stdin for `-`). */
export async function showCertificates(o: KeygenOptions): Promise<number> {
  const file = await identityFile(o);
  const stdin = file === '-';
  const path = stdin ? '(stdin)' : file;
  let text: string;
  try {
    if (stdin) {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    } else text = await readFile(file, 'utf8');
  } catch (e) {
    fatal(`secsh keygen: ${file}: ${strerror(e)}`);
  }
  let ok = false;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (let n = 1; n <= lines.length; n++) {
    const cp = (lines[n - 1] as string).replace(/^[ \t]+/, '');
    if (cp.startsWith('#')) continue; // (a blank line is an invalid key to ssh-keygen -L, whose lines keep their newline)
    const k = readKeyLine(cp);
    if (!k) {
      err(`${path}:${n}: invalid key: invalid format\n`);
      continue;
    }
    if (!k.cert) {
      err(`${path}:${n} is not a certificate\n`);
      continue;
    }
    ok = true;
    out(!stdin && n === 1 ? `${path}:\n` : `${path}:${n}:\n`);
    out(formatCertificate(k.cert, o.hash));
  }
  return ok ? 0 : 1;
}
