/**
 * An interactive shell with a pseudo-terminal, like `ssh host`.
 *
 *   SSH_HOST=example.com SSH_KEY=$HOME/.ssh/id_ed25519 npx tsx examples/shell.ts
 *
 * On a terminal, keys go to the remote shell as typed (raw mode) and the remote side follows window
 * resizes. With stdin redirected it drives the shell from a script, like `ssh -tt`:
 *
 *   printf 'uname -a\nexit\n' | npx tsx examples/shell.ts
 *
 * Environment as in exec.ts: SSH_HOST, SSH_PORT, SSH_USER, SSH_KEY or SSH_PASSWORD, SSH_HOST_FINGERPRINT.
 */
import { once } from 'node:events';
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
  const shell = await client.shell({
    pty: { term: env.TERM ?? 'xterm-256color', cols: process.stdout.columns ?? 80, rows: process.stdout.rows ?? 24 },
  });
  const tty = process.stdin.isTTY === true;
  const resize = () => shell.windowChange(process.stdout.columns, process.stdout.rows);
  if (tty) {
    process.stdin.setRawMode(true); // Ctrl-C, arrows, tab… go to the remote shell
    process.stdout.on('resize', resize);
  }
  // A Channel is a Duplex: what we write is the shell's input, what we read its output.
  process.stdin.pipe(shell);
  shell.pipe(process.stdout);
  shell.stderr.pipe(process.stderr);

  await once(shell, 'close');
  if (tty) {
    process.stdin.setRawMode(false);
    process.stdout.off('resize', resize);
  }
  process.stdin.unpipe(shell);
  process.stdin.destroy(); // stop reading the terminal so the process can exit
  process.exitCode = shell.exitStatus ?? 1;
} finally {
  await client.close();
}
