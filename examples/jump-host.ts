/**
 * Reach a host behind a jump host (bastion), like `ssh -J jump target`: the second connection runs
 * inside a channel of the first, so the target needs no route from here.
 *
 *   SSH_JUMP_HOST=bastion.example.com SSH_HOST=10.0.0.5 SSH_KEY=$HOME/.ssh/id_ed25519 npx tsx examples/jump-host.ts
 *
 * SSH_HOST and SSH_PORT name the target as the jump host sees it. SSH_JUMP_HOST, SSH_JUMP_PORT (22),
 * SSH_JUMP_USER (SSH_USER) and SSH_JUMP_FINGERPRINT describe the jump host. The same SSH_KEY or
 * SSH_PASSWORD is used for both. Without fingerprints, ~/.ssh/known_hosts decides, for each host.
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { Client } from 'secsh';

const env = process.env;
const user = env.SSH_USER ?? userInfo().username;
const target = { host: env.SSH_HOST ?? 'localhost', port: Number(env.SSH_PORT ?? 22) };
const jumpHost = { host: env.SSH_JUMP_HOST ?? 'localhost', port: Number(env.SSH_JUMP_PORT ?? 22) };
const jumpUser = env.SSH_JUMP_USER ?? user;
const auth = {
  privateKey: env.SSH_KEY ? await readFile(env.SSH_KEY) : undefined,
  password: env.SSH_PASSWORD,
};

// 1. Step by step: each hop is an ordinary connection with its own host key check.
const jump = await Client.connect({
  ...jumpHost,
  username: jumpUser,
  ...auth,
  hostKeyFingerprint: env.SSH_JUMP_FINGERPRINT,
});
try {
  const tunnel = await jump.forwardOut(target.host, target.port); // a direct-tcpip channel, like ssh -W
  const inner = await Client.connect({
    sock: tunnel,
    host: target.host, // names the target for known_hosts; nothing connects to it from here
    port: target.port,
    username: user,
    ...auth,
    hostKeyFingerprint: env.SSH_HOST_FINGERPRINT,
  });
  const { stdout } = await inner.exec('echo "step by step: $(whoami) on $(hostname)"');
  process.stdout.write(stdout);
  await inner.close();
} finally {
  await jump.close();
}

// 2. In one call, like ssh -J. Each hop is a '[user@]host[:port]' string (checked against known_hosts,
//    as ssh does) or an object with its own host key check and login; several hops go first to last.
const client = await Client.connect({
  ...target,
  username: user,
  ...auth,
  hostKeyFingerprint: env.SSH_HOST_FINGERPRINT, // the target's
  proxyJump: [{ ...jumpHost, username: jumpUser, ...auth, hostKeyFingerprint: env.SSH_JUMP_FINGERPRINT }],
});
try {
  const { stdout } = await client.exec('echo "proxyJump: $(whoami) on $(hostname)"');
  process.stdout.write(stdout);
} finally {
  await client.close();
}
