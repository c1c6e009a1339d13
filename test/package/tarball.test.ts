/**
 * The published package, as a user gets it: `npm pack` (prepack builds dist/), then the tarball
 * installed from the registry's point of view into a fresh project. Checks its file list, publint and
 * attw, require() and import() of every entry point on this Node (and on each extra Node binary
 * listed in SECSH_PACKAGE_NODES, separated by ':'), the `secsh` bin, and `tsc --noEmit` of consumer
 * projects under node10, node16 and nodenext (CommonJS and ES modules) and bundler resolution.
 * Slow (packing builds twice, then an npm install): run with `npm run test:package`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CONSUMER_TS, SMOKE_CJS, SMOKE_ESM, TS_CONSUMERS, tsconfigFor } from './consumers.js';
import {
  lintTarball,
  type Packed,
  packTarball,
  REQUIRED_FILES,
  ROOT,
  type RunResult,
  run,
  unexpectedFiles,
} from './pack.js';

const EXTRA_NODES = (process.env.SECSH_PACKAGE_NODES ?? '').split(':').filter(Boolean);

interface Smoke {
  resolved: string[];
  stdout: string;
  code: number | null;
  refused: string;
  sharedClasses: boolean;
  exportCounts: number[];
  misnamed: string[];
}

describe('the packed package', () => {
  let dir = '';
  let packed: Packed | undefined;
  let consumer = '';
  /** tsc's result per TypeScript consumer, started in before() two at a time. */
  const tscRuns = new Map<string, Promise<RunResult>>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secsh-package-'));
    packed = await packTarball(dir);
    consumer = join(dir, 'consumer');
    await mkdir(consumer);
    await writeFile(
      join(consumer, 'package.json'),
      `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2)}\n`,
    );
    const typesNode = JSON.parse(await readFile(join(ROOT, 'node_modules/@types/node/package.json'), 'utf8')) as {
      version: string;
    };
    const r = await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', packed.tarball, `@types/node@${typesNode.version}`],
      { cwd: consumer, timeoutMs: 300_000 },
    );
    assert.equal(r.code, 0, `npm install of the tarball failed:\n${r.stderr}\n${r.stdout}`);
    await writeFile(join(consumer, 'smoke.cjs'), SMOKE_CJS);
    await writeFile(join(consumer, 'smoke.mjs'), SMOKE_ESM);
    for (const c of TS_CONSUMERS) {
      const d = join(consumer, c.name);
      await mkdir(d);
      await writeFile(join(d, 'package.json'), `${JSON.stringify({ type: c.type }, null, 2)}\n`);
      await writeFile(join(d, 'tsconfig.json'), tsconfigFor(c));
      await writeFile(join(d, 'index.ts'), CONSUMER_TS);
    }
    // Two at a time: each tsc run waits for the one started two places before it.
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const started: Promise<RunResult>[] = [];
    for (const c of TS_CONSUMERS) {
      const d = join(consumer, c.name);
      const p = (started[started.length - 2] ?? Promise.resolve()).then(() =>
        run(process.execPath, [tsc, '-p', join(d, 'tsconfig.json'), '--listFiles'], { cwd: d }),
      );
      started.push(p);
      tscRuns.set(c.name, p);
    }
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('holds only dist (JavaScript and declarations), README.md, LICENSE and package.json, with every entry point', () => {
    assert.ok(packed);
    assert.deepEqual(unexpectedFiles(packed.files), []);
    assert.deepEqual(
      REQUIRED_FILES.filter((f) => !packed?.files.includes(f)),
      [],
    );
    assert.ok(!packed.files.some((f) => f.endsWith('.map')), 'no source maps: their sources are not shipped');
  });

  test('installing it runs nothing, and it names its license, repository, homepage and bug tracker', async () => {
    const installed = join(consumer, 'node_modules', 'secsh');
    const pkg = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
      license?: string;
      repository?: { url?: string };
      homepage?: string;
      bugs?: { url?: string };
      keywords?: string[];
    };
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) {
      assert.equal(pkg.scripts?.[hook], undefined, `the package must not have a "${hook}" script`);
    }
    assert.equal(pkg.license, 'MIT');
    assert.match(pkg.repository?.url ?? '', /^git\+https:\/\/github\.com\/.+\.git$/);
    assert.match(pkg.homepage ?? '', /^https:\/\//);
    assert.match(pkg.bugs?.url ?? '', /^https:\/\/.+\/issues$/);
    assert.ok((pkg.keywords ?? []).includes('ssh'));
    const license = await readFile(join(installed, 'LICENSE'), 'utf8');
    assert.match(license, /^MIT License/);
    assert.match(license, /Copyright \(c\) 2026 the secsh authors/);
  });

  test('publint --strict and attw (every resolution mode) find no problem in the tarball', async () => {
    assert.ok(packed);
    for (const { tool, result } of await lintTarball(packed.tarball)) {
      assert.equal(result.code, 0, `${tool} failed:\n${result.stdout}\n${result.stderr}`);
    }
  });

  const nodes = [process.execPath, ...EXTRA_NODES];
  for (const node of nodes) {
    const label =
      node === process.execPath
        ? `this Node, ${process.version}`
        : `${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim() || '?'} at ${node}`;

    test(`require('secsh') and its subpaths load the CommonJS build, which connects to its own server (${label})`, async () => {
      const smoke = await runSmoke(node, join(consumer, 'smoke.cjs'), consumer);
      assert.deepEqual(
        smoke.resolved.map((p) => p.slice(p.indexOf('node_modules'))),
        ['', 'keys/', 'sftp/', 'config/'].map((s) => `node_modules/secsh/dist/cjs/${s}index.js`),
      );
      assertSmoke(smoke);
    });

    test(`import('secsh') and its subpaths load the ES module build, which connects to its own server (${label})`, async () => {
      const smoke = await runSmoke(node, join(consumer, 'smoke.mjs'), consumer);
      assert.deepEqual(
        smoke.resolved.map((p) => p.slice(p.indexOf('node_modules'))),
        ['', 'keys/', 'sftp/', 'config/'].map((s) => `node_modules/secsh/dist/${s}index.js`),
      );
      assertSmoke(smoke);
    });
  }

  test('the installed secsh bin runs', async () => {
    const r = await run(join(consumer, 'node_modules', '.bin', 'secsh'), ['--help'], { cwd: consumer });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /usage: secsh <command>/);
  });

  for (const c of TS_CONSUMERS) {
    test(`a TypeScript consumer under ${c.name} type-checks against the package's types (${c.rootTypes})`, async () => {
      const pending = tscRuns.get(c.name);
      assert.ok(pending);
      const r = await pending;
      assert.equal(r.code, 0, `tsc failed under ${c.name}:\n${r.stdout}\n${r.stderr}`);
      const files = r.stdout.split('\n').map((l) => l.trim().replaceAll('\\', '/'));
      assert.ok(
        files.some((f) => f.endsWith(`/node_modules/secsh/${c.rootTypes}`)),
        `expected ${c.rootTypes} among the files tsc read`,
      );
      const otherBuild = c.rootTypes.startsWith('dist/cjs/') ? '/node_modules/secsh/dist/index.d.ts' : '/dist/cjs/';
      assert.ok(
        !files.some((f) => f.includes(otherBuild)),
        `tsc also read the other build's declarations under ${c.name}`,
      );
    });
  }
});

async function runSmoke(node: string, script: string, cwd: string): Promise<Smoke> {
  const r = await run(node, [script], { cwd, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `${script} failed:\n${r.stderr}\n${r.stdout}`);
  // Nothing on stderr: no ExperimentalWarning for require() of the ES-module-only dependency, no deprecations.
  assert.equal(r.stderr, '');
  return JSON.parse(r.stdout) as Smoke;
}

function assertSmoke(smoke: Smoke): void {
  assert.equal(smoke.stdout, 'ran:hello');
  assert.equal(smoke.code, 0);
  assert.equal(smoke.refused, 'SshError:ERR_SSH_AUTH');
  assert.equal(smoke.sharedClasses, true, 'a subpath must give the same classes as the package root');
  for (const n of smoke.exportCounts) assert.ok(n > 5, `an entry point exported only ${n} names`);
  assert.deepEqual(smoke.misnamed, [], 'an exported class must keep its name (Client.name is "Client")');
}
