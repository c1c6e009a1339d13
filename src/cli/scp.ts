/**
 * `secsh scp [options] source … target`: OpenSSH 9's scp. SFTP by default, the legacy scp protocol
 * with -O; `[user@]host:path`, `scp://[user@]host[:port][/path]` and local operands; copies between
 * two servers always go through this host (-3 semantics, with or without -3). A progress meter on
 * stdout when it is a terminal (not with -q); exit 0, or 1 when any file failed (the others are
 * still copied), 255 when a connection could not be made over SFTP.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { Client } from '../index.js';
import type { SftpClient } from '../sftp/index.js';
import type { Command } from './command.js';
import type { ProgressMeter } from './progress.js';
import type { ScpArgs, ScpOperand } from './scp-options.js';
import { parseScpArgs, ScpCliError } from './scp-options.js';
import type { CopyContext } from './scp-sftp.js';

// The library (through connect.ts) and the meter load once a copy starts: parsing and --help stay light.
const lazy = {
  connect: () => import('./connect.js'),
  progress: () => import('./progress.js'),
};

type Remote = Extract<ScpOperand, { kind: 'remote' }>;

/** One run: its connections (one per user@host:port) and its error count. */
class ScpRun {
  errors = 0;
  private readonly clients = new Map<string, Promise<Client>>();
  private readonly sftps = new Map<Client, Promise<SftpClient>>();
  readonly ctx: CopyContext;

  private meterClass: typeof ProgressMeter | undefined;

  constructor(readonly args: ScpArgs) {
    this.ctx = {
      recursive: args.recursive,
      preserve: args.preserve,
      error: (line) => {
        if (line) process.stderr.write(`${line}\n`);
        this.errors++;
      },
      meter: (name, total) => (this.meterClass ? new this.meterClass(name, total, process.stdout) : undefined),
    };
  }

  async init(): Promise<void> {
    const { ProgressMeter } = await lazy.progress();
    if (!this.args.quiet && ProgressMeter.wanted(process.stdout)) this.meterClass = ProgressMeter;
    if (this.args.limit !== undefined) {
      const { RateLimit } = await import('./scp-sftp.js');
      this.ctx.limit = new RateLimit(this.args.limit);
    }
  }

  /** The connection for a remote operand; a failure ends the run as scp ends it. */
  client(op: Remote): Promise<Client> {
    const a = this.args;
    const port = op.port ?? a.port;
    const key = `${op.user ?? ''}@${op.host}:${port ?? ''}`;
    let c = this.clients.get(key);
    if (!c) {
      c = lazy
        .connect()
        .then(({ connectCli }) =>
          connectCli({
            program: 'ssh',
            host: op.host,
            ...(op.user !== undefined ? { user: op.user } : {}),
            ...(port !== undefined ? { port } : {}),
            identityFiles: a.identityFiles,
            ...(a.configFile !== undefined ? { configFile: a.configFile } : {}),
            options: a.options,
            ...(a.jump !== undefined ? { jump: a.jump } : {}),
            verbose: a.verbose,
            quiet: a.quiet,
            ...(a.family !== undefined ? { family: a.family } : {}),
            ...(a.cipher !== undefined ? { ciphers: a.cipher } : {}),
            compression: a.compression,
            forwardAgent: a.forwardAgent,
            batchMode: a.batch,
          }),
        )
        .then(
          (r) => r.client,
          (e: unknown) => {
            const msg = e instanceof Error ? e.message : String(e);
            throw new ScpCliError(
              `${msg ? `${msg}\n` : ''}${a.legacy ? 'lost connection' : 'scp: Connection closed'}`,
              a.legacy ? 1 : 255,
            );
          },
        );
      this.clients.set(key, c);
    }
    return c;
  }

  async sftp(op: Remote): Promise<SftpClient> {
    const client = await this.client(op);
    let s = this.sftps.get(client);
    if (!s) {
      s = client.sftp().catch((e: unknown) => {
        throw new ScpCliError(`scp: ${e instanceof Error ? e.message : String(e)}\nscp: Connection closed`, 255);
      });
      this.sftps.set(client, s);
    }
    return s;
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) await c.then((x) => x.close()).catch(() => {});
  }
}

/** `cp [-r] [-p] src… target`, as scp runs it for local-to-local copies. */
function localCopy(args: ScpArgs, sources: readonly string[], target: string): Promise<boolean> {
  const flags = [...(args.recursive ? ['-r'] : []), ...(args.preserve ? ['-p'] : [])];
  return new Promise((resolve) => {
    const p = spawn('cp', [...flags, '--', ...sources, target], { stdio: 'inherit' });
    p.once('error', () => resolve(false));
    p.once('close', (code) => resolve(code === 0));
  });
}

async function toLocal(run: ScpRun, target: string): Promise<void> {
  const { args, ctx } = run;
  const multi = args.sources.length > 1;
  if (multi) {
    const st = await stat(target).catch((e: NodeJS.ErrnoException) => e);
    if (st instanceof Error || !st.isDirectory()) {
      const why = st instanceof Error ? (await import('./scp-sides.js')).why(st) : 'Not a directory';
      throw new ScpCliError(`${target}: ${why}`, 1);
    }
  }
  for (const src of args.sources) {
    if (src.kind === 'local') {
      if (!(await localCopy(args, [src.path], target))) ctx.error('');
      continue;
    }
    if (args.legacy) {
      const { legacyDownload } = await import('./scp-legacy.js');
      await legacyDownload(ctx, await run.client(src), [src.path || '.'], target, multi, args.verbose > 0);
      continue;
    }
    const sftp = await run.sftp(src);
    const { copyAll, expandRemote } = await import('./scp-sftp.js');
    const { localSide, remoteSide } = await import('./scp-sides.js');
    const paths = await expandRemote(sftp, src.path);
    if (paths.length === 0) {
      ctx.error(`scp: ${src.path}: No such file or directory`);
      continue;
    }
    await copyAll(ctx, remoteSide(sftp), paths, localSide, target);
  }
}

async function toRemote(run: ScpRun, target: Remote): Promise<void> {
  const { args, ctx } = run;
  const multi = args.sources.length > 1;
  const locals = args.sources.filter((s) => s.kind === 'local').map((s) => s.path);
  const tpath = target.path;
  if (locals.length > 0) {
    if (args.legacy) {
      const { legacyUpload } = await import('./scp-legacy.js');
      await legacyUpload(ctx, await run.client(target), locals, tpath || '.', multi, args.verbose > 0);
    } else {
      const sftp = await run.sftp(target);
      const { copyAll, expandRemote } = await import('./scp-sftp.js');
      const { localSide, remoteSide } = await import('./scp-sides.js');
      const t = (await expandRemote(sftp, tpath))[0] ?? tpath;
      if (
        multi &&
        !(await sftp.stat(t).then(
          (s) => s.isDirectory(),
          () => false,
        ))
      ) {
        ctx.error(`scp: ${t}: Not a directory`);
      } else {
        await copyAll(ctx, localSide, locals, remoteSide(sftp), t);
      }
    }
  }
  for (const src of args.sources) {
    if (src.kind !== 'remote') continue;
    if (args.legacy) {
      const { legacyAcross } = await import('./scp-legacy.js');
      await legacyAcross(ctx, await run.client(src), src.path || '.', await run.client(target), tpath || '.', multi);
      continue;
    }
    const from = await run.sftp(src);
    const to = await run.sftp(target);
    const { copyAll, expandRemote } = await import('./scp-sftp.js');
    const { remoteSide } = await import('./scp-sides.js');
    const paths = await expandRemote(from, src.path);
    if (paths.length === 0) {
      ctx.error(`scp: ${src.path}: No such file or directory`);
      continue;
    }
    const t = (await expandRemote(to, tpath))[0] ?? tpath;
    await copyAll(ctx, remoteSide(from), paths, remoteSide(to), t);
  }
}

/** One line on stderr (none for an empty message) and the exit code: 1 for scp's own errors, 255 otherwise. */
async function report(e: unknown): Promise<number> {
  if (e instanceof ScpCliError) {
    if (e.message) process.stderr.write(`${e.message}\n`);
    return e.exitCode;
  }
  const { reportError } = await lazy.connect();
  return reportError('scp', e);
}

/** `secsh scp`. */
export const scpCommand: Command = {
  summary: 'secure file copy (OpenSSH scp: SFTP, or the scp protocol with -O)',
  async run(argv: string[]): Promise<number> {
    if (argv.includes('--help')) {
      const { SCP_USAGE } = await import('./scp-options.js');
      process.stdout.write(`${SCP_USAGE}\n`);
      return 0;
    }
    let args: ScpArgs;
    try {
      args = parseScpArgs(argv);
    } catch (e) {
      return report(e);
    }
    const run = new ScpRun(args);
    try {
      await run.init();
      const target = args.target;
      if (target.kind === 'local') {
        if (args.sources.every((s) => s.kind === 'local')) {
          const ok = await localCopy(
            args,
            args.sources.map((s) => s.path),
            target.path,
          );
          return ok ? 0 : 1;
        }
        await toLocal(run, target.path);
      } else {
        await toRemote(run, target);
      }
      return run.errors > 0 ? 1 : 0;
    } catch (e) {
      return report(e);
    } finally {
      await run.close();
    }
  },
};
