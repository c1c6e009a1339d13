/**
 * Mistakes in connect options are SshErrors that say what is wrong (issue 11, item 8): `port: 99999`
 * is an InvalidArgumentError (it was Node's RangeError); a private key given as a path says it looks
 * like a path (it said "unrecognised private key format"); `privateKeyPath` reads the file.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { InvalidArgumentError, KeyError, SshError } from '../../src/errors.js';
import { generatePrivateKey, parsePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';

test('port 99999, -1, 1.5 or NaN: InvalidArgumentError (an SshError) before anything connects', async () => {
  for (const port of [99999, -1, 1.5, Number.NaN, 0]) {
    const err = await Client.connect({ host: '127.0.0.1', port, username: 'u', password: 'p' }).then(
      () => assert.fail('connected'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof InvalidArgumentError, `port ${port}: ${String(err)}`);
    assert.ok(err instanceof SshError);
    assert.match(err.message, /port must be an integer from 1 to 65535/);
  }
});

test('a private key given as a path string: KeyError saying it looks like a path and naming privateKeyPath', async () => {
  for (const path of ['/home/me/.ssh/id_ed25519', '~/.ssh/id_rsa', './keys/deploy.pem', 'id_ecdsa']) {
    const err = await Client.connect({ host: '127.0.0.1', port: 22, username: 'u', privateKey: path }).then(
      () => assert.fail('connected'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof KeyError, `${path}: ${String(err)}`);
    assert.match(err.message, /looks like a file path/);
    assert.ok(err.message.includes(JSON.stringify(path)), err.message);
    assert.match(err.message, /privateKeyPath/);
    assert.throws(() => parsePrivateKey(path), /looks like a file path/);
  }
  // Garbage that is not a path keeps the plain message.
  assert.throws(
    () => parsePrivateKey('not a key at all'),
    (e: unknown) => e instanceof KeyError && !/path/.test(e.message),
  );
});

test('privateKeyPath logs in with the key file; a missing or group-readable file is a KeyError naming it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'secsh-private-key-path-'));
  const key = generatePrivateKey('ed25519');
  const server = new Server({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: ({ method, key: k }) => method === 'publickey' && k !== undefined && k.equals(key.publicKey),
    authMethods: ['publickey'],
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  try {
    const file = join(dir, 'id_ed25519');
    await writeFile(file, key.toOpenSSH(), { mode: 0o600 });
    const base = { host: '127.0.0.1', port, username: 'u', insecureAcceptAnyHostKey: true };
    const client = await Client.connect({ ...base, privateKeyPath: file });
    await client.close();
    const missing = join(dir, 'nope');
    await assert.rejects(
      Client.connect({ ...base, privateKeyPath: missing }),
      (e: unknown) => e instanceof KeyError && e.message.includes(missing) && /no such file/.test(e.message),
    );
    await chmod(file, 0o644);
    await assert.rejects(
      Client.connect({ ...base, privateKeyPath: file }),
      (e: unknown) => e instanceof KeyError && /too open/.test(e.message),
    );
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
