/** `secsh keygen` key generation (`-t -b -C -f -N -a -Z -m -q`), `-p` (new passphrase) and `-c` (new comment). */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { homedir, hostname, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { PrivateKey, PrivateKeyExportOptions } from '../keys/index.js';
import { generatePrivateKey, writeFileAtomic } from '../keys/index.js';
import type { KeygenOptions } from './keygen-common.js';
import {
  askFilename,
  askPassphrase,
  confirmOverwrite,
  err,
  fatal,
  KeygenExit,
  keyErrorText,
  loadPrivateWith,
  mustExist,
  out,
  readStdinLine,
  tryLoadPrivate,
} from './keygen-common.js';

/** OpenSSH-format ciphers ssh-keygen's `-Z` accepts (and the library writes). */
const CIPHERS = new Set([
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
  'aes128-cbc',
  'aes192-cbc',
  'aes256-cbc',
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com',
]);

type GenType = 'ed25519' | 'ecdsa' | 'rsa' | 'dsa';

/** sshkey_type_from_name for the types secsh generates; the curve name of `ecdsa-sha2-nistpN` sets the bits. */
function keyType(name: string): { type: GenType; curveBits?: number } {
  switch (name) {
    case 'ed25519':
    case 'ssh-ed25519':
      return { type: 'ed25519' };
    case 'rsa':
    case 'ssh-rsa':
      return { type: 'rsa' };
    case 'dsa':
    case 'ssh-dss':
      return { type: 'dsa' };
    case 'ecdsa':
      return { type: 'ecdsa' };
    case 'ecdsa-sha2-nistp256':
      return { type: 'ecdsa', curveBits: 256 };
    case 'ecdsa-sha2-nistp384':
      return { type: 'ecdsa', curveBits: 384 };
    case 'ecdsa-sha2-nistp521':
      return { type: 'ecdsa', curveBits: 521 };
    case 'ecdsa-sk':
    case 'ed25519-sk':
      fatal(`secsh keygen cannot enroll security keys (${name})`);
      break;
    default:
      fatal(`unknown key type ${name}`);
  }
}

/** type_bits_valid: the default size of a type, and ssh-keygen's refusals. */
function validBits(type: GenType, bits: number | undefined, curveBits: number | undefined): number {
  switch (type) {
    case 'dsa':
      if ((bits ?? 1024) !== 1024) fatal('Invalid DSA key length: must be 1024 bits');
      return 1024;
    case 'rsa': {
      const b = bits ?? 3072;
      if (b < 1024) fatal('Invalid RSA key length: minimum is 1024 bits');
      if (b > 16384) fatal('Invalid RSA key length: maximum is 16384 bits');
      return b;
    }
    case 'ecdsa': {
      const b = bits ?? curveBits ?? 256;
      if (b !== 256 && b !== 384 && b !== 521)
        fatal('Invalid ECDSA key length: valid lengths are 256, 384 or 521 bits');
      return b;
    }
    default:
      return 256;
  }
}

/** How ssh-keygen saves a private key with `-m`, `-Z` and `-a` (Ed25519 keys are always in OpenSSH format). */
function exportOptions(
  o: KeygenOptions,
  key: PrivateKey,
  passphrase: string,
  comment: string,
): PrivateKeyExportOptions {
  const plainOpenSSH = key.type === 'ssh-ed25519' || key.type === 'ssh-dss';
  const format =
    o.format === 'PEM' && !plainOpenSSH
      ? 'pem'
      : o.format === 'PKCS8' && key.type !== 'ssh-ed25519'
        ? 'pkcs8'
        : 'openssh';
  return {
    format,
    comment,
    ...(passphrase !== '' ? { passphrase } : {}),
    ...(o.rounds !== undefined ? { rounds: o.rounds } : {}),
    ...(o.cipher !== undefined ? { cipher: o.cipher } : {}),
  };
}

/** Writes the private key file (0600) as sshkey_save_private; exit 1 with ssh-keygen's message on failure. */
async function savePrivate(o: KeygenOptions, path: string, key: PrivateKey, passphrase: string, comment: string) {
  try {
    await writeFileAtomic(path, key.export(exportOptions(o, key, passphrase, comment)), 0o600);
  } catch (e) {
    err(`Saving key "${path}" failed: ${keyErrorText(e)}\n`);
    throw new KeygenExit('', 1);
  }
}

/** The `.pub` line ssh-keygen writes: the key, a space and the comment (a trailing space when it is empty). */
function publicLine(key: PrivateKey, comment: string): string {
  return `${key.type} ${key.publicKey.blob.toString('base64')} ${comment}\n`;
}

async function savePublic(path: string, key: PrivateKey, comment: string): Promise<void> {
  try {
    await writeFile(path, publicLine(key, comment), { mode: 0o644 });
  } catch (e) {
    fatal(`Unable to save public key to ${path}: ${keyErrorText(e)}`);
  }
}

/** read_check_passphrase: asks twice until both answers agree. */
async function askNewPassphrase(first: string, again: string): Promise<string> {
  for (;;) {
    const p1 = await askPassphrase(first);
    const p2 = await askPassphrase(again);
    if (p1 === p2) return p1;
    err('Passphrases do not match.  Try again.\n');
  }
}

/** hostfile_create_user_ssh_dir: makes ~/.ssh (0700) when the key goes there and it is missing. */
async function createUserSshDir(path: string, notify: boolean): Promise<void> {
  const dir = join(homedir(), '.ssh');
  if (dirname(path) !== dir) return;
  try {
    await stat(dir);
  } catch {
    try {
      await mkdir(dir, { mode: 0o700 });
      if (notify) err(`Created directory '${dir}'.\n`);
    } catch (e) {
      err(`Could not create directory '${dir}' (${keyErrorText(e)}).\n`);
    }
  }
}

function defaultComment(): string {
  let user = process.env.USER ?? '';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry
  }
  return `${user}@${hostname()}`;
}

/** Generates a key pair and saves it, printing what ssh-keygen prints. */
export async function generate(o: KeygenOptions): Promise<number> {
  const name = o.type ?? 'rsa';
  const { type, curveBits } = keyType(name);
  const bits = validBits(type, o.bits, curveBits);
  if (o.cipher !== undefined && !CIPHERS.has(o.cipher)) fatal(`Invalid OpenSSH-format cipher '${o.cipher}'`);
  if (!o.quiet) out(`Generating public/private ${name} key pair.\n`);
  const key = generatePrivateKey(type, type === 'ed25519' ? {} : { bits });
  const path = o.file ?? (await askFilename(o, 'Enter file in which to save the key'));
  await createUserSshDir(path, !o.quiet);
  if (!(await confirmOverwrite(path))) return 1;
  const passphrase =
    o.passphrase ??
    o.newPassphrase ??
    (await askNewPassphrase('Enter passphrase (empty for no passphrase): ', 'Enter same passphrase again: '));
  const comment = o.comment ?? defaultComment();
  await savePrivate(o, path, key, passphrase, comment);
  if (!o.quiet) out(`Your identification has been saved in ${path}\n`);
  await savePublic(`${path}.pub`, key, comment);
  if (!o.quiet) {
    out(`Your public key has been saved in ${path}.pub\n`);
    out('The key fingerprint is:\n');
    out(`${key.publicKey.fingerprint(o.hash)} ${comment}\n`);
    out("The key's randomart image is:\n");
    out(`${key.publicKey.randomart(o.hash)}\n`);
  }
  return 0;
}

/** Loads a private key for -p/-c: without a passphrase first, then with `pass()`; fatal `prefix: reason`. */
async function loadForChange(
  path: string,
  pass: () => Promise<string>,
  prefix: string,
): Promise<{ key: PrivateKey; passphrase: string; comment: string | undefined }> {
  // PEM files carry no comment: ssh-keygen's comment is then NULL ("No existing comment")
  const text = await readFile(path, 'latin1').catch(() => '');
  const commentOf = (k: PrivateKey) =>
    text.includes('-----BEGIN OPENSSH PRIVATE KEY-----') || text.startsWith('PuTTY') ? k.comment : undefined;
  const first = await tryLoadPrivate(path);
  if (first === 'encrypted') {
    const passphrase = await pass();
    try {
      const key = await loadPrivateWith(path, passphrase);
      return { key, passphrase, comment: commentOf(key) };
    } catch (e) {
      fatal(`${prefix}: ${keyErrorText(e)}`);
    }
  }
  if (first instanceof Error) fatal(`${prefix}: ${keyErrorText(first)}`);
  return { key: first, passphrase: '', comment: commentOf(first) };
}

/** `-p`: re-encrypts a private key with a new passphrase (`-P old -N new`, or asked on the terminal). */
export async function changePassphrase(o: KeygenOptions): Promise<number> {
  const path = o.file ?? (await askFilename(o, 'Enter file in which the key is'));
  await mustExist(path);
  const { key, comment: existing } = await loadForChange(
    path,
    async () => o.passphrase ?? (await askPassphrase('Enter old passphrase: ')),
    `Failed to load key ${path}`,
  );
  if (existing !== undefined) out(`Key has comment '${existing}'\n`);
  const comment = existing ?? '';
  let passphrase: string;
  if (o.newPassphrase !== undefined) passphrase = o.newPassphrase;
  else {
    const p1 = await askPassphrase('Enter new passphrase (empty for no passphrase): ');
    const p2 = await askPassphrase('Enter same passphrase again: ');
    if (p1 !== p2) {
      out('Pass phrases do not match.  Try again.\n');
      return 1;
    }
    passphrase = p1;
  }
  if (o.cipher !== undefined && !CIPHERS.has(o.cipher)) fatal(`Invalid OpenSSH-format cipher '${o.cipher}'`);
  await savePrivate(o, path, key, passphrase, comment);
  out('Your identification has been saved with the new passphrase.\n');
  return 0;
}

/** `-c`: changes the comment of an OpenSSH-format private key and rewrites its `.pub`. */
export async function changeComment(o: KeygenOptions): Promise<number> {
  const path = o.file ?? (await askFilename(o, 'Enter file in which the key is'));
  await mustExist(path);
  const {
    key,
    passphrase,
    comment: old,
  } = await loadForChange(
    path,
    async () => o.passphrase ?? o.newPassphrase ?? (await askPassphrase('Enter passphrase: ')),
    `Cannot load private key "${path}"`,
  );
  if (key.type !== 'ssh-ed25519' && o.format !== undefined && o.format !== 'RFC4716') {
    err('Comments are only supported for keys stored in the new format (-o).\n');
    return 1;
  }
  out(old === undefined ? 'No existing comment\n' : `Old comment: ${old}\n`);
  let comment: string;
  if (o.comment !== undefined) comment = o.comment;
  else {
    out('New comment: ');
    const line = await readStdinLine();
    if (line === undefined) return 1;
    comment = line;
  }
  if (old === comment) {
    out('No change to comment\n');
    return 0;
  }
  await savePrivate({ ...o, format: undefined }, path, key, passphrase, comment);
  await savePublic(`${path}.pub`, key, comment);
  out(comment.length > 0 ? `Comment '${comment}' applied\n` : 'Comment removed\n');
  return 0;
}

/** The host keys `-A` makes, in ssh-keygen's order (no DSA, as OpenSSH 9). */
const HOST_KEYS: { type: GenType; label: string; path: string }[] = [
  { type: 'rsa', label: 'RSA', path: '/etc/ssh/ssh_host_rsa_key' },
  { type: 'ecdsa', label: 'ECDSA', path: '/etc/ssh/ssh_host_ecdsa_key' },
  { type: 'ed25519', label: 'ED25519', path: '/etc/ssh/ssh_host_ed25519_key' },
];

/**
 * `-A`: makes each missing (or empty) host key under `-f prefix` (default `/`) without a passphrase, writing
 * both files under temporary names first, and prints "generating new host keys: RSA ECDSA ED25519" as
 * ssh-keygen does; a key that fails is reported and the others are still made.
 */
export async function generateHostKeys(o: KeygenOptions): Promise<number> {
  const prefix = o.file ?? '';
  let first = true;
  for (const spec of HOST_KEYS) {
    const prvFile = `${prefix}${spec.path}`;
    try {
      if ((await stat(prvFile)).size !== 0) continue;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        err(`Could not stat ${spec.path}: ${keyErrorText(e)}\n`);
        first = true;
        continue;
      }
    }
    if (first) out('secsh keygen: generating new host keys: ');
    first = false;
    out(`${spec.label} `);
    try {
      const key = generatePrivateKey(spec.type, spec.type === 'rsa' ? { bits: 3072 } : {});
      const comment = defaultComment();
      const format = exportOptions(o, key, '', comment);
      await writeFileAtomic(`${prvFile}.pub`, publicLine(key, comment), 0o644);
      await writeFileAtomic(prvFile, key.export(format), 0o600);
    } catch (e) {
      err(`Unable to save ${spec.path}: ${keyErrorText(e)}\n`);
      first = true;
    }
  }
  if (!first) out('\n');
  return 0;
}
