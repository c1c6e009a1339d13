/**
 * Hostbased client host and user names the server refuses before its policy runs, so that the name the
 * policy sees is the name knownClientHost vouched for: a name ending in two dots (one is stripped by
 * the server, the second was stripped again by knownClientHost), a non-ASCII name that folds to
 * another when known_hosts is matched case-insensitively (U+212A KELVIN SIGN lowercases to `k`), and
 * C1 control characters (U+0080–U+009F, e.g. U+009B, a terminal's CSI) in the host or user name. The
 * client refuses to send such names.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signedHostbasedRequest } from '../../src/auth/hostbased.js';
import { Client } from '../../src/client/client.js';
import { KnownHosts, knownClientHost } from '../../src/config/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { MSG, SshReader, SshWriter } from '../../src/wire/index.js';
import { startHostbasedServer } from '../helpers/hostbased-server.js';
import { type RawClient, rawClient, requestUserauth } from './server-helpers.js';

const serverKey = generatePrivateKey('ed25519');
const kiosk = generatePrivateKey('ed25519');

function known(): KnownHosts {
  const kh = new KnownHosts();
  kh.add('kiosk.example', 22, kiosk.publicKey);
  return kh;
}

function connect(port: number, localHostname: string, localUsername = 'alice') {
  return Client.connect({
    host: '127.0.0.1',
    port,
    username: 'alice',
    hostKeyFingerprint: serverKey.publicKey.fingerprint(),
    hostbased: { key: kiosk, localHostname, localUsername },
  });
}

test('the policy sees the host name knownClientHost matched: one trailing dot is stripped', async () => {
  const { server, port, seen } = await startHostbasedServer(known(), { hostKeys: [serverKey] });
  try {
    await (await connect(port, 'kiosk.example.')).close();
    assert.equal(seen.at(-1)?.clientHostname, 'kiosk.example');
  } finally {
    await server.close();
  }
});

/** The next reply: the methods of a USERAUTH_FAILURE, or the number of another message. */
async function reply(c: RawClient): Promise<string[] | number | undefined> {
  const p = await c.queue.next();
  if (p[0] !== MSG.USERAUTH_FAILURE) return p[0];
  return new SshReader(p, 1).nameList();
}

const BAD_NAMES = [
  ['kiosk.example..', 'alice'], // was: the policy saw "kiosk.example." while knownClientHost matched "kiosk.example"
  ['\u212Aiosk.example', 'alice'], // was: KELVIN SIGN folded to "kiosk.example" in the known_hosts lookup
  ['kiosk.example\u009b31m', 'alice'], // C1 control character (CSI) in the host name
  ['kiosk.example', 'alice\u0085'], // C1 control character (NEL) in the user name
  ['kiosk example', 'alice'], // a space
] as const;

test('a host name with two trailing dots, a non-ASCII one or control characters is refused before the policy', async () => {
  const { server, port, seen } = await startHostbasedServer(known(), { hostKeys: [serverKey], maxAuthAttempts: 20 });
  try {
    const c = await rawClient(port);
    try {
      await requestUserauth(c);
      const header = () => new SshWriter(256).byte(MSG.USERAUTH_REQUEST).string('alice').string('ssh-connection');
      for (const [localHostname, localUsername] of BAD_NAMES) {
        const cred = { signer: kiosk, localHostname, localUsername };
        const { payload } = await signedHostbasedRequest(header, c.t.sessionId as Buffer, cred, 'ssh-ed25519');
        c.t.send(payload);
        assert.deepEqual(await reply(c), ['hostbased'], JSON.stringify(localHostname));
      }
      assert.deepEqual(
        seen.map((s) => [s.clientHostname, s.clientUsername]),
        [],
        'the policy saw none of them',
      );
    } finally {
      c.t.destroy();
    }
    // The server still serves a good name.
    await (await connect(port, 'kiosk.example')).close();
  } finally {
    await server.close();
  }
});

test('the client refuses to send such names: connect rejects with InvalidArgumentError', async () => {
  const { server, port, seen } = await startHostbasedServer(known(), { hostKeys: [serverKey] });
  try {
    for (const [localHostname, localUsername] of BAD_NAMES) {
      await assert.rejects(
        connect(port, localHostname, localUsername),
        InvalidArgumentError,
        JSON.stringify(localHostname),
      );
    }
    assert.equal(seen.filter((s) => s.method === 'hostbased').length, 0);
  } finally {
    await server.close();
  }
});

test('knownClientHost refuses a name that matches a known_hosts line only by Unicode case folding', () => {
  const kh = known();
  assert.equal(knownClientHost(kh, { clientHostname: 'KIOSK.example', key: kiosk.publicKey }), true);
  assert.equal(knownClientHost(kh, { clientHostname: '\u212Aiosk.example', key: kiosk.publicKey }), false);
  assert.equal(knownClientHost(kh, { clientHostname: 'kiosk.example\u0000', key: kiosk.publicKey }), false);
});
