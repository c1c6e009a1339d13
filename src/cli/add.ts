/**
 * `secsh add`: ssh-add against any agent — add keys (with lifetime, confirm and destination constraints)
 * and their certificates, list, delete, lock and unlock. Messages and exit codes follow ssh-add's.
 */
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { AddConstraints, AgentIdentity, Certificate, PrivateKey, PublicKey } from '../index.js';
import {
  AgentClient,
  KeyPassphraseError,
  parseCertificate,
  parseKey,
  parsePrivateKey,
  parsePublicKey,
} from '../index.js';
import type { AddOptions } from './add-options.js';
import { ADD_USAGE, AddUsageError, parseAddArgs, parseDestinations } from './add-options.js';
import type { Command } from './command.js';
import { PromptInterrupted, readPassphrase } from './prompt.js';

/** ssh-add's default identities, in its order. */
const DEFAULT_FILES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_dsa'];

/** `ED25519`, `ECDSA`, `RSA`, `DSA`, `ED25519-SK`, `ECDSA-SK` (with `-CERT`), as sshkey_type prints. */
function typeLabel(type: string, cert: boolean): string {
  const base =
    type === 'ssh-ed25519'
      ? 'ED25519'
      : type.startsWith('ecdsa-sha2-')
        ? 'ECDSA'
        : type === 'ssh-rsa'
          ? 'RSA'
          : type === 'ssh-dss'
            ? 'DSA'
            : type.startsWith('sk-ssh-ed25519')
              ? 'ED25519-SK'
              : type.startsWith('sk-ecdsa')
                ? 'ECDSA-SK'
                : type.toUpperCase();
  return cert ? `${base}-CERT` : base;
}

const err = (s: string) => process.stderr.write(s);
const out = (s: string) => process.stdout.write(s);

function agentReason(e: unknown): string {
  const m = (e as Error).message ?? String(e);
  return /refused/.test(m) ? 'agent refused operation' : m;
}

async function listIdentities(agent: AgentClient, o: AddOptions): Promise<number> {
  let ids: AgentIdentity[];
  try {
    ids = await agent.list();
  } catch (e) {
    err(`error fetching identities: ${agentReason(e)}\n`);
    return 1;
  }
  if (ids.length === 0) {
    out('The agent has no identities.\n');
    return 1;
  }
  for (const id of ids) {
    if (o.list === 'l') {
      out(`${id.key.bits} ${id.key.fingerprint(o.hash)} ${id.comment} (${typeLabel(id.key.type, !!id.certificate)})\n`);
    } else {
      const type = id.certificate ? id.certificate.certType : id.key.type;
      out(`${type} ${id.blob.toString('base64')} ${id.comment}\n`);
    }
  }
  return 0;
}

async function lockAgent(agent: AgentClient, lock: boolean): Promise<number> {
  const p1 = await readPassphrase('Enter lock password: ');
  if (lock) {
    const p2 = await readPassphrase('Again: ');
    if (p1 !== p2) {
      err('Passwords do not match.\n');
      return 1;
    }
  }
  try {
    if (lock) await agent.lock(p1);
    else await agent.unlock(p1);
  } catch (e) {
    err(`Failed to ${lock ? '' : 'un'}lock agent: ${agentReason(e)}\n`);
    return 1;
  }
  err(`Agent ${lock ? '' : 'un'}locked.\n`);
  return 0;
}

async function deleteAll(agent: AgentClient, o: AddOptions): Promise<number> {
  try {
    await agent.removeAll();
  } catch {
    err('Failed to remove all identities.\n');
    return 1;
  }
  if (!o.quiet) err('All identities removed.\n');
  return 0;
}

async function readMaybe(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The public key of `path`: its `.pub`, else the key file itself. */
async function loadPublic(path: string): Promise<{ key: PublicKey; comment: string }> {
  const pub = await readMaybe(`${path}.pub`);
  if (pub) {
    const k = parsePublicKey(pub.toString('utf8'));
    return { key: k, comment: k.comment };
  }
  const data = await readFile(path);
  const k = parseKey(data);
  const key = 'publicKey' in k ? k.publicKey : k;
  return { key, comment: key.comment };
}

async function deleteFile(agent: AgentClient, path: string, o: AddOptions): Promise<boolean> {
  let pub: { key: PublicKey; comment: string };
  try {
    pub = await loadPublic(path);
  } catch (e) {
    out(
      `Bad key file ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}\n`,
    );
    return false;
  }
  let ok = false;
  try {
    await agent.remove(pub.key);
    ok = true;
    if (!o.quiet) err(`Identity removed: ${path} ${typeLabel(pub.key.type, false)} (${pub.comment || 'no comment'})\n`);
  } catch (e) {
    err(`Could not remove identity "${path}": ${agentReason(e)}\n`);
  }
  if (o.keyOnly) return ok;
  const certPath = `${path}-cert.pub`;
  const cert = await loadCertificateBeside(certPath);
  if (!cert) return ok;
  try {
    await agent.remove(cert);
    ok = true;
    if (!o.quiet)
      err(`Identity removed: ${certPath} ${typeLabel(cert.publicKey.type, true)} (${cert.comment || 'no comment'})\n`);
  } catch (e) {
    err(`Could not remove identity "${certPath}": ${agentReason(e)}\n`);
  }
  return ok;
}

/** Remembers the last passphrase that worked, as ssh-add does, for the next file. */
interface PassCache {
  pass: string | undefined;
}

async function loadPrivate(
  path: string,
  data: Buffer,
  o: AddOptions,
  cache: PassCache,
): Promise<PrivateKey | undefined> {
  const attempt = (passphrase?: string): PrivateKey | undefined => {
    try {
      return parsePrivateKey(data, passphrase === undefined ? {} : { passphrase });
    } catch (e) {
      if (e instanceof KeyPassphraseError) return undefined;
      throw e;
    }
  };
  let key = attempt() ?? (cache.pass !== undefined ? attempt(cache.pass) : undefined);
  if (key) return key;
  cache.pass = undefined;
  const suffix = o.confirm ? ' (will confirm each use)' : '';
  let prompt = `Enter passphrase for ${path}${suffix}: `;
  for (;;) {
    const pass = await readPassphrase(prompt);
    if (pass === '') return undefined;
    key = attempt(pass);
    if (key) {
      cache.pass = pass;
      return key;
    }
    prompt = `Bad passphrase, try again for ${path}${suffix}: `;
  }
}

async function addFile(
  agent: AgentClient,
  path: string,
  o: AddOptions,
  constraints: AddConstraints,
  cache: PassCache,
): Promise<boolean> {
  let data: Buffer;
  try {
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0 && process.platform !== 'win32') {
      err(
        `@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @\n@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\nPermissions 0${(st.mode & 0o777).toString(8)} for '${path}' are too open.\nIt is required that your private key files are NOT accessible by others.\nThis private key will be ignored.\n`,
      );
      return false;
    }
    data = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    err(
      `${path}: ${code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : (e as Error).message}\n`,
    );
    return false;
  }
  let key: PrivateKey | undefined;
  try {
    key = await loadPrivate(path, data, o, cache);
  } catch (e) {
    if (e instanceof PromptInterrupted) throw e;
    err(`Error loading key "${path}": ${(e as Error).message}\n`);
    return false;
  } finally {
    data.fill(0);
  }
  if (!key) return false;
  const comment = key.comment || path;
  const notes = () => {
    if (o.lifetime) err(`Lifetime set to ${o.lifetime} seconds\n`);
    if (o.confirm) err('The user must confirm each use of the key\n');
  };
  let ok = false;
  try {
    await agent.add(key, { comment, constraints });
    ok = true;
    if (!o.quiet) {
      err(`Identity added: ${path} (${comment})\n`);
      notes();
    }
  } catch (e) {
    err(`Could not add identity "${path}": ${agentReason(e)}\n`);
  }
  if (o.keyOnly) return ok;
  const certPath = `${path}-cert.pub`;
  const cert = await loadCertificateBeside(certPath);
  if (!cert) return ok;
  if (!cert.publicKey.equals(key.publicKey)) {
    err(`Certificate ${certPath} does not match private key ${path}\n`);
    return ok;
  }
  try {
    await agent.add(key, { comment, constraints, certificate: cert });
    if (!o.quiet) {
      err(`Certificate added: ${certPath} (${cert.keyId})\n`);
      notes();
    }
  } catch (e) {
    err(`Certificate ${certPath} (${cert.keyId}) add failed: ${agentReason(e)}\n`);
  }
  return ok;
}

async function addOrDelete(agent: AgentClient, o: AddOptions): Promise<number> {
  const constraints: AddConstraints = {
    ...(o.lifetime ? { lifetime: o.lifetime } : {}),
    ...(o.confirm ? { confirm: true } : {}),
  };
  const destinations = await parseDestinations(o);
  if (destinations.length > 0) constraints.destinations = destinations;
  const cache: PassCache = { pass: undefined };
  const one = (path: string) => (o.deleting ? deleteFile(agent, path, o) : addFile(agent, path, o, constraints, cache));
  let status = 0;
  if (o.files.length > 0) {
    for (const f of o.files) if (!(await one(f))) status = 1;
    return status;
  }
  let count = 0;
  for (const name of DEFAULT_FILES) {
    const path = join(homedir(), '.ssh', name);
    try {
      await stat(path);
    } catch {
      continue;
    }
    if (await one(path)) count++;
    else status = 1;
  }
  return count === 0 ? 1 : status;
}

async function runAdd(args: string[]): Promise<number> {
  if (args.includes('--help')) {
    out(ADD_USAGE);
    return 0;
  }
  const agent = new AgentClient();
  try {
    if (!agent.socketPath) {
      err('Could not open a connection to your authentication agent.\n');
      return 2;
    }
    try {
      await agent.connect();
    } catch (e) {
      const m = (e as Error).message;
      const why = /ENOENT/.test(m) ? 'No such file or directory' : /ECONNREFUSED/.test(m) ? 'Connection refused' : m;
      err(`Error connecting to agent: ${why}\n`);
      return 2;
    }
    const o = parseAddArgs(args);
    if (o.lock) return await lockAgent(agent, o.lock === 'x');
    if (o.list) return await listIdentities(agent, o);
    if (o.deleteAll) return await deleteAll(agent, o);
    return await addOrDelete(agent, o);
  } catch (e) {
    if (e instanceof AddUsageError) {
      err(`${e.message.endsWith('\n') ? e.message : `${e.message}\n`}`);
      return e.code;
    }
    if (e instanceof PromptInterrupted) return 1;
    err(`secsh add: ${(e as Error).message}\n`);
    return 1;
  } finally {
    agent.close();
  }
}

/** The `secsh add` command. */
export const addCommand: Command = {
  summary: 'add, list, remove keys in an ssh-agent; lock and unlock it (like ssh-add)',
  run: runAdd,
};

/** The certificate at `certPath` (`<key>-cert.pub`), if there is one; a bad one is reported and skipped. */
async function loadCertificateBeside(certPath: string): Promise<Certificate | undefined> {
  const certText = await readMaybe(certPath);
  if (!certText) return undefined;
  try {
    return parseCertificate(certText.toString('utf8'));
  } catch (e) {
    err(`Failed to load certificate "${certPath}": ${(e as Error).message}\n`);
    return undefined;
  }
}
