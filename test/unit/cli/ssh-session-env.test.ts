import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sendEnvNames } from '../../../src/cli/ssh-session-env.js';

test('SendEnv selects the variables its patterns name, never TERM, in the environment order', () => {
  const env = { TERM: 'xterm', LANG: 'C.UTF-8', LC_ALL: 'C', LC_TIME: 'C', HOME: '/root', XLANG: 'x' };
  assert.deepEqual(sendEnvNames(['LANG', 'LC_*', 'TER?'], env), ['LANG', 'LC_ALL', 'LC_TIME']);
  assert.deepEqual(sendEnvNames([], env), []);
});

test('a pathological SendEnv pattern does not match and returns (linear matching, no regular-expression backtracking)', () => {
  const name = 'A'.repeat(5000);
  assert.deepEqual(sendEnvNames([`${'*A'.repeat(40)}B`], { [name]: '1' }), []);
});
