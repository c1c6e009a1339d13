/**
 * Stream a long-running command's output line by line as it arrives, and stop it with Ctrl-C.
 *
 *   SSH_HOST=example.com SSH_KEY=$HOME/.ssh/id_ed25519 npx tsx examples/stream.ts 'tail -f /var/log/syslog'
 *
 * Environment as in exec.ts: SSH_HOST, SSH_PORT, SSH_USER, SSH_KEY or SSH_PASSWORD, SSH_HOST_FINGERPRINT.
 * The process exits with the remote command's exit status.
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
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
  const command = process.argv[2] ?? 'for i in 1 2 3 4 5; do echo "tick $i"; sleep 1; done';
  // spawn() gives Node streams with SSH flow control underneath: a slow reader slows the command down.
  const proc = await client.spawn(command);
  proc.stdin.end(); // nothing to send
  proc.stderr.pipe(process.stderr);
  // Ctrl-C here asks the server to interrupt the command (a "signal" request: OpenSSH's sshd delivers it,
  // except to root logins, where it has no privilege-separated process to send it from).
  const interrupt = () => proc.channel.signal('INT');
  process.once('SIGINT', interrupt);

  const start = Date.now();
  for await (const line of createInterface({ input: proc.stdout, crlfDelay: Number.POSITIVE_INFINITY })) {
    console.log(`[+${((Date.now() - start) / 1000).toFixed(1)}s] ${line}`);
  }
  const { code, signal } = await proc.exit; // resolves with the exit status (or the signal that ended it)
  process.off('SIGINT', interrupt);
  console.log(signal ? `killed by SIG${signal}` : `exit code ${code}`);
  process.exitCode = code ?? 1;
} finally {
  await client.close();
}
