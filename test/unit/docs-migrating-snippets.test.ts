/**
 * Every secsh snippet in docs/migrating.md (its ```ts blocks; the ssh2, node-ssh and
 * ssh2-sftp-client ones are ```js) type-checks under `tsc --strict` against the package's source, so
 * the guide cannot drift from the API. Each block becomes the body of its own async function, its
 * imports hoisted; the names a guide leaves to the reader (host, username, client, sftp, …) are
 * declared once, with the types the API would give them.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, typecheck } from '../helpers/typecheck.js';

/** The guide's snippets use the package's names without importing each one: the preamble does. */
async function preamble(): Promise<string> {
  const values = Object.keys(await import('../../src/index.js')).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n));
  return `
import { ${values.join(', ')} } from 'secsh';
import type { ExecRequest } from 'secsh';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
declare const host: string;
declare const username: string;
declare const password: string;
declare const passphrase: string;
declare const keyPath: string;
declare const hostKeyFingerprint: string;
declare const privateKey: PrivateKey;
declare const client: Client;
declare const sftp: SftpClient;
declare const pinned: Map<string, string>;
`;
}

test('every secsh snippet of docs/migrating.md type-checks under --strict', async () => {
  const guide = await readFile(join(ROOT, 'docs/migrating.md'), 'utf8');
  const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  assert.ok(blocks.length >= 10, `only ${blocks.length} ts blocks found`);
  const imports = new Set<string>();
  const bodies = blocks.map((b, i) => {
    const lines = b.split('\n');
    const body: string[] = [];
    for (const line of lines) {
      if (/^import\s/.test(line)) imports.add(line);
      else body.push(line);
    }
    return `export async function snippet${i + 1}(): Promise<void> {\n${body.join('\n')}\n}\n`;
  });
  // The preamble imports every name of the package and the two node: functions the guide uses.
  const hoisted = [...imports].filter((l) => !/from '(secsh|node:fs|node:net)';$/.test(l));
  const source = `${await preamble()}\n${hoisted.join('\n')}\n${bodies.join('\n')}`;
  const r = await typecheck(source);
  // Unused locals are fine in a guide; anything else is an error in the snippet.
  assert.equal(r.code, 0, `${r.output}\n--- source ---\n${source}`);
});
