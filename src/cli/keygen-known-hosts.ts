/**
 * `secsh keygen -F host` (find), `-R host` (remove, keeping `file.old`) and `-H` (hash every name) on a
 * known_hosts file, line for line as ssh-keygen's hostkeys_foreach callbacks do.
 */

import { createHmac, randomBytes } from 'node:crypto';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { matchSshPatternList } from '../keys/index.js';
import type { KeygenOptions, LoadedPublic } from './keygen-common.js';
import {
  err,
  fatal,
  fingerprintText,
  KeygenExit,
  out,
  randomartOf,
  readKeyLine,
  strerror,
  typeLabel,
} from './keygen-common.js';

/** Key type names sshkey_type_from_name knows (plain and certificate). */
const KEY_TYPES = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ssh-dss',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'ssh-ed25519-cert-v01@openssh.com',
  'ssh-rsa-cert-v01@openssh.com',
  'ssh-dss-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'sk-ssh-ed25519-cert-v01@openssh.com',
  'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ssh-xmss@openssh.com',
  'ssh-xmss-cert-v01@openssh.com',
]);

type Marker = 'none' | 'ca' | 'revoked';

/** One line as hostkeys_foreach hands it to its callback. */
interface HostLine {
  line: string;
  num: number;
  status: 'comment' | 'ok' | 'matched' | 'invalid';
  marker: Marker;
  hosts: string;
  rawkey: string;
  key: LoadedPublic | undefined;
}

/** host_hash: `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, with a fresh 20-byte salt unless given. */
function hashName(name: string, salt: Buffer = randomBytes(20)): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

/** match_hostname: the pattern list against the name, both lowercased. */
function hostMatches(host: string, patterns: string): boolean {
  return matchSshPatternList(host.toLowerCase(), patterns.toLowerCase()) === 1;
}

/** host_hash compared with a `|1|salt|hash` field; -1 when the field is not a valid hash. */
function matchHashed(host: string, field: string): 0 | 1 | -1 {
  const parts = field.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return -1;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  if (salt.length !== 20) return -1;
  return hashName(host, salt) === field ? 1 : 0;
}

/** hostkeys_foreach_file over the text, with `host` to match and whether only matches are wanted. */
function* foreach(text: string, host: string | undefined, wantMatch: boolean, parseKey: boolean): Generator<HostLine> {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let num = 0;
  for (const line of lines) {
    num++;
    const l: HostLine = { line, num, status: 'ok', marker: 'none', hosts: '', rawkey: '', key: undefined };
    let cp = line.replace(/^[ \t]+/, '');
    if (cp === '' || cp.startsWith('#')) {
      if (!wantMatch) yield { ...l, status: 'comment' };
      continue;
    }
    if (cp.startsWith('@')) {
      const m = /^@(cert-authority|revoked)[ \t]+/.exec(cp);
      if (!m) {
        if (!wantMatch) yield { ...l, status: 'invalid' };
        continue;
      }
      l.marker = m[1] === 'revoked' ? 'revoked' : 'ca';
      cp = cp.slice(m[0].length);
    }
    const end = cp.search(/[ \t]/);
    l.hosts = end < 0 ? cp : cp.slice(0, end);
    let rest = end < 0 ? '' : cp.slice(end + 1);
    if (host !== undefined) {
      const s = l.hosts.startsWith('|') ? matchHashed(host, l.hosts) : hostMatches(host, l.hosts) ? 1 : 0;
      if (s === -1) {
        yield { ...l, status: 'invalid' };
        continue;
      }
      if (s === 1) l.status = 'matched';
      if (wantMatch && l.status !== 'matched') continue;
    }
    rest = rest.replace(/^[ \t]+/, '');
    if (rest === '' || rest.startsWith('#')) {
      yield { ...l, status: 'invalid' };
      continue;
    }
    l.rawkey = rest;
    if (parseKey) {
      l.key = readKeyLine(rest);
      if (!l.key) {
        yield { ...l, status: 'invalid' };
        continue;
      }
    } else {
      const typeLen = rest.search(/[ \t]/);
      const type = typeLen < 0 ? rest : rest.slice(0, typeLen);
      const after = typeLen < 0 ? '' : rest.slice(typeLen).replace(/^[ \t]+/, '');
      if (typeLen <= 1 || !KEY_TYPES.has(type) || after === '' || after.startsWith('#')) {
        yield { ...l, status: 'invalid' };
        continue;
      }
    }
    yield l;
  }
}

interface Ctx {
  o: KeygenOptions;
  path: string;
  host: string | undefined;
  out: string[];
  hasUnhashed: boolean;
  found: boolean;
  invalid: boolean;
}

/** known_hosts_hash: hashes each name of a plain line; keeps hashed, wildcard and marked lines as they are. */
function hashLine(ctx: Ctx, l: HostLine, find: boolean): void {
  if (l.status === 'ok' || l.status === 'matched') {
    const wild = /[*?!]/.test(l.hosts);
    if (l.hosts.startsWith('|') || wild || l.marker !== 'none') {
      ctx.out.push(`${l.line}\n`);
      if (wild && !find) err(`${ctx.path}:${l.num}: ignoring host name with wildcard: ${l.hosts.slice(0, 64)}\n`);
      return;
    }
    for (const name of l.hosts.split(',')) {
      if (name === '') break;
      ctx.out.push(`${hashName(name.toLowerCase())} ${l.rawkey}\n`);
      ctx.hasUnhashed = true;
    }
    return;
  }
  if (l.status === 'invalid') {
    ctx.invalid = true;
    err(`${ctx.path}:${l.num}: invalid line\n`);
  }
  ctx.out.push(`${l.line}\n`);
}

/** known_hosts_find_delete. */
function findDelete(ctx: Ctx, l: HostLine, find: boolean, del: boolean): void {
  const { o } = ctx;
  if (l.status === 'matched') {
    if (del) {
      if (l.marker !== 'none') ctx.out.push(`${l.line}\n`);
      else {
        ctx.found = true;
        if (!o.quiet) out(`# Host ${ctx.host} found: line ${l.num}\n`);
      }
      return;
    }
    if (find) {
      ctx.found = true;
      if (!o.quiet) {
        const tag = l.marker === 'ca' ? 'CA' : l.marker === 'revoked' ? 'REVOKED' : '';
        out(`# Host ${ctx.host} found: line ${l.num} ${tag}\n`);
      }
      if (o.hashHosts) hashLine(ctx, l, true);
      else if (o.fingerprint && l.key) {
        const { key, cert, comment } = l.key;
        out(`${ctx.host} ${typeLabel(key, cert)} ${fingerprintText(o, key)}${comment ? ' ' : ''}${comment}\n`);
        if (o.verbose > 0) out(`${randomartOf(key, o.hash, cert)}\n`);
      } else ctx.out.push(`${l.line}\n`);
    }
    return;
  }
  if (del) {
    if (l.status === 'invalid') {
      ctx.invalid = true;
      err(`${ctx.path}:${l.num}: invalid line\n`);
    }
    ctx.out.push(`${l.line}\n`);
  }
}

/** Writes the new file next to the old one (mode of the old & 0644), keeps `file.old` and renames into place. */
async function replaceFile(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${Math.random().toString(36).slice(2, 12).padEnd(10, 'X')}`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(text);
    await fh.chmod(mode & 0o644);
  } finally {
    await fh.close();
  }
  const old = `${path}.old`;
  try {
    await unlink(old);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      await unlink(tmp).catch(() => undefined);
      fatal(`unlink ${old}: ${strerror(e)}`);
    }
  }
  try {
    await link(path, old);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    fatal(`link ${path} to ${old}: ${strerror(e)}`);
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    err(`rename"${tmp}" to "${path}": ${strerror(e)}\n`);
    await unlink(tmp).catch(() => undefined);
    await unlink(old).catch(() => undefined);
    throw new KeygenExit('', 1);
  }
}

/** do_known_hosts: `-F`, `-R`, `-H` (and `-HF`, `-lF`). */
export async function knownHosts(o: KeygenOptions): Promise<number> {
  const path = o.file ?? `${homedir()}/.ssh/known_hosts`;
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (e) {
    fatal(`Cannot stat ${path}: ${strerror(e)}`);
  }
  const find = o.findHost !== undefined;
  const del = o.deleteHost !== undefined;
  const host = o.findHost ?? o.deleteHost;
  const text = await readFile(path, 'utf8');
  const ctx: Ctx = { o, path, host, out: [], hasUnhashed: false, found: false, invalid: false };
  const inplace = !find && (o.hashHosts || del);
  for (const l of foreach(text, host, find, o.fingerprint)) {
    if (find || !o.hashHosts) findDelete(ctx, l, find, del);
    else hashLine(ctx, l, false);
    if (!inplace && ctx.out.length > 0) out(ctx.out.splice(0).join(''));
  }
  if (ctx.invalid) {
    err(`${path} is not a valid known_hosts file.\n`);
    if (inplace) err('Not replacing existing known_hosts file because of errors\n');
    return 1;
  }
  if (del && !ctx.found) {
    err(`Host ${host} not found in ${path}\n`);
  } else if (inplace) {
    await replaceFile(path, ctx.out.join(''), mode);
    out(`${path} updated.\nOriginal contents retained as ${path}.old\n`);
    if (ctx.hasUnhashed) {
      err(`WARNING: ${path}.old contains unhashed entries\n`);
      err('Delete this file to ensure privacy of hostnames\n');
    }
  }
  return find && !ctx.found ? 1 : 0;
}
