import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  certificatePermissions,
  effectivePermissions,
  UNRESTRICTED_PERMISSIONS,
} from '../../../src/auth/cert-options.js';
import { DEFAULT_USER_EXTENSIONS, generatePrivateKey, issueCertificate } from '../../../src/keys/index.js';

const ca = generatePrivateKey('ed25519');
const key = generatePrivateKey('ed25519').publicKey;
const cert = (extensions?: Record<string, string>) =>
  issueCertificate(ca, key, { type: 'user', keyId: 'p', principals: ['u'], ...(extensions ? { extensions } : {}) });

test('each permit-* extension maps to one permission; permit-user-rc and unknown ones grant nothing', async () => {
  assert.deepEqual({ ...certificatePermissions(await cert()) }, { ...UNRESTRICTED_PERMISSIONS });
  assert.ok(DEFAULT_USER_EXTENSIONS.includes('permit-pty'));
  const none = { pty: false, agentForwarding: false, portForwarding: false, x11Forwarding: false };
  assert.deepEqual({ ...certificatePermissions(await cert({})) }, none);
  assert.deepEqual(
    { ...certificatePermissions(await cert({ 'permit-user-rc': '', 'permit-everything@example.com': '' })) },
    none,
  );
  const cases: [string, keyof typeof none][] = [
    ['permit-pty', 'pty'],
    ['permit-agent-forwarding', 'agentForwarding'],
    ['permit-port-forwarding', 'portForwarding'],
    ['permit-X11-forwarding', 'x11Forwarding'],
  ];
  for (const [ext, perm] of cases) {
    assert.deepEqual({ ...certificatePermissions(await cert({ [ext]: '' })) }, { ...none, [perm]: true }, ext);
  }
  // Extension names are case-sensitive, as in sshd.
  assert.equal(certificatePermissions(await cert({ 'permit-x11-forwarding': '' })).x11Forwarding, false);
});

test('several steps intersect; steps without a certificate do not restrict', async () => {
  const ptyAgent = await cert({ 'permit-pty': '', 'permit-agent-forwarding': '' });
  const ptyPort = await cert({ 'permit-pty': '', 'permit-port-forwarding': '' });
  assert.deepEqual(
    { ...effectivePermissions([ptyAgent, undefined, ptyPort]) },
    { pty: true, agentForwarding: false, portForwarding: false, x11Forwarding: false },
  );
  assert.deepEqual(
    { ...effectivePermissions([undefined, ptyAgent]) },
    { pty: true, agentForwarding: true, portForwarding: false, x11Forwarding: false },
  );
  assert.deepEqual({ ...effectivePermissions([]) }, { ...UNRESTRICTED_PERMISSIONS });
  assert.deepEqual({ ...effectivePermissions([undefined]) }, { ...UNRESTRICTED_PERMISSIONS });
  assert.ok(Object.isFrozen(effectivePermissions([ptyAgent])));
});
