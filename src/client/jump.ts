/**
 * Jump hosts (`proxyJump`, like `ssh -J`): the hop list from a string or a list of hops, and the
 * connect options of each hop — what it inherits from the connection, what it sets itself, and how
 * its host key is verified.
 */

import { parseJumpHost } from '../config/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { ConnectOptions, JumpHost } from './options.js';
import { pick } from './support.js';

/** The hops of a `proxyJump` value, first hop first; empty for undefined and `none`. */
export function jumpHops(spec: ConnectOptions['proxyJump']): (string | JumpHost)[] {
  if (spec === undefined) return [];
  if (typeof spec === 'string') {
    if (spec.toLowerCase() === 'none') return [];
    return spec.split(',').filter((h) => h !== '');
  }
  if (!Array.isArray(spec)) throw new InvalidArgumentError('proxyJump must be a string or a list of hops');
  return spec.map((h, i) => {
    if (typeof h === 'string') return h;
    if (!h || typeof h !== 'object' || typeof h.host !== 'string' || h.host === '') {
      throw new InvalidArgumentError(`proxyJump[${i}] must be '[user@]host[:port]' or an object with a host`);
    }
    return h;
  });
}

/** True when `spec` names at least one jump host. */
export function hasJump(spec: ConnectOptions['proxyJump']): boolean {
  return jumpHops(spec).length > 0;
}

/** Options of the connection to the last of `hops`, reached through the hops before it. */
export function lastHopOptions(opts: ConnectOptions, eff: ConnectOptions, hops: (string | JumpHost)[]): ConnectOptions {
  const lastSpec = hops[hops.length - 1];
  if (lastSpec === undefined) throw new InvalidArgumentError('proxyJump names no host');
  const rest = hops.slice(0, -1);
  const own: JumpHost =
    typeof lastSpec === 'string'
      ? (() => {
          const p = parseJumpHost(lastSpec);
          return {
            host: p.host,
            ...(p.port !== undefined ? { port: p.port } : {}),
            ...(p.user !== undefined ? { username: p.user } : {}),
          };
        })()
      : lastSpec;
  const ownCheck =
    own.hostKeyFingerprint !== undefined || own.hostVerifier !== undefined || own.insecureAcceptAnyHostKey === true;
  // With a config, the hop's own Host block (or the local user) names the user, as ssh -J does.
  const username = own.username ?? (opts.config ? undefined : eff.username);
  return {
    // Inherited, as ssh -J passes them on: config, known_hosts settings, keys, agent, timeouts.
    ...pick(opts, [
      'config',
      'knownHosts',
      'strictHostKeyChecking',
      'hashKnownHosts',
      'privateKey',
      'privateKeyPath',
      'certificate',
      'passphrase',
      'signal',
      'logger',
    ]),
    // The connection's verifier (told which host it checks) or its accept-anything switch, unless the
    // hop checks its key itself; never the destination's pinned fingerprint.
    ...(ownCheck ? {} : pick(opts, ['hostVerifier', 'insecureAcceptAnyHostKey'])),
    ...(eff.agent !== undefined ? { agent: eff.agent } : {}),
    ...(eff.readyTimeout !== undefined ? { readyTimeout: eff.readyTimeout } : {}),
    ...withoutAddress(own),
    host: own.host,
    ...(own.port !== undefined ? { port: own.port } : {}),
    ...(username !== undefined ? { username } : {}),
    proxyJump: rest.length === 0 ? 'none' : rest,
  };
}

function withoutAddress(h: JumpHost): Omit<JumpHost, 'host' | 'port' | 'username'> {
  const { host: _h, port: _p, username: _u, ...rest } = h;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) out[k] = v;
  return out as Omit<JumpHost, 'host' | 'port' | 'username'>;
}
