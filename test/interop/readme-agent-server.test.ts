/**
 * The README's AgentServer example runs as written; OpenSSH's ssh-add lists the key it added through the
 * socket it printed (test/unit/doc-snippets type-checks it).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { AgentServer } from '../../src/agent/index.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { readmeAgentServerBlock } from '../helpers/doc-snippets.js';
import { binPath, requirePeer } from '../helpers/peers.js';

const run = promisify(execFile);

test("the README's AgentServer example runs as written; ssh-add -l lists its key through the socket", async (t) => {
  if (!requirePeer(t, 'ssh-add')) return;
  const block = await readmeAgentServerBlock();
  const closing = 'await agentServer.close();';
  assert.ok(block.includes(closing));
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
    ...args: string[]
  ) => (...a: unknown[]) => Promise<unknown>;
  // Everything up to the close runs as written; the test looks at the agent before closing it.
  const [head = ''] = block.split(closing);
  const fn = new AsyncFunction('AgentServer', 'generatePrivateKey', `${head}\nreturn { agentServer, socketPath };`);
  const { agentServer, socketPath } = (await fn(AgentServer, generatePrivateKey)) as {
    agentServer: AgentServer;
    socketPath: string;
  };
  try {
    const { stdout } = await run(binPath('ssh-add'), ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: socketPath } });
    assert.match(stdout, /^256 SHA256:\S+ deploy \(ED25519\)\n$/);
  } finally {
    await new AsyncFunction('agentServer', closing)(agentServer);
  }
  await assert.rejects(run(binPath('ssh-add'), ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: socketPath } }));
});
