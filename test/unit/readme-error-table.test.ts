/**
 * The README's error table lists every error code (issue 11, item 8): the codes are derived from the
 * SshErrorCode union in src/errors.ts, and each row's class is an SshError subclass exported by the
 * package root.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as secsh from '../../src/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The string literals of `export type SshErrorCode = | 'A' | 'B' …;` in src/errors.ts. */
async function codesInSource(): Promise<string[]> {
  const src = await readFile(join(ROOT, 'src/errors.ts'), 'utf8');
  const m = /export type SshErrorCode =([^;]+);/.exec(src);
  assert.ok(m?.[1], 'SshErrorCode union not found in src/errors.ts');
  return [...m[1].matchAll(/'([A-Z_]+)'/g)].map((x) => x[1] as string);
}

/** The rows of the table under "### Errors": [code, class]. */
async function readmeRows(): Promise<Array<[string, string]>> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('\n### Errors\n');
  assert.ok(at >= 0, 'README has no ### Errors section');
  const section = readme.slice(at + 1, readme.indexOf('\n### ', at + 1));
  return [...section.matchAll(/^\| `(ERR_SSH[A-Z_]*)` \| `(\w+)` \|/gm)].map((x) => [x[1] as string, x[2] as string]);
}

test("the README's error table lists exactly the codes of SshErrorCode, each once", async () => {
  const codes = await codesInSource();
  const rows = await readmeRows();
  assert.ok(codes.length >= 19, `only ${codes.length} codes found`);
  const listed = rows.map(([c]) => c);
  assert.equal(new Set(listed).size, listed.length, `a code is listed twice: ${listed.join(', ')}`);
  assert.deepEqual([...listed].sort(), [...codes].sort());
});

test("each class in the README's error table is an SshError exported by the package root", async () => {
  const exported = secsh as unknown as Record<string, unknown>;
  for (const [code, name] of await readmeRows()) {
    const cls = exported[name];
    assert.equal(typeof cls, 'function', `${name} (${code}) is not exported from the package root`);
    const proto = (cls as { prototype: unknown }).prototype;
    assert.ok(proto === secsh.SshError.prototype || proto instanceof secsh.SshError, `${name} is not an SshError`);
  }
});
