/**
 * Host key policies with a known_hosts file: strict refuses an unknown host, accept-new trusts it on
 * first use and records it, and a changed key is refused either way. Uses a fresh temporary
 * known_hosts (your own ~/.ssh/known_hosts is not touched).
 *
 *   SSH_HOST=example.com SSH_KEY=$HOME/.ssh/id_ed25519 npx tsx examples/known-hosts.ts
 *
 * Connection settings as in exec.ts: SSH_HOST, SSH_PORT, SSH_USER, SSH_KEY or SSH_PASSWORD.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client, type ConnectOptions, generatePrivateKey, HostKeyError, KnownHosts } from 'secsh';

const env = process.env;
const host = env.SSH_HOST ?? 'localhost';
const port = Number(env.SSH_PORT ?? 22);
const dir = await mkdtemp(join(tmpdir(), 'secsh-known-hosts-'));
const knownHosts = join(dir, 'known_hosts'); // does not exist yet: an empty list
const base: ConnectOptions = {
  host,
  port,
  username: env.SSH_USER ?? userInfo().username,
  privateKey: env.SSH_KEY ? await readFile(env.SSH_KEY) : undefined,
  password: env.SSH_PASSWORD,
  knownHosts,
};

/** Connects and disconnects; says what happened. */
async function attempt(label: string, opts: ConnectOptions): Promise<void> {
  try {
    const client = await Client.connect(opts);
    console.log(`${label}: connected, host key ${client.hostKey.fingerprint()}`);
    await client.close();
  } catch (e) {
    if (!(e instanceof HostKeyError)) throw e;
    console.log(`${label}: refused (${e.code}) ${e.message}`);
  }
}

try {
  // 'strict' is the default, as StrictHostKeyChecking=yes: the host is not on file, so no.
  await attempt('strict, unknown host', base);

  // 'accept-new' (trust on first use): the key is added to the file.
  await attempt('accept-new, unknown host', { ...base, strictHostKeyChecking: 'accept-new' });
  console.log(`known_hosts now has: ${(await readFile(knownHosts, 'utf8')).trim()}`);

  await attempt('strict, known host', base);

  // Read and edit the file: here, pretend the server's key changed.
  const file = await KnownHosts.load(knownHosts);
  const probe = await Client.connect(base);
  console.log(`lookup of the real key: ${file.lookup(host, port, probe.hostKey).status}`); // 'match'
  await probe.close();
  file.remove(host, port);
  file.add(host, port, generatePrivateKey('ed25519').publicKey);
  await file.save();

  // A changed key is what a man-in-the-middle looks like: refused by strict and accept-new alike.
  await attempt('strict, changed key', base);
  await attempt('accept-new, changed key', { ...base, strictHostKeyChecking: 'accept-new' });
} finally {
  await rm(dir, { recursive: true, force: true });
}
