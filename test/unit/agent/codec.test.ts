/** The agent client's codecs: constraints, destination constraints, session-bind, certificate private blobs, query answers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  certificatePrivateBlob,
  decodeConstraints,
  decodeDestinations,
  decodeQueryAnswer,
  decodeSessionBind,
  encodeConstraints,
  encodeDestinations,
  encodeSessionBind,
} from '../../../src/agent/codec.js';
import { AGENT_MSG } from '../../../src/agent/protocol.js';
import { InvalidArgumentError } from '../../../src/errors.js';
import { generatePrivateKey, issueCertificate } from '../../../src/keys/index.js';
import { SshReader, SshWriter } from '../../../src/wire/index.js';

const hostA = generatePrivateKey('ed25519').publicKey;
const hostB = generatePrivateKey('ecdsa', { bits: 256 }).publicKey;
const caKey = generatePrivateKey('ed25519').publicKey;

test('lifetime and confirm encode as OpenSSH sends them (type 1 + uint32, type 2)', () => {
  assert.deepEqual(encodeConstraints({ lifetime: 60, confirm: true }), Buffer.from([1, 0, 0, 0, 60, 2]));
  assert.equal(encodeConstraints(undefined).length, 0);
  assert.equal(encodeConstraints({}).length, 0);
  for (const bad of [0, -1, 1.5, 2 ** 32])
    assert.throws(() => encodeConstraints({ lifetime: bad }), InvalidArgumentError);
});

test('destination constraints round-trip with users, host names, keys and CA flags', () => {
  const list = [
    { to: { hostname: 'a', hostKeys: [{ key: hostA }] } },
    {
      from: { hostname: 'a', hostKeys: [{ key: hostA }] },
      to: { user: 'deploy', hostname: 'b', hostKeys: [{ key: hostB }, { key: caKey, ca: true }] },
    },
  ];
  const c = decodeConstraints(encodeConstraints({ lifetime: 5, destinations: list }));
  assert.equal(c.lifetime, 5);
  assert.deepEqual(c.extensionNames, ['restrict-destination-v00@openssh.com']);
  const d = c.destinations ?? [];
  assert.equal(d.length, 2);
  assert.equal(d[0]?.from?.hostname, undefined);
  assert.equal(d[0]?.from?.hostKeys?.length, 0);
  assert.ok(d[0]?.to.hostKeys?.[0]?.key.equals(hostA));
  assert.equal(d[1]?.from?.hostname, 'a');
  assert.equal(d[1]?.to.user, 'deploy');
  assert.deepEqual(
    d[1]?.to.hostKeys?.map((k) => [k.key.fingerprint(), k.ca]),
    [
      [hostB.fingerprint(), false],
      [caKey.fingerprint(), true],
    ],
  );
  assert.deepEqual(decodeDestinations(encodeDestinations(list)).length, 2);
});

test('destination constraints that OpenSSH would refuse are refused before sending', () => {
  assert.throws(() => encodeDestinations([{ to: { hostname: 'a' } }]), /no host keys/);
  assert.throws(() => encodeDestinations([{ to: {} }]), /needs a to host/);
  assert.throws(
    () => encodeDestinations([{ from: { user: 'x', hostname: 'a', hostKeys: [{ key: hostA }] }, to: { user: 'u' } }]),
    /cannot name a user/,
  );
});

test('an extension constraint is its name then its raw bytes (no nested length)', () => {
  const b = encodeConstraints({ extensions: [{ name: 'x@y', data: Buffer.from([9, 8]) }] });
  assert.deepEqual(b, Buffer.from([255, 0, 0, 0, 3, 0x78, 0x40, 0x79, 9, 8]));
  const c = decodeConstraints(b);
  assert.deepEqual(c.extensions, [{ name: 'x@y', data: Buffer.from([9, 8]) }]);
  assert.throws(() => decodeConstraints(Buffer.from([7])), InvalidArgumentError);
});

test('session-bind round-trips and is an SSH_AGENTC_EXTENSION named session-bind@openssh.com', () => {
  const b = { hostKey: hostA.blob, sessionId: Buffer.alloc(32, 7), signature: Buffer.from('sig'), forwarding: true };
  const msg = encodeSessionBind(b);
  assert.equal(msg[0], AGENT_MSG.EXTENSION);
  assert.equal(new SshReader(msg, 1).ascii(), 'session-bind@openssh.com');
  assert.deepEqual(decodeSessionBind(msg), b);
  assert.throws(() => decodeSessionBind(Buffer.concat([msg, Buffer.from([0])])));
});

test('a certificate private blob is the cert type, the cert, then only the private fields', async () => {
  for (const [type, opts, skip] of [
    ['ed25519', {}, 0],
    ['ecdsa', { bits: 384 }, 2],
    ['rsa', { bits: 2048 }, 2],
  ] as const) {
    const key = generatePrivateKey(type, opts);
    const ca = generatePrivateKey('ed25519');
    const cert = await issueCertificate(ca, key.publicKey, { type: 'user', keyId: 'k' });
    const blob = certificatePrivateBlob(key, cert);
    const r = new SshReader(blob);
    assert.equal(r.ascii(), cert.certType);
    assert.deepEqual(r.string(), cert.blob);
    const priv = new SshReader(key.toPrivateBlob());
    priv.ascii();
    for (let i = 0; i < skip; i++) priv.string();
    assert.deepEqual(r.rest(), priv.rest(), type);
    const other = generatePrivateKey('ed25519');
    assert.throws(() => certificatePrivateBlob(other, cert), InvalidArgumentError);
  }
});

test('query answers in both forms give the names; other replies are refused', () => {
  const names = ['session-bind@openssh.com', 'query'];
  const success = new SshWriter()
    .byte(AGENT_MSG.SUCCESS)
    .string(names[0] as string)
    .string(names[1] as string)
    .toBuffer();
  assert.deepEqual(decodeQueryAnswer(Buffer.from(success)), names);
  const resp = new SshWriter().byte(AGENT_MSG.EXTENSION_RESPONSE).string('query').string('x').toBuffer();
  assert.deepEqual(decodeQueryAnswer(Buffer.from(resp)), ['x']);
  assert.throws(() => decodeQueryAnswer(Buffer.from([AGENT_MSG.FAILURE])));
  assert.throws(() => decodeQueryAnswer(Buffer.from([AGENT_MSG.SUCCESS, 0, 0, 0, 9])));
});

test('the default agent is $SSH_AUTH_SOCK, else on Windows OpenSSH named pipe, else none', async () => {
  const { defaultAgentPath, WINDOWS_AGENT_PIPE } = await import('../../../src/agent/index.js');
  assert.equal(defaultAgentPath({ SSH_AUTH_SOCK: '/tmp/a.sock' }, 'linux'), '/tmp/a.sock');
  assert.equal(defaultAgentPath({ SSH_AUTH_SOCK: '/tmp/a.sock' }, 'win32'), '/tmp/a.sock');
  assert.equal(defaultAgentPath({}, 'win32'), '\\\\.\\pipe\\openssh-ssh-agent');
  assert.equal(WINDOWS_AGENT_PIPE, '\\\\.\\pipe\\openssh-ssh-agent');
  assert.equal(defaultAgentPath({}, 'linux'), undefined);
});
