/**
 * The benchmarks measure secsh as users run it: compiled JavaScript under plain node. Under the tsx
 * loader the same code costs far more (in one SFTP upload, 3.5–4.4 CPU s/GiB instead of 1.9–2.6,
 * mostly extra garbage collection), which would be charged to secsh's column (and ssh2's) only.
 * `compiled()` runs `tsc -p tsconfig.bench.json` once per process (src, bench and the test helpers
 * they import, into .bench-dist/) and gives paths inside that tree. `bundled()` goes one step further,
 * as the published ES module build does (scripts/build.mjs): the script and what it imports in one
 * esbuild bundle.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, '.bench-dist');
let done: Promise<void> | undefined;

/** Compiles (once) and returns the absolute path of `rel` (e.g. `bench/sftp.js`) in the compiled tree. */
export async function compiled(rel: string): Promise<string> {
  done ??= promisify(execFile)(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.bench.json')],
    { maxBuffer: 1 << 24 },
  ).then(() => undefined);
  await done;
  return join(OUT, rel);
}

const bundles = new Map<string, Promise<string>>();

/**
 * Compiles (once), bundles `rel` (e.g. `bench/client-secsh.js`) with everything it imports from src
 * into one ES module, as the published package is built, and returns the bundle's absolute path.
 */
export function bundled(rel: string): Promise<string> {
  let p = bundles.get(rel);
  if (!p) {
    p = (async () => {
      const entry = await compiled(rel);
      const outfile = join(OUT, 'bundled', rel);
      const { build } = await import('esbuild');
      await build({
        entryPoints: [entry],
        outfile,
        bundle: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        packages: 'external',
        logLevel: 'warning',
      });
      return outfile;
    })();
    bundles.set(rel, p);
  }
  return p;
}
