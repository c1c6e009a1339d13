/**
 * ssh_config's LocalForward, RemoteForward and DynamicForward, set up once a client is connected, the
 * way `ssh` does: GatewayPorts decides the default bind address of local forwards, and with
 * ExitOnForwardFailure a forward that cannot be set up fails the connection. Whatever is not set up
 * is named in a warning, never dropped in silence.
 */
import type { ForwardEnd, SshForward } from '../config/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { Forward } from '../forward/types.js';

/** What the setup needs of the client (the client facade has these methods). */
export interface ForwardingClient {
  forwardLocal(opts: LocalSpec): Promise<Forward>;
  forwardRemote(opts: RemoteSpec): Promise<Forward>;
  forwardDynamic(opts: { bindHost?: string; bindPort: number }): Promise<Forward>;
}

type Bind = { bindHost?: string; bindPort: number } | { bindPath: string };
type Target = { host: string; port: number } | { path: string };
type LocalSpec = Bind & Target;
type RemoteSpec = Bind & Target;

/** The part of a resolved ssh_config this uses. */
export interface ConfigForwards {
  localForward: readonly SshForward[];
  remoteForward: readonly SshForward[];
  dynamicForward: readonly SshForward[];
  exitOnForwardFailure: boolean;
  gatewayPorts: boolean;
}

function describe(kind: string, f: SshForward): string {
  const end = (e: ForwardEnd | undefined) =>
    e === undefined ? '' : e.path !== undefined ? e.path : `${e.host ? `${e.host}:` : ''}${e.port ?? ''}`;
  return `${kind} ${end(f.listen)}${f.connect ? ` ${end(f.connect)}` : ''}`;
}

/**
 * The listen end as a bind: for a local forward an absent host is `defaultHost` and `*` or empty
 * every address; for a remote one (`remote`) ssh asks for `localhost` when no host is given and the
 * empty string (every address, if the server allows it) for `*`.
 */
function bindOf(e: ForwardEnd, defaultHost: string, remote = false): Bind {
  if (e.path !== undefined) return { bindPath: e.path };
  const any = remote ? '' : '0.0.0.0';
  const host = e.host === undefined ? defaultHost : e.host === '*' || e.host === '' ? any : e.host;
  return { bindHost: host, bindPort: e.port ?? 0 };
}

function targetOf(e: ForwardEnd): Target {
  return e.path !== undefined ? { path: e.path } : { host: e.host ?? 'localhost', port: e.port ?? 0 };
}

/**
 * Sets up every forward of `cfg` on `client`, in file order (local, remote, dynamic). Returns the
 * forwards set up; a forward that fails is a warning, or — with ExitOnForwardFailure — closes the
 * ones already set up and rejects with its error.
 */
export async function setUpConfigForwards(
  client: ForwardingClient,
  cfg: ConfigForwards,
  warn: (message: string) => void,
): Promise<Forward[]> {
  const done: Forward[] = [];
  const localBind = cfg.gatewayPorts ? '0.0.0.0' : '127.0.0.1';
  const steps: { what: string; start: () => Promise<Forward> | undefined }[] = [
    ...cfg.localForward.map((f) => ({
      what: describe('LocalForward', f),
      start: () =>
        f.connect ? client.forwardLocal({ ...bindOf(f.listen, localBind), ...targetOf(f.connect) }) : undefined,
    })),
    ...cfg.remoteForward.map((f) => ({
      what: describe('RemoteForward', f),
      // without a target it is a SOCKS proxy run by ssh on the server's behalf; secsh does not do that
      start: () =>
        f.connect
          ? client.forwardRemote({ ...bindOf(f.listen, 'localhost', true), ...targetOf(f.connect) })
          : undefined,
    })),
    ...cfg.dynamicForward.map((f) => ({
      what: describe('DynamicForward', f),
      start: () =>
        f.listen.path !== undefined
          ? undefined
          : client.forwardDynamic(bindOf(f.listen, localBind) as { bindHost?: string; bindPort: number }),
    })),
  ];
  for (const step of steps) {
    let fwd: Forward | undefined;
    try {
      const p = step.start();
      if (p === undefined) throw new InvalidArgumentError(`${step.what}: not supported by secsh`);
      fwd = await p;
    } catch (e) {
      if (cfg.exitOnForwardFailure) {
        await Promise.allSettled(done.map((f) => f.close()));
        throw e;
      }
      warn(`${step.what}: not set up: ${(e as Error).message}`);
      continue;
    }
    done.push(fwd);
  }
  return done;
}
