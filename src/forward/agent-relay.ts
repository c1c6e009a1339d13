/**
 * Agent forwarding, the client side of `ssh -A`: a session sends `auth-agent-req@openssh.com`, and
 * from then on the server's `auth-agent@openssh.com` channels on that connection are relayed to the
 * local agent's Unix socket. Before such a request, or once the connection has none, they are refused
 * (a server must not reach our agent unasked).
 */

import type { Socket } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import type { Channel, ChannelOpenRequest, Connection } from '../connection/index.js';
import { ChannelOpenFailure } from '../errors.js';
import { ChannelDispatcher } from './dispatch.js';
import { acceptToTarget, connectTarget, type SpliceCounters, splice } from './splice.js';

const debug = debuglog('secsh');

/** Counters of the agent channels relayed on one connection. */
export interface AgentRelayStats extends SpliceCounters {
  /** Agent channels accepted. */
  accepted: number;
  /** Relays open now. */
  open: number;
  /** Agent channels refused because the local agent could not be reached. */
  failed: number;
}

interface RelayState {
  /** The agent socket the latest request named. */
  path: string;
  stats: AgentRelayStats;
}

const states = new WeakMap<Connection, RelayState>();
/** Per connection: what runs on each new agent socket before it is joined to its channel (session-bind). */
const preparers = new WeakMap<Connection, (socket: Socket) => Promise<void>>();

/**
 * Sets what runs on each agent socket of `connection` before it is joined to its forwarded channel (the
 * client binds it to the session with `session-bind@openssh.com`, as ssh does); a rejection refuses the channel.
 */
export function setAgentRelayPreparer(connection: Connection, prepare: (socket: Socket) => Promise<void>): void {
  preparers.set(connection, prepare);
}

async function acceptPrepared(
  req: ChannelOpenRequest,
  path: string,
  prepare: (socket: Socket) => Promise<void>,
  stats: AgentRelayStats,
): Promise<{ splice: { done: Promise<unknown> } }> {
  let sock: Socket;
  try {
    sock = await connectTarget({ path });
    await prepare(sock).catch((e: unknown) => {
      sock.destroy();
      throw e;
    });
  } catch (e) {
    req.reject(ChannelOpenFailure.CONNECT_FAILED, 'connect failed');
    throw e;
  }
  let channel: Channel;
  try {
    channel = req.accept();
  } catch (e) {
    sock.destroy();
    throw e;
  }
  return { splice: splice(channel, sock, stats) };
}

/**
 * The agent socket `agentForward` names: a path (a leading `~/` is the home directory), `true` for `$SSH_AUTH_SOCK` (undefined when
 * that is not set), false/undefined for none.
 */
export function agentSocketFor(
  agentForward: boolean | string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (agentForward === true) return env.SSH_AUTH_SOCK || undefined;
  if (typeof agentForward === 'string' && agentForward !== '') {
    return agentForward.startsWith('~/') ? join(homedir(), agentForward.slice(2)) : agentForward;
  }
  return undefined;
}

/** Counters of the agent relays of `connection` (undefined before any agent request was sent). */
export function agentRelayStats(connection: Connection): Readonly<AgentRelayStats> | undefined {
  return states.get(connection)?.stats;
}

function relay(req: ChannelOpenRequest, state: RelayState, connection: Connection): void {
  const stats = state.stats;
  stats.accepted++;
  stats.open++;
  const prepare = preparers.get(connection);
  (prepare ? acceptPrepared(req, state.path, prepare, stats) : acceptToTarget(req, { path: state.path }, stats)).then(
    ({ splice }) => {
      debug('forward: agent channel relayed');
      void splice.done.then(() => {
        stats.open--;
      });
    },
    (e: Error) => {
      stats.open--;
      stats.failed++;
      debug('forward: agent channel refused: %s', e.message);
    },
  );
}

/**
 * Sends `auth-agent-req@openssh.com` on the session `channel` (want_reply) after allowing the
 * connection's agent channels to reach `socketPath`. Resolves true when the server accepted.
 */
export async function requestAgentForwarding(
  connection: Connection,
  channel: Channel,
  socketPath: string,
): Promise<boolean> {
  let state = states.get(connection);
  if (state) state.path = socketPath;
  else {
    const s: RelayState = {
      path: socketPath,
      stats: { accepted: 0, open: 0, failed: 0, bytesOut: 0, bytesIn: 0 },
    };
    state = s;
    states.set(connection, s);
    ChannelDispatcher.for(connection).on('auth-agent@openssh.com', (req) => {
      if (req.data.length !== 0) return false; // the open carries nothing type-specific
      relay(req, s, connection);
      return true;
    });
  }
  return channel.request('auth-agent-req@openssh.com', Buffer.alloc(0), true);
}
