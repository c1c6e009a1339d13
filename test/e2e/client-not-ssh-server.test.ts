/**
 * Connecting to something that is not an SSH server (issue 11, item 8): a plain HTTP server answers the
 * client's version line with "HTTP/1.1 400 Bad Request" and closes; connect says the peer is not an SSH
 * server because its first bytes were not an SSH version line (it said "connection closed by peer").
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { ConnectionLostError, ProtocolError } from '../../src/errors.js';
import { VersionReader } from '../../src/transport/version.js';

async function listening(server: { listen(port: number, host: string, cb: () => void): unknown; address(): unknown }) {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

test('connect to a plain HTTP server: ProtocolError "not an SSH server", quoting its first line', async () => {
  const http = createHttpServer((_req, res) => res.end('hello'));
  const port = await listening(http);
  try {
    const err = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      password: 'p',
      insecureAcceptAnyHostKey: true,
      readyTimeout: 10_000,
    }).then(
      () => assert.fail('connected'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ProtocolError, String(err));
    assert.equal(err.code, 'ERR_SSH_PROTOCOL');
    assert.match(err.message, /not an SSH server: the first bytes were not an SSH version line/);
    assert.match(err.message, /HTTP\/1\.1 400/);
  } finally {
    await new Promise<void>((r) => http.close(() => r()));
  }
});

test('a server that closes without sending anything is still a lost connection, not "not SSH"', async () => {
  const socks = new Set<Socket>();
  const silent = createServer((sock) => {
    socks.add(sock);
    sock.end();
  });
  const port = await listening(silent);
  try {
    const err = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      password: 'p',
      insecureAcceptAnyHostKey: true,
    }).then(
      () => assert.fail('connected'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConnectionLostError, String(err));
  } finally {
    for (const s of socks) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  }
});

test('VersionReader.endedEarly: lines or a partial line without a version line are "not SSH"; nothing is not', () => {
  const r = new VersionReader(true);
  assert.deepEqual(r.push(Buffer.from('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')), { done: false });
  assert.match(String(r.endedEarly()?.message), /not an SSH server.*HTTP\/1\.1 400 Bad Request/);
  const partial = new VersionReader(true);
  partial.push(Buffer.from('220 smtp ready'));
  assert.ok(partial.endedEarly() instanceof ProtocolError);
  assert.equal(new VersionReader(true).endedEarly(), undefined);
  const server = new VersionReader(false);
  server.push(Buffer.from('SSH-2.0-x'));
  assert.match(String(server.endedEarly()?.message), /not an SSH client/);
});
