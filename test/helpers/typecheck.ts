/**
 * Type-checking documentation snippets: the ```ts blocks of the README and docs/ compiled with
 * `tsc --strict` against the package's source (`secsh` mapped to src/index.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The first ```ts block after the heading `heading` in the README. */
export async function readmeBlock(heading: string): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `README has no heading ${heading}`);
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m?.[1], `no ts block under ${heading}`);
  return m[1];
}

/**
 * Runs `tsc --strict --noEmit` on `source` (an ES module importing 'secsh'), or on several named
 * `.mts` sources at once; resolves with its output (errors start with the file's name).
 */
export async function typecheck(
  source: string | Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-readme-tsc-'));
  // Several sources (file name → text) compile in one tsc run: each run type-checks the package anew.
  const files = typeof source === 'string' ? { 'snippet.mts': source } : source;
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
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
        files: Object.keys(files),
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
