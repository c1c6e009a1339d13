import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classify } from '../../../src/transport/phase.js';

test('before NEWKEYS only transport and KEX messages pass; strict KEX refuses IGNORE', () => {
  for (let n = 1; n <= 255; n++) {
    const v = classify(n, 'server', 'initial-kex', false, false);
    const allowed = [1, 2, 3, 4, 20, 21].includes(n) || (n >= 30 && n <= 49);
    assert.equal(v === 'fatal', !allowed, `message ${n}`);
    const s = classify(n, 'server', 'initial-kex', false, true);
    assert.equal(s === 'fatal', !([1, 20, 21].includes(n) || (n >= 30 && n <= 49)), `strict message ${n}`);
  }
});

test('connection messages are fatal before authentication, delivered after', () => {
  for (let n = 80; n <= 127; n++) {
    assert.equal(classify(n, 'client', 'auth', false, true), 'fatal');
    assert.equal(classify(n, 'server', 'auth', false, true), 'fatal');
    assert.equal(classify(n, 'client', 'connected', false, true), 'deliver');
  }
});

test('userauth messages: only the right direction, only before success', () => {
  assert.equal(classify(50, 'client', 'auth', false, false), 'deliver');
  assert.equal(classify(52, 'client', 'auth', false, false), 'fatal');
  assert.equal(classify(50, 'server', 'auth', false, false), 'fatal');
  assert.equal(classify(52, 'server', 'auth', false, false), 'deliver');
  assert.equal(classify(52, 'server', 'connected', false, false), 'fatal');
  assert.equal(classify(94, 'server', 'connected', true, false), 'fatal');
  assert.equal(classify(200, 'server', 'connected', false, false), 'unimplemented');
});
