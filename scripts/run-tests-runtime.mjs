#!/usr/bin/env node
// Runs the e2e test files (test/e2e/*.test.ts, or the files or folders given) on Bun or Deno, the same
// node:test files that Node.js runs: Bun's `bun test` and Deno's `deno test` both run node:test
// tests and load the TypeScript sources directly (Deno with sloppy imports, so the '.js' specifiers
// reach the '.ts' files; set in the environment so the CLI processes the tests spawn get it too).
//
//   node scripts/run-tests-runtime.mjs bun|deno [file-or-folder ...]
//
// The runtime comes from .peers/runtimes (npm install --prefix .peers/runtimes --no-save bun deno),
// then node_modules/.bin, then PATH. When it is missing the run is skipped with a message, or fails
// when CI=true. Ends with one line `<runtime>: N passed, N failed, N skipped` and the runner's status.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { delimiter, join } from 'node:path';

/** Test files left out on a runtime, with the reason. Keep this short: fix the runtime gap instead. */
const EXCLUDED = {
  bun: {
    'test/e2e/hostbased-keysign-hostile.test.ts':
      "stubs node:dns/promises' lookupService through syncBuiltinESMExports, which does not reach Bun's builtin " +
      'modules; its other cases pass on Bun',
  },
  deno: {
    'test/e2e/hostbased-keysign.test.ts':
      "hostbased.keysign hands ssh-keysign the socket's descriptor, which Deno's node:net does not expose: there it " +
      'is refused with an AuthError reason, as the README says',
    'test/e2e/hostbased-keysign-hostile.test.ts': 'as hostbased-keysign.test.ts (ssh-keysign needs the descriptor)',
    'test/e2e/server-cli-no-sync-io.test.ts':
      "starts the CLI with node's --import preload (a tripwire on fs), which Deno drops when it translates node " +
      'arguments for a child process; server-no-sync-io.test.ts runs the same check in-process on Deno',
  },
};

const runtime = process.argv[2];
if (runtime !== 'bun' && runtime !== 'deno') {
  console.error('usage: node scripts/run-tests-runtime.mjs bun|deno [file-or-folder ...]');
  process.exit(2);
}

function findBinary(name) {
  const candidates = [join('.peers', 'runtimes', 'node_modules', '.bin', name), join('node_modules', '.bin', name)];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, name));
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    const v = spawnSync(c, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    if (v.status === 0) return { path: c, version: v.stdout.trim().split('\n')[0] };
  }
  return undefined;
}

const bin = findBinary(runtime);
if (!bin) {
  const msg = `${runtime} not found: install it with\n  npm install --prefix .peers/runtimes --no-save --no-audit --no-fund ${runtime}`;
  if (process.env.CI === 'true') {
    console.error(`run-tests-runtime: ${msg}`);
    process.exit(1);
  }
  console.error(`run-tests-runtime: SKIPPED, ${msg}`);
  process.exit(0);
}

const given = process.argv.slice(3);
const files = [];
function walk(p) {
  if (statSync(p).isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e));
  else if (p.endsWith('.test.ts')) files.push(p);
}
for (const r of given.length ? given : [join('test', 'e2e')]) walk(r);
const excluded = EXCLUDED[runtime];
const run = files.filter((f) => !(f.split('\\').join('/') in excluded));
if (run.length === 0) {
  console.error('run-tests-runtime: no test files');
  process.exit(1);
}

console.log(`run-tests-runtime: ${run.length} files on ${bin.version} (${bin.path})`);
for (const [f, why] of Object.entries(excluded)) console.log(`run-tests-runtime: excluded ${f}: ${why}`);

const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
// Bun's os.userInfo().username is $USER ('unknown' when unset, as under some CI and containers); the
// examples default to it for the SSH user name, as a login shell would have set it.
if (!env.USER) env.USER = userInfo().username;
let args;
if (runtime === 'bun') {
  // Paths with a slash: bare words are name filters for `bun test`.
  args = ['test', '--timeout=300000', ...run.map((f) => `./${f}`)];
} else {
  env.DENO_UNSTABLE_SLOPPY_IMPORTS = '1';
  env.DENO_NO_UPDATE_CHECK = '1';
  args = ['test', '--allow-all', '--no-check', '--no-lock', '--unstable-sloppy-imports', ...run];
}

const child = spawn(bin.path, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
let text = '';
child.stdout.on('data', (c) => {
  process.stdout.write(c);
  text += c.toString();
});
child.stderr.on('data', (c) => {
  process.stderr.write(c);
  text += c.toString();
});
child.on('close', (code, signal) => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
  const plain = text.replace(/\u001b\[[0-9;]*m/g, '');
  let passed;
  let failed;
  let skipped = 0;
  if (runtime === 'bun') {
    passed = /^\s*(\d+) pass$/m.exec(plain)?.[1];
    failed = /^\s*(\d+) fail$/m.exec(plain)?.[1];
    skipped = Number(/^\s*(\d+) skip$/m.exec(plain)?.[1] ?? 0) + Number(/^\s*(\d+) todo$/m.exec(plain)?.[1] ?? 0);
  } else {
    const m =
      /^(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?(?: \| (\d+) ignored)?/m.exec(
        plain,
      );
    passed = m?.[1];
    failed = m?.[3];
    skipped = Number(m?.[5] ?? 0);
    // A describe() block is one Deno test whose tests are steps; Bun counts those tests instead.
    if (m?.[2]) console.log(`run-tests-runtime: deno also ran ${m[2]} steps (tests inside describe blocks)`);
  }
  if (passed === undefined || failed === undefined) {
    console.error(`run-tests-runtime: no summary from ${runtime} (exit ${code ?? signal})`);
    process.exit(1);
  }
  const n = Number(passed);
  const f = Number(failed);
  const ok = code === 0 && f === 0 && n > 0;
  console.log(`${runtime}: ${n} passed, ${f} failed, ${skipped} skipped`);
  process.exit(ok ? 0 : 1);
});
