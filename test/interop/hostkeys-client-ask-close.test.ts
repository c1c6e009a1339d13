/**
 * updateHostKeys: 'ask' when the connection closes while onUpdateHostKeys is being asked, against
 * the secsh server and OpenSSH's sshd (both announce their host keys): an answer that never comes
 * does not keep the update pending (the 'hostkeys' outcome says it was skipped), and a yes that
 * comes after the close writes nothing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Client } from '../../src/client/client.js';
import type { HostKeysUpdateResult } from '../../src/client/options.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

let dir = '';
let sshd: Sshd | undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-hostkeys-ask-'));
  if (hasPeer('sshd') && hasPeer('ssh-keygen') && hasPeer('ssh'))
    sshd = await startSshd({ hostKeyTypes: ['ed25519', 'ecdsa256'] });
});
after(async () => {
  await sshd?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Target {
  port: number;
  /** The ed25519 host key line (`ssh-ed25519 AAAA…`), the only one known_hosts holds. */
  known: string;
  auth: { password: string } | { privateKeyPath: string };
  username: string;
  stop: () => Promise<void>;
}

async function secshServer(): Promise<Target> {
  const ed = generatePrivateKey('ed25519');
  const server = new Server({
    hostKeys: [ed, generatePrivateKey('ecdsa')],
    authenticate: (c) => c.method === 'password' && c.password === 'pw',
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { port, known: ed.publicKey.toString(), auth: { password: 'pw' }, username: 'u', stop: () => server.close() };
}

function opensshServer(s: Sshd): Target {
  const ed = s.hostKeys.find((k) => k.type === 'ed25519');
  assert.ok(ed);
  return {
    port: s.port,
    known: ed.publicKeyLine.split(' ').slice(0, 2).join(' '),
    auth: { privateKeyPath: s.userKeys.ed25519.privatePath },
    username: s.username,
    stop: async () => {},
  };
}

/**
 * Connects with updateHostKeys: 'ask' and an answer released by the test; closes the client once
 * asked, then `afterClose` (say yes late, or never). Returns the outcome and the file before/after.
 */
async function askThenClose(
  target: Target,
  late: 'never' | 'yes',
): Promise<{ result: HostKeysUpdateResult | undefined; before: string; after: string }> {
  const path = join(dir, `kh-${target.port}-${late}`);
  const before = `[127.0.0.1]:${target.port} ${target.known}\n`;
  await writeFile(path, before);
  let answer: ((v: boolean) => void) | undefined;
  const asked = new Promise<void>((resolveAsked) => {
    void Client.connect({
      host: '127.0.0.1',
      port: target.port,
      username: target.username,
      ...target.auth,
      knownHosts: path,
      updateHostKeys: 'ask',
      onUpdateHostKeys: () => {
        resolveAsked();
        return new Promise<boolean>((r) => {
          answer = r;
        });
      },
    }).then((c) => {
      client = c;
      c.on('error', () => {});
      c.on('hostkeys', (r: HostKeysUpdateResult) => {
        result = r;
      });
    });
  });
  let client: Client | undefined;
  let result: HostKeysUpdateResult | undefined;
  await Promise.race([asked, delay(10_000).then(() => assert.fail('onUpdateHostKeys was not asked'))]);
  for (let i = 0; i < 200 && !client; i++) await delay(10);
  assert.ok(client, 'connected');
  await client.close();
  if (late === 'yes') answer?.(true);
  for (let i = 0; i < 200 && !result; i++) await delay(10);
  await delay(100); // a write after the yes would have happened by now
  return { result, before, after: await readFile(path, 'utf8') };
}

for (const kind of ['secsh', 'OpenSSH'] as const) {
  test(`${kind} server: an onUpdateHostKeys that never answers is abandoned when the connection closes (skipped, file untouched)`, async (t) => {
    if (kind === 'OpenSSH' && (!requirePeer(t, 'sshd', 'ssh-keygen', 'ssh') || !sshd)) return;
    const target = kind === 'secsh' ? await secshServer() : opensshServer(sshd as Sshd);
    try {
      const r = await askThenClose(target, 'never');
      assert.equal(r.result?.status, 'skipped', `outcome: ${JSON.stringify(r.result)}`);
      assert.match(r.result?.reason ?? '', /connection closed/);
      assert.equal(r.after, r.before);
    } finally {
      await target.stop();
    }
  });

  test(`${kind} server: an onUpdateHostKeys yes that comes after the connection closed writes nothing`, async (t) => {
    if (kind === 'OpenSSH' && (!requirePeer(t, 'sshd', 'ssh-keygen', 'ssh') || !sshd)) return;
    const target = kind === 'secsh' ? await secshServer() : opensshServer(sshd as Sshd);
    try {
      const r = await askThenClose(target, 'yes');
      assert.equal(r.after, r.before, 'known_hosts rewritten after the close');
      assert.notEqual(r.result?.status, 'updated');
    } finally {
      await target.stop();
    }
  });
}
