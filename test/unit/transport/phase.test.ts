import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classify } from '../../../src/transport/phase.js';

test('before NEWKEYS only transport and KEX messages pass; strict KEX refuses IGNORE', () => {
  for (let n = 1; n <= 255; n++) {
    const v = classify(n, 'server', 'initial-kex', false);
    const allowed = [1, 2, 3, 4, 20, 21].includes(n) || (n >= 30 && n <= 49);
    assert.equal(v === 'fatal', !allowed, `message ${n}`);
    const s = classify(n, 'server', 'initial-kex', true);
    assert.equal(s === 'fatal', !([1, 20, 21].includes(n) || (n >= 30 && n <= 49)), `strict message ${n}`);
  }
});

test('connection messages are fatal before authentication, delivered after', () => {
  for (let n = 80; n <= 127; n++) {
    assert.equal(classify(n, 'client', 'auth', true), 'fatal');
    assert.equal(classify(n, 'server', 'auth', true), 'fatal');
    assert.equal(classify(n, 'client', 'connected', true), 'deliver');
  }
});

test('userauth messages: only the right direction, only before success', () => {
  assert.equal(classify(50, 'client', 'auth', false), 'deliver');
  assert.equal(classify(52, 'client', 'auth', false), 'fatal');
  assert.equal(classify(50, 'server', 'auth', false), 'fatal');
  assert.equal(classify(52, 'server', 'auth', false), 'deliver');
  assert.equal(classify(52, 'server', 'connected', false), 'fatal');
  assert.equal(classify(200, 'server', 'connected', false), 'unimplemented');
});

test('connection messages sent during a re-exchange are delivered; never during the first exchange', () => {
  // classify() has no notion of "inside a re-key": after the first NEWKEYS the phase alone decides.
  assert.equal(classify(94, 'server', 'connected', false), 'deliver');
  assert.equal(classify(94, 'client', 'connected', true), 'deliver');
  assert.equal(classify(94, 'client', 'initial-kex', false), 'fatal');
  assert.equal(classify(94, 'client', 'initial-kex', true), 'fatal');
});

test('a service request after authentication is answered UNIMPLEMENTED, not fatal', () => {
  assert.equal(classify(5, 'client', 'auth', false), 'deliver');
  assert.equal(classify(5, 'client', 'connected', true), 'unimplemented');
  assert.equal(classify(6, 'server', 'connected', true), 'unimplemented');
  assert.equal(classify(5, 'server', 'connected', false), 'fatal');
  assert.equal(classify(6, 'client', 'auth', false), 'fatal');
  assert.equal(classify(5, 'client', 'initial-kex', false), 'fatal');
});

test('PING and PONG (OpenSSH ping) belong to the transport once keys are in place, never before', () => {
  for (const n of [192, 193]) {
    assert.equal(classify(n, 'client', 'initial-kex', false), 'fatal');
    assert.equal(classify(n, 'client', 'initial-kex', true), 'fatal');
    assert.equal(classify(n, 'client', 'auth', true), 'transport');
    assert.equal(classify(n, 'server', 'auth', false), 'transport');
    assert.equal(classify(n, 'client', 'connected', true), 'transport');
    assert.equal(classify(n, 'server', 'connected', true), 'transport');
  }
  assert.equal(classify(194, 'client', 'connected', true), 'unimplemented');
});
