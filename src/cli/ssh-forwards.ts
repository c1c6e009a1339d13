/**
 * `secsh ssh -L/-R/-D` (and the `~C` command line's forwards): ssh's specifications turned into
 * client.forwardLocal/forwardRemote/forwardDynamic, with ssh's messages and ExitOnForwardFailure.
 */
import type { Client, Forward } from '../index.js';
import { CliError } from './connect.js';
import { type ForwardSpec, type ForwardSpecEnd, parseForwardSpec } from './ssh-options.js';

type Kind = 'L' | 'R' | 'D';

const KIND_NAME: Record<Kind, string> = { L: 'local', R: 'remote', D: 'dynamic' };

/** `[host]:port` or the path, for messages. */
function endText(e: ForwardSpecEnd | undefined): string {
  if (!e) return '';
  if (e.path !== undefined) return e.path;
  return e.host !== undefined && e.host !== '' ? `${e.host}:${e.port}` : String(e.port);
}

/** The local bind address ssh uses: localhost (here 127.0.0.1) unless GatewayPorts or `*`/empty ask for all. */
function localBind(host: string | undefined, gatewayPorts: boolean): string {
  if (host === undefined) return gatewayPorts ? '0.0.0.0' : '127.0.0.1';
  if (host === '*' || host === '') return '0.0.0.0';
  if (host === 'localhost') return '127.0.0.1';
  return host;
}

/** ssh's reason names for CHANNEL_OPEN_FAILURE codes (channels.c's reason2txt). */
const REASON: Record<number, string> = {
  1: 'administratively prohibited',
  2: 'connect failed',
  3: 'unknown channel type',
  4: 'resource shortage',
};

/** `channel N: open failed: connect failed: Connection refused`, as ssh prints a refused forward. */
function openFailureText(err: Error, n: number): string {
  const e = err as Error & { reasonCode?: unknown; description?: unknown };
  if (typeof e.reasonCode === 'number' && typeof e.description === 'string')
    return `channel ${n}: open failed: ${REASON[e.reasonCode] ?? 'unknown reason'}: ${e.description}`;
  return `channel ${n}: open failed: ${err.message}`;
}

interface Entry {
  kind: Kind;
  spec: ForwardSpec;
  forward: Forward;
}

/** The forwards of one `secsh ssh`, started from the command line or `~C`. */
export class ForwardSet {
  private readonly entries: Entry[] = [];
  /** Numbers the failure lines (ssh names its channel; secsh's channel ids are not public). */
  private failures = 0;

  constructor(
    private readonly client: Client,
    private readonly opts: { gatewayPorts: boolean; quiet: boolean; warn: (m: string) => void },
  ) {}

  /** Parses a specification; throws CliError with ssh's message when it is malformed. */
  static parse(kind: Kind, spec: string): ForwardSpec {
    const f = parseForwardSpec(spec, kind);
    if (!f || (kind === 'D' && f.listen.path !== undefined))
      throw new CliError(`Bad ${KIND_NAME[kind]} forwarding specification '${spec}'`);
    return f;
  }

  /** Starts one forward; rejects with an Error whose message is ssh's failure text. */
  async add(kind: Kind, spec: ForwardSpec): Promise<Forward> {
    let forward: Forward;
    const l = spec.listen;
    const c = spec.connect ?? {};
    const target = {
      ...(c.path !== undefined ? { path: c.path } : { host: c.host as string, port: c.port as number }),
    };
    try {
      if (kind === 'L') {
        forward = await this.client.forwardLocal({
          ...(l.path !== undefined
            ? { bindPath: l.path }
            : { bindHost: localBind(l.host, this.opts.gatewayPorts), bindPort: l.port as number }),
          ...target,
        });
      } else if (kind === 'D') {
        forward = await this.client.forwardDynamic({
          bindHost: localBind(l.host, this.opts.gatewayPorts),
          bindPort: l.port as number,
        });
      } else {
        forward = await this.client.forwardRemote({
          ...(l.path !== undefined
            ? { bindPath: l.path }
            : {
                bindHost: l.host === undefined ? 'localhost' : l.host === '*' ? '' : l.host,
                bindPort: l.port as number,
              }),
          ...target,
        });
        const a = forward.address;
        if (l.port === 0 && 'port' in a && !this.opts.quiet)
          process.stderr.write(`Allocated port ${a.port} for remote forward to ${endText(c)}\r\n`);
      }
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      if (kind === 'R') throw new Error(`remote port forwarding failed for listen port ${endText(l)}`);
      throw new Error(`bind ${endText(l)}: ${why}\r\nCould not request ${KIND_NAME[kind]} forwarding.`);
    }
    // A refused or failed connection is reported and the forward goes on, as ssh does.
    forward.on('error', (err: Error) => this.opts.warn(openFailureText(err, ++this.failures)));
    this.entries.push({ kind, spec, forward });
    return forward;
  }

  /**
   * Starts the command line's forwards in order. A failure is a warning, or, under
   * ExitOnForwardFailure, a CliError (exit 255).
   */
  async startAll(specs: { kind: Kind; spec: string }[], exitOnFailure: boolean): Promise<void> {
    for (const s of specs) {
      const parsed = ForwardSet.parse(s.kind, s.spec);
      try {
        await this.add(s.kind, parsed);
      } catch (e) {
        const msg = (e as Error).message;
        if (exitOnFailure) throw new CliError(s.kind === 'R' ? `Error: ${msg}` : msg);
        this.opts.warn(s.kind === 'R' ? `Warning: ${msg}` : msg);
      }
    }
  }

  /** Cancels a forward by its listen specification (`-KL`, `-KR`, `-KD`); false when there is none. */
  async cancel(kind: Kind, listen: string): Promise<boolean> {
    const m = /^(?:\[([^\]]*)\]:|(.*):)?(\d+)$/.exec(listen);
    const path = m ? undefined : listen;
    const host = m ? (m[1] ?? m[2]) : undefined;
    const port = m ? Number(m[3]) : undefined;
    const i = this.entries.findIndex(
      (e) =>
        e.kind === kind &&
        (path !== undefined
          ? e.spec.listen.path === path
          : e.spec.listen.port === port && (host === undefined || e.spec.listen.host === host)),
    );
    if (i < 0) return false;
    const [entry] = this.entries.splice(i, 1);
    await entry?.forward.close();
    return true;
  }

  /** The `~#` listing: each forward with its listener and counts. */
  list(): string {
    const lines = ['The following connections are open:'];
    for (const [i, e] of this.entries.entries()) {
      const a = e.forward.address;
      const where = 'path' in a ? a.path : `${a.host}:${a.port}`;
      const to = e.spec.connect ? ` to ${endText(e.spec.connect)}` : '';
      lines.push(
        `  #${i} ${KIND_NAME[e.kind]} forward ${where}${to} (open ${e.forward.stats.open}, accepted ${e.forward.stats.accepted})`,
      );
    }
    return `${lines.join('\r\n')}\r\n`;
  }

  /** Runs a `~C` command line and returns the text ssh would print. */
  async command(line: string): Promise<string> {
    const m = /^-(K?)([LRD])\s*(.*)$/.exec(line.trim());
    if (line.trim() === '?' || line.trim() === 'help') {
      const { COMMAND_LINE_HELP } = await import('./ssh-escape.js');
      return COMMAND_LINE_HELP;
    }
    if (!m) return 'Invalid command.\r\n';
    const kind = m[2] as Kind;
    const arg = (m[3] ?? '').trim();
    if (m[1] === 'K')
      return (await this.cancel(kind, arg)) ? 'Canceled forwarding.\r\n' : 'Unknown port forwarding.\r\n';
    let spec: ForwardSpec;
    try {
      spec = ForwardSet.parse(kind, arg);
    } catch (e) {
      return `${(e as Error).message}\r\n`;
    }
    try {
      await this.add(kind, spec);
      return 'Forwarding port.\r\n';
    } catch {
      return 'Port forwarding failed.\r\n';
    }
  }
}
