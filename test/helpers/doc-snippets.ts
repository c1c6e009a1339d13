/**
 * The documentation's code blocks as type-checkable sources: each function returns an ES module that
 * imports what the block leaves to the reader and declares the names it assumes.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, readmeBlock } from './typecheck.js';

/** The n-th ```ts block after the README heading `heading` (0 is the first). */
export async function readmeBlockAt(heading: string, n: number): Promise<string> {
  if (n === 0) return readmeBlock(heading);
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `README has no heading ${heading}`);
  const b = [...readme.slice(at).matchAll(/```ts\n([\s\S]*?)```/g)][n]?.[1];
  assert.ok(b, `no block ${n} under ${heading}`);
  return b;
}

/** The README's AgentServer example (the block that starts `const agentServer = new AgentServer`). */
export async function readmeAgentServerBlock(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const m = /```ts\n(const agentServer = new AgentServer[\s\S]*?)```/.exec(readme);
  assert.ok(m?.[1], 'the README has the AgentServer example');
  return m[1];
}

/** README "### A server", with the two names it leaves to the reader declared. */
export async function readmeServerSource(): Promise<string> {
  const snippet = await readmeBlock('### A server');
  assert.match(snippet, /new Server\(/);
  return [
    "import type { PublicKey } from 'secsh';",
    'declare const allowed: PublicKey[];',
    'declare function checkPassword(user: string, password: string): Promise<boolean>;',
    snippet,
  ].join('\n');
}

/** README "### Port forwarding": the client block (given a `client`) and the server block. */
export async function readmeForwardingSources(): Promise<{ client: string; server: string }> {
  const client = await readmeBlockAt('### Port forwarding', 0);
  const server = await readmeBlockAt('### Port forwarding', 1);
  assert.match(server, /forwarding: \{/);
  return {
    client: `import type { Client } from 'secsh';\ndeclare const client: Client;\n${client}`,
    server: [
      "import { Server, localProcessHandler, type AuthHandler, type PrivateKey } from 'secsh';",
      'declare const hostKeys: PrivateKey[];',
      'declare const authenticate: AuthHandler;',
      server,
    ].join('\n'),
  };
}

/** README's AgentServer example. */
export async function readmeAgentServerSource(): Promise<string> {
  return `import { AgentServer, generatePrivateKey } from 'secsh';\n${await readmeAgentServerBlock()}`;
}

/**
 * Every secsh snippet in docs/migrating.md (its ```ts blocks; the ssh2, node-ssh and
 * ssh2-sftp-client ones are ```js), each the body of its own async function with its imports hoisted;
 * the names the guide leaves to the reader are declared once, typed as the API would give them.
 */
export async function migratingGuideSource(): Promise<{ source: string; blocks: number }> {
  const values = Object.keys(await import('../../src/index.js')).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n));
  const preamble = `
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
  const guide = await readFile(join(ROOT, 'docs/migrating.md'), 'utf8');
  const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const imports = new Set<string>();
  const bodies = blocks.map((b, i) => {
    const body: string[] = [];
    for (const line of b.split('\n')) {
      if (/^import\s/.test(line)) imports.add(line);
      else body.push(line);
    }
    return `export async function snippet${i + 1}(): Promise<void> {\n${body.join('\n')}\n}\n`;
  });
  // The preamble imports every name of the package and the two node: functions the guide uses.
  const hoisted = [...imports].filter((l) => !/from '(secsh|node:fs|node:net)';$/.test(l));
  return { source: `${preamble}\n${hoisted.join('\n')}\n${bodies.join('\n')}`, blocks: blocks.length };
}
