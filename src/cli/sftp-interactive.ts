/**
 * The input side of `secsh sftp`: the interactive prompt on a terminal (line editing and history
 * through node:readline, TAB completion of commands and of remote and local paths, Ctrl-C
 * interrupting the running command), and batch input (`-b file`, or stdin that is not a terminal)
 * with each command echoed after `sftp> `.
 */
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createInterface, type Interface } from 'node:readline';
import type { Readable } from 'node:stream';
import { COMMAND_NAMES, PATH_KINDS } from './sftp-args.js';
import { type LineResult, runLine } from './sftp-commands.js';
import type { SftpSession } from './sftp-session.js';
import { remoteAbsolute } from './sftp-session.js';

/**
 * Runs commands from `input` (a batch file or piped stdin), echoing each. With `abortOnError`
 * (-b), the first failing command without a `-` prefix ends the run with status 1; otherwise the
 * status is that of the last command, as sftp's interactive_loop returns it.
 */
export async function runBatch(s: SftpSession, input: Readable, abortOnError: boolean): Promise<number> {
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY, terminal: false });
  let last: LineResult = 'ok';
  try {
    for await (const line of rl) {
      last = await runLine(s, line, true);
      if (last === 'quit') return 0;
      if (last === 'fail' && abortOnError) return 1;
    }
  } finally {
    rl.close();
  }
  return last === 'fail' ? 1 : 0;
}

/** Opens a batch file ('-' is stdin); rejects with the fs error. */
export async function openBatch(path: string): Promise<Readable> {
  if (path === '-') return process.stdin;
  const stream = createReadStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  return stream;
}

/** Escapes what makeargv would split or unescape, for a completed word. */
function escapeWord(w: string): string {
  return w.replace(/([\s\\'"#*?[])/g, '\\$1');
}

/** The words of a partial line (simple: whitespace splits, a backslash escapes the next character). */
function partialWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let started = false;
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote) {
      if (c === quote) quote = '';
      else cur += c;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      started = true;
    } else if (c === '"' || c === "'") {
      quote = c;
      started = true;
    } else if (/\s/.test(c)) {
      if (started) words.push(cur);
      cur = '';
      started = false;
    } else {
      cur += c;
      started = true;
    }
  }
  words.push(cur);
  return words;
}

/** Candidates for a path being typed: names in its directory starting with what follows the last '/'. */
async function completePath(
  word: string,
  list: (dir: string) => Promise<{ name: string; dir: boolean }[]>,
): Promise<string[]> {
  const slash = word.lastIndexOf('/');
  const dir = slash >= 0 ? word.slice(0, slash + 1) : '';
  const prefix = word.slice(slash + 1);
  let names: { name: string; dir: boolean }[];
  try {
    names = await list(dir === '' ? '.' : dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.name.startsWith(prefix) && (prefix.startsWith('.') || !n.name.startsWith('.')))
    .map((n) => dir + n.name + (n.dir ? '/' : ''))
    .sort();
}

/** TAB completion: command names first, then remote or local paths as the command takes them. */
export function completer(s: SftpSession) {
  return async (line: string): Promise<[string[], string]> => {
    const words = partialWords(line);
    const word = words[words.length - 1] ?? '';
    const typedRaw = line.slice(line.length - rawTail(line).length);
    if (words.length === 1) {
      if (word.startsWith('!')) return [[], line];
      const hits = COMMAND_NAMES.filter((c) => c.startsWith(word));
      return [hits.length === 1 ? [`${hits[0]} `] : hits, line];
    }
    const cmd = words[0] ?? '';
    const kind = PATH_KINDS[cmd];
    if (!kind) return [[], typedRaw];
    const operand = words.slice(1, -1).filter((w) => !w.startsWith('-')).length;
    const remote =
      kind === 'remote' || (kind === 'remote-local' && operand === 0) || (kind === 'local-remote' && operand >= 1);
    const found = remote
      ? await completePath(word, async (dir) =>
          (await s.sftp.readdir(remoteAbsolute(dir, s.pwd))).map((e) => ({
            name: e.filename,
            dir: e.attrs.isDirectory(),
          })),
        )
      : await completePath(word, async (dir) =>
          (await readdir(dir, { withFileTypes: true })).map((d) => ({ name: d.name, dir: d.isDirectory() })),
        );
    const escaped = found.map(escapeWord);
    if (escaped.length === 1 && !(escaped[0] as string).endsWith('/')) escaped[0] = `${escaped[0]} `;
    return [escaped, typedRaw];
  };
}

/** The last word of `line` as typed (escapes included), for readline to replace. */
function rawTail(line: string): string {
  let i = line.length;
  while (i > 0) {
    const c = line[i - 1] as string;
    if (/\s/.test(c) && line[i - 2] !== '\\') break;
    i--;
  }
  return line.slice(i);
}

/** The interactive loop on a terminal: `sftp> ` prompts until quit or end of input. */
export async function runInteractive(s: SftpSession): Promise<number> {
  const complete = completer(s);
  const rl: Interface = createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt: 'sftp> ',
    terminal: true,
    historySize: 1000,
    completer: (line: string, cb: (err: Error | null, r: [string[], string]) => void) => {
      complete(line).then(
        (r) => cb(null, r),
        () => cb(null, [[], line]),
      );
    },
  });
  let running = false;
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  rl.on('line', (l) => {
    lines.push(l);
    wake?.();
  });
  rl.on('close', () => {
    closed = true;
    wake?.();
  });
  rl.on('SIGINT', () => {
    if (running) {
      s.interrupt();
      return;
    }
    process.stdout.write('\n');
    rl.write(null, { ctrl: true, name: 'u' });
    rl.prompt();
  });
  let last: LineResult = 'ok';
  try {
    for (;;) {
      rl.prompt();
      while (lines.length === 0 && !closed) await new Promise<void>((r) => (wake = r));
      const line = lines.shift();
      if (line === undefined) {
        process.stdout.write('\n');
        break;
      }
      const local = /^\s*(!|lls\b)/.test(line);
      running = true;
      if (local) {
        rl.pause();
        process.stdin.setRawMode?.(false);
      }
      try {
        last = await runLine(s, line, false);
      } finally {
        running = false;
        if (local) {
          process.stdin.setRawMode?.(true);
          rl.resume();
        }
      }
      if (last === 'quit') return 0;
    }
  } finally {
    rl.close();
  }
  return last === 'fail' ? 1 : 0;
}
