/**
 * The client's known_hosts policy: `strict` (unknown or changed keys fail), `accept-new` (unknown
 * hosts are added, changed keys fail) and `off` (anything is accepted), checked against one or more
 * known_hosts files the way `ssh` checks its UserKnownHostsFile list.
 */
import { CERTIFICATE_HOST_KEY_ALGORITHMS } from '../crypto/algorithms.js';
import { HostKeyError } from '../errors.js';
import type { Certificate, PublicKey } from '../keys/index.js';
import { KnownHosts, knownHostsName, withKnownHostsFile } from './known-hosts.js';

/**
 * How unknown and changed host keys are treated. `ask` asks a callback about unknown keys (and
 * records the key when it says yes); without one it is `strict`.
 */
export type StrictHostKeyChecking = 'strict' | 'accept-new' | 'ask' | 'off';

/** What an `ask` callback is told about a host key not in known_hosts. */
export interface UnknownHostKeyQuestion {
  /** The name the key would be recorded under (as in known_hosts: `host` or `[host]:port`). */
  name: string;
  /** The host as connected to. */
  host: string;
  /** The port. */
  port: number;
  /** The key the server presented. */
  key: PublicKey;
  /** True when the host is a jump host (a ProxyJump hop). */
  jumpHost: boolean;
  /** Key types known for the host already (then OpenSSH notes that the host has other keys on file). */
  otherTypes: string[];
}

/** Options of {@link knownHostsVerifier}. */
export interface KnownHostsPolicy {
  /** Loaded files; new keys are written to the first. */
  files: KnownHosts[];
  /** What to do with an unknown or changed key (see {@link StrictHostKeyChecking}). */
  mode: StrictHostKeyChecking;
  /** The name the host is recorded under (the real host name, not an alias). */
  host: string;
  /** The port the host is recorded under (22 is written without brackets). */
  port: number;
  /** Hash names of added entries (`HashKnownHosts`). */
  hash?: boolean;
  /** Told about added keys and `off`-mode acceptances. */
  log?: (message: string) => void;
  /** The host is a jump host (a ProxyJump hop): messages say so and advise what a hop can use. */
  jumpHost?: boolean;
  /** In `ask` mode: resolves true to accept an unknown key (it is then added to the first file). */
  ask?: (q: UnknownHostKeyQuestion) => boolean | Promise<boolean>;
}

/**
 * What a {@link knownHostsVerifier} check concluded for its connection, for UpdateHostKeys: its
 * policy, and the host key it accepted as on file in (or just added to) the user's known_hosts —
 * undefined when it accepted none that way (a certificate, `off` mode, not yet asked).
 */
export interface KnownHostsVerdict {
  /** The policy the check was made with (files, host, port, hash). */
  readonly policy: KnownHostsPolicy;
  /** The plain host key found for the host in the files, or added to the first one. */
  trustedKey: PublicKey | undefined;
}

const verdicts = new WeakMap<object, KnownHostsVerdict>();

/** The verdict of a check made by {@link knownHostsVerifier} (or a check linked to one), if any. */
export function knownHostsVerdict(check: object): KnownHostsVerdict | undefined {
  return verdicts.get(check);
}

/** Makes `wrapper` (a verifier that delegates to `check`) report `check`'s verdict. */
export function linkKnownHostsVerdict(wrapper: object, check: object): void {
  const v = verdicts.get(check);
  if (v) verdicts.set(wrapper, v);
}

/** Loads each file (missing ones are empty). */
export function loadKnownHostsFiles(paths: readonly string[]): Promise<KnownHosts[]> {
  return Promise.all(paths.map((p) => KnownHosts.load(p)));
}

/**
 * Returns a host key check for the transport: resolves to accept, throws {@link HostKeyError}
 * (with the key's fingerprint) to refuse. A host certificate signed by a CA listed under
 * `@cert-authority` for the host must verify (type host, principal = the host name, valid now);
 * `@revoked` on the CA or the certified key refuses it; with no matching CA line the certified key
 * is checked as a plain key, as `ssh` does.
 */
export function knownHostsVerifier(p: KnownHostsPolicy): (key: PublicKey, certificate?: Certificate) => Promise<void> {
  const verdict: KnownHostsVerdict = { policy: p, trustedKey: undefined };
  const check = async (key: PublicKey, certificate?: Certificate) => {
    verdict.trustedKey = undefined;
    const fp = key.fingerprint();
    const name = knownHostsName(p.host, p.port);
    if (certificate) {
      const entries = p.files.flatMap((f) => f.find(p.host, p.port));
      const caKey = certificate.signatureKey;
      if (entries.some((e) => e.marker === 'revoked' && e.key.equals(caKey))) {
        throw new HostKeyError(`host certificate CA ${caKey.fingerprint()} is marked @revoked in known_hosts`, fp);
      }
      const ca = entries.find((e) => e.marker === 'cert-authority' && e.key.equals(caKey));
      if (ca) {
        if (entries.some((e) => e.marker === 'revoked' && e.key.equals(key))) {
          throw new HostKeyError(`host key ${key.type} ${fp} for ${name} is marked @revoked in known_hosts`, fp);
        }
        try {
          certificate.verify({ trustedCAs: [ca.key], type: 'host', principal: p.host });
        } catch (e) {
          throw new HostKeyError(`host certificate for ${name} refused: ${(e as Error).message}`, fp);
        }
        return;
      }
    }
    const results = p.files.map((f) => f.lookup(p.host, p.port, key));
    if (results.some((r) => r.status === 'revoked')) {
      throw new HostKeyError(`host key ${key.type} ${fp} for ${name} is marked @revoked in known_hosts`, fp);
    }
    if (results.some((r) => r.status === 'match')) {
      verdict.trustedKey = key;
      return;
    }
    if (p.mode === 'off') {
      p.log?.(`secsh: host key checking is off; accepting ${key.type} ${fp} for ${name}`);
      return;
    }
    const changed = results.find((r) => r.status === 'mismatch');
    if (changed?.entry) {
      const where = p.files[results.indexOf(changed)]?.path ?? 'known_hosts';
      throw new HostKeyError(
        `HOST KEY CHANGED for ${p.jumpHost ? 'jump host ' : ''}${name}: the server presented ${key.type} ${fp}, but ${where}:${changed.entry.line} lists ${changed.entry.key.fingerprint()}. Someone could be intercepting the connection, or the key was replaced; remove the old entry if you trust the new key`,
        fp,
        { path: where, line: changed.entry.line, keyType: key.type },
      );
    }
    const otherTypes = results.flatMap((r) => r.known.map((e) => e.key.type));
    const first = p.files[0];
    const asked =
      p.mode === 'ask' && p.ask
        ? await p.ask({
            name,
            host: p.host,
            port: p.port,
            key,
            jumpHost: p.jumpHost === true,
            otherTypes: [...new Set(otherTypes)],
          })
        : undefined;
    if (asked === false)
      throw new HostKeyError(`host key verification failed: ${key.type} ${fp} for ${name} was not accepted`, fp);
    if (asked === true && !first) return;
    if (first && (asked === true || (p.mode === 'accept-new' && otherTypes.length === 0))) {
      // Re-read first: another connection (a jump host, another process) may have written meanwhile.
      const add = async (kh: KnownHosts) => {
        kh.add(p.host, p.port, key, p.hash ? { hash: true } : {});
        await kh.save();
      };
      const path = first.path;
      // One rewrite of the file at a time in this process (an UpdateHostKeys rewrite is not undone).
      if (path) await withKnownHostsFile(path, async () => add(await KnownHosts.load(path)));
      else await add(first);
      p.log?.(`secsh: added ${key.type} ${fp} for ${name} to ${first.path}`);
      verdict.trustedKey = key;
      return;
    }
    const why =
      otherTypes.length > 0
        ? `keys of other types (${[...new Set(otherTypes)].join(', ')}) are known for ${name}, not ${key.type}`
        : `${name} is not in known_hosts`;
    // hostKeyFingerprint names the destination's key, so it is no advice for a jump host.
    const advice = p.jumpHost
      ? "Verify the fingerprint, then add it to known_hosts (or use strictHostKeyChecking: 'accept-new'), or check this hop with its own options (proxyJump: [{ host, hostKeyFingerprint }]) or a hostVerifier, which is told the host and port it checks"
      : "Verify the fingerprint, then add it (e.g. strictHostKeyChecking: 'accept-new', or pass hostKeyFingerprint)";
    throw new HostKeyError(
      `unknown host key ${key.type} ${fp}${p.jumpHost ? ' of jump host' : ''}: ${why}. ${advice}`,
      fp,
    );
  };
  verdicts.set(check, verdict);
  return check;
}

/** Host key algorithms for each key type found in known_hosts. */
function algorithmsForType(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

/**
 * Reorders `algorithms` so those matching keys already known for the host come first, as `ssh`
 * does, so a server with several host keys presents the one on file.
 */
export function preferKnownHostKeyAlgorithms(
  algorithms: readonly string[],
  files: readonly KnownHosts[],
  host: string,
  port: number,
): string[] {
  const known = new Set(files.flatMap((f) => f.knownKeyTypes(host, port)).flatMap(algorithmsForType));
  const plain = [...algorithms.filter((a) => known.has(a)), ...algorithms.filter((a) => !known.has(a))];
  const hasCa = files.some((f) => f.find(host, port).some((e) => e.marker === 'cert-authority'));
  if (!hasCa) return plain;
  // A CA is trusted for this host: ask for certificates first, as `ssh` does.
  const certs = algorithms
    .map((a) => `${a}-cert-v01@openssh.com`)
    .filter((c) => CERTIFICATE_HOST_KEY_ALGORITHMS.includes(c) && !algorithms.includes(c));
  return [...certs, ...plain];
}
