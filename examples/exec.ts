/**
 * Run commands and collect what they print: one, then several at once on one connection, one of them fed stdin.
 *
 *   SSH_HOST=example.com SSH_USER=me SSH_KEY=$HOME/.ssh/id_ed25519 npx tsx examples/exec.ts 'uname -a'
 *
 * Environment: SSH_HOST (default localhost), SSH_PORT (22), SSH_USER (your user name), SSH_KEY (a
 * private key file) or SSH_PASSWORD, SSH_HOST_FINGERPRINT ('SHA256:…' pins the host key; without it
 * ~/.ssh/known_hosts decides, as it does for ssh).
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { Client } from 'secsh';

const env = process.env;
const client = await Client.connect({
  host: env.SSH_HOST ?? 'localhost',
  port: Number(env.SSH_PORT ?? 22),
  username: env.SSH_USER ?? userInfo().username,
  privateKey: env.SSH_KEY ? await readFile(env.SSH_KEY) : undefined,
  password: env.SSH_PASSWORD,
  hostKeyFingerprint: env.SSH_HOST_FINGERPRINT,
});

try {
  // One command: stdout and stderr are collected together (no deadlock on big outputs), then the exit status.
  const { stdout, stderr, code, signal } = await client.exec(process.argv[2] ?? 'uname -a');
  process.stdout.write(stdout);
  process.stderr.write(stderr);
  console.log(`exit code ${code}${signal ? ` (signal ${signal})` : ''}`);

  // Several at once, each on its own channel of this connection; the last one is fed stdin (then EOF).
  const [host, me, counted] = await Promise.all([
    client.exec('hostname'),
    client.exec('whoami'),
    client.exec('wc -l', { stdin: 'one\ntwo\nthree\n' }),
  ]);
  console.log(`${me.stdout.trim()} on ${host.stdout.trim()}; wc -l counted ${counted.stdout.trim()} lines`);
} finally {
  await client.close();
}
