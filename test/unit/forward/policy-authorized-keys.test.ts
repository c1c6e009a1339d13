/**
 * authorized_keys options as login restrictions (src/auth/restrictions.ts): restrict and its positive
 * forms, the no-* flags, permitopen= / permitlisten= / command=, from= lists, and how they narrow a
 * login's permissions (certificate grants included).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UNRESTRICTED_PERMISSIONS } from '../../../src/auth/cert-options.js';
import {
  authorizedKeyFromAllows,
  authorizedKeyRestrictions,
  restrictPermissions,
} from '../../../src/auth/restrictions.js';
import { generatePrivateKey, parseAuthorizedKeyLine } from '../../../src/keys/index.js';

const key = generatePrivateKey('ed25519').publicKey.toString();
const options = (opts: string) => parseAuthorizedKeyLine(`${opts} ${key}`).options;

test('no options: nothing restricted', () => {
  assert.deepEqual(authorizedKeyRestrictions(parseAuthorizedKeyLine(key).options), {});
});

test('no-* flags each turn one permission off', () => {
  assert.deepEqual(authorizedKeyRestrictions(options('no-pty,no-agent-forwarding')), {
    pty: false,
    agentForwarding: false,
  });
  assert.deepEqual(authorizedKeyRestrictions(options('no-port-forwarding,no-X11-forwarding')), {
    portForwarding: false,
    x11Forwarding: false,
  });
});

test('restrict turns everything off; pty, port-forwarding, … turn single ones back on', () => {
  assert.deepEqual(authorizedKeyRestrictions(options('restrict')), {
    pty: false,
    agentForwarding: false,
    portForwarding: false,
    x11Forwarding: false,
  });
  assert.deepEqual(authorizedKeyRestrictions(options('restrict,port-forwarding,pty')), {
    agentForwarding: false,
    x11Forwarding: false,
  });
});

test('permitopen, permitlisten and command are carried', () => {
  const r = authorizedKeyRestrictions(
    options('permitopen="db:5432",permitopen="web:80",permitlisten="localhost:8080",command="uptime"'),
  );
  assert.deepEqual(r, { permitOpen: ['db:5432', 'web:80'], permitListen: ['localhost:8080'], forceCommand: 'uptime' });
});

test('restrictPermissions narrows, never widens, and adds the lists', () => {
  const certLimited = { ...UNRESTRICTED_PERMISSIONS, portForwarding: false };
  const p = restrictPermissions(certLimited, { pty: false, portForwarding: true, permitOpen: ['db:1'] });
  assert.equal(p.pty, false);
  assert.equal(p.portForwarding, false, 'a restriction cannot grant what the certificate withheld');
  assert.equal(p.agentForwarding, true);
  assert.deepEqual(p.permitOpen, ['db:1']);
  assert.equal(p.permitListen, undefined);
  assert.ok(Object.isFrozen(p));
});

test('from= lists: addresses, wildcards, CIDR blocks and negation; no address refuses', () => {
  const o = (v: string) => options(`from="${v}"`);
  assert.ok(authorizedKeyFromAllows([], '192.0.2.1'));
  assert.ok(authorizedKeyFromAllows(o('192.0.2.1'), '192.0.2.1'));
  assert.ok(!authorizedKeyFromAllows(o('192.0.2.1'), '192.0.2.2'));
  assert.ok(authorizedKeyFromAllows(o('192.0.2.*'), '192.0.2.77'));
  assert.ok(authorizedKeyFromAllows(o('10.0.0.0/8,127.0.0.1'), '10.9.8.7'));
  assert.ok(!authorizedKeyFromAllows(o('10.0.0.0/8'), '11.0.0.1'));
  assert.ok(!authorizedKeyFromAllows(o('127.0.0.*,!127.0.0.2'), '127.0.0.2'), 'a negated match refuses');
  assert.ok(authorizedKeyFromAllows(o('127.0.0.*,!127.0.0.2'), '127.0.0.3'));
  assert.ok(authorizedKeyFromAllows(o('::1'), '::1'));
  assert.ok(!authorizedKeyFromAllows(o('*'), undefined));
  assert.ok(!authorizedKeyFromAllows(o('example.com'), '192.0.2.1'), 'names are not resolved');
  assert.ok(!authorizedKeyFromAllows(o('1.2.3.4,'), '1.2.3.4'), 'an empty entry is malformed');
});
