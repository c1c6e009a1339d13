/**
 * `secsh keygen -k` (write a key revocation list from key files and `serial:`/`id:`/`hash:` specs, as
 * ssh-keygen -k) and `-Q` (which keys a KRL revokes).
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import type { PublicKey } from '../keys/index.js';
import { isKeyRevoked, isKrl, KrlBuilder, parseRevokedKeys } from '../keys/index.js';
import type { KeygenOptions } from './keygen-common.js';
import { fatal, loadPublic, out, readKeyLine, strerror } from './keygen-common.js';

/** do_check_krl: `file (comment): ok` or `: REVOKED` for each key; exit 1 when any is revoked. */
export async function checkKrl(o: KeygenOptions): Promise<number> {
  if (o.file === undefined || o.file === '') fatal('KRL checking requires an input file');
  if (o.fingerprint) fatal('secsh keygen: -Q -l (printing a KRL) is not supported');
  let data: Buffer;
  try {
    data = await readFile(o.file);
  } catch (e) {
    fatal(`Unable to load KRL ${o.file}: ${strerror(e)}`);
  }
  let list: ReturnType<typeof parseRevokedKeys>;
  try {
    if (!isKrl(data)) throw new Error('not a KRL');
    list = parseRevokedKeys(data);
  } catch {
    fatal(`Invalid KRL file ${o.file}: invalid format`);
  }
  let code = 0;
  for (const arg of o.args) {
    const pub = await loadPublic(arg);
    if (!pub) fatal(`Cannot load public key ${arg}: No such file or directory`);
    const revoked = isKeyRevoked(list, pub.key, pub.cert);
    const comment = pub.comment ? ` (${pub.comment})` : '';
    out(`${arg}${comment}: ${revoked ? 'REVOKED' : 'ok'}\n`);
    if (revoked) code = 1;
  }
  return code;
}

/** Parses a serial as strtoull(…, 0) does: decimal, 0x hex or 0 octal. */
function serialOf(s: string): bigint | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) return BigInt(s);
  if (/^0[0-7]*$/.test(s)) return BigInt(`0o${s.slice(1) || '0'}`);
  if (/^[1-9]\d*$/.test(s)) return BigInt(s);
  return undefined;
}

/** update_krl_from_file: one revocation per line (`serial:`, `id:`, `hash:`, `key:`, `sha1:`, `sha256:` or a key). */
async function revokeFrom(o: KeygenOptions, file: string, ca: PublicKey | undefined, wildCa: boolean, krl: KrlBuilder) {
  const path = file === '-' ? '(standard input)' : tilde(file);
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (e) {
    fatal(`fopen ${path}: ${strerror(e)}`);
  }
  if (!o.quiet) out(`Revoking from ${path}\n`);
  const lines = text.split('\n');
  for (let n = 1; n <= lines.length; n++) {
    let cp = (lines[n - 1] as string).replace(/^[ \t]+/, '');
    const hash = cp.indexOf('#');
    if (hash >= 0) cp = cp.slice(0, hash);
    cp = cp.replace(/[ \t]+$/, '');
    if (cp === '') continue;
    const lower = cp.toLowerCase();
    const rest = (k: number) => cp.slice(k).replace(/^[ \t]+/, '');
    if (lower.startsWith('serial:')) {
      if (!ca && !wildCa) fatal('revoking certificates by serial number requires specification of a CA key');
      const spec = rest(7);
      const [a = '', b] = spec.split('-', 2);
      const lo = serialOf(a);
      const hi = b === undefined ? lo : serialOf(b);
      if (lo === undefined || hi === undefined) fatal(`${path}:${n}: invalid serial "${spec}"`);
      if (lo > 0xffff_ffff_ffff_ffffn || hi > 0xffff_ffff_ffff_ffffn) fatal(`${path}:${n}: serial out of range`);
      if (b !== undefined && hi <= lo) fatal(`${path}:${n}: invalid serial range ${lo}:${hi}`);
      if (lo === 0n) fatal('do_gen_krl: revoke serial failed');
      krl.revokeSerials(ca, lo, hi);
    } else if (lower.startsWith('id:')) {
      if (!ca && !wildCa) fatal('revoking certificates by key ID requires specification of a CA key');
      krl.revokeKeyId(ca, rest(3));
    } else if (lower.startsWith('hash:')) {
      const h = rest(5);
      if (!h.startsWith('SHA256:')) fatal(`${file}:${n}: unsupported hash algorithm`);
      const raw = Buffer.from(h.slice(7), 'base64');
      if (raw.length !== 32) fatal(`${file}:${n}: decode hash failed: invalid format`);
      krl.revokeSha256(raw);
    } else {
      const kind = lower.startsWith('key:')
        ? 'key'
        : lower.startsWith('sha1:')
          ? 'sha1'
          : lower.startsWith('sha256:')
            ? 'sha256'
            : 'any';
      const body = kind === 'any' ? cp : rest(kind === 'sha256' ? 7 : kind === 'key' ? 4 : 5);
      const k = readKeyLine(body);
      if (!k) fatal(`${path}:${n}: invalid key: invalid format`);
      if (kind === 'key') krl.revokeKey(k.key);
      else if (kind === 'sha1') krl.revokeSha1(k.key);
      else if (kind === 'sha256') krl.revokeSha256(k.key);
      else krl.revokeKey(k.cert ?? k.key);
    }
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function tilde(path: string): string {
  return path === '~' || path.startsWith('~/') ? `${homedir()}${path.slice(1)}` : path;
}

/** `-k -f krl_file [-u] [-s ca_public|none] [-z version] [-C comment] file …`: writes (or with -u extends) a KRL. */
export async function generateKrl(o: KeygenOptions): Promise<number> {
  if (o.file === undefined || o.file === '') fatal('KRL generation requires an output file');
  let ca: PublicKey | undefined;
  const wildCa = o.caKey !== undefined && o.caKey.toLowerCase() === 'none';
  if (o.caKey !== undefined && !wildCa) {
    const pub = await loadPublic(tilde(o.caKey));
    if (!pub) fatal(`Cannot load CA public key ${tilde(o.caKey)}: No such file or directory`);
    ca = pub.key;
  }
  let version = 0n;
  if (o.serial !== undefined) {
    if (!/^\d+$/.test(o.serial)) fatal(`Invalid serial number "${o.serial}"`);
    version = BigInt(o.serial);
  }
  let exists = true;
  try {
    await stat(o.file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') fatal(`Cannot access KRL "${o.file}": ${strerror(e)}`);
    if (o.updateKrl) fatal(`KRL "${o.file}" does not exist`);
    exists = false;
  }
  let krl: KrlBuilder;
  if (o.updateKrl && exists) {
    try {
      krl = KrlBuilder.from(await readFile(o.file));
    } catch (e) {
      fatal(`Invalid KRL file ${o.file}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (version !== 0n) krl.version = version;
    if (o.comment !== undefined) krl.comment = o.comment;
  } else krl = new KrlBuilder({ version, ...(o.comment !== undefined ? { comment: o.comment } : {}) });
  for (const file of o.args) await revokeFrom(o, file, ca, wildCa, krl);
  try {
    await writeFile(o.file, krl.toBuffer());
  } catch (e) {
    fatal(`write ${o.file}: ${strerror(e)}`);
  }
  return 0;
}
