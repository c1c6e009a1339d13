/**
 * The commands of `secsh sftp`'s interpreter, with OpenSSH sftp's messages: one line is parsed,
 * echoed in batch mode, run, and reported as done, failed or quit.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import type { ParsedCommand } from './sftp-args.js';
import { HELP_TEXT, hasGlob, parseCommand, SftpArgError, stripPrefixes, unescapeGlob } from './sftp-args.js';
import { glob, localFs, remoteFs } from './sftp-glob.js';
import { ls, lsRemoteWidth } from './sftp-list.js';
import { dfTable } from './sftp-ls.js';
import type { SftpSession } from './sftp-session.js';
import { fxText, localErrText, remoteAbsolute, SftpCommandError } from './sftp-session.js';
import { processGet, processPut, type TransferFlags } from './sftp-transfer.js';

/** What a line did: nothing wrong, a failure, or the end of the session. */
export type LineResult = 'ok' | 'fail' | 'quit';

/**
 * Runs one line as parse_dispatch_command does: `-` and `@` prefixes, parse errors printed before
 * the echo (`sftp> line`, when `echo`), then the command. A failure of a `-` line counts as ok.
 */
export async function runLine(s: SftpSession, line: string, echo: boolean): Promise<LineResult> {
  const { rest, ignoreErrors, noEcho } = stripPrefixes(line);
  let cmd: ParsedCommand | undefined;
  let failed = false;
  try {
    cmd = parseCommand(rest);
  } catch (e) {
    if (!(e instanceof SftpArgError)) throw e;
    s.err(`${e.message}\n`);
    failed = true;
  }
  if (echo && !noEcho) s.print(`sftp> ${line}\n`);
  if (!failed && cmd) {
    s.nextCommand();
    try {
      const r = await runCommand(s, cmd);
      if (r === 'quit') return 'quit';
      failed = r === 'fail';
    } catch (e) {
      if (e instanceof SftpCommandError) s.err(`${e.message}\n`);
      else if ((e as { status?: number }).status === 6 || (e as { status?: number }).status === 7) throw e;
      else s.err(`${(e as Error).message}\n`);
      failed = true;
    }
  }
  return failed && !ignoreErrors ? 'fail' : 'ok';
}

function transferFlags(s: SftpSession, c: ParsedCommand): TransferFlags {
  const f = c.flags;
  return {
    preserve: f.has('p') || f.has('P') || s.opts.preserve,
    recursive: f.has('r') || f.has('R') || s.opts.recursive,
    resume: f.has('a') || c.name === 'reget' || c.name === 'reput' || s.opts.resume,
    fsync: f.has('f') || s.opts.fsync,
  };
}

/** Waits for a local program to end; reports a non-zero status as sftp does (not an error). */
function runLocal(s: SftpSession, file: string, args: string[]): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: 'inherit' });
    child.once('error', (e) => {
      s.err(`Couldn't execute "${file}": ${localErrText(e)}\n`);
      resolve();
    });
    child.once('exit', (code) => {
      if (code) s.err(`Shell exited with status ${code}\n`);
      resolve();
    });
  });
}

/** Runs one parsed command. */
export async function runCommand(s: SftpSession, c: ParsedCommand): Promise<LineResult> {
  const { sftp } = s;
  const a0 = c.args[0];
  const a1 = c.args[1];
  switch (c.name) {
    case 'quit':
      return 'quit';
    case 'help':
      s.print(HELP_TEXT);
      return 'ok';
    case 'version':
      s.print(`SFTP protocol version ${sftp.version}\n`);
      return 'ok';
    case 'progress':
      s.showProgress = !s.showProgress;
      s.print(`Progress meter ${s.showProgress ? 'enabled' : 'disabled'}\n`);
      return 'ok';
    case 'pwd':
      s.print(`Remote working directory: ${s.pwd}\n`);
      return 'ok';
    case 'lpwd':
      s.print(`Local working directory: ${process.cwd()}\n`);
      return 'ok';
    case 'lcd': {
      const dir = a0 ?? homedir();
      try {
        process.chdir(dir);
      } catch (e) {
        throw new SftpCommandError(`Couldn't change local directory to "${dir}": ${localErrText(e)}`);
      }
      return 'ok';
    }
    case 'lmkdir':
      try {
        await mkdir(a0 as string, { mode: 0o777 });
      } catch (e) {
        throw new SftpCommandError(`Couldn't create local directory "${a0}": ${localErrText(e)}`);
      }
      return 'ok';
    case 'lumask':
      process.umask(c.number ?? 0o22);
      s.print(`Local umask: ${(c.number ?? 0).toString(8).padStart(3, '0')}\n`);
      return 'ok';
    case 'lls': {
      // sftp hands the line to a shell; without one, secsh expands the glob patterns itself.
      const args: string[] = [];
      for (const a of c.args) {
        if (a.startsWith('-') || !hasGlob(a)) args.push(unescapeGlob(a));
        else args.push(...(await glob(localFs, a, true)).map((m) => m.path));
      }
      await runLocal(s, 'ls', args);
      return 'ok';
    }
    case 'shell': {
      const shell = process.env.SHELL || '/bin/sh';
      const line = c.shellCommand ?? '';
      await runLocal(s, shell, line.trim() === '' ? [] : ['-c', line]);
      return 'ok';
    }
    case 'cd': {
      const target = a0 === undefined ? s.home : remoteAbsolute(a0, s.pwd);
      let real: string;
      try {
        real = await sftp.realpath(target);
      } catch (e) {
        throw new SftpCommandError(`realpath ${target}: ${fxText(e)}`);
      }
      let st: Awaited<ReturnType<typeof sftp.stat>>;
      try {
        st = await sftp.stat(real);
      } catch (e) {
        throw new SftpCommandError(`stat remote: ${fxText(e)}`);
      }
      if (st.mode === undefined) throw new SftpCommandError("Can't change directory: Can't check target");
      if (!st.isDirectory()) throw new SftpCommandError(`Can't change directory: "${real}" is not a directory`);
      s.pwd = real;
      return 'ok';
    }
    case 'ls':
      return (await ls(s, a0, c.flags, lsRemoteWidth(s))) ? 'ok' : 'fail';
    case 'df': {
      const path = a0 === undefined ? s.pwd : remoteAbsolute(unescapeGlob(a0), s.pwd);
      if (!sftp.has('statvfs@openssh.com')) {
        throw new SftpCommandError('Server does not support statvfs@openssh.com extension');
      }
      let st: Awaited<ReturnType<typeof sftp.statvfs>>;
      try {
        st = await sftp.statvfs(path);
      } catch {
        // sftp 9.2 fails here without a message.
        return 'fail';
      }
      s.print(dfTable(st, c.flags.has('i') ? 'i' : c.flags.has('h') ? 'h' : 'k'));
      return 'ok';
    }
    case 'mkdir': {
      const p = remoteAbsolute(a0 as string, s.pwd);
      try {
        await sftp.mkdir(p, { mode: 0o777 });
      } catch (e) {
        throw new SftpCommandError(`remote mkdir "${p}": ${fxText(e)}`);
      }
      return 'ok';
    }
    case 'rmdir': {
      const p = remoteAbsolute(a0 as string, s.pwd);
      try {
        await sftp.rmdir(p);
      } catch (e) {
        throw new SftpCommandError(`remote rmdir "${p}": ${fxText(e)}`);
      }
      return 'ok';
    }
    case 'rm': {
      let ok = true;
      for (const m of await glob(remoteFs(sftp), remoteAbsolute(a0 as string, s.pwd), true)) {
        if (s.aborted()) return 'fail';
        if (!s.quiet) s.print(`Removing ${m.path}\n`);
        try {
          await sftp.unlink(m.path);
        } catch (e) {
          s.err(`remote delete ${m.path}: ${fxText(e)}\n`);
          ok = false;
        }
      }
      return ok ? 'ok' : 'fail';
    }
    case 'rename': {
      const from = remoteAbsolute(a0 as string, s.pwd);
      const to = remoteAbsolute(a1 as string, s.pwd);
      try {
        await sftp.rename(from, to);
      } catch (e) {
        throw new SftpCommandError(`remote rename "${from}" to "${to}": ${fxText(e)}`);
      }
      return 'ok';
    }
    case 'copy': {
      const from = remoteAbsolute(a0 as string, s.pwd);
      const to = remoteAbsolute(a1 as string, s.pwd);
      try {
        await sftp.copy(from, to);
      } catch (e) {
        throw new SftpCommandError(`remote copy "${from}" to "${to}": ${fxText(e)}`);
      }
      return 'ok';
    }
    case 'symlink':
    case 'ln': {
      const to = remoteAbsolute(a1 as string, s.pwd);
      if (c.name === 'symlink' || c.flags.has('s')) {
        try {
          await sftp.symlink(a0 as string, to);
        } catch (e) {
          throw new SftpCommandError(`remote symlink file "${a0}" to "${to}": ${fxText(e)}`);
        }
        return 'ok';
      }
      const from = remoteAbsolute(a0 as string, s.pwd);
      try {
        await sftp.link(from, to);
      } catch (e) {
        throw new SftpCommandError(`remote link "${from}" to "${to}": ${fxText(e)}`);
      }
      return 'ok';
    }
    case 'chmod':
    case 'chown':
    case 'chgrp':
      return (await changeAttrs(s, c)) ? 'ok' : 'fail';
    case 'get':
    case 'reget':
      return (await processGet(s, a0 as string, a1 === undefined ? undefined : unescapeGlob(a1), transferFlags(s, c)))
        ? 'ok'
        : 'fail';
    case 'put':
    case 'reput':
      return (await processPut(s, a0 as string, a1 === undefined ? undefined : unescapeGlob(a1), transferFlags(s, c)))
        ? 'ok'
        : 'fail';
  }
  throw new SftpCommandError('Invalid command.');
}

/** chmod/chown/chgrp on every match of the pattern (`-h`: the link itself). */
async function changeAttrs(s: SftpSession, c: ParsedCommand): Promise<boolean> {
  const { sftp } = s;
  const noFollow = c.flags.has('h');
  const n = c.number ?? 0;
  let ok = true;
  for (const pattern of c.args) {
    for (const m of await glob(remoteFs(sftp), remoteAbsolute(pattern, s.pwd), true)) {
      if (s.aborted()) return false;
      try {
        if (c.name === 'chmod') {
          if (!s.quiet) s.print(`Changing mode on ${m.path}\n`);
          if (noFollow) await sftp.lsetstat(m.path, { mode: n & 0o7777 });
          else await sftp.setstat(m.path, { mode: n & 0o7777 });
          continue;
        }
        let st: Awaited<ReturnType<typeof sftp.stat>>;
        try {
          st = noFollow ? await sftp.lstat(m.path) : await sftp.stat(m.path);
        } catch (e) {
          s.err(`stat remote: ${fxText(e)}\n`);
          ok = false;
          continue;
        }
        if (st.uid === undefined || st.gid === undefined) {
          s.err(`Can't get current ownership of remote file "${m.path}"\n`);
          ok = false;
          continue;
        }
        const uid = c.name === 'chown' ? n : st.uid;
        const gid = c.name === 'chgrp' ? n : st.gid;
        if (!s.quiet) s.print(`Changing ${c.name === 'chown' ? 'owner' : 'group'} on ${m.path}\n`);
        if (noFollow) await sftp.lsetstat(m.path, { uid, gid });
        else await sftp.setstat(m.path, { uid, gid });
      } catch (e) {
        s.err(`remote setstat "${m.path}": ${fxText(e)}\n`);
        ok = false;
      }
    }
  }
  return ok;
}
