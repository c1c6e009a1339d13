/**
 * The documentation's examples type-check under `tsc --strict` against the package's source, all in
 * one tsc run: the README's server, port forwarding (client and server) and AgentServer examples,
 * and every secsh snippet of docs/migrating.md (so the guide cannot drift from the API). What they
 * do is proven elsewhere: readme-server-openssh, readme-forwarding and readme-agent-server run them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  migratingGuideSource,
  readmeAgentServerSource,
  readmeForwardingSources,
  readmeServerSource,
} from '../helpers/doc-snippets.js';
import { typecheck } from '../helpers/typecheck.js';

test('the README examples and the docs/migrating.md snippets pass tsc --strict', async (t) => {
  const forwarding = await readmeForwardingSources();
  const guide = await migratingGuideSource();
  assert.ok(guide.blocks >= 10, `only ${guide.blocks} ts blocks found in docs/migrating.md`);
  const files: Record<string, string> = {
    'readme-server.mts': await readmeServerSource(),
    'readme-forwarding-client.mts': forwarding.client,
    'readme-forwarding-server.mts': forwarding.server,
    'readme-agent-server.mts': await readmeAgentServerSource(),
    'migrating.mts': guide.source,
  };
  const r = await typecheck(files);
  for (const name of Object.keys(files)) {
    await t.test(name, () => {
      const errors = r.output.split('\n').filter((l) => l.startsWith(name));
      assert.deepEqual(errors, [], `${errors.join('\n')}\n--- source ---\n${files[name]}`);
    });
  }
  assert.equal(r.code, 0, r.output);
});
