/**
 * Packs the package as `npm publish` would (prepack builds dist/) and checks the tarball: its file
 * list, publint and @arethetypeswrong/cli. Used by test/package/tarball.test.ts and by
 * `npm run check:package` (test/package/check.ts).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (never rejects; a failure to start is code 127 with the reason in stderr). */
export function run(
  file: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: opts.cwd ?? ROOT,
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 300_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        let code = 0;
        if (err) {
          const c = (err as { code?: unknown }).code;
          code = typeof c === 'number' ? c : 127;
          if (code === 127 && !stderr) stderr = String(err.message);
        }
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** `node <bin of a devDependency> ...args`, resolved from this repository's node_modules. */
export function runBin(pkgBin: string, args: string[], opts: { cwd?: string } = {}): Promise<RunResult> {
  return run(process.execPath, [join(ROOT, 'node_modules', pkgBin), ...args], opts);
}

export interface Packed {
  tarball: string;
  files: string[];
  size: number;
  unpackedSize: number;
}

/** `npm pack` into `dest` (runs prepack, which builds dist/ from src/). */
export async function packTarball(dest: string): Promise<Packed> {
  const r = await run('npm', ['pack', '--json', '--pack-destination', dest], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`npm pack failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  const [info] = JSON.parse(r.stdout) as {
    filename: string;
    files: { path: string }[];
    size: number;
    unpackedSize: number;
  }[];
  if (!info) throw new Error(`npm pack printed no package:\n${r.stdout}`);
  return {
    tarball: join(dest, info.filename),
    files: info.files.map((f) => f.path).sort(),
    size: info.size,
    unpackedSize: info.unpackedSize,
  };
}

/**
 * The files the tarball must not hold: anything outside dist/, README.md, LICENSE and package.json;
 * in dist/ anything but compiled JavaScript, declarations and dist/cjs/package.json (no source maps,
 * whose sources are not shipped; no TypeScript sources; no tests).
 */
export function unexpectedFiles(files: readonly string[]): string[] {
  const top = new Set(['README.md', 'LICENSE', 'package.json']);
  return files.filter((f) => {
    if (top.has(f)) return false;
    if (f === 'dist/cjs/package.json') return false;
    if (!f.startsWith('dist/')) return true;
    if (/(^|\/)(test|tests|__tests__)\//.test(f) || /\.test\.[cm]?[jt]s$/.test(f)) return true;
    return !(f.endsWith('.js') || f.endsWith('.d.ts'));
  });
}

/** The entry points package.json names, which must all be in the tarball. */
export const REQUIRED_FILES = [
  'LICENSE',
  'README.md',
  'package.json',
  'dist/cli/main.js',
  'dist/cjs/package.json',
  ...['', 'keys/', 'sftp/', 'config/'].flatMap((sub) => [
    `dist/${sub}index.js`,
    `dist/${sub}index.d.ts`,
    `dist/cjs/${sub}index.js`,
    `dist/cjs/${sub}index.d.ts`,
  ]),
];

/** publint (warnings count as failures) and attw (every resolution mode, node10 included) on the tarball. */
export async function lintTarball(tarball: string): Promise<{ tool: string; result: RunResult }[]> {
  const [publint, attw] = await Promise.all([
    runBin('publint/src/cli.js', ['run', '--strict', tarball]),
    runBin('@arethetypeswrong/cli/dist/index.js', ['--no-color', '--profile', 'strict', tarball]),
  ]);
  return [
    { tool: 'publint', result: publint },
    { tool: 'attw', result: attw },
  ];
}
