#!/usr/bin/env node
/**
 * Builds the published package from the one TypeScript source in src/:
 *   dist/      ES modules and their declarations (tsconfig.build.json)
 *   dist/cli/  the `secsh` command, bundled by esbuild (a chunk per subcommand)
 *   dist/cjs/  the same library as CommonJS (tsconfig.cjs.json, without the CLI), marked by
 *              dist/cjs/package.json {"type":"commonjs"} so Node and TypeScript read it as CommonJS
 * The two compilations run side by side. dist/ is emptied first so no file from an older layout is
 * packed. Run: npm run build  (npm pack and npm publish run it through "prepack").
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

function tsc(project) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TSC, '-p', project], { cwd: ROOT, stdio: 'inherit' });
    child.on('error', (err) => {
      console.error(`build: cannot run tsc -p ${project}: ${err.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

rmSync(DIST, { recursive: true, force: true });
const codes = await Promise.all([tsc('tsconfig.build.json'), tsc('tsconfig.cjs.json')]);
if (codes.some((c) => c !== 0)) {
  console.error('build: tsc failed');
  process.exit(1);
}
// The `secsh` command: one bundle (with a chunk per subcommand, loaded when it runs) instead of
// ~200 modules for Node to resolve and load at every start — about a third of the start-up time.
rmSync(join(DIST, 'cli'), { recursive: true, force: true });
const { build } = await import('esbuild');
await build({
  entryPoints: { main: join(ROOT, 'src', 'cli', 'main.ts') },
  outdir: join(DIST, 'cli'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: Object.keys(PKG.dependencies ?? {}),
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  legalComments: 'none',
});
mkdirSync(join(DIST, 'cjs'), { recursive: true });
writeFileSync(join(DIST, 'cjs', 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
chmodSync(join(DIST, 'cli', 'main.js'), 0o755);
