/**
 * ssh_config's connection sharing for a program: `connectShared` attaches to the master answering on
 * the host's ControlPath, as `ssh` does, and otherwise connects on its own (and, when asked, becomes
 * the master for the `ssh` commands that follow).
 */
import { lstat, unlink } from 'node:fs/promises';
import { Client } from '../client/client.js';
import type { ConnectOptions } from '../client/options.js';
import { resolveConnectConfig } from '../client/session-calls.js';
import { ConnectionLostError, TimeoutError } from '../errors.js';
import { MuxClient } from './client.js';

/** Options of {@link connectShared}: those of `Client.connect`, and the sharing settings. */
export interface SharedConnectOptions extends ConnectOptions {
  /**
   * The control socket to try first. Default: the config's ControlPath (with `config`), used unless
   * ControlMaster is `yes` or `ask` (which, in `ssh`, make a new master without trying).
   */
  controlPath?: string;
  /**
   * When no master answered and a connection was made: serve it on the control path (as `ssh` does
   * under ControlMaster `yes`, `auto` or `autoask`) so that `ssh -S path -O proxy` can use it; a
   * socket file there that refused the connection (its master died) is replaced. Default false.
   */
  serveControl?: boolean;
  /** Deadline for the control socket's answers, in ms (default 10000). */
  controlTimeout?: number;
}

/** What the host's ssh_config says about sharing: the control path and ControlMaster. */
export function controlSettings(opts: SharedConnectOptions): { path?: string; master: string } {
  if (opts.controlPath !== undefined) return { path: opts.controlPath, master: 'auto' };
  if (!opts.config) return { master: 'no' };
  const resolved = resolveConnectConfig(opts);
  return {
    ...(resolved.controlPath !== undefined ? { path: resolved.controlPath } : {}),
    master: resolved.controlMaster ?? 'no',
  };
}

/**
 * Connects as `ssh` does with connection sharing: when a control path is known (`controlPath`, or
 * ControlPath in the `config` used) and ControlMaster is not `yes`/`ask`, a master answering there is
 * used and a {@link MuxClient} returned; when none answers (no socket, refused, no reply), a new
 * connection is made with `Client.connect`, served on the control path when `serveControl` is set.
 * A master that answers with malformed messages is an error (MuxError), not a reason to fall back.
 * Both results offer exec, spawn, shell, subsystem, sftp, forwardOut and close.
 *
 * @example
 * const c = await connectShared({ host: 'web', config: true }); // ControlPath ~/.ssh/cm-%C in ~/.ssh/config
 * console.log((await c.exec('hostname')).stdout);
 */
export async function connectShared(opts: SharedConnectOptions): Promise<Client | MuxClient> {
  const { path, master } = controlSettings(opts);
  const tryMaster = path !== undefined && master !== 'yes' && master !== 'ask';
  let stale = false;
  if (tryMaster) {
    try {
      return await MuxClient.connect({
        controlPath: path,
        ...(opts.controlTimeout !== undefined ? { timeout: opts.controlTimeout } : {}),
      });
    } catch (e) {
      if (!(e instanceof ConnectionLostError) && !(e instanceof TimeoutError)) throw e;
      stale = (e.cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED';
      opts.logger?.debug?.(`secsh: no control master at the control path (${e.message}); connecting`);
    }
  }
  const { controlPath: _p, serveControl, controlTimeout: _t, ...rest } = opts;
  const client = await Client.connect(rest);
  if (serveControl && path !== undefined && master !== 'no') {
    try {
      // A socket file nobody listens on is a master that died: replaced, as ssh does.
      if (stale && (await lstat(path).catch(() => undefined))?.isSocket()) await unlink(path).catch(() => {});
      await client.listenControl(path);
    } catch (e) {
      opts.logger?.warn?.(`secsh: not serving the control path: ${(e as Error).message}`);
    }
  }
  return client;
}
