/**
 * secsh client hostbased through ssh-keysign's protocol, against the secsh server: a stand-in
 * ssh-keysign (fake-keysign.fixture.mjs) gets the connection's socket as fd 3 and the request on
 * stdin, and its signature logs in; its refusal or a malformed reply skips hostbased with the reason
 * in the AuthError (the next method still runs). The real ssh-keysign is in long/hostbased-openssh.
 */

import assert from 'node:assert/strict';
import { lookupService } from 'node:dns/promises';
import { once } from 'node:events';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { Duplex } from 'node:stream';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AuthContext } from '../../src/auth/server.js';
import { Client } from '../../src/client/client.js';
import { KeysignSigner } from '../../src/client/keysign.js';
import { applyConfigSettings } from '../../src/client/support.js';
import { KnownHosts, knownClientHost, resolveSshConfig, sshConfigConnectSettings } from '../../src/config/index.js';
import { AuthError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import type { Server } from '../../src/server/server.js';
import { startServer } from './server-helpers.js';

const serverKey = generatePrivateKey('ed25519');
const clientHost = generatePrivateKey('ed25519');
const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fake-keysign.fixture.mjs');

let dir: string;
let keysign: string;
let server: Server;
let port: number;
let localName: string;
const seen: AuthContext[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-keysign-e2e-'));
  keysign = join(dir, 'ssh-keysign');
  await writeFile(keysign, `#!/bin/sh\nexec '${process.execPath}' '${FIXTURE}'\n`);
  await chmod(keysign, 0o755);
  process.env.FAKE_KEYSIGN_KEY = clientHost.export({ format: 'pkcs8' });
  // What ssh-keysign (and so secsh) names this host: the name of the socket's local address.
  localName = await lookupService('127.0.0.1', 0).then(
    (r) => r.hostname,
    () => '',
  );
  const known = new KnownHosts();
  known.add(localName || 'localhost', 22, clientHost.publicKey);
  ({ server, port } = await startServer({
    hostKeys: [serverKey],
    authMethods: ['hostbased', 'password'],
    authFailureDelay: 0,
    authenticate: (ctx) => {
      seen.push(ctx);
      if (ctx.method === 'password') return ctx.password === 'pw';
      return ctx.method === 'hostbased' && ctx.clientUsername === ctx.username && knownClientHost(known, ctx);
    },
  }));
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function connect(extra: { password?: string } = {}) {
  return Client.connect({
    host: '127.0.0.1',
    port,
    username: userInfo().username,
    hostKeyFingerprint: serverKey.publicKey.fingerprint(),
    hostbased: { keysign, key: clientHost.publicKey },
    ...extra,
  });
}

test('a signature from ssh-keysign (socket as fd 3) logs in, for the local name of the socket', async (t) => {
  if (!localName) return t.skip('127.0.0.1 has no name here (getnameinfo)');
  process.env.FAKE_KEYSIGN_MODE = 'ok';
  const c = await connect();
  await c.close();
  const ctx = seen.at(-1);
  assert.equal(ctx?.method, 'hostbased');
  assert.equal(ctx?.clientHostname, localName);
  assert.equal(ctx?.clientUsername, userInfo().username);
  assert.ok(ctx?.key?.equals(clientHost.publicKey));
});

test('ssh-keysign refusing, a garbled, over-long or other-version reply skip hostbased with the reason; password still runs', async () => {
  for (const [mode, why] of [
    ['refuse', /ssh-keysign: ssh-keysign not enabled in \/etc\/ssh\/ssh_config/],
    ['garbage', /ssh-keysign: .*reply/],
    ['version', /ssh-keysign: reply of another protocol version/],
    ['huge', /ssh-keysign: reply too long/],
  ] as const) {
    process.env.FAKE_KEYSIGN_MODE = mode;
    const before = seen.length;
    await assert.rejects(connect(), (e: unknown) => {
      assert.ok(e instanceof AuthError, String(e));
      assert.match(e.message, why);
      return true;
    });
    assert.equal(seen.slice(before).filter((s) => s.method === 'hostbased').length, 0, 'nothing was sent');
    const c = await connect({ password: 'pw' });
    await c.close();
  }
});

test('an ssh-keysign that cannot be started (spawn throws ENOTDIR, or emits ENOENT) skips hostbased with the reason and its cause; password still runs', async () => {
  const file = join(dir, 'a-file');
  await writeFile(file, '');
  for (const [path, code] of [
    [join(file, 'ssh-keysign'), 'ENOTDIR'], // thrown by spawn itself
    [join(dir, 'missing', 'ssh-keysign'), 'ENOENT'], // emitted as 'error'
  ] as const) {
    const before = seen.length;
    const login = (password?: string) =>
      Client.connect({
        host: '127.0.0.1',
        port,
        username: userInfo().username,
        hostKeyFingerprint: serverKey.publicKey.fingerprint(),
        hostbased: { keysign: path, key: clientHost.publicKey },
        ...(password ? { password } : {}),
      });
    await assert.rejects(login(), (e: unknown) => {
      assert.ok(e instanceof AuthError, `${code}: ${String(e)}`);
      assert.match(e.message, new RegExp(`hostbased \\(.*ssh-keysign: .*${code}`));
      return true;
    });
    await (await login('pw')).close();
    assert.equal(seen.slice(before).filter((s) => s.method === 'hostbased').length, 0, 'nothing was sent');
    // The signer's own error keeps what failed as its cause.
    const sock = netConnect(port, '127.0.0.1');
    await once(sock, 'connect');
    try {
      await assert.rejects(
        new KeysignSigner(clientHost.publicKey, sock, path).sign(Buffer.alloc(8), 'ssh-ed25519'),
        (e: unknown) => {
          assert.ok(e instanceof AuthError, String(e));
          assert.equal((e.cause as NodeJS.ErrnoException | undefined)?.code, code);
          return true;
        },
      );
    } finally {
      sock.destroy();
    }
  }
});

test('keysign over a stream that is no TCP socket: hostbased is not tried and other methods still run', async () => {
  const over = async (password?: string) => {
    const raw = netConnect(port, '127.0.0.1');
    await once(raw, 'connect');
    const sock = Duplex.from({ readable: raw, writable: raw });
    try {
      return await Client.connect({
        sock,
        username: userInfo().username,
        hostKeyFingerprint: serverKey.publicKey.fingerprint(),
        hostbased: { keysign, key: clientHost.publicKey },
        ...(password ? { password } : {}),
      });
    } finally {
      if (!password) raw.destroy();
    }
  };
  process.env.FAKE_KEYSIGN_MODE = 'ok';
  const before = seen.length;
  await (await over('pw')).close();
  await assert.rejects(over(), (e: unknown) => e instanceof AuthError && /tried: none;/.test(e.message));
  assert.deepEqual(
    seen
      .slice(before)
      .map((s) => s.method)
      .filter((m) => m !== 'none'),
    ['password'],
    'no hostbased attempt',
  );
});

test('HostbasedAuthentication yes in ssh_config turns on hostbased through ssh-keysign, unless hostbased is given', async () => {
  const r = resolveSshConfig('h', { localUser: 'me', homeDir: '/home/me', text: 'HostbasedAuthentication yes\n' });
  const settings = sshConfigConnectSettings(r, {});
  assert.deepEqual(applyConfigSettings({ host: 'h' }, settings).hostbased, { keysign: true });
  const own = { key: clientHost };
  assert.equal(applyConfigSettings({ host: 'h', hostbased: own }, settings).hostbased, own);
  const off = sshConfigConnectSettings(resolveSshConfig('h', { localUser: 'me', homeDir: '/home/me', text: '' }), {});
  assert.equal(applyConfigSettings({ host: 'h' }, off).hostbased, undefined);
});
