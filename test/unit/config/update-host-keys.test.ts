/**
 * Pieces of UpdateHostKeys without a network: ssh_config's UpdateHostKeys and its default (ssh's
 * rule), KnownHosts.retainKeys as ssh's hostfile_replace_entries removes, and the ping codec.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  hashKnownHostsName,
  KnownHosts,
  resolveSshConfig,
  sshConfigConnectSettings,
} from '../../../src/config/index.js';
import { generatePrivateKey } from '../../../src/keys/index.js';
import { answerPing } from '../../../src/transport/ping.js';
import { MSG, SshWriter } from '../../../src/wire/index.js';

const local = { localUser: 'me', homeDir: '/home/me', localHostname: 'box.lan' };
const update = (text: string) => sshConfigConnectSettings(resolveSshConfig('h', { ...local, text })).updateHostKeys;

test("UpdateHostKeys: yes/no/ask as written; unset, ssh's default (yes only with the default UserKnownHostsFile)", () => {
  assert.equal(update('UpdateHostKeys yes\n'), true);
  assert.equal(update('UpdateHostKeys no\n'), false);
  assert.equal(update('UpdateHostKeys ask\n'), 'ask');
  assert.equal(update(''), true);
  assert.equal(update('UserKnownHostsFile ~/.ssh/known_hosts\n'), true);
  assert.equal(update('UserKnownHostsFile /tmp/kh\n'), false);
  assert.equal(update('UserKnownHostsFile ~/.ssh/known_hosts /tmp/other\n'), false);
  assert.equal(update('VerifyHostKeyDNS yes\n'), false);
  assert.equal(update('VerifyHostKeyDNS no\n'), true);
  assert.equal(update('UserKnownHostsFile /tmp/kh\nUpdateHostKeys yes\n'), true);
  assert.throws(() => update('UpdateHostKeys maybe\n'), /UpdateHostKeys/);
});

test("KnownHosts.retainKeys removes the host's plain entries whose key is not kept; markers, other hosts and unknown lines stay", () => {
  const [a, b, c] = [generatePrivateKey('ed25519'), generatePrivateKey('ed25519'), generatePrivateKey('ecdsa')].map(
    (k) => k.publicKey,
  );
  if (!a || !b || !c) throw new Error('keys');
  const text = [
    '# comment',
    `[h.example]:2222 ${a.toString()}`,
    `${hashKnownHostsName('[h.example]:2222')} ${b.toString()}`,
    `@cert-authority [h.example]:2222 ${c.toString()}`,
    `@revoked [h.example]:2222 ${b.toString()}`,
    `h.example ${b.toString()}`,
    'garbage line that does not parse',
    `[h.example]:2222 ${c.toString()}`,
    '',
  ].join('\n');
  const kh = new KnownHosts(text);
  const removed = kh.retainKeys('h.example', 2222, [a]);
  assert.deepEqual(
    removed.map((e) => e.key.toString()),
    [b.toString(), c.toString()],
  );
  const lines = kh.toString().split('\n');
  assert.equal(lines.length, 7);
  assert.equal(lines[0], '# comment');
  assert.equal(lines[1], `[h.example]:2222 ${a.toString()}`);
  assert.match(lines[2] as string, /^@cert-authority /);
  assert.match(lines[3] as string, /^@revoked /);
  assert.equal(lines[4], `h.example ${b.toString()}`);
  assert.deepEqual(
    kh.entries.map((e) => e.line),
    [2, 3, 4, 5],
  );
  assert.deepEqual(kh.retainKeys('h.example', 2222, [a]), []);
});

test('answerPing: a PING is answered with its data when allowed; a PONG is reported, never answered; trailing bytes throw', () => {
  const sent: Buffer[] = [];
  const pongs: Buffer[] = [];
  const peer = {
    send: (b: Buffer) => sent.push(b) > 0,
    emit: (_e: 'pong', d: Buffer) => pongs.push(d) > 0,
  };
  const ping = new SshWriter(16).byte(MSG.PING).string('abc').toBuffer();
  const stream = { writableLength: 0 };
  answerPing(ping, true, stream, peer);
  answerPing(ping, false, stream, peer);
  answerPing(ping, true, { writableLength: 1 << 20 }, peer);
  answerPing(new SshWriter(16).byte(MSG.PONG).string('x').toBuffer(), true, stream, peer);
  assert.deepEqual(sent, [new SshWriter(16).byte(MSG.PONG).string('abc').toBuffer()]);
  assert.deepEqual(pongs, [Buffer.from('x')]);
  assert.throws(() => answerPing(Buffer.concat([ping, Buffer.from([1])]), true, stream, peer));
  assert.throws(() => answerPing(Buffer.from([MSG.PING, 0, 0, 0, 9, 1]), true, stream, peer));
});
