/**
 * A secsh server (the e2e startServer: exec echoes `ran:<command>`) whose policy is sshd's hostbased
 * rule with HostbasedUsesNameFromPacketOnly: the host key is known for the client host name in
 * `known` (knownClientHost) and the client user is the login user. Every attempt the policy saw is in `seen`.
 */
import type { AuthContext } from '../../src/auth/server.js';
import { type KnownHosts, knownClientHost } from '../../src/config/index.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import type { ServerOptions } from '../../src/server/server.js';
import { startServer } from '../e2e/server-helpers.js';

export async function startHostbasedServer(known: KnownHosts, extra: Partial<ServerOptions> = {}) {
  const seen: AuthContext[] = [];
  const started = await startServer({
    hostKeys: [generatePrivateKey('ed25519')],
    authMethods: ['hostbased'],
    authFailureDelay: 0,
    authenticate: (ctx) => {
      seen.push(ctx);
      return ctx.method === 'hostbased' && ctx.clientUsername === ctx.username && knownClientHost(known, ctx);
    },
    ...extra,
  });
  return { ...started, seen };
}
