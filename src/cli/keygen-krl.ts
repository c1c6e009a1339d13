/** `secsh keygen -Q -f krl_file file …`: which keys a key revocation list (as `ssh-keygen -k` writes it) revokes. */
import { readFile } from 'node:fs/promises';
import { isKeyRevoked, isKrl, parseRevokedKeys } from '../keys/index.js';
import type { KeygenOptions } from './keygen-common.js';
import { fatal, loadPublic, out, strerror } from './keygen-common.js';

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
