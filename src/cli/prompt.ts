/**
 * Passphrase prompts on the controlling terminal (/dev/tty, echo off), as OpenSSH's read_passphrase does;
 * without a terminal, one line from stdin.
 */
import { closeSync, open } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';
import { promisify } from 'node:util';

const openFd = promisify(open);

/** How a prompt may be answered. */
export interface PromptOptions {
  /**
   * Without a terminal, read the answer from stdin (default true, as ssh-add and ssh-keygen do).
   * false: reject with {@link PromptUnavailable} instead, as ssh does, whose stdin belongs to the session.
   */
  allowStdin?: boolean;
}

/** Thrown when a prompt needs a terminal and there is none (and stdin may not be used). */
export class PromptUnavailable extends Error {}

function fallback(prompt: string, opts: PromptOptions): Promise<string> {
  if (opts.allowStdin === false) return Promise.reject(new PromptUnavailable("can't open /dev/tty"));
  process.stderr.write(prompt);
  return readStdinLine();
}

/** Thrown when the user interrupts a prompt (Ctrl-C). */
export class PromptInterrupted extends Error {}

/** Stdin read past the last line handed out, and whether stdin has ended (shared by every prompt). */
let stdinRest = '';
let stdinEnded = false;
let stdinWatched = false;
/** The prompt waiting for stdin, if any. */
let stdinWaiter: (() => void) | undefined;

/** Listens to stdin once for the whole process: its data is kept, its end remembered. */
function watchStdin(): void {
  if (stdinWatched) return;
  stdinWatched = true;
  process.stdin.on('data', (c: Buffer) => {
    stdinRest += c.toString('utf8');
    stdinWaiter?.();
  });
  process.stdin.once('end', () => {
    stdinEnded = true;
    stdinWaiter?.();
  });
}

/** Reads one line from stdin (no terminal): what `ssh-add < file` feeds. Lines after it are kept for the next prompt. */
function readStdinLine(): Promise<string> {
  watchStdin();
  const take = (): string | undefined => {
    const nl = stdinRest.indexOf('\n');
    if (nl >= 0) {
      const line = stdinRest.slice(0, nl).replace(/\r$/, '');
      stdinRest = stdinRest.slice(nl + 1);
      return line;
    }
    if (!stdinEnded) return undefined;
    const last = stdinRest;
    stdinRest = '';
    return last;
  };
  const ready = take();
  if (ready !== undefined) return Promise.resolve(ready);
  return new Promise((resolve) => {
    stdinWaiter = () => {
      const line = take();
      if (line === undefined) return;
      stdinWaiter = undefined;
      process.stdin.pause();
      resolve(line);
    };
    process.stdin.resume();
  });
}

/**
 * Prompts on /dev/tty with echo on (the terminal's own line editing) and returns the line without its
 * end; without a terminal, one line from stdin after the prompt on stderr. Rejects with
 * {@link PromptInterrupted} on Ctrl-C.
 */
export async function readTtyLine(prompt: string, opts: PromptOptions = {}): Promise<string> {
  let inFd: number;
  let outFd: number;
  try {
    inFd = await openFd('/dev/tty', 'r');
    outFd = await openFd('/dev/tty', 'w').catch((e: unknown) => {
      closeSync(inFd); // sync-ok: a terminal prompt of the command line, never on a peer message
      throw e;
    });
  } catch {
    return fallback(prompt, opts);
  }
  const input = new ReadStream(inFd);
  const output = new WriteStream(outFd);
  try {
    // Cooked mode: the terminal echoes and edits; a line arrives when Enter is pressed.
    try {
      input.setRawMode(false);
    } catch {
      // not a terminal after all
    }
    output.write(prompt);
    return await new Promise<string>((resolve, reject) => {
      let text = '';
      const onData = (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (text.includes('\u0003')) return finish(new PromptInterrupted('interrupted'));
        const nl = text.indexOf('\n');
        if (nl >= 0) return finish(undefined, text.slice(0, nl).replace(/\r$/, ''));
        if (text.length > 4096) finish(undefined, text);
      };
      const onEnd = () => finish(undefined, text);
      const finish = (err?: Error, line?: string) => {
        input.off('data', onData);
        input.off('end', onEnd);
        if (err) reject(err);
        else resolve(line ?? '');
      };
      input.on('data', onData);
      input.once('end', onEnd);
    });
  } finally {
    input.pause();
    await new Promise<void>((r) => output.end(r));
    input.destroy();
  }
}

/**
 * Prompts for a secret on /dev/tty with echo off and returns it (empty string for an empty line or end of
 * input). Rejects with {@link PromptInterrupted} on Ctrl-C.
 */
export async function readPassphrase(prompt: string, opts: PromptOptions = {}): Promise<string> {
  let inFd: number;
  let outFd: number;
  try {
    inFd = await openFd('/dev/tty', 'r');
  } catch {
    return fallback(prompt, opts);
  }
  try {
    outFd = await openFd('/dev/tty', 'w');
  } catch {
    closeSync(inFd); // sync-ok: a terminal prompt of the command line, never on a peer message
    return fallback(prompt, opts);
  }
  // The streams own their descriptors and close them when destroyed.
  const input = new ReadStream(inFd);
  const output = new WriteStream(outFd);
  try {
    output.write(prompt);
    input.setRawMode(true);
    return await new Promise<string>((resolve, reject) => {
      let text = '';
      const done = (err?: Error) => {
        input.off('data', onData);
        if (err) reject(err);
        else resolve(text);
      };
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
          if (ch === '\u0003') return done(new PromptInterrupted('interrupted'));
          if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
          else if (ch === '\u0015') text = '';
          else text += ch;
        }
      };
      input.on('data', onData);
    });
  } finally {
    try {
      input.setRawMode(false);
    } catch {
      // the terminal went away
    }
    output.write('\n');
    input.pause();
    await new Promise<void>((r) => output.end(r));
    input.destroy();
  }
}
