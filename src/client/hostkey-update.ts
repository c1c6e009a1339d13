/**
 * The client side of OpenSSH's host key rotation, ssh's UpdateHostKeys: the server announces all its
 * host keys after authentication (`hostkeys-00@openssh.com`); keys the user's known_hosts lacks are
 * proven (`hostkeys-prove-00@openssh.com`, each signature checked against this session's id) and
 * added to the first file, and keys on file for the host that the server no longer has are removed —
 * with the refusals of ssh's clientloop.c (a marker line, a wildcard or long host list for the host,
 * a key on file under another name, a duplicated key, a bad proof: no change at all). Stricter than
 * ssh: a two-name line is rewritten only as `hostname,address`, and keys the server announces of
 * types this client does not use stay on file.
 */
import { copyFile, link, realpath, stat, unlink } from 'node:fs/promises';
import { isIP } from 'node:net';
import { debuglog } from 'node:util';
import { signatureAlgorithmOf } from '../auth/hostbased.js';
import { type KnownHostsVerdict, knownHostsVerdict, loadKnownHostsFiles } from '../config/host-key-policy.js';
import { KnownHosts, type KnownHostsEntry, knownHostsName } from '../config/index.js';
import { withKnownHostsFile } from '../config/known-hosts.js';
import {
  decodeStrings,
  encodeStrings,
  HOSTKEYS_PROVE_REQUEST,
  HOSTKEYS_REQUEST,
  hostKeyProofData,
} from '../connection/hostkeys.js';
import type { Connection } from '../connection/index.js';
import { KeyError, ProtocolError } from '../errors.js';
import { PublicKey, plainSignatureAlgorithm, type SignatureAlgorithm } from '../keys/index.js';
import { MAX_PUBLIC_BLOB } from '../keys/public-key.js';
import type { Transport } from '../transport/transport.js';
import type { ConnectOptions } from './options.js';

const debug = debuglog('secsh');

/** Most keys read from one announcement (sshd has at most a few); more and the update is skipped. */
export const MAX_ANNOUNCED_HOST_KEYS = 256;
/** Longest signature read from a proof (an RSA-16384 signature is about 2 KiB). */
const MAX_PROOF = 8 * 1024;
/** What {@link HostKeysUpdate.whileOpen} resolves with when the connection closes first. */
const CLOSED: unique symbol = Symbol('closed');

/** What {@link ConnectOptions.onUpdateHostKeys} is asked. */
export interface HostKeysUpdateQuestion {
  /** The host as connected to. */
  host: string;
  /** The port. */
  port: number;
  /** The name in known_hosts (`host` or `[host]:port`). */
  name: string;
  /** Keys the server proved it holds that known_hosts lacks: added to `path`. */
  added: PublicKey[];
  /** Keys on file for the host that the server no longer has: removed. */
  removed: PublicKey[];
  /** The known_hosts file keys are added to (the first one). */
  path: string;
}

/** The outcome, emitted as the client's 'hostkeys' event. */
export interface HostKeysUpdateResult {
  /**
   * `updated`: known_hosts was rewritten. `unchanged`: nothing new, nothing gone. `skipped`: not done,
   * for `reason` (as ssh skips it). `refused`: onUpdateHostKeys said no. `failed`: the server's proof
   * was refused, bad or malformed, or a file could not be written (`reason`).
   */
  status: 'updated' | 'unchanged' | 'skipped' | 'refused' | 'failed';
  /** Keys added (for `updated`) or that would have been. */
  added: PublicKey[];
  /** Keys removed (for `updated`) or that would have been. */
  removed: PublicKey[];
  /** Why, for `skipped` and `failed`. */
  reason?: string;
}

/** What the client facade hands over: its transport, connection and events. */
interface ClientSide {
  readonly transport: Transport;
  readonly connection: Connection;
  emit(event: 'hostkeys', result: HostKeysUpdateResult): boolean;
}

/**
 * Installs the `hostkeys-00@openssh.com` handler when `opts.updateHostKeys` asks for updates and the
 * host key is checked by a known_hosts policy (`verify` reports its verdict); does nothing otherwise.
 * Called before authentication: the announcement follows USERAUTH_SUCCESS in the same read.
 */
export function watchHostKeyUpdates(
  client: ClientSide,
  opts: ConnectOptions,
  hostKeyAlgorithms: readonly string[],
  verify: object,
): void {
  const mode = opts.updateHostKeys;
  const verdict = knownHostsVerdict(verify);
  if (!mode || !verdict || verdict.policy.jumpHost || verdict.policy.files.length === 0) return;
  if (mode === 'ask' && !opts.onUpdateHostKeys) return;
  const log = (m: string) => {
    debug('%s', m);
    opts.logger?.info?.(`secsh: ${m}`);
  };
  const { connection, transport } = client;
  const previous = connection.onGlobalRequest;
  let seen = false;
  connection.onGlobalRequest = (name, data) => {
    if (name !== HOSTKEYS_REQUEST) return previous ? previous(name, data) : false;
    if (seen) {
      // ssh treats a second announcement as fatal.
      transport.destroy(new ProtocolError('the server sent hostkeys-00@openssh.com twice'));
      return false;
    }
    seen = true;
    const update = new HostKeysUpdate(transport, connection, verdict, hostKeyAlgorithms, opts, log);
    // Reported on a later turn: the announcement comes in the read that completes authentication, so
    // an outcome known at once would otherwise be emitted before `Client.connect` has resolved.
    const report = (r: HostKeysUpdateResult) => {
      if (r.status !== 'unchanged') log(`UpdateHostKeys ${r.status}${r.reason ? `: ${r.reason}` : ''}`);
      setImmediate(() => client.emit('hostkeys', r));
    };
    update
      .run(data)
      .then(report, (e: unknown) =>
        report({ status: 'failed', added: [], removed: [], reason: (e as Error)?.message ?? String(e) }),
      );
    return true;
  };
}

/**
 * Complex host fields UpdateHostKeys will not touch: a wildcard, or anything but `name` alone or,
 * for a host name, `name,address` (ssh's CheckHostIP form). ssh rewrites any two names ("maybe ensure it is an IP?"),
 * which would drop the trust of another host, or of a negation, named on the same line.
 */
function complexHostField(hosts: string, name: string): boolean {
  if (/[*?]/.test(hosts)) return true;
  const names = hosts.split(',');
  if (names.length === 1) return false;
  if (names.length > 2) return true;
  const address = (n: string) => isIP(n.replace(/^\[(.*)\]:\d+$/, '$1')) !== 0;
  const other = names.find((n) => n.toLowerCase() !== name);
  return other === undefined || address(name) || !address(other);
}

/** Why UpdateHostKeys leaves the host alone for this line of it (a marker, a complex host field), if it does. */
function hostLineRefusal(e: KnownHostsEntry, name: string): string | undefined {
  if (e.marker !== undefined) return `an @${e.marker} line names the host`;
  if (!e.hashed && complexHostField(e.hosts, name)) return 'a wildcard pattern or a host list names the host';
  return undefined;
}

/** ssh's hostkey_accepted_by_hostkeyalgs: the key's type (for RSA, an rsa-sha2 name) is in the list. */
function acceptedType(key: PublicKey, algorithms: readonly string[]): boolean {
  if (key.type === 'ssh-rsa') return algorithms.includes('rsa-sha2-512') || algorithms.includes('rsa-sha2-256');
  return algorithms.includes(key.type);
}

/** One run of the update, from the announcement to the rewritten files. */
class HostKeysUpdate {
  private added: PublicKey[] = [];
  private removed: PublicKey[] = [];

  constructor(
    private readonly transport: Transport,
    private readonly connection: Connection,
    private readonly verdict: KnownHostsVerdict,
    private readonly algorithms: readonly string[],
    private readonly opts: ConnectOptions,
    private readonly log: (m: string) => void,
  ) {}

  private result(status: HostKeysUpdateResult['status'], reason?: string): HostKeysUpdateResult {
    return { status, added: this.added, removed: this.removed, ...(reason ? { reason } : {}) };
  }

  async run(data: Buffer): Promise<HostKeysUpdateResult> {
    const { host, port } = this.verdict.policy;
    const trusted = this.verdict.trustedKey;
    if (!trusted || !this.transport.hostKey?.equals(trusted)) {
      return this.result('skipped', 'the host key was not verified from known_hosts');
    }
    let blobs: Buffer[];
    try {
      blobs = decodeStrings(data, MAX_ANNOUNCED_HOST_KEYS, MAX_PUBLIC_BLOB);
    } catch (e) {
      return this.result('skipped', `malformed host key announcement (${(e as Error).message})`);
    }
    const keys: PublicKey[] = [];
    // Announced keys of types this client's host key algorithms leave out: neither learned nor, when
    // on file already, removed (ssh removes them: the server still holds them).
    const others: PublicKey[] = [];
    for (const blob of blobs) {
      let key: PublicKey;
      try {
        key = PublicKey.fromBlob(blob);
      } catch (e) {
        if (e instanceof KeyError) continue; // a type this client does not know (or a certificate): disregarded
        throw e;
      }
      if (!acceptedType(key, this.algorithms)) {
        others.push(key);
        continue;
      }
      if (keys.some((k) => k.equals(key))) return this.result('skipped', `the server sent a ${key.type} key twice`);
      keys.push(key);
    }
    if (keys.length === 0) return this.result('skipped', 'the server announced no usable host key');
    const paths = this.verdict.policy.files.map((f) => f.path).filter((p): p is string => p !== undefined);
    if (paths.length === 0) return this.result('skipped', 'no known_hosts file to update');
    // ssh would still delete the host from the other files, leaving it unknown: not done here.
    if (!(await exists(paths[0] as string))) return this.result('skipped', 'the first known_hosts file does not exist');
    const files = await loadKnownHostsFiles(paths);

    // Which of the server's keys are on file for the host, and which keys on file it no longer has.
    const matched = keys.map(() => false);
    const old: PublicKey[] = [];
    for (const f of files) {
      const mine = new Set(f.find(host, port));
      for (const e of f.entries) {
        if (!mine.has(e)) {
          if (keys.some((k) => k.equals(e.key)))
            return this.result('skipped', 'a server key is on file for another name');
          continue;
        }
        const refusal = hostLineRefusal(e, knownHostsName(host, port));
        if (refusal) return this.result('skipped', refusal);
        const i = keys.findIndex((k) => k.equals(e.key));
        if (i >= 0) matched[i] = true;
        else if (!old.some((k) => k.equals(e.key)) && !others.some((k) => k.equals(e.key))) old.push(e.key);
      }
    }
    const fresh = keys.filter((_, i) => !matched[i]);
    this.added = fresh;
    this.removed = old;
    if (fresh.length === 0 && old.length === 0) return this.result('unchanged');
    if (old.length > 0) {
      for (const f of files) {
        const mine = new Set(f.find(host, port));
        if (f.entries.some((e) => !mine.has(e) && old.some((k) => k.equals(e.key)))) {
          return this.result('skipped', 'a key to remove is on file for another name');
        }
      }
    }
    let keep = keys;
    if (fresh.length > 0) {
      const proven = await this.prove(fresh);
      if (typeof proven === 'string') return this.result('failed', proven);
      // RSA keys proven with SHA-1 when the exchange was not RSA are disregarded (not added, not kept).
      keep = keys.filter((k, i) => matched[i] || proven.some((p) => p.equals(k)));
      this.added = proven;
    }
    if (this.opts.updateHostKeys === 'ask') {
      const question: HostKeysUpdateQuestion = {
        host,
        port,
        name: knownHostsName(host, port),
        added: this.added,
        removed: this.removed,
        path: paths[0] as string,
      };
      // An answer that never comes, or comes after the connection closed, changes nothing.
      const ok = await this.whileOpen(Promise.resolve().then(() => this.opts.onUpdateHostKeys?.(question)));
      if (ok === CLOSED) return this.result('skipped', 'the connection closed before onUpdateHostKeys answered');
      if (ok !== true) return this.result('refused');
    }
    if (this.connection.closeReason) return this.result('skipped', 'the connection closed during the update');
    const written = await this.write(paths, keep, others);
    if (typeof written === 'string') return this.result('skipped', written);
    return written ? this.result('updated') : this.result('unchanged');
  }

  /** Settles as `p` does, or with CLOSED once the connection closes (at once when it has). */
  private whileOpen<T>(p: Promise<T>): Promise<T | typeof CLOSED> {
    const conn = this.connection;
    if (conn.closeReason) return Promise.resolve(CLOSED);
    return new Promise((resolve, reject) => {
      const closed = (): void => resolve(CLOSED);
      conn.once('close', closed);
      p.then(
        (v) => {
          conn.off('close', closed);
          resolve(v);
        },
        (e: unknown) => {
          conn.off('close', closed);
          reject(e);
        },
      );
    });
  }

  /** Asks the server to prove `fresh`; returns the keys proven, or why the proof failed. */
  private async prove(fresh: PublicKey[]): Promise<PublicKey[] | string> {
    const sessionId = this.transport.sessionId as Buffer;
    const reply = await this.connection.globalRequest(HOSTKEYS_PROVE_REQUEST, encodeStrings(fresh.map((k) => k.blob)));
    if (!Buffer.isBuffer(reply)) return 'the server did not prove it holds the new keys';
    let sigs: Buffer[];
    try {
      sigs = decodeStrings(reply, fresh.length, MAX_PROOF);
    } catch {
      return 'malformed proof';
    }
    if (sigs.length !== fresh.length) return 'malformed proof';
    // ssh: with an RSA host key algorithm in use, RSA proofs must use it; else only rsa-sha2-512/256.
    const negotiated = this.transport.negotiated?.hostKey;
    const kexAlg = negotiated === undefined ? undefined : plainSignatureAlgorithm(negotiated);
    const rsaKex = kexAlg === 'rsa-sha2-512' || kexAlg === 'rsa-sha2-256' || kexAlg === 'ssh-rsa' ? kexAlg : undefined;
    const proven: PublicKey[] = [];
    for (const [i, key] of fresh.entries()) {
      const sig = sigs[i] as Buffer;
      const alg = signatureAlgorithmOf(sig);
      if (alg === undefined) return `unintelligible proof for the ${key.type} key`;
      if (key.type === 'ssh-rsa' && rsaKex === undefined && alg !== 'rsa-sha2-512' && alg !== 'rsa-sha2-256') {
        this.log(`disregarding the ${key.type} key proven with ${alg.replace(/[^\x20-\x7e]/g, '?')}`);
        continue;
      }
      const want = key.type === 'ssh-rsa' ? (rsaKex ?? alg) : alg;
      if (!key.signatureAlgorithms.includes(want as SignatureAlgorithm)) return `bad proof for the ${key.type} key`;
      if (!key.verify(hostKeyProofData(sessionId, key.blob), sig, want as SignatureAlgorithm)) {
        return `bad proof for the ${key.type} key ${key.fingerprint()}`;
      }
      proven.push(key);
    }
    return proven;
  }

  /**
   * Rewrites each existing file as ssh's hostfile_replace_entries does: the first keeps the host's
   * entries for `keep` and gains the rest of `keep`; in the others every plain entry for the host
   * goes (the first file now lists them). Entries for `others` (announced, of types not used here)
   * stay where they are. The file before is kept as `<file>.old`. Each file is
   * re-read and rewritten in turn with no other rewrite of it by this process in between (another
   * connection's update or accept-new is not undone); a line that now makes ssh leave the host alone
   * stops the update there. Returns true when a file changed, or why it stopped.
   */
  private async write(paths: string[], keep: PublicKey[], others: PublicKey[]): Promise<boolean | string> {
    const { host, port } = this.verdict.policy;
    let changed = false;
    for (const [i, path] of paths.entries()) {
      const done = await withKnownHostsFile(path, async () => {
        if (!(await exists(path))) return false;
        const kh = await KnownHosts.load(path);
        const before = kh.toString();
        const mine = kh.find(host, port);
        for (const e of mine) {
          const refusal = hostLineRefusal(e, knownHostsName(host, port));
          if (refusal) return `known_hosts changed during the update: ${refusal}`;
        }
        const listed = mine.filter((e) => e.marker === undefined);
        const hash = this.verdict.policy.hash === true || (listed.length > 0 && listed.every((e) => e.hashed));
        kh.retainKeys(host, port, i === 0 ? [...keep, ...others] : others);
        if (i === 0) {
          const present = kh.find(host, port).filter((e) => e.marker === undefined);
          for (const k of keep) if (!present.some((e) => e.key.equals(k))) kh.add(host, port, k, hash ? { hash } : {});
        }
        if (kh.toString() === before) return false;
        // Abandoned with the connection: nothing is written once it has closed.
        if (this.connection.closeReason) return 'the connection closed during the update';
        await backUp(path);
        if (this.connection.closeReason) return 'the connection closed during the update';
        await kh.save(path);
        return true;
      });
      if (typeof done === 'string') return done;
      changed ||= done;
    }
    return changed;
  }
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * ssh keeps the file as it was under `<file>.old` (a hard link) before replacing it. A symlinked file
 * is written through the link (KnownHosts.save), so the link is resolved: `.old` is the file it
 * points to as it was (a hard link, or a copy on another file system), not a second link to it.
 */
async function backUp(path: string): Promise<void> {
  const back = `${path}.old`;
  const real = await realpath(path).catch(() => undefined);
  if (
    !real ||
    !(await stat(real).then(
      (s) => s.isFile(),
      () => false,
    ))
  )
    return;
  await unlink(back).catch(() => {});
  await link(real, back).catch(() => copyFile(real, back).catch(() => {}));
}
