/**
 * Log in with the keys held by ssh-agent, and see which keys those are.
 *
 *   eval "$(ssh-agent)"; ssh-add
 *   SSH_HOST=example.com npx tsx examples/agent.ts
 *
 * SSH_AUTH_SOCK names the agent (ssh-agent and ssh-add set and use it). Connection settings as in
 * exec.ts: SSH_HOST, SSH_PORT, SSH_USER, SSH_HOST_FINGERPRINT. The private keys never leave the
 * agent: it signs the login for us.
 */
import { userInfo } from 'node:os';
import { AgentClient, Client } from 'secsh';

const env = process.env;
if (!env.SSH_AUTH_SOCK) throw new Error('SSH_AUTH_SOCK is not set: start ssh-agent and add a key with ssh-add');

// What ssh-add -l shows.
const agent = new AgentClient(); // $SSH_AUTH_SOCK
try {
  const identities = await agent.list();
  console.log(`the agent holds ${identities.length} key(s):`);
  for (const { key, comment } of identities) console.log(`  ${key.bits} ${key.fingerprint()} ${comment} (${key.type})`);
} finally {
  agent.close();
}

const client = await Client.connect({
  host: env.SSH_HOST ?? 'localhost',
  port: Number(env.SSH_PORT ?? 22),
  username: env.SSH_USER ?? userInfo().username,
  agent: true, // or a socket path, or an AgentClient
  hostKeyFingerprint: env.SSH_HOST_FINGERPRINT,
});
try {
  const { stdout } = await client.exec('echo "logged in as $(whoami) with a key from the agent"');
  process.stdout.write(stdout);
} finally {
  await client.close();
}
