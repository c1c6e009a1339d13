/** KEXINIT decoding: what real peers send. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeKexInit } from '../../../src/transport/kexinit.js';
import { MSG, SshWriter } from '../../../src/wire/index.js';

function kexinit(lists: string[]): Buffer {
  const w = new SshWriter(512).byte(MSG.KEXINIT).raw(Buffer.alloc(16, 7));
  for (const l of lists) w.string(Buffer.from(l, 'latin1'));
  return w.bool(false).uint32(0).toBuffer();
}

const BASE = [
  'curve25519-sha256',
  'ssh-ed25519',
  'aes128-ctr',
  'aes128-ctr',
  'hmac-sha2-256',
  'hmac-sha2-256',
  'none',
  'none',
  '',
  '',
];

test('a name-list ending in a comma (libssh 0.10 servers) decodes without the empty name', () => {
  const lists = [...BASE];
  // libssh 0.10.6's default server cipher list, as sent on the wire
  lists[2] =
    'chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr,';
  const m = decodeKexInit(kexinit(lists));
  assert.deepEqual(m.cipherCS, [
    'chacha20-poly1305@openssh.com',
    'aes256-gcm@openssh.com',
    'aes128-gcm@openssh.com',
    'aes256-ctr',
    'aes192-ctr',
    'aes128-ctr',
  ]);
  assert.deepEqual(m.cipherSC, ['aes128-ctr']);
  assert.deepEqual(m.languagesCS, []);
});

test('a name longer than 64 characters is still a protocol error', () => {
  const lists = [...BASE];
  lists[0] = `curve25519-sha256,${'x'.repeat(65)}`;
  assert.throws(() => decodeKexInit(kexinit(lists)), { code: 'ERR_SSH_PROTOCOL' });
});
