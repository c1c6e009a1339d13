/**
 * OpenSSH `known_hosts` files: hashed names (`|1|salt|hash`, HMAC-SHA1), patterns (`*`, `?`, `!`,
 * comma lists), `[host]:port`, `@cert-authority` and `@revoked` markers. Lookups follow OpenSSH;
 * lines this reader does not understand are kept verbatim and never match.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, open, readFile, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, KeyError } from '../errors.js';
import { MAX_CERT_BLOB } from '../keys/certificate.js';
import { Certificate, isCertificateType, PublicKey } from '../keys/index.js';
import { MAX_PUBLIC_BLOB } from '../keys/public-key.js';
import { expandHome, homeDirectory } from './home.js';
import { matchPatternList } from './pattern.js';

/** Largest known_hosts file read (bytes). */
export const MAX_KNOWN_HOSTS_FILE = 16 * 1024 * 1024;
/** Longest line considered; longer lines are kept but never match. */
export const MAX_KNOWN_HOSTS_LINE = 64 * 1024;

/** A line marker: `@cert-authority` or `@revoked`. */
export type KnownHostsMarker = 'cert-authority' | 'revoked';

/** One parsed host key line. */
export interface KnownHostsEntry {
  /** 1-based line number in the file (as `ssh-keygen -F` reports it). */
  readonly line: number;
  /** `'cert-authority'` or `'revoked'` for a line marked so; undefined for a plain key line. */
  readonly marker: KnownHostsMarker | undefined;
  /** The host field as written: a pattern list or a `|1|salt|hash` name. */
  readonly hosts: string;
  /** True for a hashed (`|1|salt|hash`) name. */
  readonly hashed: boolean;
  /** The listed key (a CA's key on a `@cert-authority` line). */
  readonly key: PublicKey;
  /** Text after the key (`''` when none). */
  readonly comment: string;
}

/** The result of {@link KnownHosts.lookup}. */
export interface KnownHostsResult {
  /**
   * `match`: the key is listed for the host. `mismatch`: the host is listed with a different key of the
   * same type. `revoked`: the key is listed under `@revoked`. `unknown`: no key of this type is listed.
   */
  status: 'match' | 'mismatch' | 'unknown' | 'revoked';
  /** The matching (or, for `mismatch`/`revoked`, the offending) entry. */
  entry?: KnownHostsEntry;
  /** Plain keys listed for the host, any type (e.g. to tell "unknown" from "known with another type"). */
  known: KnownHostsEntry[];
}

/** Options of {@link KnownHosts.add}. */
export interface KnownHostsAddOptions {
  /** Write the name hashed (`|1|…`), as `HashKnownHosts yes` does. */
  hash?: boolean;
  /** Text after the key on the line. */
  comment?: string;
  /** `'cert-authority'` or `'revoked'` writes the line with that marker (default: a plain key line). */
  marker?: KnownHostsMarker;
}

interface Line {
  text: string;
  entry: KnownHostsEntry | undefined;
}

/** The tail of each file's queue of read-modify-write runs in this process (see {@link withKnownHostsFile}). */
const fileQueues = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` — a load, change and save of the known_hosts file at `path` — after every earlier run
 * for the same file (through symlinks) in this process has finished, so two connections rewriting
 * one file at once (accept-new, updateHostKeys) do not undo each other's change. `fn` should only
 * touch files: a run that waits on a peer would hold up the others. Other processes are not
 * excluded (ssh takes no lock either).
 */
export async function withKnownHostsFile<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const full = resolve(expandHome(path));
  const key = await realpath(full).catch(() => full);
  const run = (fileQueues.get(key) ?? Promise.resolve()).then(fn);
  const tail = run.then(
    () => {},
    () => {},
  );
  fileQueues.set(key, tail);
  void tail.then(() => {
    if (fileQueues.get(key) === tail) fileQueues.delete(key);
  });
  return run;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise (lowercased). */
export function knownHostsName(host: string, port = 22): string {
  const h = host.toLowerCase();
  return port === 22 || port === 0 ? h : `[${h}]:${port}`;
}

/** Hashes a name as `HashKnownHosts` does: `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`. */
export function hashKnownHostsName(name: string, salt: Buffer = randomBytes(20)): string {
  const mac = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${mac.toString('base64')}`;
}

function hashedMatches(field: string, name: string): boolean {
  const parts = field.split('|');
  // '' '1' salt hash
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const want = Buffer.from(parts[3] ?? '', 'base64');
  if (salt.length !== 20 || want.length !== 20) return false;
  const got = createHmac('sha1', salt).update(name).digest();
  return timingSafeEqual(got, want);
}

/** True when the host field of an entry names `name` (hashed compare, or a pattern list without a negated hit). */
function hostFieldMatches(entry: KnownHostsEntry, name: string): boolean {
  if (entry.hashed) return hashedMatches(entry.hosts, name);
  return matchPatternList(name, entry.hosts) === 1;
}

function parseLine(text: string, lineNo: number): KnownHostsEntry | undefined {
  if (text.length > MAX_KNOWN_HOSTS_LINE) return undefined;
  let rest = text.trim();
  if (rest === '' || rest.startsWith('#')) return undefined;
  let marker: KnownHostsMarker | undefined;
  if (rest.startsWith('@')) {
    const m = /^@(\S+)\s+(.*)$/.exec(rest);
    if (!m) return undefined;
    if (m[1] === 'cert-authority') marker = 'cert-authority';
    else if (m[1] === 'revoked') marker = 'revoked';
    else return undefined;
    rest = m[2] ?? '';
  }
  const m = /^(\S+)\s+(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*))?$/.exec(rest);
  if (!m) return undefined;
  const [, hosts = '', type = '', b64 = '', comment = ''] = m;
  // A @revoked line may list a certificate: as in OpenSSH (which compares public keys), it revokes the
  // certified key. Elsewhere a certificate line matches nothing.
  const revokedCert = marker === 'revoked' && isCertificateType(type);
  if (b64.length % 4 !== 0 || (b64.length * 3) / 4 > (revokedCert ? MAX_CERT_BLOB : MAX_PUBLIC_BLOB) + 3)
    return undefined;
  let key: PublicKey;
  try {
    const blob = Buffer.from(b64, 'base64');
    if (revokedCert) {
      const cert = Certificate.fromBlob(blob, comment);
      if (cert.certType !== type) return undefined;
      key = cert.publicKey;
    } else {
      key = PublicKey.fromBlob(blob, comment);
      if (key.type !== type) return undefined;
    }
  } catch (e) {
    if (e instanceof KeyError) return undefined;
    throw e;
  }
  const hashed = hosts.startsWith('|');
  return { line: lineNo, marker, hosts, hashed, key, comment };
}

function formatEntry(marker: KnownHostsMarker | undefined, hosts: string, key: PublicKey, comment: string): string {
  const b64 = key.blob.toString('base64');
  const parts = [marker ? `@${marker}` : '', hosts, key.type, b64, comment.replace(/[\r\n]/g, ' ')];
  return parts.filter((p) => p !== '').join(' ');
}

/**
 * A known_hosts file in memory: lookups, additions, removals and an atomic save. Unparseable lines,
 * comments and blank lines are preserved on save.
 *
 * @example
 * const kh = await KnownHosts.load();                 // ~/.ssh/known_hosts (empty if missing)
 * const r = kh.lookup('example.com', 22, hostKey);    // { status: 'match' | 'mismatch' | 'unknown' | 'revoked', … }
 * if (r.status === 'unknown') { kh.add('example.com', 22, hostKey, { hash: true }); await kh.save(); }
 */
export class KnownHosts {
  /** The file {@link save} writes to by default. */
  path: string | undefined;
  #lines: Line[] = [];

  constructor(text = '', path?: string) {
    this.path = path;
    if (text.length > MAX_KNOWN_HOSTS_FILE) throw new InvalidArgumentError('known_hosts file too large');
    const raw = text.split('\n');
    if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
    this.#lines = raw.map((t, i) => {
      const textLine = t.endsWith('\r') ? t.slice(0, -1) : t;
      return { text: textLine, entry: parseLine(textLine, i + 1) };
    });
  }

  /** The default user file, `~/.ssh/known_hosts` (`~` as {@link homeDirectory} says). */
  static defaultPath(): string {
    return join(homeDirectory(), '.ssh', 'known_hosts');
  }

  /**
   * Reads a file (default `~/.ssh/known_hosts`; a leading `~` is expanded); a missing file gives an
   * empty set bound to that path.
   */
  static async load(path: string = KnownHosts.defaultPath()): Promise<KnownHosts> {
    path = expandHome(path);
    let text = '';
    try {
      const st = await stat(path);
      if (st.size > MAX_KNOWN_HOSTS_FILE) throw new InvalidArgumentError(`known_hosts file too large: ${path}`);
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return new KnownHosts(text, path);
  }

  /** Every parsed key line, in file order. */
  get entries(): KnownHostsEntry[] {
    const out: KnownHostsEntry[] = [];
    for (const l of this.#lines) if (l.entry) out.push(l.entry);
    return out;
  }

  /** Every entry whose host field names `host:port` (any marker), as `ssh-keygen -F` lists them. */
  find(host: string, port = 22): KnownHostsEntry[] {
    const name = knownHostsName(host, port);
    return this.entries.filter((e) => hostFieldMatches(e, name));
  }

  /**
   * Checks `key` for `host:port` the way `ssh` does: `@revoked` wins over everything; then a plain
   * entry with an equal key is a `match`; one with the same type but another key is a `mismatch`.
   * `@cert-authority` lines never match a plain key.
   */
  lookup(host: string, port: number, key: PublicKey): KnownHostsResult {
    const found = this.find(host, port);
    const known = found.filter((e) => e.marker === undefined);
    const revoked = found.find((e) => e.marker === 'revoked' && e.key.blob.equals(key.blob));
    if (revoked) return { status: 'revoked', entry: revoked, known };
    const same = known.find((e) => e.key.blob.equals(key.blob));
    if (same) return { status: 'match', entry: same, known };
    const changed = known.find((e) => e.key.type === key.type);
    if (changed) return { status: 'mismatch', entry: changed, known };
    return { status: 'unknown', known };
  }

  /** Key types listed for `host:port` (plain entries), in file order, without duplicates. */
  knownKeyTypes(host: string, port = 22): string[] {
    const types: string[] = [];
    for (const e of this.find(host, port))
      if (e.marker === undefined && !types.includes(e.key.type)) types.push(e.key.type);
    return types;
  }

  /** Appends an entry for `host:port` (hashed when `hash` is set). Returns the new entry. */
  add(host: string, port: number, key: PublicKey, opts: KnownHostsAddOptions = {}): KnownHostsEntry {
    if (!host || /[\s,]/.test(host) || host.startsWith('|') || host.startsWith('@') || host.startsWith('!')) {
      throw new InvalidArgumentError('invalid host name for known_hosts');
    }
    const name = knownHostsName(host, port);
    const hosts = opts.hash ? hashKnownHostsName(name) : name;
    const text = formatEntry(opts.marker, hosts, key, opts.comment ?? '');
    const entry = parseLine(text, this.#lines.length + 1);
    if (!entry) throw new InvalidArgumentError('cannot format known_hosts entry');
    this.#lines.push({ text, entry });
    return entry;
  }

  /**
   * Removes the plain entries naming `host:port` (like `ssh-keygen -R`; `@cert-authority` and
   * `@revoked` lines are kept). Returns how many lines were removed. Line numbers are renumbered.
   */
  remove(host: string, port = 22): number {
    const name = knownHostsName(host, port);
    const before = this.#lines.length;
    const kept = this.#lines.filter(
      (l) => !(l.entry && l.entry.marker === undefined && hostFieldMatches(l.entry, name)),
    );
    this.#lines = kept.map((l, i) => ({ text: l.text, entry: l.entry ? { ...l.entry, line: i + 1 } : undefined }));
    return before - kept.length;
  }

  /**
   * Removes the plain entries naming `host:port` whose key is not in `keep` (`@cert-authority` and
   * `@revoked` lines stay), as ssh's UpdateHostKeys rewrites a file; other lines are kept verbatim.
   * Returns the removed entries. Line numbers are renumbered.
   */
  retainKeys(host: string, port: number, keep: readonly PublicKey[]): KnownHostsEntry[] {
    const name = knownHostsName(host, port);
    const removed: KnownHostsEntry[] = [];
    const kept = this.#lines.filter((l) => {
      const e = l.entry;
      if (!e || e.marker !== undefined || !hostFieldMatches(e, name) || keep.some((k) => k.equals(e.key))) return true;
      removed.push(e);
      return false;
    });
    this.#lines = kept.map((l, i) => ({ text: l.text, entry: l.entry ? { ...l.entry, line: i + 1 } : undefined }));
    return removed;
  }

  /** The file text, one line per entry, comments and unknown lines kept. */
  toString(): string {
    return this.#lines.map((l) => `${l.text}\n`).join('');
  }

  /**
   * Writes the file atomically: a temp file in the same folder (mode 0600) renamed over the target.
   * An existing file keeps its mode. A missing folder is created with mode 0700 (as `ssh` creates
   * `~/.ssh`), so a fresh container or CI home works.
   */
  async save(path: string | undefined = this.path): Promise<void> {
    if (!path) throw new InvalidArgumentError('no known_hosts path to save to');
    this.path = path;
    // Through a symlink to its target, as ssh appends through it; never replace the link itself.
    const target = await realpath(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return path;
      throw e;
    });
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    let mode = 0o600;
    try {
      const st = await stat(target);
      if (!st.isFile()) {
        // `UserKnownHostsFile /dev/null` and the like: written in place, never renamed over.
        await writeFile(target, this.toString(), 'utf8');
        return;
      }
      mode = st.mode & 0o777;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const tmp = join(dirname(target), `.${randomBytes(6).toString('hex')}.known_hosts.tmp`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(this.toString(), 'utf8');
      await fh.sync();
    } catch (e) {
      await fh.close();
      await unlink(tmp).catch(() => {});
      throw e;
    }
    await fh.close();
    try {
      if (mode !== 0o600) await chmod(tmp, mode);
      await rename(tmp, target);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
  }
}
