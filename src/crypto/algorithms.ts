/**
 * Algorithm preference lists: what secsh supports, what it offers by default, and OpenSSH-style
 * edits of the defaults (`+name` append, `-name` remove, `^name` prepend).
 */
import { InvalidArgumentError } from '../errors.js';
import { matchPattern } from '../wire/pattern.js';
import { hasFiniteFieldDh } from './kex-dh.js';
import { hasDsa, hasNodeCipher } from './runtime.js';

/** The negotiable algorithm kinds. */
export type AlgorithmKind = 'kex' | 'hostKey' | 'cipher' | 'mac' | 'compression';

/** One list per kind, each in preference order. */
export interface AlgorithmLists {
  /** Key exchange methods, e.g. `mlkem768x25519-sha256`, `curve25519-sha256`. */
  kex: string[];
  /** Host key (signature) algorithms, e.g. `ssh-ed25519`, `rsa-sha2-512`. */
  hostKey: string[];
  /** Ciphers, e.g. `chacha20-poly1305@openssh.com`, `aes256-gcm@openssh.com`. */
  cipher: string[];
  /** MACs (unused under an AEAD cipher), e.g. `hmac-sha2-256-etm@openssh.com`. */
  mac: string[];
  /** Compression: `none`, `zlib@openssh.com`, `zlib`. */
  compression: string[];
}

/** A caller's algorithm option: a full list, or a comma string with OpenSSH's `+`/`-`/`^` edits. */
export type AlgorithmOption = string | readonly string[];

/** Caller options for every kind. */
export type AlgorithmOptions = Partial<Record<AlgorithmKind, AlgorithmOption>>;

/** Offered unless removed. */
export const DEFAULT_ALGORITHMS: Readonly<AlgorithmLists> = Object.freeze({
  kex: [
    'mlkem768x25519-sha256',
    'sntrup761x25519-sha512',
    'sntrup761x25519-sha512@openssh.com',
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'ecdh-sha2-nistp256',
    'ecdh-sha2-nistp384',
    'ecdh-sha2-nistp521',
    'diffie-hellman-group-exchange-sha256',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
    'diffie-hellman-group14-sha256',
  ],
  hostKey: [
    'ssh-ed25519',
    'ecdsa-sha2-nistp256',
    'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521',
    'rsa-sha2-512',
    'rsa-sha2-256',
  ],
  cipher: [
    'aes128-gcm@openssh.com',
    'aes256-gcm@openssh.com',
    'chacha20-poly1305@openssh.com',
    'aes128-ctr',
    'aes192-ctr',
    'aes256-ctr',
  ],
  mac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'],
  compression: ['none', 'zlib@openssh.com'],
});

/** Supported but off unless asked for (weak or legacy). */
export const INSECURE_ALGORITHMS: Readonly<AlgorithmLists> = Object.freeze({
  kex: ['diffie-hellman-group14-sha1', 'diffie-hellman-group1-sha1', 'diffie-hellman-group-exchange-sha1'],
  hostKey: ['ssh-rsa', 'ssh-dss'],
  cipher: ['aes128-cbc', 'aes192-cbc', 'aes256-cbc', '3des-cbc'],
  mac: ['hmac-sha1', 'hmac-sha1-etm@openssh.com'],
  compression: ['zlib'],
});

/**
 * Host certificate algorithms (PROTOCOL.certkeys). Not in {@link DEFAULT_ALGORITHMS} nor in
 * {@link supportedAlgorithms}, since they need a certificate: a client asks for them when known_hosts
 * has a `@cert-authority` line for the host (as `ssh` does), and a server offers them first when it
 * has host certificates (`ServerOptions.hostCertificates`). Either side may also name them in a
 * `hostKey` list, explicitly or by wildcard (`^*-cert-v01@openssh.com`).
 */
export const CERTIFICATE_HOST_KEY_ALGORITHMS: readonly string[] = Object.freeze([
  'ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'rsa-sha2-512-cert-v01@openssh.com',
  'rsa-sha2-256-cert-v01@openssh.com',
]);

/** Every name secsh implements, whatever the runtime. */
function implementedAlgorithms(kind: AlgorithmKind): string[] {
  return [...DEFAULT_ALGORITHMS[kind], ...INSECURE_ALGORITHMS[kind]];
}

/**
 * The node:crypto cipher (name, key and IV bytes) each cipher needs. chacha20-poly1305@openssh.com is
 * not here: where node:crypto lacks `chacha20` its own block function does the work.
 */
const NODE_CIPHERS: Readonly<Record<string, readonly [string, number, number]>> = {
  'aes128-gcm@openssh.com': ['aes-128-gcm', 16, 12],
  'aes256-gcm@openssh.com': ['aes-256-gcm', 32, 12],
  'aes128-ctr': ['aes-128-ctr', 16, 16],
  'aes192-ctr': ['aes-192-ctr', 24, 16],
  'aes256-ctr': ['aes-256-ctr', 32, 16],
  'aes128-cbc': ['aes-128-cbc', 16, 16],
  'aes192-cbc': ['aes-192-cbc', 24, 16],
  'aes256-cbc': ['aes-256-cbc', 32, 16],
  '3des-cbc': ['des-ede3-cbc', 24, 8],
};

/**
 * Why `name` cannot run on this JavaScript runtime, or undefined when it can. The primitive behind it
 * is tried once, on first use (`crypto/runtime.ts`): Bun has no finite-field DH (the
 * diffie-hellman-* methods) nor DSA keys (ssh-dss); Deno has no AES-192-CBC. Node.js has everything.
 */
export function unavailableReason(kind: AlgorithmKind, name: string): string | undefined {
  if (kind === 'kex') {
    if (name.startsWith('diffie-hellman-') && !hasFiniteFieldDh())
      return "this runtime's node:crypto has no finite-field Diffie-Hellman keys";
  } else if (kind === 'hostKey') {
    if (name === 'ssh-dss' && !hasDsa()) return "this runtime's node:crypto has no DSA keys";
  } else if (kind === 'cipher') {
    const c = NODE_CIPHERS[name];
    if (c && !hasNodeCipher(...c)) return `this runtime's node:crypto has no ${c[0]}`;
  }
  return undefined;
}

/** Every name secsh implements and this runtime can run, per kind (on Node.js: all of them). */
export function supportedAlgorithms(kind: AlgorithmKind): string[] {
  return implementedAlgorithms(kind).filter((n) => unavailableReason(kind, n) === undefined);
}

const KINDS: readonly AlgorithmKind[] = ['kex', 'hostKey', 'cipher', 'mac', 'compression'];

function splitNames(v: AlgorithmOption): string[] {
  const parts = typeof v === 'string' ? v.split(',') : [...v];
  return parts.map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * The names an option may mention for `kind`: the supported ones (those this runtime can run), and
 * for host keys the certificate ones.
 */
export function nameableAlgorithms(kind: AlgorithmKind): string[] {
  const names = supportedAlgorithms(kind);
  if (kind === 'hostKey') for (const c of CERTIFICATE_HOST_KEY_ALGORITHMS) if (!names.includes(c)) names.push(c);
  return names;
}

/**
 * Applies one option to the defaults of `kind` (or to `base` when given), OpenSSH's way: a list
 * replaces the defaults; `+a,b` appends, `-a,b` removes, `^a,b` moves or puts them first. Wildcards
 * `*` and `?` match every supported name, for `hostKey` the certificate algorithms included.
 *
 * @example
 * resolveAlgorithmList('cipher', '+3des-cbc'); // defaults then 3des-cbc
 * resolveAlgorithmList('hostKey', '^*-cert-v01@openssh.com'); // certificate algorithms first
 */
export function resolveAlgorithmList(
  kind: AlgorithmKind,
  option: AlgorithmOption | undefined,
  base: readonly string[] = DEFAULT_ALGORITHMS[kind],
): string[] {
  const defaults = base.filter((n) => unavailableReason(kind, n) === undefined);
  if (option === undefined) return defaults;
  const nameable = nameableAlgorithms(kind);
  const supported = new Set(nameable);
  const implemented = new Set(implementedAlgorithms(kind));
  let mode: '' | '+' | '-' | '^' = '';
  let raw = option;
  if (typeof raw === 'string' && /^[+\-^]/.test(raw)) {
    mode = raw[0] as '+' | '-' | '^';
    raw = raw.slice(1);
  }
  const names = splitNames(raw);
  if (mode === '-') {
    const res = defaults.filter((d) => !names.some((pat) => matchPattern(d, pat)));
    return res;
  }
  const expanded: string[] = [];
  for (const n of names) {
    if (n.includes('*') || n.includes('?')) {
      for (const s of nameable) if (matchPattern(s, n) && !expanded.includes(s)) expanded.push(s);
      continue;
    }
    if (!supported.has(n)) {
      const why = implemented.has(n) ? unavailableReason(kind, n) : undefined;
      if (why !== undefined) throw new InvalidArgumentError(`${kind} algorithm ${n} is not available here: ${why}`);
      throw new InvalidArgumentError(`unsupported ${kind} algorithm: ${n}`);
    }
    if (!expanded.includes(n)) expanded.push(n);
  }
  if (mode === '+') return [...defaults, ...expanded.filter((n) => !defaults.includes(n))];
  if (mode === '^') return [...expanded, ...defaults.filter((n) => !expanded.includes(n))];
  if (expanded.length === 0) throw new InvalidArgumentError(`empty ${kind} algorithm list`);
  return expanded;
}

/** Resolves every kind. */
export function resolveAlgorithms(options: AlgorithmOptions | undefined): AlgorithmLists {
  const out = {} as AlgorithmLists;
  for (const k of KINDS) {
    out[k] = resolveAlgorithmList(k, options?.[k]);
    if (out[k].length === 0) throw new InvalidArgumentError(`no ${k} algorithms left after edits`);
  }
  return out;
}
