/**
 * scp -O: the legacy scp protocol against the server's own `scp -t` / `scp -f`. Uploads send every
 * local source to one remote `scp -t`; downloads read one remote `scp -f` per source operand;
 * remote-to-remote copies (-3) join a `scp -f` on one server to a `scp -t` on the other through
 * this host, as OpenSSH's scp -3 does (messages between the two remote ends are not shown).
 */
import { basename } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Client, ScpClientOptions, ScpFs, ScpProgress } from '../index.js';
import { localScpFs, ScpError, scpDownload, scpRemoteCommand, scpUpload } from '../index.js';
import type { CopyContext, RateLimit } from './scp-sftp.js';

/** The local disk, each file's reads and writes paced by -l. */
function limitedFs(limit: RateLimit): ScpFs {
  return {
    ...localScpFs,
    async open(path, pflags, attrs) {
      const f = await localScpFs.open(path, pflags, attrs);
      return {
        ...f,
        async read(offset, length) {
          const b = await f.read(offset, length);
          await limit.take(b.length);
          return b;
        },
        readInto: undefined,
        async write(offset, data) {
          await limit.take(data.length);
          await f.write(offset, data);
        },
      };
    },
  };
}

function options(ctx: CopyContext, extra: { targetIsDirectory?: boolean; verbose?: boolean }): ScpClientOptions {
  let umask = 0o022;
  try {
    umask = process.umask();
  } catch {
    // not available in workers: keep scp's usual 022
  }
  return {
    recursive: ctx.recursive,
    preserve: ctx.preserve,
    umask,
    ...(extra.targetIsDirectory !== undefined ? { targetIsDirectory: extra.targetIsDirectory } : {}),
    ...(extra.verbose ? { verbose: true } : {}),
    ...(ctx.limit ? { fs: limitedFs(ctx.limit) } : {}),
    // Our own errors print as scp prints them locally (no prefix); the peer's arrive as "scp: …".
    onError: (message) => ctx.error(message),
    onStderr: (chunk) => process.stderr.write(chunk),
    progress: (path, size): ScpProgress | undefined => {
      const m = ctx.meter(basename(path), size);
      return m && { update: (n) => m.add(n), done: () => m.done() };
    },
  };
}

/** The one line scp prints when the protocol breaks. */
function report(ctx: CopyContext, e: unknown): void {
  if (e instanceof ScpError) {
    if (e.kind === 'protocol') ctx.error(`protocol error: ${e.message}`);
    else if (/^lost connection/.test(e.message)) ctx.error('lost connection');
    else ctx.error(e.message);
    return;
  }
  throw e;
}

/** `scp -O host:src… target`. */
export async function legacyDownload(
  ctx: CopyContext,
  client: Client,
  paths: readonly string[],
  target: string,
  targetIsDirectory: boolean,
  verbose: boolean,
): Promise<void> {
  try {
    const r = await scpDownload(client, paths, target, options(ctx, { targetIsDirectory, verbose }));
    if (r.exitCode !== 0 && r.errors === 0) ctx.error('');
  } catch (e) {
    report(ctx, e);
  }
}

/** `scp -O local… host:target`. */
export async function legacyUpload(
  ctx: CopyContext,
  client: Client,
  sources: readonly string[],
  target: string,
  targetIsDirectory: boolean,
  verbose: boolean,
): Promise<void> {
  try {
    const r = await scpUpload(client, sources, target, options(ctx, { targetIsDirectory, verbose }));
    if (r.exitCode !== 0 && r.errors === 0) ctx.error('');
  } catch (e) {
    report(ctx, e);
  }
}

/** `scp -O -3 hostA:src hostB:target`: the two remote scp processes talk through this host. */
export async function legacyAcross(
  ctx: CopyContext,
  from: Client,
  src: string,
  to: Client,
  target: string,
  targetIsDirectory: boolean,
): Promise<void> {
  const common = { recursive: ctx.recursive, preserve: ctx.preserve };
  const a = await from.spawn(scpRemoteCommand({ direction: 'from', paths: [src], ...common }));
  const b = await to.spawn(scpRemoteCommand({ direction: 'to', paths: [target], targetIsDirectory, ...common }));
  a.stderr.on('data', (c: Buffer) => process.stderr.write(c));
  b.stderr.on('data', (c: Buffer) => process.stderr.write(c));
  const join = (x: Duplex, y: Duplex) => {
    x.pipe(y);
    x.on('error', () => y.destroy());
  };
  join(a.channel, b.channel);
  join(b.channel, a.channel);
  const [ea, eb] = await Promise.all([
    a.exit.catch(() => ({ code: null, signal: null })),
    b.exit.catch(() => ({ code: null, signal: null })),
  ]);
  if (ea.code !== 0 || eb.code !== 0) ctx.error('');
}
