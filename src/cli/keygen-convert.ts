/** `secsh keygen -e` and `-i` with `-m RFC4716|PKCS8|PEM`: export and import public keys as ssh-keygen does. */
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import type { PublicKey } from '../keys/index.js';
import { parsePublicKey } from '../keys/index.js';
import type { KeygenOptions } from './keygen-common.js';
import { fatal, identityFile, loadIdentity, loadPublic, mustExist, out, strerror, typeLabel } from './keygen-common.js';

function whoami(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `${process.env.USER ?? ''}@${hostname()}`;
  }
}

/** do_convert_to_ssh2: RFC 4716 with ssh-keygen's "converted by" comment, cut to fit the 72-column header. */
function toRfc4716(blob: Buffer, label: string, bits: number): string {
  const comment = `${bits}-bit ${label}, converted by ${whoami()} from OpenSSH`.slice(0, 60);
  const b64 = blob.toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 70) body += `${b64.slice(i, i + 70)}\n`;
  return `---- BEGIN SSH2 PUBLIC KEY ----\nComment: "${comment}"\n${body}---- END SSH2 PUBLIC KEY ----\n`;
}

/** The PEM forms of `-m PKCS8` (SubjectPublicKeyInfo) and `-m PEM` (PKCS#1 for RSA, SPKI otherwise). */
function toPem(key: PublicKey, format: 'PKCS8' | 'PEM', label: string): string {
  if (key.type !== 'ssh-rsa' && key.type !== 'ssh-dss' && !key.type.startsWith('ecdsa-sha2-')) {
    fatal(`do_convert_to_${format.toLowerCase()}: unsupported key type ${label}`);
  }
  const ko = key.toKeyObject();
  const pkcs1 = format === 'PEM' && key.type === 'ssh-rsa';
  return ko.export(pkcs1 ? { type: 'pkcs1', format: 'pem' } : { type: 'spki', format: 'pem' }).toString();
}

/** `-e`: prints a public key (or the public half of a private key) in the `-m` format (RFC 4716 by default). */
export async function exportKey(o: KeygenOptions): Promise<number> {
  const file = await identityFile(o);
  await mustExist(file, 'secsh keygen: ');
  const pub = await loadPublic(file);
  let key: PublicKey;
  let blob: Buffer;
  let label: string;
  if (pub) {
    key = pub.key;
    blob = pub.cert ? pub.cert.blob : pub.key.blob;
    label = typeLabel(pub.key, pub.cert);
  } else {
    key = (await loadIdentity(o, file)).publicKey;
    blob = key.blob;
    label = typeLabel(key);
  }
  const format = o.format ?? 'RFC4716';
  out(format === 'RFC4716' ? toRfc4716(blob, label, key.bits) : toPem(key, format, label));
  return 0;
}

/** do_convert_from_ssh2: the base64 body of an RFC 4716 file (headers and their continuation lines skipped). */
function fromRfc4716(text: string, file: string): PublicKey {
  let encoded = '';
  let escaped = 0;
  for (const line of text.split(/\r?\n|\r/)) {
    if (line.length > 0 && line.endsWith('\\')) escaped++;
    if (line.startsWith('----') || line.includes(': ')) {
      if (line.includes('---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----')) {
        fatal(`${file}: SSH.COM private keys are not supported`);
      }
      if (line.includes(' END ')) break;
      continue;
    }
    if (escaped > 0) {
      escaped--;
      continue;
    }
    encoded += line;
  }
  if (encoded.length % 4 === 3 && encoded.endsWith('===')) encoded = encoded.slice(0, -3);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    fatal('do_convert_from_ssh2: base64 decode: invalid format');
  }
  try {
    return parsePublicKey(Buffer.from(encoded, 'base64'));
  } catch {
    fatal('do_convert_from_ssh2: parse key: invalid format');
  }
}

/** `-m PKCS8` (any SubjectPublicKeyInfo) and `-m PEM` (an RSA PKCS#1 public key). */
function fromPem(text: string, file: string, format: 'PKCS8' | 'PEM'): PublicKey {
  const want = format === 'PEM' ? 'RSA PUBLIC KEY' : 'PUBLIC KEY';
  if (!text.includes(`-----BEGIN ${want}-----`)) {
    fatal(
      format === 'PEM'
        ? 'do_convert_from_pem: unrecognised raw private key format'
        : `do_convert_from_pkcs8: ${file} is not a recognised public key format`,
    );
  }
  try {
    const spki = createPublicKey({ key: text, format: 'pem' }).export({ type: 'spki', format: 'pem' }).toString();
    return parsePublicKey(spki);
  } catch {
    fatal(`do_convert_from_${format.toLowerCase()}: ${file} is not a recognised public key format`);
  }
}

/** `-i`: reads a key in the `-m` format (RFC 4716 by default) and prints it as an OpenSSH public key line. */
export async function importKey(o: KeygenOptions): Promise<number> {
  const file = await identityFile(o);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    fatal(`secsh keygen: ${file}: ${strerror(e)}`);
  }
  const format = o.format ?? 'RFC4716';
  const key = format === 'RFC4716' ? fromRfc4716(text, file) : fromPem(text, file, format);
  out(`${key.type} ${key.blob.toString('base64')}\n`);
  return 0;
}
