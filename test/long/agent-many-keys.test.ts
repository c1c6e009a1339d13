/**
 * The agent server holds 10,000 keys when allowed to, and past its default limit of 2,048 refuses the
 * rest cleanly (each add answered FAILURE, the connection kept).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generatePrivateKey, type PrivateKey, PublicKey } from '../../src/keys/index.js';
import { SshReader, SshWriter } from '../../src/wire/index.js';
import { agentServers, M, RawAgent } from '../helpers/agent-wire.js';

const { start } = agentServers('secsh-agent-keys-');

const addMsg = (key: PrivateKey, comment = key.comment) =>
  new SshWriter().byte(M.ADD_IDENTITY).raw(key.toPrivateBlob()).string(comment).toBuffer();
const isStatus = (r: Buffer | null, code: number): boolean => r !== null && r.length === 1 && r[0] === code;

test('10,000 keys: with maxKeys 10000 all are added and listed; with the default 2048, the rest fail cleanly', async () => {
  const keys = Array.from({ length: 10_000 }, () => generatePrivateKey('ed25519'));
  const { server, path } = await start({ maxKeys: 10_000 });
  const c = await RawAgent.open(path);
  const replies = await Promise.all(keys.map((k, i) => c.request(addMsg(k, `k${i}`))));
  assert.equal(replies.filter((r) => isStatus(r, M.SUCCESS)).length, 10_000);
  const list = await c.request(Buffer.from([M.REQUEST_IDENTITIES]));
  assert.ok(list && list[0] === M.IDENTITIES_ANSWER);
  const r = new SshReader(list, 1);
  assert.equal(r.uint32(), 10_000);
  const first = PublicKey.fromBlob(r.string());
  assert.ok(first.equals((keys[0] as PrivateKey).publicKey));
  assert.equal(server.size, 10_000);
  c.close();
  const capped = await start();
  const c2 = await RawAgent.open(capped.path);
  const r2 = await Promise.all(keys.map((k) => c2.request(addMsg(k))));
  assert.equal(r2.filter((x) => isStatus(x, M.SUCCESS)).length, 2048);
  assert.equal(r2.filter((x) => isStatus(x, M.FAILURE)).length, 10_000 - 2048);
  assert.equal(capped.server.size, 2048);
  c2.close();
});
