/** requirePeer: a missing peer skips loudly locally and fails under CI=true. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'require-peer.fixture.ts');

function runFixture(ci: boolean) {
  const env: NodeJS.ProcessEnv = { ...process.env, SECSH_HIDE_PEERS: 'sshd' };
  if (ci) env.CI = 'true';
  else delete env.CI;
  // NODE_TEST_CONTEXT makes a nested runner report to its parent: drop it for a standalone run
  delete env.NODE_TEST_CONTEXT;
  return spawnSync(process.execPath, ['--import', 'tsx', '--test', fixture], { env, encoding: 'utf8' });
}

test('missing peer outside CI: skipped, with a banner on stderr', () => {
  const r = runFixture(false);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /# skipped 1/);
  assert.match(r.stdout + r.stderr, /SKIPPING "needs sshd": interop peer\(s\) missing: sshd/);
});

test('missing peer with CI=true: the test fails', () => {
  const r = runFixture(true);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /# fail 1/);
  assert.match(r.stdout, /required when CI=true/);
});
