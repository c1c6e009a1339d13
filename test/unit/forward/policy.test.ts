/**
 * The server's forwarding policy as sshd applies it: PermitOpen / PermitListen parsing and matching,
 * GatewayPorts bind addresses, the allow switches per direction, the order of checks, and option
 * validation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UNRESTRICTED_PERMISSIONS } from '../../../src/auth/cert-options.js';
import { InvalidArgumentError } from '../../../src/errors.js';
import {
  bindTarget,
  decide,
  type ForwardRequest,
  listenPermitted,
  openPathPermitted,
  openPermitted,
  parsePermitListen,
  parsePermitOpen,
  permitListenAllows,
  permitOpenAllows,
  resolveForwarding,
} from '../../../src/forward/policy.js';
import { matchPattern } from '../../../src/keys/pattern.js';

const user = {
  username: 'u',
  permissions: UNRESTRICTED_PERMISSIONS,
  key: undefined,
  certificate: undefined,
  remoteAddress: '127.0.0.1:5000',
};

const direct = (host: string, port: number): ForwardRequest => ({
  ...user,
  kind: 'direct-tcpip',
  host,
  port,
  originHost: '127.0.0.1',
  originPort: 1,
});
const listen = (bindHost: string, bindPort: number): ForwardRequest => ({
  ...user,
  kind: 'tcpip-forward',
  bindHost,
  bindPort,
});

test('PermitOpen: exact hosts, * for host or port, [v6]:port, any and none', () => {
  const l = parsePermitOpen(['db:5432', '*:80', 'web:*', '[::1]:22']);
  assert.ok(openPermitted(l, 'db', 5432));
  assert.ok(!openPermitted(l, 'db', 5433));
  assert.ok(!openPermitted(l, 'DB', 5432), 'hosts compare exactly, as sshd');
  assert.ok(openPermitted(l, 'anything', 80));
  assert.ok(openPermitted(l, 'web', 1));
  assert.ok(openPermitted(l, '::1', 22));
  assert.ok(!openPermitted(l, '::1', 23));
  assert.ok(openPermitted(parsePermitOpen(['any']), 'x', 1));
  assert.ok(!openPermitted(parsePermitOpen(['none']), 'x', 1));
  assert.ok(openPermitted(parsePermitOpen(undefined), 'x', 1));
});

test('PermitOpen refuses Unix-socket opens unless it is any or names the path', () => {
  assert.ok(openPathPermitted(undefined, '/run/x.sock'));
  assert.ok(!openPathPermitted(parsePermitOpen(['db:5432']), '/run/x.sock'));
  assert.ok(openPathPermitted(parsePermitOpen(['/run/x.sock']), '/run/x.sock'));
  assert.ok(!openPathPermitted(parsePermitOpen(['/run/x.sock']), '/run/y.sock'));
});

test('PermitOpen and PermitListen reject malformed entries and any/none mixed with others', () => {
  for (const bad of [['db'], ['db:'], ['db:99999'], [':22'], ['any', 'db:1'], ['none', 'x:1'], ['']]) {
    assert.throws(() => parsePermitOpen(bad), InvalidArgumentError, JSON.stringify(bad));
  }
  for (const bad of [['70000'], ['h:x'], [':1'], ['any', '22']]) {
    assert.throws(() => parsePermitListen(bad), InvalidArgumentError, JSON.stringify(bad));
  }
  assert.equal(permitOpenAllows(['db'], 'db', 1), false, 'a malformed authorized_keys permitopen allows nothing');
  assert.equal(permitListenAllows(['x:y'], 'x', 1), false);
});

test('PermitListen: a bare port allows any host, hosts are patterns matched case-insensitively', () => {
  const l = parsePermitListen(['8080', 'localhost:9000', '*.example.com:*', '10.0.0.?:1']);
  assert.ok(listenPermitted(l, 'anything', 8080));
  assert.ok(listenPermitted(l, 'LOCALHOST', 9000));
  assert.ok(!listenPermitted(l, '127.0.0.1', 9000));
  assert.ok(listenPermitted(l, 'a.example.com', 1234));
  assert.ok(!listenPermitted(l, 'example.com', 1234));
  assert.ok(listenPermitted(l, '10.0.0.7', 1));
  assert.ok(!listenPermitted(l, '10.0.0.17', 1));
  assert.ok(!listenPermitted(l, 'localhost', 0), 'port 0 needs an entry for 0 or *');
  assert.ok(permitListenAllows(['any'], 'x', 0));
  assert.ok(!permitListenAllows(['none'], 'x', 0));
});

test('matchPattern: * and ? over the whole string', () => {
  assert.ok(matchPattern('abc', 'a*c'));
  assert.ok(matchPattern('ac', 'a*c'));
  assert.ok(matchPattern('abbbc', 'a*b*c'));
  assert.ok(!matchPattern('abcd', 'a*c'));
  assert.ok(matchPattern('', '*'));
  assert.ok(!matchPattern('', '?'));
  assert.ok(matchPattern('x.y', '?.?'));
});

test('GatewayPorts: no keeps loopback (explicit 127.0.0.1 / ::1 kept), yes binds all, clientspecified as asked', () => {
  for (const h of ['', '*', '0.0.0.0', 'localhost', '192.0.2.1', 'example.com']) {
    assert.deepEqual(bindTarget(h, false), { kind: 'loopback' }, h);
  }
  assert.deepEqual(bindTarget('127.0.0.1', false), { kind: 'address', host: '127.0.0.1' });
  assert.deepEqual(bindTarget('::1', false), { kind: 'address', host: '::1' });
  for (const h of ['', '*', 'localhost', '127.0.0.1', '192.0.2.1']) {
    assert.deepEqual(bindTarget(h, true), { kind: 'wildcard' }, h);
  }
  assert.deepEqual(bindTarget('', 'clientspecified'), { kind: 'wildcard' });
  assert.deepEqual(bindTarget('*', 'clientspecified'), { kind: 'wildcard' });
  assert.deepEqual(bindTarget('localhost', 'clientspecified'), { kind: 'loopback' });
  assert.deepEqual(bindTarget('192.0.2.1', 'clientspecified'), { kind: 'address', host: '192.0.2.1' });
  assert.deepEqual(bindTarget('0.0.0.0', 'clientspecified'), { kind: 'address', host: '0.0.0.0' });
});

test('allow switches: off by default, on with a policy, per direction with local and remote', async () => {
  assert.equal(await decide(resolveForwarding({}), direct('h', 1)), 'TCP forwarding is disabled');
  assert.equal(await decide(resolveForwarding({ policy: () => true }), direct('h', 1)), undefined);
  const local = resolveForwarding({ allowTcp: 'local' });
  assert.equal(await decide(local, direct('h', 1)), undefined);
  assert.match((await decide(local, listen('localhost', 0))) ?? '', /disabled/);
  const remote = resolveForwarding({ allowTcp: 'remote' });
  assert.match((await decide(remote, direct('h', 1))) ?? '', /disabled/);
  assert.equal(await decide(remote, listen('localhost', 0)), undefined);
  const unix = resolveForwarding({ allowTcp: true });
  assert.match((await decide(unix, { ...user, kind: 'direct-streamlocal', path: '/x' })) ?? '', /Unix/);
  assert.match((await decide(unix, { ...user, kind: 'streamlocal-forward', path: '/x' })) ?? '', /Unix/);
});

test('checks run in order: permissions, switches, PermitOpen/PermitListen/privileged ports, then the policy', async () => {
  const asked: string[] = [];
  const s = resolveForwarding({
    allowTcp: true,
    permitOpen: ['ok:1'],
    policy: (req) => {
      asked.push(req.kind);
      return req.kind !== 'tcpip-forward';
    },
  });
  const noFwd = { ...user, permissions: { ...UNRESTRICTED_PERMISSIONS, portForwarding: false } };
  assert.match((await decide(s, { ...direct('ok', 1), ...noFwd })) ?? '', /not permitted for this login/);
  assert.match((await decide(s, direct('other', 1))) ?? '', /PermitOpen/);
  assert.deepEqual(asked, []);
  assert.equal(await decide(s, direct('ok', 1)), undefined);
  assert.equal(await decide(s, listen('localhost', 8080)), 'refused by policy');
  if (process.getuid?.() !== 0) {
    assert.equal(await decide(s, listen('localhost', 80)), 'privileged port');
  }
  assert.equal(await decide(s, listen('localhost', 70000)), 'port out of range');
  assert.deepEqual(asked, ['direct-tcpip', 'tcpip-forward']);
  const throwing = resolveForwarding({ policy: () => Promise.reject(new Error('boom')) });
  assert.match((await decide(throwing, direct('h', 1))) ?? '', /threw/);
  const truthy = resolveForwarding({ policy: () => 1 as unknown as boolean });
  assert.equal(await decide(truthy, direct('h', 1)), 'refused by policy', 'only true allows');
});

test('resolveForwarding validates every option', () => {
  const bad: unknown[] = [
    { allowTcp: 'both' },
    { allowStreamLocal: 1 },
    { gatewayPorts: 'yes' },
    { maxListeners: -1 },
    { maxListeners: 1.5 },
    { connectTimeout: 0 },
    { streamLocalBindMask: 0o1000 },
    { permitOpen: 'db:1' },
    { permitListen: ['x:y'] },
    { policy: 'allow' },
  ];
  for (const o of bad) {
    assert.throws(() => resolveForwarding(o as never), InvalidArgumentError, JSON.stringify(o));
  }
  const d = resolveForwarding({});
  assert.equal(d.maxListeners, 16);
  assert.equal(d.bindMask, 0o177);
  assert.equal(d.bindUnlink, false);
  assert.equal(d.gatewayPorts, false);
  assert.equal(d.permitOpen, undefined);
});
