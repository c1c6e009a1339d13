/**
 * Port forwarding with `forwardLocal` and `forwardDynamic`, like
 * `ssh -L 127.0.0.1:LOCAL_PORT:FORWARD_HOST:FORWARD_PORT -D 127.0.0.1:SOCKS_PORT host`: connections to
 * the local port reach FORWARD_HOST:FORWARD_PORT as the server sees it, and the SOCKS 4/4a/5 port
 * reaches any destination through the server (names resolved there). Runs until Ctrl-C.
 *
 *   SSH_HOST=example.com SSH_KEY=$HOME/.ssh/id_ed25519 FORWARD_HOST=db.internal FORWARD_PORT=5432 \
 *     LOCAL_PORT=15432 SOCKS_PORT=1080 npx tsx examples/forward-local.ts
 *   psql -h 127.0.0.1 -p 15432 …
 *   curl --socks5-hostname 127.0.0.1:1080 http://intranet.internal/
 *
 * Port 0 (the default for both) picks a free port; the lines `forwarding 127.0.0.1:<port> …` and
 * `SOCKS on 127.0.0.1:<port>` say which. Connection settings as in exec.ts: SSH_HOST, SSH_PORT,
 * SSH_USER, SSH_KEY or SSH_PASSWORD, SSH_HOST_FINGERPRINT.
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { Client } from 'secsh';

const env = process.env;
const forwardHost = env.FORWARD_HOST ?? 'localhost';
const forwardPort = Number(env.FORWARD_PORT ?? 80);
const client = await Client.connect({
  host: env.SSH_HOST ?? 'localhost',
  port: Number(env.SSH_PORT ?? 22),
  username: env.SSH_USER ?? userInfo().username,
  privateKey: env.SSH_KEY ? await readFile(env.SSH_KEY) : undefined,
  password: env.SSH_PASSWORD,
  hostKeyFingerprint: env.SSH_HOST_FINGERPRINT,
  keepaliveInterval: 30_000, // notice a dead server even when the tunnels are idle
});

// ssh -L: each connection to the local port opens a direct-tcpip channel; the server connects onwards.
const local = await client.forwardLocal({
  bindHost: '127.0.0.1',
  bindPort: Number(env.LOCAL_PORT ?? 0),
  host: forwardHost,
  port: forwardPort,
});
// One refused connection (say the database is down) does not stop the forward; it is reported here.
local.on('error', (e: Error) => console.error(`connection not forwarded: ${e.message}`));
local.on('connection', ({ origin }: { origin: { host: string; port: number } }) =>
  console.log(`connection from ${origin.host}:${origin.port} forwarded`),
);
const { port } = local.address as { port: number };
console.log(`forwarding 127.0.0.1:${port} → ${forwardHost}:${forwardPort} via ${env.SSH_HOST ?? 'localhost'}`);

// ssh -D: a SOCKS 4, 4a and 5 proxy; each request goes out from the server.
const socks = await client.forwardDynamic({ bindHost: '127.0.0.1', bindPort: Number(env.SOCKS_PORT ?? 0) });
socks.on('error', (e: Error) => console.error(`SOCKS request failed: ${e.message}`));
console.log(`SOCKS on 127.0.0.1:${(socks.address as { port: number }).port}`);

// Stop on Ctrl-C (or kill). Closing the client would close both forwards too.
const stop = async () => {
  await local.close({ endConnections: true });
  await socks.close({ endConnections: true });
  const s = local.stats;
  console.log(`local forward: ${s.accepted} connections, ${s.bytesOut} bytes out, ${s.bytesIn} bytes in`);
  await client.close();
  console.log('forwards closed');
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
client.once('close', () => console.log('connection closed'));
