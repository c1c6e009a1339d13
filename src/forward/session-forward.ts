/**
 * The per-session forwarding requests of the client (`agentForward` and `x11` on exec, spawn and
 * shell, and `agentForward` on connect), sent on a session channel before its exec or shell.
 */
import { debuglog } from 'node:util';
import type { Channel, Connection } from '../connection/index.js';
import { agentSocketFor, requestAgentForwarding } from './agent-relay.js';
import { requestX11Forwarding, type X11Options } from './x11.js';

const debug = debuglog('secsh');

/** Forwarding options of one session. */
export interface SessionForwardOptions {
  /**
   * Forward the local ssh-agent to this session (`ssh -A`): `true` for `$SSH_AUTH_SOCK`, or an agent
   * socket path; `false` turns off the connection's default for this session's request. Off by default.
   * As with OpenSSH, once any session has asked, the server's agent connections are relayed for the
   * whole connection (the protocol does not say which session one belongs to), to the agent last named.
   */
  agentForward?: boolean | string;
  /** Forward X11 connections to the local display (`ssh -X`; `{ trusted: true }` for `ssh -Y`). */
  x11?: boolean | X11Options;
}

/** The client's forwarding defaults and the requests it sends per session. */
export class SessionForwarding {
  private warnedNoAgent = false;

  constructor(
    private readonly connection: Connection,
    private readonly agentDefault: boolean | string | undefined,
    private readonly warn: (message: string) => void,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    if (agentDefault !== undefined && agentDefault !== false) this.agentSocket(agentDefault);
  }

  /** The agent socket for `agentForward`, warning (once) when `true` finds no SSH_AUTH_SOCK. */
  private agentSocket(agentForward: boolean | string | undefined): string | undefined {
    const sock = agentSocketFor(agentForward, this.env);
    if (sock === undefined && agentForward === true && !this.warnedNoAgent) {
      this.warnedNoAgent = true;
      this.warn('secsh: agentForward is on but SSH_AUTH_SOCK is not set; the agent is not forwarded');
    }
    return sock;
  }

  /** Sends the session's auth-agent-req and x11-req, as asked; a refusal is warned about, not thrown. */
  async setup(channel: Channel, opts: SessionForwardOptions): Promise<void> {
    const sock = this.agentSocket(opts.agentForward ?? this.agentDefault);
    if (sock !== undefined) {
      const ok = await requestAgentForwarding(this.connection, channel, sock);
      debug('forward: agent forwarding %s', ok ? 'accepted' : 'refused');
      if (!ok) this.warn('secsh: the server refused agent forwarding');
    }
    if (opts.x11) {
      const x11 = opts.x11 === true ? {} : opts.x11;
      if (x11.display === undefined && !this.env.DISPLAY) {
        this.warn('secsh: X11 forwarding asked for but DISPLAY is not set; not forwarded');
        return;
      }
      const ok = await requestX11Forwarding(this.connection, channel, x11, this.env, this.warn);
      debug('forward: x11 forwarding %s', ok ? 'accepted' : 'refused');
      if (!ok) this.warn('secsh: the server refused X11 forwarding');
    }
  }
}
