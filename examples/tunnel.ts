/**
 * A local port forward, like `ssh -L 127.0.0.1:LOCAL_PORT:FORWARD_HOST:FORWARD_PORT host`: each
 * connection to the local port is carried over SSH, and the server connects onwards to
 * FORWARD_HOST:FORWARD_PORT (as seen from the server). Runs until Ctrl-C.
 *
 *   SSH_HOST=example.com SSH_KEY=$HOME/.ssh/id_ed25519 FORWARD_HOST=db.internal FORWARD_PORT=5432 \
 *     LOCAL_PORT=15432 npx tsx examples/tunnel.ts
 *   psql -h 127.0.0.1 -p 15432 …
 *
 * LOCAL_PORT 0 (the default) picks a free port; the line `forwarding 127.0.0.1:<port> …` says which.
 * Connection settings as in exec.ts: SSH_HOST, SSH_PORT, SSH_USER, SSH_KEY or SSH_PASSWORD,
 * SSH_HOST_FINGERPRINT.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
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
  keepaliveInterval: 30_000, // notice a dead server even when the tunnel is idle
});

const sockets = new Set<Socket>();
// allowHalfOpen: a client that finishes sending (EOF) still gets the rest of the answer, as with ssh -L.
const listener = createServer({ allowHalfOpen: true }, async (socket) => {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
  socket.on('error', () => socket.destroy());
  try {
    // A direct-tcpip channel: the server opens the TCP connection; the channel is a Duplex.
    const channel = await client.forwardOut(forwardHost, forwardPort, socket.remoteAddress, socket.remotePort);
    channel.on('error', () => socket.destroy());
    socket.once('close', () => channel.destroy());
    socket.pipe(channel).pipe(socket); // both directions, with flow control; EOF is passed on
    console.log(`connection from ${socket.remoteAddress}:${socket.remotePort} forwarded`);
  } catch (e) {
    console.error(`cannot forward: ${(e as Error).message}`); // e.g. the server refused (ChannelOpenError)
    socket.destroy();
  }
});
listener.listen(Number(env.LOCAL_PORT ?? 0), '127.0.0.1');
await once(listener, 'listening');
const { port } = listener.address() as { port: number };
console.log(`forwarding 127.0.0.1:${port} → ${forwardHost}:${forwardPort} via ${env.SSH_HOST ?? 'localhost'}`);

// Stop on Ctrl-C (or kill), or when the SSH connection goes away.
const stop = async () => {
  listener.close();
  for (const s of sockets) s.destroy();
  await client.close();
  console.log('tunnel closed');
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
client.once('close', () => {
  listener.close();
  for (const s of sockets) s.destroy();
});
