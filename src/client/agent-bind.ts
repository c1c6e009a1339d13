/**
 * The client binds agent connections to its session with `session-bind@openssh.com` (OpenSSH
 * PROTOCOL.agent §1), as OpenSSH's ssh does, so that keys added with destination constraints
 * (`ssh-add -h`) work through secsh:
 *
 * - the agent connection used to authenticate is bound with is_forwarding false right before the
 *   agent's keys are listed (ssh binds in get_agent_identities);
 * - each agent connection opened for a forwarded `auth-agent@openssh.com` channel is bound with
 *   is_forwarding true before it is joined to the channel (ssh's client_request_agent). The remote
 *   ssh on that host then binds its own session to the next host over the channel, so the agent sees
 *   the whole path (here → this server → next host) and can check each hop against the key's constraints.
 *
 * An agent that does not know the extension refuses it; that is not an error (only constrained keys then fail).
 */
import type { Socket } from 'node:net';
import { debuglog } from 'node:util';
import { type AgentClient, encodeSessionBind, exchangeOnce, type SessionBinding } from '../agent/index.js';
import type { Connection } from '../connection/index.js';
import { setAgentRelayPreparer } from '../forward/agent-relay.js';
import type { Signer } from '../keys/index.js';
import type { Transport } from '../transport/transport.js';

const debug = debuglog('secsh');

/** How long a forwarded agent socket's session-bind may wait for the agent. */
const FORWARD_BIND_TIMEOUT = 10_000;

/** The binding for `transport`'s session, or undefined before the first key exchange has finished. */
export function sessionBinding(transport: Transport, forwarding: boolean): SessionBinding | undefined {
  const hk = transport.sessionHostKey;
  const sid = transport.sessionId;
  if (!hk || !sid) return undefined;
  return { hostKey: hk.blob, sessionId: sid, signature: hk.signature, forwarding };
}

/** Binds `agent`'s socket to the session (is_forwarding false), then lists its keys as signers. */
export async function boundAgentSigners(
  agent: AgentClient,
  transport: Transport,
  log?: (message: string) => void,
): Promise<Signer[]> {
  const binding = sessionBinding(transport, false);
  if (binding) {
    try {
      await agent.bindSession(binding);
      debug('agent: bound to the session for authentication');
    } catch (e) {
      log?.(`secsh: agent session-bind failed: ${(e as Error).message}`);
      debug('agent: session-bind failed: %s', (e as Error).message);
    }
  }
  return agent.signers();
}

/** Makes every forwarded agent connection of `connection` start with a session-bind (is_forwarding true). */
export function bindForwardedAgents(connection: Connection, transport: Transport): void {
  setAgentRelayPreparer(connection, async (socket: Socket) => {
    const binding = sessionBinding(transport, true);
    if (!binding) return;
    const reply = await exchangeOnce(socket, encodeSessionBind(binding), FORWARD_BIND_TIMEOUT);
    debug('forward: agent connection %s', reply.length === 1 && reply[0] === 6 ? 'bound' : 'not bound (refused)');
  });
}
