#!/usr/bin/env node
// Runs every test/**/*.test.ts (or those under the folders given) with node's test runner and tsx.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const given = process.argv.slice(2);
const roots = given.length ? given : ['test'];
// The long suites (the full interop matrix, the soak, the packed package, the slowest proofs) have their own npm scripts; `npm test` leaves
// them out unless their folder is named.
const LONG = new Set([join('test', 'matrix'), join('test', 'soak'), join('test', 'package'), join('test', 'long')]);
const files = [];
function walk(p) {
  const st = statSync(p);
  if (st.isDirectory()) {
    if (!given.length && LONG.has(p)) return;
    for (const e of readdirSync(p).sort()) walk(join(p, e));
  } else if (p.endsWith('.test.ts')) files.push(p);
}
for (const r of roots) walk(r);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=4', '--test-timeout=300000', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
