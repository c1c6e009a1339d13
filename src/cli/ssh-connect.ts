/**
 * The one place `secsh ssh` connects. Until the shared src/cli/connect.ts lands this is a small stand-in
 * with the same interface (ssh_config, known_hosts, keys and agent through Client.connect).
 */
import type { Client } from '../index.js';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 255,
  ) {
    super(message);
  }
}

export interface CliConnectSpec {
  program: 'ssh' | 'sftp' | 'scp';
  host: string;
  user?: string;
  port?: number;
  identityFiles?: string[];
  configFile?: string;
  options?: string[];
  jump?: string;
  verbose?: number;
  quiet?: boolean;
  logFile?: string;
  family?: 4 | 6;
  ciphers?: string;
  macs?: string;
  compression?: boolean;
  forwardAgent?: boolean;
  configForwards?: boolean;
  batchMode?: boolean;
}

export interface CliLog {
  debug(level: 1 | 2 | 3, msg: string): void;
  error(msg: string): void;
  info(msg: string): void;
}

/** [user@]host or ssh://[user@]host[:port]. */
export function parseDestination(s: string): { user?: string; host: string; port?: number } {
  let rest = s;
  let port: number | undefined;
  if (rest.startsWith('ssh://')) {
    rest = rest.slice(6).replace(/\/$/, '');
    const m = /^(.*?)(?::(\d+))?$/.exec(rest.replace(/^(.*@)?\[([^\]]+)\]/, '$1$2'));
    const pm = /:(\d+)$/.exec(rest);
    if (pm && !/\[[^\]]*$/.test(rest.slice(0, -pm[0].length))) {
      port = Number(pm[1]);
      rest = rest.slice(0, -pm[0].length);
    }
    void m;
  }
  const at = rest.lastIndexOf('@');
  const user = at >= 0 ? rest.slice(0, at) : undefined;
  let host = at >= 0 ? rest.slice(at + 1) : rest;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '' || /\s/.test(host))
    throw new CliError(`ssh: Could not resolve hostname ${host}: Name or service not known`);
  return { ...(user !== undefined && user !== '' ? { user } : {}), host, ...(port !== undefined ? { port } : {}) };
}

function makeLog(spec: CliConnectSpec): CliLog {
  const v = spec.verbose ?? 0;
  return {
    debug: (level, msg) => {
      if (v >= level) process.stderr.write(`debug${level}: ${msg}\r\n`);
    },
    error: (msg) => process.stderr.write(`${msg}\r\n`),
    info: (msg) => {
      if (!spec.quiet) process.stderr.write(`${msg}\r\n`);
    },
  };
}

export async function connectCli(spec: CliConnectSpec): Promise<{ client: Client; log: CliLog }> {
  const { Client } = await import('../index.js');
  const log = makeLog(spec);
  const opts = spec.options ?? [];
  const config = spec.configFile === 'none' ? undefined : (spec.configFile ?? true);
  const cfgLines = [...opts];
  if (spec.jump) cfgLines.unshift(`ProxyJump ${spec.jump}`);
  try {
    const client = await Client.connect({
      host: spec.host,
      ...(spec.port !== undefined ? { port: spec.port } : {}),
      ...(spec.user !== undefined ? { username: spec.user } : {}),
      ...(config !== undefined ? { config } : { username: spec.user ?? process.env.USER ?? 'root' }),
      ...(spec.identityFiles?.[0] ? { privateKeyPath: spec.identityFiles[0] } : {}),
      ...(spec.jump ? { proxyJump: spec.jump } : {}),
      agent: true,
      ...(spec.forwardAgent ? { agentForward: true } : {}),
      configForwards: spec.configForwards ?? false,
      ...(/StrictHostKeyChecking[= ]+no/i.test(opts.join('\n')) ? { strictHostKeyChecking: 'off' as const } : {}),
      ...(/UserKnownHostsFile[= ]+\/dev\/null/i.test(opts.join('\n')) ? { knownHosts: false as const } : {}),
    });
    return { client, log };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ECONNREFUSED')
      throw new CliError(`ssh: connect to host ${spec.host} port ${spec.port ?? 22}: Connection refused`);
    throw new CliError(`ssh: ${err.message}`);
  }
}

export function reportError(program: string, e: unknown): number {
  if (e instanceof CliError) {
    process.stderr.write(`${e.message}\n`);
    return e.exitCode;
  }
  process.stderr.write(`${program}: ${e instanceof Error ? e.message : String(e)}\n`);
  return 255;
}
