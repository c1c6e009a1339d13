/**
 * The server side of the legacy scp protocol: answers the exec requests `scp -t …` and `scp -f …`
 * that `scp -O` (and older scp) sends, from an SFTP backend, without running a program.
 */
import type { Duplex } from 'node:stream';
import type { SftpBackend } from '../sftp/backend.js';
import type { ScpFs } from './fs.js';
import type { ScpLimits } from './protocol.js';
import { formatError, ScpError, send } from './protocol.js';
import { scpSink } from './sink.js';
import { scpSource } from './source.js';

/** A parsed remote scp command line. */
export interface ScpCommand {
  /** 't': receive into `paths[0]`; 'f': send `paths`. */
  mode: 't' | 'f';
  /** `-r`. */
  recursive: boolean;
  /** `-p`. */
  preserve: boolean;
  /** `-d`: the target must be a directory. */
  targetIsDirectory: boolean;
  /** The paths, after shell-like unquoting (no globbing, no variables). */
  paths: string[];
}

/** Splits a command line into words as a shell would for plain words and quotes (no expansions). */
function words(line: string): string[] | undefined {
  const out: string[] = [];
  let cur: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === ' ' || c === '\t') {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) return undefined;
      cur = (cur ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let s = '';
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1] as string)) i++;
        s += line[i];
      }
      if (i >= line.length) return undefined;
      cur = (cur ?? '') + s;
    } else if (c === '\\') {
      if (i + 1 >= line.length) return undefined;
      cur = (cur ?? '') + line[++i];
    } else if ('\n;&|<>()`$'.includes(c)) {
      // A shell would do something else with these: not a plain scp command, not ours.
      return undefined;
    } else {
      cur = (cur ?? '') + c;
    }
  }
  if (cur !== undefined) out.push(cur);
  return out;
}

/** What {@link parseScpCommand} makes of a command: the scp command, or why it is not one it serves. */
type Parsed = ScpCommand | { refusal: string } | undefined;

/** scp's options that take an argument (OpenSSH 9's getopt string): the rest of their word, or the next word, is it. */
const WITH_ARGUMENT = 'cDFiJlMoPSX';

/**
 * Whether `command` asks for scp's server mode (`scp … -t|-f …`, or `/path/to/scp …`), judged by its
 * plain whitespace-separated words as scp's getopt would read its options, whatever else it holds.
 */
function asksForScpServer(command: string): boolean {
  const w = command.trim().split(/[ \t]+/);
  const prog = (w[0] ?? '').replace(/['"\\]/g, '');
  if (prog !== 'scp' && !prog.endsWith('/scp')) return false;
  for (let i = 1; i < w.length; i++) {
    const a = w[i] as string;
    if (a === '--' || !a.startsWith('-') || a === '-') return false;
    for (let j = 1; j < a.length; j++) {
      const f = a[j] as string;
      if (f === 't' || f === 'f') return true;
      if (WITH_ARGUMENT.includes(f)) {
        if (j === a.length - 1) i++;
        break;
      }
    }
  }
  return false;
}

const UNSUPPORTED = 'command line not supported (no shell here: only scp [-dprv] -t|-f [--] path..., plain or quoted)';

function parse(command: string): Parsed {
  const w = words(command);
  const prog = w?.[0];
  if (!w || prog === undefined || (prog !== 'scp' && !prog.endsWith('/scp'))) {
    return asksForScpServer(command) ? { refusal: UNSUPPORTED } : undefined;
  }
  const cmd: ScpCommand = { mode: 't', recursive: false, preserve: false, targetIsDirectory: false, paths: [] };
  let mode: 't' | 'f' | undefined;
  let unknown = false;
  let i = 1;
  for (; i < w.length; i++) {
    const a = w[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    for (let j = 1; j < a.length; j++) {
      const f = a[j] as string;
      if (WITH_ARGUMENT.includes(f)) {
        // Not one of ours; its argument is the rest of the word, or the next word.
        unknown = true;
        if (j === a.length - 1) i++;
        break;
      }
      if (f === 't' || f === 'f') {
        if (mode !== undefined && mode !== f) unknown = true;
        mode = f;
      } else if (f === 'r') cmd.recursive = true;
      else if (f === 'p') cmd.preserve = true;
      else if (f === 'd') cmd.targetIsDirectory = true;
      else if (f !== 'v' && f !== 'q' && f !== 'T') unknown = true;
    }
  }
  cmd.paths = w.slice(i);
  if (mode === undefined) return asksForScpServer(command) ? { refusal: UNSUPPORTED } : undefined;
  if (unknown || cmd.paths.length === 0) return { refusal: UNSUPPORTED };
  // OpenSSH's scp -t says so for more than one target (an unquoted path with a space, say).
  if (mode === 't' && cmd.paths.length !== 1) return { refusal: 'ambiguous target' };
  cmd.mode = mode;
  return cmd;
}

/**
 * Parses `scp [-dprvq] -t|-f [--] path…` as scp's own option parser would (flags may be grouped;
 * the program may be named by a path ending in `/scp`); undefined for any other command, and for an
 * scp -t/-f command line it cannot serve (shell syntax such as `$`, `;` or backquotes, unknown flags,
 * several targets), which {@link scpExecHandler} refuses.
 */
export function parseScpCommand(command: string): ScpCommand | undefined {
  const p = parse(command);
  return p === undefined || 'refusal' in p ? undefined : p;
}

/** Settings of {@link scpExecHandler}. */
export interface ScpServerOptions extends ScpLimits {
  /** Refuse uploads (`scp -t`) even if the backend would allow them. */
  readOnly?: boolean;
  /** Bits cleared from received modes unless the client asked for `-p` (default 0o022). */
  umask?: number;
  /** Milliseconds without input, or with output the client does not take, before a transfer is given up (default 5 minutes). */
  idleTimeout?: number;
  /** Called with each error message sent to the client, for logging. */
  onError?: (message: string) => void;
}

/** The part of a server session {@link scpExecHandler} needs (a secsh `Session` has it). */
export interface ScpSessionLike {
  /** The session channel: the scp protocol travels on it. */
  readonly channel: Duplex;
  /** The authenticated user (a backend factory can pick a root by it). */
  readonly username: string;
  /** `accept()` returns false when another handler took the request (a secsh `Session` does so). */
  on(event: 'exec', fn: (req: { command: string; accept(): unknown; reject(): void }) => void): unknown;
  /** Ends the session with an exit status: 0, or 1 when any file failed. */
  exit(code: number | null): void;
}

/**
 * A 'session' listener that answers the exec requests of the legacy scp protocol (`scp -t` to
 * receive, `scp -f` to send — what `scp -O` runs) from `backend` (or a backend made per session),
 * so scp works against a server whose files are not the local disk. Other commands are declined
 * and left to the session's other handlers; an scp -t/-f command line it cannot serve (shell syntax,
 * unknown flags, several targets) is answered with an scp error, never left to them. Paths go to the backend as the client sent them
 * (relative ones as the backend resolves them); there is no globbing.
 *
 * @example
 * const backend = new LocalFsBackend('/srv/files');
 * server.on('session', sftpSubsystemHandler(backend));
 * server.on('session', scpExecHandler(backend));
 */
export function scpExecHandler(
  backend: SftpBackend | ((session: ScpSessionLike) => SftpBackend),
  opts: ScpServerOptions = {},
): (session: ScpSessionLike) => void {
  return (session) => {
    session.on('exec', (req) => {
      const cmd = parse(req.command);
      if (!cmd) return req.reject();
      const exit = (code: number) => {
        try {
          session.exit(code);
        } catch {
          // channel already gone
        }
      };
      const fail = (e: unknown) => {
        exit(1);
        // A client that stopped taking data keeps the exit status and EOF queued behind that data
        // forever: the channel is closed outright.
        if (e instanceof ScpError && e.kind === 'timeout') session.channel.destroy();
      };
      // An scp -t/-f this handler cannot serve is refused here, not left to a handler that would run
      // it through a shell, outside the backend's root and read-only setting.
      const refuse = (message: string) => {
        if (req.accept() === false) return;
        opts.onError?.(message);
        send(session.channel, formatError(message), opts.idleTimeout ?? 5 * 60_000).then(() => exit(1), fail);
      };
      if ('refusal' in cmd) return refuse(cmd.refusal);
      let b: SftpBackend;
      try {
        b = typeof backend === 'function' ? backend(session) : backend;
      } catch {
        return refuse('cannot serve files to this user');
      }
      if (req.accept() === false) return;
      const common = {
        recursive: cmd.recursive,
        preserve: cmd.preserve,
        maxLine: opts.maxLine,
        maxSize: opts.maxSize,
        idleTimeout: opts.idleTimeout ?? 5 * 60_000,
        onError: (message: string, origin: 'local' | 'peer') => {
          if (origin === 'local') opts.onError?.(message);
        },
      };
      const fs: ScpFs = b;
      let run: Promise<{ errors: number }>;
      if (cmd.mode === 'f') {
        run = scpSource(session.channel, cmd.paths, fs, common);
      } else if (opts.readOnly || b.readOnly) {
        const message = `${cmd.paths[0]}: Read-only file system`;
        opts.onError?.(message);
        run = send(session.channel, formatError(message), common.idleTimeout).then(() => ({ errors: 1 }));
      } else {
        run = scpSink(session.channel, cmd.paths[0] as string, fs, {
          ...common,
          targetIsDirectory: cmd.targetIsDirectory,
          umask: opts.umask,
        });
      }
      run.then((r) => exit(r.errors > 0 ? 1 : 0), fail);
    });
  };
}
