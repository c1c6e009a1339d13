/**
 * The README's server example type-checks under `tsc --strict` as written (issue 11, item 1): the code
 * block under "### A server" is compiled against the package's source, with only the two names it leaves
 * to the reader (`allowed`, `checkPassword`) declared.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The first ```ts block after the heading `heading` in the README. */
export async function readmeBlock(heading: string): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `README has no heading ${heading}`);
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m?.[1], `no ts block under ${heading}`);
  return m[1];
}

/** Runs `tsc --strict --noEmit` on `source` (an ES module importing 'secsh'); resolves with its output. */
export async function typecheck(source: string): Promise<{ code: number | null; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-readme-tsc-'));
  try {
    await writeFile(join(dir, 'snippet.mts'), source);
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022'],
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
          skipLibCheck: true,
          noEmit: true,
          paths: { secsh: [join(ROOT, 'src/index.ts')] },
        },
        files: ['snippet.mts'],
      }),
    );
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    return await new Promise((res, rej) => {
      const p = spawn(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir });
      let output = '';
      p.stdout.on('data', (c: Buffer) => {
        output += c.toString();
      });
      p.stderr.on('data', (c: Buffer) => {
        output += c.toString();
      });
      p.on('error', rej);
      p.on('close', (code) => res({ code, output }));
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

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
