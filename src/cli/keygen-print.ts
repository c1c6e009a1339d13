/**
 * `secsh keygen -l [-v] [-E hash]` and `-B` (fingerprints of key files, authorized_keys, known_hosts), `-y`
 * (the public key of a private key) and `-r` (SSHFP records).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Certificate, PublicKey } from '../keys/index.js';
import type { KeygenOptions } from './keygen-common.js';
import {
  err,
  fatal,
  fingerprintText,
  identityFile,
  loadIdentityPublic,
  loadPublic,
  mustExist,
  out,
  randomartOf,
  readKeyLine,
  strerror,
  tryLoadPrivate,
  trySecurityKeyFile,
  typeLabel,
} from './keygen-common.js';

/** fingerprint_one_key: `bits fingerprint comment (TYPE)`, and the randomart under -v. */
function printOne(o: KeygenOptions, key: PublicKey, cert: Certificate | undefined, comment: string | undefined): void {
  out(`${key.bits} ${fingerprintText(o, key)} ${comment ?? 'no comment'} (${typeLabel(key, cert)})\n`);
  if (o.verbose > 0) out(`${randomartOf(key, o.hash, cert)}\n`);
}

/** fingerprint_private: the key of a private key file, with the comment of its .pub or of the key itself. */
async function fingerprintPrivate(o: KeygenOptions, path: string): Promise<number> {
  await mustExist(path);
  const pub = await loadPublic(path);
  let comment = pub?.comment;
  let key = pub?.key;
  if (!pub || !comment) {
    const priv = await tryLoadPrivate(path);
    if (priv !== 'encrypted' && !(priv instanceof Error)) {
      key = priv.publicKey;
      comment = priv.comment;
    } else {
      const sk = await trySecurityKeyFile(path);
      key = sk?.key ?? key;
      comment = sk?.comment;
    }
  }
  if (!key) fatal(`${path} is not a key file.`);
  printOne(o, key, pub?.cert, comment === '' ? undefined : comment);
  return 0;
}

/**
 * Skips the leading field of an authorized_keys or known_hosts line (options or host names, with quoted
 * parts) as do_fingerprint does; returns it and the rest, or undefined when nothing follows.
 */
function splitLeading(line: string): { first: string; rest: string } | undefined {
  let quoted = false;
  let i = 0;
  for (; i < line.length && (quoted || (line[i] !== ' ' && line[i] !== '\t')); i++) {
    if (line[i] === '\\' && line[i + 1] === '"') i++;
    else if (line[i] === '"') quoted = !quoted;
  }
  if (i >= line.length) return undefined;
  return { first: line.slice(0, i), rest: line.slice(i + 1) };
}

/** `-l`: fingerprints every key in a file (public keys, authorized_keys, known_hosts), or of a private key. */
export async function printFingerprints(o: KeygenOptions): Promise<number> {
  const file = await identityFile(o);
  let text: string;
  const path = file === '-' ? '(stdin)' : file;
  try {
    text = file === '-' ? await readAll() : await readFile(file, 'utf8');
  } catch (e) {
    fatal(`secsh keygen: ${path}: ${strerror(e)}`);
  }
  let invalid = true;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (let n = 0; n < lines.length; n++) {
    const cp = (lines[n] as string).replace(/^[ \t]+/, '');
    if (cp.startsWith('#') || cp === '') continue;
    if (n === 0 && file !== '-' && cp.includes('PRIVATE KEY')) return fingerprintPrivate(o, file);
    let comment: string | undefined;
    let k = readKeyLine(cp);
    if (!k) {
      let rest = cp;
      const m = /^(\d+)[ \t]/.exec(cp);
      if (!m || Number(m[1]) === 0) {
        const split = splitLeading(cp);
        if (!split) continue;
        comment = split.first;
        rest = split.rest;
      }
      k = readKeyLine(rest);
      if (!k) continue;
    }
    const trailing = k.comment.replace(/^[ \t]+/, '');
    if (trailing !== '' && !trailing.startsWith('#')) comment = trailing;
    printOne(o, k.key, k.cert, comment);
    invalid = false;
  }
  if (invalid) fatal(`${path} is not a public key file.`);
  return 0;
}

async function readAll(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `-y`: the public key of a private key file, with its comment. */
export async function printPublic(o: KeygenOptions): Promise<number> {
  const file = await identityFile(o);
  await mustExist(file);
  const { key, comment } = await loadIdentityPublic(o, file);
  const line = `${key.type} ${key.blob.toString('base64')}`;
  out(comment ? `${line} ${comment}\n` : `${line}\n`);
  return 0;
}

/** SSHFP algorithm numbers (RFC 4255, 6594, 7479). */
const SSHFP_ALGORITHM: Record<string, number> = {
  'ssh-rsa': 1,
  'ssh-dss': 2,
  'ecdsa-sha2-nistp256': 3,
  'ecdsa-sha2-nistp384': 3,
  'ecdsa-sha2-nistp521': 3,
  'ssh-ed25519': 4,
};

/** export_dns_rr: the SHA-1 and SHA-256 SSHFP records of a key (`-g`: RFC 3597 generic form). */
function sshfpRecords(host: string, key: PublicKey, generic: boolean): string | undefined {
  const alg = SSHFP_ALGORITHM[key.type];
  if (alg === undefined) return undefined;
  let s = '';
  for (const [type, hash] of [
    [1, 'sha1'],
    [2, 'sha256'],
  ] as const) {
    const digest = createHash(hash).update(key.blob).digest();
    const hex = (n: number) => n.toString(16).padStart(2, '0');
    s += generic
      ? `${host} IN TYPE44 \\# ${2 + digest.length} ${hex(alg)} ${hex(type)} `
      : `${host} IN SSHFP ${alg} ${type} `;
    s += `${digest.toString('hex')}\n`;
  }
  return s;
}

/** do_print_resource_record for one file: 0 when it does not exist. */
async function printRecord(o: KeygenOptions, path: string, host: string): Promise<number> {
  try {
    await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    fatal(`${path}: ${strerror(e)}`);
  }
  const pub = await loadPublic(path);
  if (!pub) fatal(`Failed to read v2 public key from "${path}": invalid format`);
  const records = pub.cert ? undefined : sshfpRecords(host, pub.key, o.generic);
  // (a key with no SSHFP form is reported but still counts as found, as in ssh-keygen)
  if (records === undefined) err('export_dns_rr: unsupported algorithm and/or digest_type\n');
  else out(records);
  return 1;
}

/** `-r hostname [-g] [-f key]`: SSHFP DNS records of a key, or of the host keys in /etc/ssh. */
export async function printSshfp(o: KeygenOptions, host: string): Promise<number> {
  if (o.file !== undefined) {
    if ((await printRecord(o, o.file, host)) === 0) fatal(`${o.file}: No such file or directory`);
    return 0;
  }
  let n = 0;
  for (const type of ['rsa', 'dsa', 'ecdsa', 'ed25519', 'xmss']) {
    n += await printRecord(o, `/etc/ssh/ssh_host_${type}_key`, host);
  }
  if (n === 0) fatal('no keys found.');
  return 0;
}
