/**
 * `secsh sftp [options] [user@]host[:path] | sftp://[user@]host[:port][/path]`: OpenSSH's sftp —
 * an interactive prompt on a terminal, `-b batchfile` (or commands piped on stdin), the commands
 * and messages of sftp, and its exit statuses (0, 1 for a failed batch, 255 when the connection fails).
 */
import type { Readable } from 'node:stream';
import type { Command } from './command.js';
import { parseSftpArgs, SFTP_USAGE, type SftpOptions, SftpUsageError } from './sftp-options.js';

/** Connects and opens the SFTP subsystem; reports a failure as sftp does and returns its status. */
async function connect(o: SftpOptions) {
  const { connectCli } = await import('./connect.js');
  const { client } = await connectCli({
    program: 'sftp',
    host: o.host,
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(o.port !== undefined ? { port: o.port } : {}),
    identityFiles: o.identityFiles,
    ...(o.configFile !== undefined ? { configFile: o.configFile } : {}),
    options: o.options,
    ...(o.jump !== undefined ? { jump: o.jump } : {}),
    verbose: o.verbose,
    quiet: o.quiet,
    ...(o.family !== undefined ? { family: o.family } : {}),
    ...(o.ciphers !== undefined ? { ciphers: o.ciphers } : {}),
    compression: o.compression,
    ...(o.forwardAgent !== undefined ? { forwardAgent: o.forwardAgent } : {}),
    ...(o.batchFile !== undefined ? { batchMode: true } : {}),
  });
  return client;
}

async function run(args: string[]): Promise<number> {
  let o: SftpOptions | 'help';
  try {
    o = parseSftpArgs(args);
  } catch (e) {
    if (!(e instanceof SftpUsageError)) throw e;
    if (e.message) process.stderr.write(`${e.message}\n`);
    if (e.usage || !e.message) process.stderr.write(SFTP_USAGE);
    return 1;
  }
  if (o === 'help') {
    process.stdout.write(SFTP_USAGE);
    return 0;
  }
  const { openBatch, runBatch, runInteractive } = await import('./sftp-interactive.js');
  let input: Readable | undefined;
  if (o.batchFile !== undefined) {
    try {
      input = await openBatch(o.batchFile);
    } catch (e) {
      const { localErrText } = await import('./sftp-session.js');
      process.stderr.write(`${localErrText(e)} (${o.batchFile}).\n`);
      return 1;
    }
  }
  const { reportError } = await import('./connect.js');
  let client: Awaited<ReturnType<typeof connect>>;
  try {
    client = await connect(o);
  } catch (e) {
    const code = reportError('sftp', e);
    process.stderr.write('Connection closed\n');
    return code;
  }
  try {
    const { SftpSession } = await import('./sftp-session.js');
    let sftp: Awaited<ReturnType<typeof client.sftp>>;
    try {
      sftp = await client.sftp();
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\nConnection closed\n`);
      return 255;
    }
    if (!o.quiet) process.stderr.write(`Connected to ${o.host}.\n`);
    const home = await sftp.realpath('.');
    const s = new SftpSession(sftp, o, home);
    if (o.path !== undefined) {
      const { remoteAbsolute } = await import('./sftp-session.js');
      const { runLine } = await import('./sftp-commands.js');
      const dir = remoteAbsolute(o.path, home);
      const isDir = await sftp.stat(dir).then(
        (st) => st.isDirectory(),
        () => false,
      );
      if (isDir && o.localTarget === undefined) {
        if (!o.quiet) s.print(`Changing to: ${dir}\n`);
        if ((await runLine(s, `cd "${dir.replace(/["\\]/g, '\\$&')}"`, false)) !== 'ok') return 1;
      } else {
        const q = (p: string) => `"${p.replace(/["\\]/g, '\\$&')}"`;
        const line = `get${o.resume ? ' -a' : ''} ${q(dir)}${o.localTarget !== undefined ? ` ${q(o.localTarget)}` : ''}`;
        return (await runLine(s, line, false)) === 'ok' ? 0 : 1;
      }
    }
    if (input) return await runBatch(s, input, true);
    if (process.stdin.isTTY) return await runInteractive(s);
    return await runBatch(s, process.stdin, false);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\nConnection closed\n`);
    return 255;
  } finally {
    client.close();
  }
}

/** `secsh sftp`. */
export const sftpCommand: Command = {
  summary: 'sftp',
  run,
};
