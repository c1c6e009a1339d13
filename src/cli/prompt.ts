/**
 * Passphrase prompts on the controlling terminal (/dev/tty, echo off), as OpenSSH's read_passphrase does;
 * without a terminal, one line from stdin.
 */
import { closeSync, open } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';
import { promisify } from 'node:util';

const openFd = promisify(open);

/** Thrown when the user interrupts a prompt (Ctrl-C). */
export class PromptInterrupted extends Error {}

/** Reads one line from stdin (no terminal): what `ssh-add < file` feeds. */
function readStdinLine(): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (c: Buffer) => {
      buf += c.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) finish(buf.slice(0, nl).replace(/\r$/, ''));
    };
    const finish = (line: string) => {
      process.stdin.off('data', onData);
      process.stdin.off('end', onEnd);
      process.stdin.pause();
      resolve(line);
    };
    const onEnd = () => finish(buf);
    process.stdin.on('data', onData);
    process.stdin.once('end', onEnd);
  });
}

/**
 * Prompts on /dev/tty with echo on (the terminal's own line editing) and returns the line without its
 * end; without a terminal, one line from stdin after the prompt on stderr. Rejects with
 * {@link PromptInterrupted} on Ctrl-C.
 */
export async function readTtyLine(prompt: string): Promise<string> {
  let inFd: number;
  let outFd: number;
  try {
    inFd = await openFd('/dev/tty', 'r');
    outFd = await openFd('/dev/tty', 'w').catch((e: unknown) => {
      closeSync(inFd);
      throw e;
    });
  } catch {
    process.stderr.write(prompt);
    return readStdinLine();
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
export async function readPassphrase(prompt: string): Promise<string> {
  let inFd: number;
  let outFd: number;
  try {
    inFd = await openFd('/dev/tty', 'r');
  } catch {
    process.stderr.write(prompt);
    return readStdinLine();
  }
  try {
    outFd = await openFd('/dev/tty', 'w');
  } catch {
    closeSync(inFd);
    process.stderr.write(prompt);
    return readStdinLine();
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
