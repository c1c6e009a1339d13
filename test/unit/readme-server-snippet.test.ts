/**
 * The README's server example type-checks under `tsc --strict` as written (issue 11, item 1): the code
 * block under "### A server" is compiled against the package's source, with only the two names it leaves
 * to the reader (`allowed`, `checkPassword`) declared.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readmeBlock, typecheck } from '../helpers/typecheck.js';

test("the README's server example passes tsc --strict", async () => {
  const snippet = await readmeBlock('### A server');
  assert.match(snippet, /new Server\(/);
  const prelude = [
    "import type { PublicKey } from 'secsh';",
    'declare const allowed: PublicKey[];',
    'declare function checkPassword(user: string, password: string): Promise<boolean>;',
    '',
  ].join('\n');
  const r = await typecheck(`${prelude}${snippet}`);
  assert.equal(r.code, 0, r.output);
});
