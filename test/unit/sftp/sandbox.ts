/** A scratch directory for LocalFsBackend confinement tests, and an assertion on SFTP failures. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SftpError } from '../../../src/sftp/errors.js';

/**
 * A new temporary `base` directory (the caller removes it) holding an empty `root` to serve and,
 * beside the root, a host file `secret` with the 7 bytes 'outside' that nothing inside may reach.
 */
export async function sandbox(prefix: string): Promise<{ base: string; root: string }> {
  const base = await mkdtemp(join(tmpdir(), prefix));
  const root = join(base, 'root');
  await mkdir(root);
  await writeFile(join(base, 'secret'), 'outside');
  return { base, root };
}

/** Asserts that `p` rejects with an SftpError of `status` (and of `nodeCode`, when given). */
export async function rejectsWith(p: Promise<unknown>, status: number, nodeCode?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof SftpError, String(e));
    assert.equal(e.status, status, e.message);
    if (nodeCode) assert.equal(e.nodeCode, nodeCode);
    return true;
  });
}
