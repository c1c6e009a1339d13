/**
 * The server's check of a hostbased login's host key against known_hosts files, as sshd checks
 * ssh_known_hosts and ~/.ssh/known_hosts for the client host name.
 */
import type { Certificate, PublicKey } from '../keys/index.js';
import { KnownHosts } from './known-hosts.js';

/** The fields of a hostbased attempt the check reads (an `AuthContext` of method `hostbased` has them). */
export interface ClientHostClaim {
  /** The client host name the request names (a trailing dot is ignored). */
  clientHostname?: string | undefined;
  /** The host key that signed (the certified key, with a certificate). */
  key?: PublicKey | undefined;
  /** The host certificate the key came in, if any. */
  hostCertificate?: Certificate | undefined;
}

/**
 * Whether `known_hosts` lists the client's host key for its host name — the known-host half of sshd's
 * hostbased check (the other half, which users of which hosts may log in as whom, is the policy's:
 * shosts.equiv-like rules). A plain key must be listed for the name under no marker; a host
 * certificate must be signed by a CA listed under `@cert-authority` for the name and be valid now for
 * that name (type host, principal listed). A `@revoked` line for the key or the CA refuses either.
 * Names are matched as ssh matches them (patterns, hashed names, case-insensitively), on port 22;
 * a name that is not printable ASCII is refused.
 *
 * @example
 * const hosts = await KnownHosts.load('/etc/ssh/ssh_known_hosts');
 * authenticate: (ctx) =>
 *   ctx.method === 'hostbased' && ctx.username !== 'root' && // as sshd's shosts.equiv: never root
 *   ctx.clientUsername === ctx.username && knownClientHost(hosts, ctx)
 */
export function knownClientHost(files: KnownHosts | readonly KnownHosts[], claim: ClientHostClaim): boolean {
  const { key, hostCertificate: cert } = claim;
  const name = claim.clientHostname?.replace(/\.$/, '');
  // Only ASCII host names: known_hosts matches case-insensitively, and toLowerCase() folds some other
  // characters to ASCII (U+212A KELVIN SIGN to `k`), so such a name could pass for another.
  if (!key || !name || !/^[\x21-\x7e]+$/.test(name)) return false;
  const list = files instanceof KnownHosts ? [files] : files;
  const entries = list.flatMap((f) => f.find(name));
  const revoked = (k: PublicKey) => entries.some((e) => e.marker === 'revoked' && e.key.equals(k));
  if (revoked(key)) return false;
  if (cert) {
    if (!cert.publicKey.equals(key) || revoked(cert.signatureKey)) return false;
    const cas = entries.filter((e) => e.marker === 'cert-authority').map((e) => e.key);
    if (cas.length === 0) return false;
    try {
      cert.verify({ trustedCAs: cas, type: 'host', principal: name });
      return true;
    } catch {
      return false;
    }
  }
  return entries.some((e) => e.marker === undefined && e.key.equals(key));
}
