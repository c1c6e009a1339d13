import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_ALGORITHMS } from '../../../src/crypto/algorithms.js';
import { bitLength } from '../../../src/crypto/dh-groups.js';
import {
  chooseGexGroup,
  DH_GROUPS,
  deriveKey,
  hashParts,
  KEX_METHODS,
  kexInfo,
  validateGexGroup,
} from '../../../src/crypto/kex.js';

const SECURE = [
  'mlkem768x25519-sha256',
  'sntrup761x25519-sha512',
  'sntrup761x25519-sha512@openssh.com',
  'curve25519-sha256',
  'curve25519-sha256@libssh.org',
  'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384',
  'ecdh-sha2-nistp521',
  'diffie-hellman-group-exchange-sha256',
  'diffie-hellman-group16-sha512',
  'diffie-hellman-group18-sha512',
  'diffie-hellman-group14-sha256',
];
const INSECURE = ['diffie-hellman-group14-sha1', 'diffie-hellman-group1-sha1', 'diffie-hellman-group-exchange-sha1'];

const EXPECTED: Record<string, { hash: string; type: string; bits?: number }> = {
  'mlkem768x25519-sha256': { hash: 'sha256', type: 'kem' },
  'sntrup761x25519-sha512': { hash: 'sha512', type: 'kem' },
  'sntrup761x25519-sha512@openssh.com': { hash: 'sha512', type: 'kem' },
  'curve25519-sha256': { hash: 'sha256', type: 'ecdh' },
  'curve25519-sha256@libssh.org': { hash: 'sha256', type: 'ecdh' },
  'ecdh-sha2-nistp256': { hash: 'sha256', type: 'ecdh' },
  'ecdh-sha2-nistp384': { hash: 'sha384', type: 'ecdh' },
  'ecdh-sha2-nistp521': { hash: 'sha512', type: 'ecdh' },
  'diffie-hellman-group-exchange-sha256': { hash: 'sha256', type: 'gex' },
  'diffie-hellman-group16-sha512': { hash: 'sha512', type: 'dh', bits: 4096 },
  'diffie-hellman-group18-sha512': { hash: 'sha512', type: 'dh', bits: 8192 },
  'diffie-hellman-group14-sha256': { hash: 'sha256', type: 'dh', bits: 2048 },
  'diffie-hellman-group14-sha1': { hash: 'sha1', type: 'dh', bits: 2048 },
  'diffie-hellman-group1-sha1': { hash: 'sha1', type: 'dh', bits: 1024 },
  'diffie-hellman-group-exchange-sha1': { hash: 'sha1', type: 'gex' },
};

test('the table lists the methods in preference order, insecure ones last and flagged', () => {
  assert.deepEqual(
    KEX_METHODS.map((k) => k.name),
    [...SECURE, ...INSECURE],
  );
  for (const k of KEX_METHODS) assert.equal(k.insecure, INSECURE.includes(k.name), k.name);
  for (const name of DEFAULT_ALGORITHMS.kex.filter((n) => kexInfo(n) !== undefined)) {
    assert.equal(kexInfo(name)?.insecure, false, `${name} offered by default but insecure`);
  }
});

test('rows have the right hash, type and group', () => {
  for (const k of KEX_METHODS) {
    const e = EXPECTED[k.name];
    assert.ok(e, k.name);
    assert.equal(k.hash, e.hash, k.name);
    assert.equal(k.type, e.type, k.name);
    if (e.bits === undefined) assert.equal(k.group, undefined, k.name);
    else {
      assert.ok(k.group, k.name);
      assert.equal(bitLength(k.group.p), e.bits);
      assert.equal(k.group, DH_GROUPS[e.bits]);
    }
  }
});

test('kexInfo finds rows by exact name only', () => {
  for (const k of KEX_METHODS) assert.equal(kexInfo(k.name), k);
  assert.equal(kexInfo('curve25519-SHA256'), undefined);
  assert.equal(kexInfo('sntrup761x25519-sha512@OPENSSH.COM'), undefined);
  assert.equal(kexInfo('sntrup4591761x25519-sha512@tinyssh.org'), undefined);
  assert.equal(kexInfo(''), undefined);
});

test('every row: two generated keypairs agree on K (an mpint with its length prefix)', () => {
  for (const k of KEX_METHODS) {
    if (k.type === 'kem') continue; // the server responds instead (kex-mlkem.test.ts, kex-sntrup.test.ts)
    const group = k.type === 'gex' ? chooseGexGroup(2048, 3072, 8192) : k.group;
    if (k.type === 'gex') validateGexGroup(group as NonNullable<typeof group>, 2048, 8192);
    const a = k.generate(group);
    const b = k.generate(group);
    assert.notDeepEqual(a.publicValue, b.publicValue, k.name);
    const ka = a.agree(b.publicValue);
    const kb = b.agree(a.publicValue);
    assert.deepEqual(ka, kb, k.name);
    assert.equal(ka.readUInt32BE(0), ka.length - 4, k.name);
    assert.ok(ka.length > 20, k.name);
    assert.ok(ka[4] !== 0 || (ka[5] as number) >= 0x80, `${k.name}: minimal mpint`);
    // the result feeds the exchange hash and key derivation
    const h = hashParts(k.hash, [Buffer.from('prefix'), ka]);
    assert.equal(deriveKey(k.hash, ka, h, 'C', h, 32).length, 32);
  }
});

test('every row rejects an obviously bad peer value with KEY_EXCHANGE_FAILED', () => {
  for (const k of KEX_METHODS) {
    const group = k.type === 'gex' ? DH_GROUPS[2048] : k.group;
    const a = k.generate(group);
    if (k.respond) assert.throws(() => k.respond?.(Buffer.from([1])), { code: 'ERR_SSH_PROTOCOL', reason: 3 }, k.name);
    assert.throws(() => a.agree(Buffer.from([1])), { code: 'ERR_SSH_PROTOCOL', reason: 3 }, k.name);
    assert.throws(() => a.agree(Buffer.alloc(0)), { code: 'ERR_SSH_PROTOCOL', reason: 3 }, k.name);
  }
});

test('group exchange rows need a group', () => {
  const gex = kexInfo('diffie-hellman-group-exchange-sha256');
  assert.ok(gex);
  assert.throws(() => gex.generate(), { code: 'ERR_SSH_INVALID_ARGUMENT' });
});
