/**
 * The README's AgentServer example type-checks under `tsc --strict` and runs as written; OpenSSH's
 * ssh-add lists the key it added through the socket it printed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { AgentServer } from '../../src/agent/index.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { binPath, requirePeer } from '../helpers/peers.js';
import { ROOT, typecheck } from '../helpers/typecheck.js';

const run = promisify(execFile);

async function agentServerBlock(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const m = /```ts\n(const agentServer = new AgentServer[\s\S]*?)```/.exec(readme);
  assert.ok(m?.[1], 'the README has the AgentServer example');
  return m[1];
}

test("the README's AgentServer example passes tsc --strict", async () => {
  const block = await agentServerBlock();
  const r = await typecheck(`import { AgentServer, generatePrivateKey } from 'secsh';\n${block}`);
  assert.equal(r.code, 0, r.output);
});

test("the README's AgentServer example runs as written; ssh-add -l lists its key through the socket", async (t) => {
  if (!requirePeer(t, 'ssh-add')) return;
  const block = await agentServerBlock();
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
