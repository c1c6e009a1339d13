/**
 * `ssh -S path -O forward -L/-R/-D …` and `-O cancel` against a secsh master: MUX_C_OPEN_FWD starts
 * the forward on the client (forwardLocal, forwardRemote, forwardDynamic), where it lives until
 * cancelled or until the client closes; MUX_C_CLOSE_FWD closes the one that matches. As in OpenSSH, a
 * request for a forward that already runs is answered as if it had been made again (MUX_S_OK, or the
 * allocated port for a remote forward asked with port 0); one that is still being started (by another
 * control connection) waits for that start and gets the same answer, so no second listener is made.
 */

import type { LocalForwardOptions } from '../forward/local.js';
import type { RemoteForwardOptions } from '../forward/remote.js';
import type { DynamicForwardOptions } from '../forward/socks-forward.js';
import type { Forward } from '../forward/types.js';
import { encodeRefusal, encodeReply, MUX, type MuxForwardSpec } from './codec.js';

/** The forwarding methods a master's host offers (a secsh Client has all three). */
export interface ControlForwarding {
  /** `ssh -L`. */
  forwardLocal?(opts: LocalForwardOptions): Promise<Forward>;
  /** `ssh -R`. */
  forwardRemote?(opts: RemoteForwardOptions): Promise<Forward>;
  /** `ssh -D`. */
  forwardDynamic?(opts: DynamicForwardOptions): Promise<Forward>;
}

/** Most forwards a master keeps for its mux clients. */
const MAX_FORWARDS = 64;

/** The forwards mux clients asked a master for, by what they asked. */
export class MuxForwards {
  private readonly running = new Map<string, { fwd: Forward; port: number | undefined }>();
  /** Forwards being started, by the same key: the port, or why it failed. */
  private readonly starting = new Map<string, Promise<{ port: number | undefined } | { error: string }>>();

  constructor(private readonly host: ControlForwarding) {}

  /** Answers MUX_C_OPEN_FWD: the reply frame to send. */
  async open(rid: number, spec: MuxForwardSpec): Promise<Buffer> {
    const key = keyOf(spec);
    const have = this.running.get(key);
    if (have) return reply(rid, spec, have.port);
    let pending = this.starting.get(key);
    if (!pending) {
      if (this.running.size + this.starting.size >= MAX_FORWARDS) {
        return encodeRefusal(MUX.S_FAILURE, rid, 'too many forwards');
      }
      pending = this.begin(key, spec);
      this.starting.set(key, pending);
      void pending.finally(() => this.starting.delete(key));
    }
    const got = await pending;
    if ('error' in got) return encodeRefusal(MUX.S_FAILURE, rid, got.error);
    return reply(rid, spec, got.port);
  }

  private async begin(key: string, spec: MuxForwardSpec): Promise<{ port: number | undefined } | { error: string }> {
    let fwd: Forward;
    try {
      fwd = await this.start(spec);
    } catch (e) {
      return { error: `${spec.type} forward failed: ${(e as Error).message}` };
    }
    const port = 'port' in fwd.address ? fwd.address.port : undefined;
    this.running.set(key, { fwd, port });
    fwd.once('close', () => {
      if (this.running.get(key)?.fwd === fwd) this.running.delete(key);
    });
    return { port };
  }

  /** Answers MUX_C_CLOSE_FWD. */
  async close(rid: number, spec: MuxForwardSpec): Promise<Buffer> {
    const key = keyOf(spec);
    // One being started (for another control connection) is cancelled once it runs.
    await this.starting.get(key);
    const have = this.running.get(key);
    if (!have) return encodeRefusal(MUX.S_FAILURE, rid, 'port forwarding not found');
    this.running.delete(key);
    await have.fwd.close().catch(() => {});
    return encodeReply(MUX.S_OK, rid);
  }

  private start(spec: MuxForwardSpec): Promise<Forward> {
    const listen = {
      ...(spec.listenPath !== undefined ? { bindPath: spec.listenPath } : { bindPort: spec.listenPort ?? 0 }),
      ...bindHost(spec.listenHost),
    };
    const to =
      spec.connectPath !== undefined
        ? { path: spec.connectPath }
        : { host: spec.connectHost ?? '', port: spec.connectPort ?? 0 };
    const h = this.host;
    if (spec.type === 'local' && h.forwardLocal) return h.forwardLocal({ ...listen, ...to });
    if (spec.type === 'remote' && h.forwardRemote) return h.forwardRemote({ ...listen, ...to });
    if (spec.type === 'dynamic' && h.forwardDynamic && spec.listenPath === undefined) {
      return h.forwardDynamic({ bindPort: spec.listenPort ?? 0, ...bindHost(spec.listenHost) });
    }
    return Promise.reject(new Error('not supported by this master'));
  }
}

/** '' and 'localhost' keep the loopback default; '*' is every address, as `ssh -L *:…` means. */
function bindHost(h: string | undefined): { bindHost?: string } {
  if (h === undefined || h === '' || h === 'localhost') return {};
  return { bindHost: h === '*' ? '0.0.0.0' : h };
}

function keyOf(spec: MuxForwardSpec): string {
  return JSON.stringify([
    spec.type,
    spec.listenHost ?? '',
    spec.listenPort ?? -1,
    spec.listenPath ?? '',
    spec.connectHost ?? '',
    spec.connectPort ?? -1,
    spec.connectPath ?? '',
  ]);
}

/** A remote forward asked with port 0 is answered with the port the server chose. */
function reply(rid: number, spec: MuxForwardSpec, port: number | undefined): Buffer {
  if (spec.type === 'remote' && spec.listenPath === undefined && spec.listenPort === 0 && port !== undefined) {
    return encodeReply(MUX.S_REMOTE_PORT, rid, (w) => w.uint32(port));
  }
  return encodeReply(MUX.S_OK, rid);
}
