/** `secsh add` option parsing: ssh-add's getopt flags, lifetimes (`1h30m`) and `-h` destination constraints. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { AllowedDestination, DestinationHop, HostKeySpec } from '../index.js';
import { KnownHosts } from '../index.js';
import { getopt } from './getopt.js';

/** A user error: printed as is, exit status `code`. */
export class AddUsageError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

export const ADD_USAGE = `usage: secsh add [-cDdkLlqXx] [-E fingerprint_hash] [-H hostkey_file]
                 [-h destination_constraint] [-t life] [file ...]
`;

/** Parsed `secsh add` arguments. */
export interface AddOptions {
  list: 'l' | 'L' | undefined;
  lock: 'x' | 'X' | undefined;
  deleteAll: boolean;
  deleting: boolean;
  keyOnly: boolean;
  confirm: boolean;
  quiet: boolean;
  lifetime: number | undefined;
  hash: 'sha256' | 'md5';
  constraints: string[];
  hostKeyFiles: string[];
  files: string[];
}

const FLAGS = new Set(['c', 'D', 'd', 'k', 'L', 'l', 'q', 'v', 'X', 'x']);
const WITH_VALUE = new Set(['E', 'H', 'h', 't']);

/** OpenSSH's convtime: `90`, `90s`, `5m`, `1h30m`, `2d`, `1w` → seconds; undefined when malformed. */
export function parseLifetime(s: string): number | undefined {
  if (s === '') return undefined;
  const mult: Record<string, number> = {
    '': 1,
    s: 1,
    S: 1,
    m: 60,
    M: 60,
    h: 3600,
    H: 3600,
    d: 86400,
    D: 86400,
    w: 604800,
    W: 604800,
  };
  let total = 0;
  const re = /(\d+)([sSmMhHdDwW]?)/y;
  let at = 0;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * (mult[m[2] ?? ''] ?? 1);
    at = re.lastIndex;
    if (m[2] === '' && at < s.length) return undefined; // a bare number only at the end
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

/** Parses ssh-add's options (clustered flags, values attached or separate, `--` ends options). */
export function parseAddArgs(args: string[]): AddOptions {
  const o: AddOptions = {
    list: undefined,
    lock: undefined,
    deleteAll: false,
    deleting: false,
    keyOnly: false,
    confirm: false,
    quiet: false,
    lifetime: undefined,
    hash: 'sha256',
    constraints: [],
    hostKeyFiles: [],
    files: [],
  };
  const { next } = getopt(args, {
    withValue: WITH_VALUE,
    flags: FLAGS,
    onOption: (f, v) => {
      if (v === undefined) applyFlag(o, f);
      else applyValue(o, f, v);
      return undefined;
    },
    error: (m) => new AddUsageError(`${m}\n${ADD_USAGE}`),
  });
  o.files = args.slice(next);
  if ((o.lock ? 1 : 0) + (o.list ? 1 : 0) + (o.deleteAll ? 1 : 0) > 1)
    throw new AddUsageError('Invalid combination of actions', 255);
  return o;
}

function applyFlag(o: AddOptions, f: string): void {
  switch (f) {
    case 'l':
    case 'L':
      if (o.list) throw new AddUsageError(`-${o.list} flag already specified`, 255);
      o.list = f;
      break;
    case 'x':
    case 'X':
      if (o.lock) throw new AddUsageError(`-${o.lock} flag already specified`, 255);
      o.lock = f;
      break;
    case 'c':
      o.confirm = true;
      break;
    case 'd':
      o.deleting = true;
      break;
    case 'D':
      o.deleteAll = true;
      break;
    case 'k':
      o.keyOnly = true;
      break;
    case 'q':
      o.quiet = true;
      break;
    default: // -v: no debug output here
  }
}

function applyValue(o: AddOptions, f: string, v: string): void {
  switch (f) {
    case 'E':
      if (v !== 'sha256' && v !== 'md5') throw new AddUsageError(`Invalid hash algorithm "${v}"`, 255);
      o.hash = v;
      break;
    case 't': {
      const t = parseLifetime(v);
      if (t === undefined || t < 0 || t > 0xffffffff) throw new AddUsageError('Invalid lifetime');
      o.lifetime = t;
      break;
    }
    case 'h':
      o.constraints.push(v);
      break;
    default:
      o.hostKeyFiles.push(v);
  }
}

/** The host key files `-h` looks in: `-H` files, else ssh's user and system known_hosts files. */
export function hostKeyFilesFor(o: AddOptions): string[] {
  if (o.hostKeyFiles.length > 0)
    return o.hostKeyFiles.map((f) => (f.startsWith('~/') ? join(homedir(), f.slice(2)) : f));
  const ssh = join(homedir(), '.ssh');
  return [join(ssh, 'known_hosts'), join(ssh, 'known_hosts2'), '/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];
}

async function parseHop(s: string, files: KnownHosts[]): Promise<DestinationHop> {
  const at = s.indexOf('@');
  const user = at >= 0 ? s.slice(0, at) : undefined;
  let host = at >= 0 ? s.slice(at + 1) : s;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') {
    if (user === undefined)
      throw new AddUsageError(`Invalid key destination constraint "${s}": does not specify user or host`, 255);
    return { user };
  }
  const hostKeys: HostKeySpec[] = [];
  for (const kh of files) {
    for (const e of kh.find(host)) {
      if (e.marker === 'revoked') continue;
      hostKeys.push({ key: e.key, ca: e.marker === 'cert-authority' });
    }
  }
  if (hostKeys.length === 0) throw new AddUsageError(`No host keys found for destination "${host}"`, 255);
  return { ...(user !== undefined ? { user } : {}), hostname: host, hostKeys };
}

/** Parses `-h` constraints (`[user@]host` or `host>[user@]host`), with host keys from the known_hosts files. */
export async function parseDestinations(o: AddOptions): Promise<AllowedDestination[]> {
  if (o.constraints.length === 0) return [];
  const files = await Promise.all(hostKeyFilesFor(o).map((p) => KnownHosts.load(p)));
  const out: AllowedDestination[] = [];
  for (const c of o.constraints) {
    const gt = c.indexOf('>');
    if (gt < 0) {
      out.push({ to: await parseHop(c, files) });
      continue;
    }
    const from = await parseHop(c.slice(0, gt), files);
    if (from.user !== undefined)
      throw new AddUsageError(`Invalid key constraint ${c.slice(0, gt)}: cannot specify user on 'from' host`, 255);
    out.push({ from, to: await parseHop(c.slice(gt + 1), files) });
  }
  return out;
}
