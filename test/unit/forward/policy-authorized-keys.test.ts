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
  authorizedKeyOptionsRefusal,
  authorizedKeyRestrictions,
  normaliseMappedAddress,
  parseExpiryTime,
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

test('from= with a negated IPv4 entry refuses that address also as ::ffff:a.b.c.d (sshd normalises mapped addresses)', () => {
  const o = options('from="!10.0.0.5,*"');
  assert.equal(authorizedKeyFromAllows(o, '10.0.0.5'), false);
  assert.equal(authorizedKeyFromAllows(o, '::ffff:10.0.0.5'), false);
  assert.equal(authorizedKeyFromAllows(o, '::FFFF:10.0.0.5'), false);
  assert.equal(authorizedKeyFromAllows(o, '::ffff:10.0.0.6'), true);
  assert.equal(authorizedKeyFromAllows(options('from="10.0.0.*"'), '::ffff:10.0.0.9'), true);
  assert.equal(authorizedKeyFromAllows(options('from="!10.0.0.0/8,*"'), '::ffff:10.1.2.3'), false);
  assert.equal(normaliseMappedAddress('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(normaliseMappedAddress('::1'), '::1');
  assert.equal(normaliseMappedAddress('::ffff:c000:201'), '::ffff:c000:201');
});

test('expiry-time: YYYYMMDD[HHMM[SS]] local or with Z UTC; the key is refused once the time has passed, or when malformed', () => {
  assert.equal(parseExpiryTime('20300102Z'), Date.UTC(2030, 0, 2) / 1000);
  assert.equal(parseExpiryTime('203001020304Z'), Date.UTC(2030, 0, 2, 3, 4) / 1000);
  assert.equal(parseExpiryTime('20300102030405z'), Date.UTC(2030, 0, 2, 3, 4, 5) / 1000);
  assert.equal(parseExpiryTime('20300102'), new Date(2030, 0, 2).getTime() / 1000);
  for (const bad of [
    '',
    'Z',
    '2030',
    '203001021',
    '2030010203',
    '20301302',
    '20300100',
    '20300102250000',
    'x0300102',
    '20300102ZZ',
  ]) {
    assert.equal(parseExpiryTime(bad), undefined, bad);
  }
  const at = Date.UTC(2030, 0, 2, 3, 4, 5);
  const o = options('expiry-time="20300102030405Z"');
  assert.equal(authorizedKeyOptionsRefusal(o, at - 1000), undefined);
  assert.equal(authorizedKeyOptionsRefusal(o, at + 999), undefined, 'still valid during its last second, as sshd');
  assert.match(authorizedKeyOptionsRefusal(o, at + 1000) ?? '', /expired/);
  assert.match(authorizedKeyOptionsRefusal(options('expiry-time="tomorrow"'), at) ?? '', /invalid expiry-time/);
});

test('an option sshd does not know (a misspelling) or a flag misused makes the line refused; known ones pass', () => {
  assert.match(authorizedKeyOptionsRefusal(options('no-pyt')) ?? '', /unsupported option "no-pyt"/);
  assert.match(authorizedKeyOptionsRefusal(options('restrict,pemitopen="a:1"')) ?? '', /unsupported/);
  assert.match(authorizedKeyOptionsRefusal(options('no-pty="x"')) ?? '', /misused/);
  assert.match(authorizedKeyOptionsRefusal(options('command')) ?? '', /misused/);
  const known =
    'restrict,pty,no-pty,port-forwarding,no-port-forwarding,agent-forwarding,no-agent-forwarding,X11-forwarding,' +
    'no-x11-forwarding,user-rc,no-user-rc,no-touch-required,verify-required,command="true",from="*",' +
    'environment="A=b",permitopen="h:1",permitlisten="2",tunnel="0",expiry-time="29990101"';
  assert.equal(authorizedKeyOptionsRefusal(options(known)), undefined);
  assert.equal(authorizedKeyOptionsRefusal(options('cert-authority,principals="a"')), undefined);
});
