/**
 * The command line of sftp's interpreter: splitting a line into words as OpenSSH's makeargv
 * (quotes, backslashes, `#` comments, glob characters that were quoted kept escaped), the
 * `-` / `@` prefixes, and each command's flags and operands with sftp's messages.
 */

/** Thrown for a line that cannot be parsed; the message is sftp's. */
export class SftpArgError extends Error {}

/**
 * Splits `line` into words. Quoted or backslash-escaped glob characters (`*?[` and `\`) stay
 * escaped with a backslash, so that globbing treats them literally; {@link unescapeGlob} removes it.
 */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  let quote: '"' | "'" | undefined;
  const glob = (c: string | undefined) => c === '?' || c === '[' || c === '*';
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\') {
        const n = line[i + 1];
        if (n === quote) {
          cur += n;
          i++;
        } else if (glob(n) || n === '\\') {
          cur += `\\${n}`;
          i++;
        } else cur += c;
      } else if (glob(c)) cur += `\\${c}`;
      else cur += c;
      continue;
    }
    if (/\s/.test(c)) {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
    } else if (c === '"' || c === "'") {
      cur ??= '';
      quote = c;
    } else if (c === '\\') {
      cur ??= '';
      const n = line[i + 1];
      if (n === undefined) continue;
      cur += glob(n) || n === '\\' ? `\\${n}` : n;
      i++;
    } else if (c === '#') {
      break;
    } else {
      cur = (cur ?? '') + c;
    }
  }
  if (quote) throw new SftpArgError('Unterminated quoted argument');
  if (cur !== undefined) out.push(cur);
  return out;
}

/** Removes one level of glob escaping (`\*` → `*`, `\\` → `\`). */
export function unescapeGlob(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

/** True when `s` has an unescaped glob character. */
export function hasGlob(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

/** The commands, by every name they answer to. */
const NAMES: Record<string, string> = {
  bye: 'quit',
  quit: 'quit',
  exit: 'quit',
  cd: 'cd',
  chdir: 'cd',
  chgrp: 'chgrp',
  chmod: 'chmod',
  chown: 'chown',
  copy: 'copy',
  cp: 'copy',
  df: 'df',
  get: 'get',
  help: 'help',
  '?': 'help',
  lcd: 'lcd',
  lchdir: 'lcd',
  lls: 'lls',
  lmkdir: 'lmkdir',
  ln: 'ln',
  lpwd: 'lpwd',
  ls: 'ls',
  dir: 'ls',
  lumask: 'lumask',
  mkdir: 'mkdir',
  mget: 'get',
  mput: 'put',
  progress: 'progress',
  put: 'put',
  pwd: 'pwd',
  reget: 'reget',
  rename: 'rename',
  reput: 'reput',
  rm: 'rm',
  rmdir: 'rmdir',
  symlink: 'symlink',
  version: 'version',
  '!': 'shell',
};

/** The flags each command takes (getopt letters). */
const FLAGS: Record<string, string> = {
  get: 'afPpRr',
  put: 'afPpRr',
  reget: 'fPpRr',
  reput: 'fPpRr',
  ls: '1afhlnrSt',
  df: 'hi',
  ln: 's',
  chmod: 'h',
  chown: 'h',
  chgrp: 'h',
};

/** One parsed command: its canonical name, flags given, and operands (still glob-escaped). */
export interface ParsedCommand {
  name: string;
  /** What the user typed as the command word (for messages). */
  typed: string;
  flags: Set<string>;
  args: string[];
  /** For `!cmd`: the rest of the line as typed. */
  shellCommand?: string;
  /** chmod's mode, chown's uid, chgrp's gid, lumask's mask. */
  number?: number;
}

/** The prefixes of a batch line: `-` ignores the command's error, `@` does not echo it. */
export function stripPrefixes(line: string): { rest: string; ignoreErrors: boolean; noEcho: boolean } {
  let i = line.length - line.trimStart().length;
  let ignoreErrors = false;
  let noEcho = false;
  for (; i < line.length; i++) {
    if (line[i] === '-') ignoreErrors = true;
    else if (line[i] === '@') noEcho = true;
    else break;
  }
  return { rest: line.slice(i), ignoreErrors, noEcho };
}

/** Parses one command (prefixes already stripped); undefined for an empty line or a comment. */
export function parseCommand(text: string): ParsedCommand | undefined {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('!')) {
    return { name: 'shell', typed: '!', flags: new Set(), args: [], shellCommand: trimmed.slice(1) };
  }
  const words = splitWords(trimmed);
  const typed = words[0];
  if (typed === undefined) return undefined;
  const name = NAMES[typed];
  if (name === undefined) throw new SftpArgError('Invalid command.');
  const flags = new Set<string>();
  const allowed = FLAGS[name] ?? '';
  let i = 1;
  if (allowed !== '') {
    for (; i < words.length; i++) {
      const w = words[i] as string;
      if (w === '--') {
        i++;
        break;
      }
      if (!w.startsWith('-') || w === '-') break;
      for (const f of w.slice(1)) {
        if (!allowed.includes(f)) throw new SftpArgError(`${typed}: Invalid flag -${f}`);
        flags.add(f);
      }
    }
  }
  const args = words.slice(i);
  const cmd: ParsedCommand = { name, typed, flags, args };
  const need = (n: number, msg: string) => {
    if (args.length < n) throw new SftpArgError(msg);
  };
  switch (name) {
    case 'get':
    case 'put':
    case 'reget':
    case 'reput':
      need(1, `You must specify at least one path after a ${typed} command.`);
      break;
    case 'rename':
    case 'symlink':
    case 'copy':
    case 'ln':
      need(2, `You must specify two paths after a ${typed} command.`);
      cmd.args = args.slice(0, 2).map(unescapeGlob);
      break;
    case 'rm':
      need(1, `You must specify a path after a ${typed} command.`);
      break;
    case 'mkdir':
    case 'rmdir':
    case 'lmkdir':
      need(1, `You must specify a path after a ${typed} command.`);
      cmd.args = [unescapeGlob(args[0] as string)];
      break;
    case 'cd':
    case 'lcd':
      // Without a path: the remote start directory, or the local home.
      cmd.args = args.slice(0, 1).map(unescapeGlob);
      break;
    case 'chmod':
    case 'chown':
    case 'chgrp':
    case 'lumask': {
      const radix = name === 'chmod' || name === 'lumask' ? 8 : 10;
      const re = radix === 8 ? /^[0-7]+$/ : /^\d+$/;
      const v = args[0];
      if (v === undefined || !re.test(v)) {
        throw new SftpArgError(`You must supply a numeric argument to the ${typed} command.`);
      }
      cmd.number = Number.parseInt(v, radix);
      if (name === 'lumask') break;
      if (args.length < 2) throw new SftpArgError(`You must specify a path after a ${typed} command.`);
      cmd.args = args.slice(1);
      break;
    }
    case 'ls':
    case 'df':
      cmd.args = args.slice(0, 1);
      break;
  }
  return cmd;
}

/** The command names for TAB completion (what `help` lists). */
export const COMMAND_NAMES = [
  'bye',
  'cd',
  'chgrp',
  'chmod',
  'chown',
  'copy',
  'cp',
  'df',
  'exit',
  'get',
  'help',
  'lcd',
  'lls',
  'lmkdir',
  'ln',
  'lpwd',
  'ls',
  'lumask',
  'mkdir',
  'progress',
  'put',
  'pwd',
  'quit',
  'reget',
  'rename',
  'reput',
  'rm',
  'rmdir',
  'symlink',
  'version',
];

/** Commands whose operands are remote paths (first) and local ones (second), for completion. */
export const PATH_KINDS: Record<string, 'remote' | 'local' | 'remote-local' | 'local-remote'> = {
  cd: 'remote',
  chgrp: 'remote',
  chmod: 'remote',
  chown: 'remote',
  copy: 'remote',
  cp: 'remote',
  df: 'remote',
  get: 'remote-local',
  reget: 'remote-local',
  ln: 'remote',
  ls: 'remote',
  dir: 'remote',
  mkdir: 'remote',
  rename: 'remote',
  rm: 'remote',
  rmdir: 'remote',
  symlink: 'remote',
  lcd: 'local',
  lls: 'local',
  lmkdir: 'local',
  put: 'local-remote',
  reput: 'local-remote',
};

export const HELP_TEXT = `Available commands:
bye                                Quit sftp
cd path                            Change remote directory to 'path'
chgrp [-h] grp path                Change group of file 'path' to 'grp'
chmod [-h] mode path               Change permissions of file 'path' to 'mode'
chown [-h] own path                Change owner of file 'path' to 'own'
copy oldpath newpath               Copy remote file
cp oldpath newpath                 Copy remote file
df [-hi] [path]                    Display statistics for current directory or
                                   filesystem containing 'path'
exit                               Quit sftp
get [-afpR] remote [local]         Download file
help                               Display this help text
lcd path                           Change local directory to 'path'
lls [ls-options [path]]            Display local directory listing
lmkdir path                        Create local directory
ln [-s] oldpath newpath            Link remote file (-s for symlink)
lpwd                               Print local working directory
ls [-1afhlnrSt] [path]             Display remote directory listing
lumask umask                       Set local umask to 'umask'
mkdir path                         Create remote directory
progress                           Toggle display of progress meter
put [-afpR] local [remote]         Upload file
pwd                                Display remote working directory
quit                               Quit sftp
reget [-fpR] remote [local]        Resume download file
rename oldpath newpath             Rename remote file
reput [-fpR] local [remote]        Resume upload file
rm path                            Delete remote file
rmdir path                         Remove remote directory
symlink oldpath newpath            Symlink remote file
version                            Show SFTP version
!command                           Execute 'command' in local shell
!                                  Escape to local shell
?                                  Synonym for help
`;
