/**
 * `secsh keygen -Y sign|verify|find-principals|match-principals|check-novalidate`: SSHSIG signatures with
 * ssh-keygen's messages and exit codes (0 good, 255 refused or failed, 1 for missing arguments).
 */
import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import type { Certificate, PublicKey, Signer, SshSignature } from '../keys/index.js';
import {
  dearmorSshsig,
  findPrincipals,
  matchPrincipals,
  parseSshsig,
  parseSshsigTime,
  signSshsig,
  verifySshsig,
} from '../keys/index.js';
import type { KeygenOptions } from './keygen-common.js';
import {
  agentSignerFor,
  confirmOverwrite,
  err,
  fatal,
  KeygenExit,
  loadIdentity,
  loadPublic,
  out,
  strerror,
  tryLoadPrivate,
  typeLabel,
} from './keygen-common.js';

/** ssh-keygen's "error(); exit(1)" for a missing argument. */
function tooFew(message: string): never {
  throw new KeygenExit(message, 1);
}

/** What sig_process_opts accepts for each operation; `undefined` means refused (already reported). */
interface SigOpts {
  hashalg: string | undefined;
  verifyTime: number;
  printPubkey: boolean;
}

function sigOpts(
  o: KeygenOptions,
  allow: { hashalg?: boolean; verifyTime?: boolean; printPubkey?: boolean },
): SigOpts | undefined {
  const r: SigOpts = { hashalg: undefined, verifyTime: 0, printPubkey: false };
  for (const opt of o.options) {
    const lower = opt.toLowerCase();
    if (allow.hashalg && lower.startsWith('hashalg=')) r.hashalg = opt.slice(8);
    else if (allow.verifyTime && lower.startsWith('verify-time=')) {
      try {
        r.verifyTime = parseSshsigTime(opt.slice(12));
      } catch {
        err('Invalid "verify-time" option\n');
        return undefined;
      }
    } else if (allow.printPubkey && lower === 'print-pubkey') r.printPubkey = true;
    else {
      err(`Invalid option "${opt}"\n`);
      return undefined;
    }
  }
  if (r.verifyTime === 0) r.verifyTime = Math.floor(Date.now() / 1000);
  return r;
}

/** load_sign_key: the private key of a key, `.pub` or `-cert.pub` path, checked against `pub`. */
async function loadSignKey(o: KeygenOptions, keyPath: string, pub: PublicKey): Promise<Signer> {
  let privPath = keyPath;
  let wasPub = false;
  for (const suffix of ['-cert.pub', '.pub']) {
    if (privPath.length > suffix.length && privPath.endsWith(suffix)) {
      privPath = privPath.slice(0, -suffix.length);
      wasPub = true;
    }
  }
  if (wasPub) {
    try {
      await stat(privPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') fatal(`No private key found for public key "${keyPath}"`);
    }
  }
  const first = await tryLoadPrivate(privPath);
  if (first instanceof Error) fatal(`No private key found for "${privPath}"`);
  const key = first === 'encrypted' ? await loadIdentity(o, privPath) : first;
  if (!key.publicKey.equals(pub)) {
    err(`Public key ${keyPath} doesn't match private ${privPath}\n`);
    throw new KeygenExit('', 255);
  }
  return key;
}

/** The signer of `-Y sign`: the agent's when it holds the key (required with -U), else the private key file. */
async function signerFor(
  o: KeygenOptions,
  keyPath: string,
): Promise<{ signer: Signer; cert: Certificate | undefined; close(): void }> {
  const pub = await loadPublic(keyPath);
  if (!pub) {
    err(`Couldn't load public key ${keyPath}: No such file or directory\n`);
    throw new KeygenExit('', 255);
  }
  const agent = await agentSignerFor(pub.key);
  if (!agent && o.preferAgent) fatal("Couldn't get agent socket");
  if (agent?.signer) return { signer: agent.signer, cert: pub.cert, close: () => agent.close() };
  agent?.close();
  if (o.preferAgent) fatal("Couldn't find key in agent");
  return { signer: await loadSignKey(o, keyPath, pub.key), cert: pub.cert, close: () => undefined };
}

async function signOne(
  o: KeygenOptions,
  signer: { signer: Signer; cert: Certificate | undefined },
  file: string,
  namespace: string,
  hashalg: string | undefined,
): Promise<void> {
  const stdin = file === '-' || file === '(stdin)';
  if (!o.quiet) err(stdin ? 'Signing data on standard input\n' : `Signing file ${file}\n`);
  let data: NodeJS.ReadableStream;
  if (stdin) data = process.stdin;
  else {
    try {
      await stat(file);
      data = createReadStream(file);
    } catch (e) {
      err(`Cannot open ${file} for signing: ${strerror(e)}\n`);
      throw new KeygenExit('', 255);
    }
  }
  let armored: string;
  try {
    armored = await signSshsig(data as AsyncIterable<Buffer>, signer.signer, {
      namespace,
      ...(hashalg !== undefined ? { hashAlgorithm: hashalg as 'sha256' | 'sha512' } : {}),
      ...(signer.cert ? { certificate: signer.cert } : {}),
    });
  } catch (e) {
    err(`Signing ${file} failed: ${e instanceof Error ? e.message : String(e)}\n`);
    throw new KeygenExit('', 255);
  }
  if (stdin) {
    out(armored);
    return;
  }
  const sigFile = `${file}.sig`;
  if (!(await confirmOverwrite(sigFile))) return;
  try {
    await writeFile(sigFile, armored, { mode: 0o666 });
  } catch (e) {
    err(`Cannot open ${sigFile}: ${strerror(e)}\n`);
    throw new KeygenExit('', 255);
  }
  if (!o.quiet) err(`Write signature to ${sigFile}\n`);
}

/** `-Y sign -f key -n namespace [file …]`: writes `file.sig` for each file, or the signature of stdin to stdout. */
async function sign(o: KeygenOptions, keyPath: string, namespace: string): Promise<number> {
  if (o.args.includes('-') && o.args.length > 1) fatal('Cannot sign mix of paths and standard input');
  const opts = sigOpts(o, { hashalg: true });
  if (!opts) return 255;
  if (opts.hashalg !== undefined && opts.hashalg !== 'sha256' && opts.hashalg !== 'sha512') {
    err(`Signing ${o.args[0] ?? '(stdin)'} failed: invalid argument\n`);
    return 255;
  }
  const signer = await signerFor(o, keyPath);
  try {
    const files = o.args.length === 0 ? ['(stdin)'] : o.args;
    for (const f of files) await signOne(o, signer, f, namespace, opts.hashalg);
  } finally {
    signer.close();
  }
  return 0;
}

/** Reads and dearmors a signature file, reporting as ssh-keygen does. */
async function readSignature(path: string): Promise<SshSignature | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    err(`Couldn't read signature file: ${strerror(e)}\n`);
    return undefined;
  }
  try {
    dearmorSshsig(text);
  } catch (e) {
    const m = e instanceof Error ? e.message : '';
    err(
      /header/.test(m)
        ? "Couldn't parse signature: missing header\n"
        : /footer/.test(m)
          ? "Couldn't parse signature: missing footer\n"
          : `sshsig_dearmor: ${m}\n`,
    );
    return undefined;
  }
  try {
    return parseSshsig(text);
  } catch (e) {
    err(`Couldn't verify signature: ${e instanceof Error ? e.message : String(e)}\n`);
    return undefined;
  }
}

async function readAllowed(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    err(`Unable to open allowed keys file "${path}": ${strerror(e)}\n`);
    return undefined;
  }
}

/** ssh-keygen's words for the common verification failures; the library's message otherwise. */
function verifyFailure(e: unknown): string {
  const failure = (e as { failure?: string }).failure;
  if (failure === 'bad-signature') return 'Signature verification failed: incorrect signature';
  if (failure === 'namespace') return "Couldn't verify signature: namespace does not match";
  return e instanceof Error ? e.message : String(e);
}

/** `-Y verify` (with allowed signers) and `-Y check-novalidate` (without). */
async function verify(
  o: KeygenOptions,
  sigPath: string,
  namespace: string,
  principal: string | undefined,
  allowedPath: string | undefined,
): Promise<number> {
  let ok = false;
  let printed = '';
  let label = '';
  let fp = '';
  const opts = sigOpts(o, { verifyTime: true, printPubkey: true });
  if (opts) {
    const sig = await readSignature(sigPath);
    const allowed = allowedPath === undefined ? undefined : await readAllowed(allowedPath);
    let revoked: Buffer | undefined;
    let revokedOk = true;
    if (o.revoked !== undefined) {
      try {
        revoked = await readFile(o.revoked);
      } catch (e) {
        // a revocation list that cannot be read refuses every signature (sshkey_check_revoked)
        err(`Unable to read revoked keys file "${o.revoked}": ${strerror(e)}\n`);
        revokedOk = false;
      }
    }
    if (sig && revokedOk && (allowedPath === undefined || allowed !== undefined)) {
      try {
        const r = await verifySshsig(process.stdin, sig, {
          namespace,
          ...(allowed !== undefined ? { allowedSigners: allowed } : {}),
          ...(principal !== undefined ? { principal } : {}),
          at: opts.verifyTime * 1000,
          ...(revoked !== undefined ? { revokedKeys: revoked } : {}),
        });
        ok = true;
        label = typeLabel(r.publicKey, r.certificate);
        fp = r.publicKey.fingerprint(o.hash);
        const k = r.certificate ?? r.publicKey;
        printed = `${r.certificate ? r.certificate.certType : r.publicKey.type} ${k.blob.toString('base64')}\n`;
      } catch (e) {
        err(`${verifyFailure(e)}\n`);
      }
    }
  }
  if (!o.quiet) {
    if (!ok) out('Could not verify signature.\n');
    else if (principal === undefined) out(`Good "${namespace}" signature with ${label} key ${fp}\n`);
    else out(`Good "${namespace}" signature for ${principal} with ${label} key ${fp}\n`);
  }
  if (ok && opts?.printPubkey) out(printed);
  return ok ? 0 : 255;
}

/** `-Y find-principals -s sig -f allowed_signers`. */
async function findPrincipalsOp(o: KeygenOptions, sigPath: string, allowedPath: string): Promise<number> {
  let found: string[] = [];
  const opts = sigOpts(o, { verifyTime: true });
  if (opts) {
    const sig = await readSignature(sigPath);
    const allowed = sig ? await readAllowed(allowedPath) : undefined;
    if (sig && allowed !== undefined) {
      try {
        found = findPrincipals(sig, allowed, { at: opts.verifyTime * 1000 });
      } catch (e) {
        err(`sshsig_find_principal: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
  }
  if (found.length === 0) {
    err('No principal matched.\n');
    return 255;
  }
  for (const p of found) out(`${p}\n`);
  return 0;
}

/** `-Y match-principals -I principal -f allowed_signers`. */
async function matchPrincipalsOp(o: KeygenOptions, allowedPath: string, principal: string): Promise<number> {
  if (!sigOpts(o, {})) return 255;
  const allowed = await readAllowed(allowedPath);
  const found = allowed === undefined ? [] : matchPrincipals(allowed, principal);
  if (found.length === 0) {
    err('No principal matched.\n');
    return 255;
  }
  for (const p of found) out(`${p}\n`);
  return 0;
}

/** Dispatches `-Y op` as ssh-keygen does (operation names matched by prefix). */
export async function runSshsig(o: KeygenOptions): Promise<number> {
  const op = o.signOp as string;
  const ns = o.principals;
  if (op.startsWith('find-principals')) {
    if (o.caKey === undefined) tooFew('Too few arguments for find-principals:missing signature file');
    if (o.file === undefined) tooFew('Too few arguments for find-principals:missing allowed keys file');
    return findPrincipalsOp(o, o.caKey, o.file);
  }
  if (op.startsWith('match-principals')) {
    if (o.file === undefined) tooFew('Too few arguments for match-principals:missing allowed keys file');
    if (o.keyId === undefined) tooFew('Too few arguments for match-principals: missing principal ID');
    return matchPrincipalsOp(o, o.file, o.keyId);
  }
  if (op.startsWith('sign')) {
    if (!ns) tooFew('Too few arguments for sign: missing namespace');
    if (o.file === undefined) tooFew('Too few arguments for sign: missing key');
    return sign(o, o.file, ns);
  }
  if (op.startsWith('check-novalidate')) {
    if (!ns) tooFew('Too few arguments for check-novalidate: missing namespace');
    if (o.caKey === undefined) tooFew('Too few arguments for check-novalidate: missing signature file');
    return verify(o, o.caKey, ns, undefined, undefined);
  }
  if (op.startsWith('verify')) {
    if (!ns) tooFew('Too few arguments for verify: missing namespace');
    if (o.caKey === undefined) tooFew('Too few arguments for verify: missing signature file');
    if (o.file === undefined) tooFew('Too few arguments for sign: missing allowed keys file');
    if (o.keyId === undefined) tooFew('Too few arguments for verify: missing principal identity');
    return verify(o, o.caKey, ns, o.keyId, o.file);
  }
  const { KEYGEN_USAGE } = await import('./keygen.js');
  throw new KeygenExit(`Unsupported operation for -Y: "${op}"\n${KEYGEN_USAGE}`, 1);
}
