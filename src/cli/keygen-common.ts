/**
 * What the `secsh keygen` modes share: the parsed options, ssh-keygen's ways of failing (one line on stderr,
 * exit 255 for fatal errors, 1 for the others), its prompts on stdin, and loading keys from files as
 * sshkey_load_public / load_identity do.
 */
import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import type { Certificate, FingerprintHash, PrivateKey, PublicKey, Signer } from '../keys/index.js';
import {
  bubblebabble,
  isCertificateType,
  parseCertificate,
  parsePrivateKey,
  parsePublicKey,
  parseSecurityKeyFile,
  publicKeyOfPrivateKeyFile,
  randomart,
  shortTypeName,
} from '../keys/index.js';

/** Ends the command: `message` (if any) on stderr, exit status `code` (ssh-keygen's fatal() is 255). */
export class KeygenExit extends Error {
  constructor(
    message: string,
    readonly code = 255,
  ) {
    super(message);
  }
}

/** ssh-keygen's fatal(): one line on stderr, exit 255. */
export function fatal(message: string): never {
  throw new KeygenExit(message, 255);
}

/** Parsed `secsh keygen` options (ssh-keygen's names). */
export interface KeygenOptions {
  quiet: boolean;
  verbose: number;
  fingerprint: boolean;
  bubblebabble: boolean;
  checkKrl: boolean;
  generic: boolean;
  genKrl: boolean;
  updateKrl: boolean;
  allHostKeys: boolean;
  showCert: boolean;
  changePassphrase: boolean;
  changeComment: boolean;
  exportKey: boolean;
  importKey: boolean;
  printPublic: boolean;
  hashHosts: boolean;
  hostCert: boolean;
  preferAgent: boolean;
  rounds: number | undefined;
  bits: number | undefined;
  comment: string | undefined;
  hash: FingerprintHash;
  file: string | undefined;
  findHost: string | undefined;
  deleteHost: string | undefined;
  keyId: string | undefined;
  format: 'RFC4716' | 'PKCS8' | 'PEM' | undefined;
  principals: string | undefined;
  newPassphrase: string | undefined;
  passphrase: string | undefined;
  options: string[];
  caKey: string | undefined;
  type: string | undefined;
  validity: string | undefined;
  signOp: string | undefined;
  serial: string | undefined;
  cipher: string | undefined;
  revoked: string | undefined;
  args: string[];
}

export const out = (s: string): boolean => process.stdout.write(s);
export const err = (s: string): boolean => process.stderr.write(s);

/** strerror() of the errno codes a file operation reports. */
export function strerror(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'No such file or directory';
    case 'EACCES':
      return 'Permission denied';
    case 'EISDIR':
      return 'Is a directory';
    case 'ENOTDIR':
      return 'Not a directory';
    case 'EEXIST':
      return 'File exists';
    case 'EPERM':
      return 'Operation not permitted';
    default:
      return e instanceof Error ? e.message : String(e);
  }
}

/** The type label sshkey_type prints: `ED25519`, `RSA`, … (`ED25519-CERT` for a certificate). */
export function typeLabel(key: PublicKey, cert?: Certificate): string {
  return shortTypeName(cert ? cert.certType : key.type);
}

/** The fingerprint `-l` prints: `-E`'s digest, or with `-B` the Bubble Babble of the SHA-1 digest. */
export function fingerprintText(o: KeygenOptions, key: PublicKey): string {
  return o.bubblebabble ? bubblebabble(createHash('sha1').update(key.blob).digest()) : key.fingerprint(o.hash);
}

/** The randomart of a key (a certificate's title says `-CERT`). */
export function randomartOf(key: PublicKey, hash: FingerprintHash, cert?: Certificate): string {
  return randomart(key.blob, typeLabel(key, cert), key.bits, hash);
}

// ---- stdin prompts (ssh-keygen reads file names and y/n answers with fgets(stdin)) ----

let pending = '';
let ended = false;

/** Reads one line from stdin without its newline; undefined at end of input. */
export function readStdinLine(): Promise<string | undefined> {
  const take = (): string | undefined => {
    const nl = pending.indexOf('\n');
    if (nl >= 0) {
      const line = pending.slice(0, nl).replace(/\r$/, '');
      pending = pending.slice(nl + 1);
      return line;
    }
    if (ended) {
      if (pending === '') return undefined;
      const line = pending;
      pending = '';
      return line;
    }
    return undefined;
  };
  const now = take();
  if (now !== undefined || ended) return Promise.resolve(now);
  return new Promise((resolve) => {
    const onData = (c: Buffer) => {
      pending += c.toString('utf8');
      if (pending.includes('\n')) finish();
    };
    const onEnd = () => {
      ended = true;
      finish();
    };
    const finish = () => {
      process.stdin.off('data', onData);
      process.stdin.off('end', onEnd);
      process.stdin.pause();
      resolve(take());
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', onEnd);
    process.stdin.resume();
  });
}

/**
 * Reads a passphrase as read_passphrase(RP_ALLOW_STDIN) does: on the terminal with echo off (prompt.ts), or,
 * with no terminal, one line of stdin — through the same reader as the other prompts, so answers piped in
 * one after the other are each read once and end of input gives an empty answer instead of a wait.
 */
export async function askPassphrase(prompt: string): Promise<string> {
  try {
    await (await open('/dev/tty', 'r')).close();
  } catch {
    err(prompt);
    return (await readStdinLine()) ?? '';
  }
  const { readPassphrase } = await import('./prompt.js'); // node:tty only when a prompt is shown
  return readPassphrase(prompt);
}

/** The default key file of a type, as ask_filename offers it. */
function defaultKeyFile(type: string | undefined): string {
  const t = type ?? 'rsa';
  const name = t.startsWith('ed25519-sk')
    ? 'id_ed25519_sk'
    : t.startsWith('ecdsa-sk')
      ? 'id_ecdsa_sk'
      : t.includes('ed25519')
        ? 'id_ed25519'
        : t.startsWith('ecdsa') || t.startsWith('ec')
          ? 'id_ecdsa'
          : t.startsWith('dsa') || t === 'ssh-dss'
            ? 'id_dsa'
            : 'id_rsa';
  return `${homedir()}/.ssh/${name}`;
}

/** ask_filename: prompts on stdout, reads a line from stdin (empty keeps the default); exit 1 at end of input. */
export async function askFilename(o: KeygenOptions, prompt: string): Promise<string> {
  const dflt = defaultKeyFile(o.type);
  out(`${prompt} (${dflt}): `);
  const line = await readStdinLine();
  if (line === undefined) throw new KeygenExit('', 1);
  o.file = line === '' ? dflt : line;
  return o.file;
}

/** The identity file: `-f`, or asked for. */
export async function identityFile(o: KeygenOptions, prompt = 'Enter file in which the key is'): Promise<string> {
  return o.file ?? (await askFilename(o, prompt));
}

/** confirm_overwrite: true when `path` does not exist or the user answers y. */
export async function confirmOverwrite(path: string): Promise<boolean> {
  try {
    await stat(path);
  } catch {
    return true;
  }
  out(`${path} already exists.\nOverwrite (y/n)? `);
  const line = await readStdinLine();
  return line !== undefined && (line.startsWith('y') || line.startsWith('Y'));
}

/** stat() the file or fail as ssh-keygen does: `path: strerror`. */
export async function mustExist(path: string, prefix = ''): Promise<void> {
  try {
    await stat(path);
  } catch (e) {
    fatal(`${prefix}${path}: ${strerror(e)}`);
  }
}

/** A public key or certificate read from a file, with its comment. */
export interface LoadedPublic {
  key: PublicKey;
  cert: Certificate | undefined;
  comment: string;
}

/** Parses `type base64 [comment]` (a plain key or a certificate); undefined when the line is not one. */
export function readKeyLine(line: string): LoadedPublic | undefined {
  const m = /^[ \t]*(\S+)[ \t]+([A-Za-z0-9+/]+={0,2})(?:[ \t]+([^\r\n]*))?/.exec(line);
  if (!m) return undefined;
  const [, type = '', b64 = '', comment = ''] = m;
  try {
    if (isCertificateType(type)) {
      const cert = parseCertificate(`${type} ${b64}`);
      return { key: cert.publicKey, cert, comment };
    }
    const key = parsePublicKey(`${type} ${b64}`);
    return { key, cert: undefined, comment };
  } catch {
    return undefined;
  }
}

async function tryLoadPublic(path: string): Promise<LoadedPublic | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('-----BEGIN') || line === 'SSH PRIVATE KEY FILE') break;
    const k = readKeyLine(line);
    if (k) return { ...k, comment: k.comment === '' ? path : k.comment };
  }
  return undefined;
}

/**
 * sshkey_load_public: the file as a public key line, else `path.pub`, else the public key in the clear of an
 * OpenSSH private key file. The comment is the line's, or the file name when the line has none; empty
 * for a key from a private key file.
 */
export async function loadPublic(path: string): Promise<LoadedPublic | undefined> {
  const direct = (await tryLoadPublic(path)) ?? (await tryLoadPublic(`${path}.pub`));
  if (direct) return direct;
  try {
    const key = publicKeyOfPrivateKeyFile(await readFile(path));
    return key ? { key, cert: undefined, comment: '' } : undefined;
  } catch {
    return undefined;
  }
}

/** The text of ssh_err() for a key that failed to load. */
export function keyErrorText(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'ERR_SSH_KEY_PASSPHRASE') return 'incorrect passphrase supplied to decrypt private key';
  if (code && /^E[A-Z]+$/.test(code)) return strerror(e);
  return 'invalid format';
}

function isPassphraseError(e: unknown): boolean {
  return (e as { code?: string }).code === 'ERR_SSH_KEY_PASSPHRASE';
}

/** Parses a private key file's bytes with `passphrase` (bcrypt rounds up to the library's maximum). */
function parseWith(data: Buffer, passphrase: string | undefined): PrivateKey {
  return parsePrivateKey(data, { ...(passphrase !== undefined ? { passphrase } : {}), maxKdfRounds: 10_000 });
}

/** Tries a private key without a passphrase: the key, `'encrypted'`, or the error. */
export async function tryLoadPrivate(path: string): Promise<PrivateKey | 'encrypted' | Error> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (e) {
    return e as Error;
  }
  try {
    return parseWith(data, undefined);
  } catch (e) {
    return isPassphraseError(e) ? 'encrypted' : (e as Error);
  } finally {
    data.fill(0);
  }
}

/** Parses an encrypted private key file with `passphrase`. */
export async function loadPrivateWith(path: string, passphrase: string): Promise<PrivateKey> {
  const data = await readFile(path);
  try {
    return parseWith(data, passphrase);
  } finally {
    data.fill(0);
  }
}

/**
 * load_identity: the private key, asking "Enter passphrase: " on the terminal (or using `-P`) when it is
 * encrypted; fails with `Load key "path": reason`.
 */
export async function loadIdentity(o: KeygenOptions, path: string): Promise<PrivateKey> {
  const first = await tryLoadPrivate(path);
  if (first === 'encrypted') {
    const pass = o.passphrase ?? (await askPassphrase('Enter passphrase: '));
    try {
      return await loadPrivateWith(path, pass);
    } catch (e) {
      fatal(`Load key "${path}": ${keyErrorText(e)}`);
    }
  }
  if (first instanceof Error) fatal(`Load key "${path}": ${keyErrorText(first)}`);
  return first;
}

/** A handle on the user's agent, for signing with a key it holds. */
export interface AgentHandle {
  /** The agent's signer for `key` (plain key or certificate), or undefined when it does not hold it. */
  signer: Signer | undefined;
  close(): void;
}

/**
 * Looks for `key` in the agent at `$SSH_AUTH_SOCK` (ssh_agent_has_key); undefined when there is no agent or it
 * cannot be reached. The public API's AgentClient is loaded only here.
 */
export async function agentSignerFor(key: PublicKey): Promise<AgentHandle | undefined> {
  if (!process.env.SSH_AUTH_SOCK) return undefined;
  const { AgentClient } = await import('../index.js');
  const agent = new AgentClient(process.env.SSH_AUTH_SOCK);
  try {
    const signers = await agent.signers();
    const signer = signers.find((s) => !('certificate' in s) && s.publicKey.equals(key));
    return { signer, close: () => agent.close() };
  } catch {
    agent.close();
    return undefined;
  }
}

/** A security-key (sk) private key file's public key and comment; undefined when the file is not one. */
export async function trySecurityKeyFile(
  path: string,
  passphrase?: string,
): Promise<{ key: PublicKey; comment: string } | undefined> {
  try {
    const f = parseSecurityKeyFile(await readFile(path), {
      ...(passphrase ? { passphrase } : {}),
      maxKdfRounds: 10_000,
    });
    return { key: f.publicKey, comment: f.comment };
  } catch {
    return undefined;
  }
}

/**
 * load_identity for `-y`: the public key and comment of a private key file, a software key or a security-key
 * (sk) file (whose secret stays on the token), asking for the passphrase when it is encrypted.
 */
export async function loadIdentityPublic(o: KeygenOptions, path: string): Promise<{ key: PublicKey; comment: string }> {
  const first = await tryLoadPrivate(path);
  if (first !== 'encrypted' && !(first instanceof Error)) return { key: first.publicKey, comment: first.comment };
  if (first instanceof Error) {
    const sk = await trySecurityKeyFile(path);
    if (sk) return sk;
    if (!(await publicKeyOfSkFile(path))) fatal(`Load key "${path}": ${keyErrorText(first)}`);
  }
  const pass = o.passphrase ?? (await askPassphrase('Enter passphrase: '));
  try {
    const key = await loadPrivateWith(path, pass);
    return { key: key.publicKey, comment: key.comment };
  } catch (e) {
    const sk =
      (e as { code?: string }).code === 'ERR_SSH_KEY_PASSPHRASE' ? undefined : await trySecurityKeyFile(path, pass);
    if (sk) return sk;
    fatal(`Load key "${path}": ${keyErrorText(e)}`);
  }
}

/** True when the file's clear public key is a security key (so its passphrase is worth asking for). */
async function publicKeyOfSkFile(path: string): Promise<boolean> {
  try {
    return publicKeyOfPrivateKeyFile(await readFile(path))?.isSecurityKey ?? false;
  } catch {
    return false;
  }
}
