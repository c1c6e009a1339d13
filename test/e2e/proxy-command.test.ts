/**
 * ProxyCommand: secsh client ↔ secsh server through a child process that relays stdin/stdout to
 * TCP (like `nc %h %p`), from the `proxyCommand` option and from ssh_config; failures of the
 * command reject connect with a ConnectionLostError naming the exit status; the command is hung
 * up when the connection closes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Client } from '../../src/client/client.js';
import type { ConnectOptions } from '../../src/client/options.js';
import { ConnectionLostError, InvalidArgumentError, TimeoutError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';
import type { Session } from '../../src/server/session.js';

const hostKey = generatePrivateKey('ed25519');
const fingerprint = hostKey.publicKey.fingerprint();

/** The relay: `node relay.mjs <host> <port> <log> [args…]` appends its pid and argv to <log>. */
const RELAY = `
import { appendFileSync } from 'node:fs';
import { connect } from 'node:net';
const [host, port, log, ...rest] = process.argv.slice(2);
appendFileSync(log, JSON.stringify({ pid: process.pid, host, port, rest }) + '\\n');
const sock = connect({ host, port: Number(port) });
process.stdin.pipe(sock);
sock.pipe(process.stdout);
sock.on('error', () => process.exit(3));
sock.on('close', () => process.exit(0));
`;

let dir = '';
let relay = '';
let server: Server;
let port = 0;
// The relay runs on the runtime running the tests; Deno needs `run -A` to give it the network.
const node = `${JSON.stringify(process.execPath)}${'Deno' in globalThis ? ' run -A' : ''}`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secsh-proxycmd-'));
  relay = join(dir, 'relay.mjs');
  await writeFile(relay, RELAY);
  server = new Server({ hostKeys: [hostKey], authenticate: () => true, authFailureDelay: 0 });
  server.on('session', (s: Session) => {
    s.on('exec', (req: { command: string; accept(): void }) => {
      req.accept();
      const [cmd, arg] = req.command.split(' ');
      if (cmd === 'sum') {
        const h = createHash('sha256');
        let n = 0;
        s.channel.on('data', (c: Buffer) => {
          h.update(c);
          n += c.length;
        });
        s.channel.on('end', () => {
          s.channel.write(`${n}:${h.digest('hex')}`);
          s.exit(0);
        });
      } else if (cmd === 'dl') {
        s.channel.end(Buffer.alloc(Number(arg), 7), () => s.exit(0));
      } else {
        s.channel.write(`ran:${req.command}`);
        s.exit(0);
      }
    });
  });
  ({ port } = await server.listen({ port: 0, host: '127.0.0.1' }));
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** Lines the relay appended to `log`. */
async function relayLog(log: string): Promise<{ pid: number; host: string; port: string; rest: string[] }[]> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await delay(20);
  }
  return false;
}

const base: ConnectOptions = { username: 'alice', hostKeyFingerprint: fingerprint, password: 'x' };

test('proxyCommand: exec and bulk data in both directions through the command; tokens expanded', async () => {
  const log = join(dir, 'opt.log');
  const c = await Client.connect({
    ...base,
    host: '127.0.0.1',
    port,
    proxyCommand: `${node} ${relay} %h %p ${log} %r %n %k %% 100%%`,
  });
  try {
    assert.equal((await c.exec('hi')).stdout, 'ran:hi');
    const data = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const sum = await c.exec('sum', { stdin: data });
    assert.equal(sum.stdout, `${data.length}:${createHash('sha256').update(data).digest('hex')}`);
    const dl = await c.exec('dl 2000000', { encoding: 'buffer' });
    assert.equal(dl.stdout.length, 2000000);
  } finally {
    await c.close();
  }
  const [entry] = await relayLog(log);
  assert.ok(entry);
  assert.deepEqual(
    [entry.host, entry.port, entry.rest],
    ['127.0.0.1', String(port), ['alice', '127.0.0.1', '127.0.0.1', '%', '100%']],
  );
  assert.ok(await gone(entry.pid), 'the proxy command exits when the connection closes');
});

test('a proxy command that exits 1 at once: connect rejects with ConnectionLostError naming the status', async () => {
  const t0 = Date.now();
  await assert.rejects(
    Client.connect({ ...base, host: '127.0.0.1', port, proxyCommand: "sh -c 'exit 1'" }),
    (e: Error) => e instanceof ConnectionLostError && /exited with status 1\b/.test(e.message),
  );
  assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
  await assert.rejects(
    Client.connect({ ...base, host: '127.0.0.1', port, proxyCommand: `${join(dir, 'no-such-program')} %h %p` }),
    (e: Error) => e instanceof ConnectionLostError && /status 127\b/.test(e.message),
  );
  await assert.rejects(
    Client.connect({ ...base, host: '127.0.0.1', port, proxyCommand: `sh -c 'kill -KILL $$'` }),
    (e: Error) => e instanceof ConnectionLostError && /killed by signal SIGKILL/.test(e.message),
  );
});

test('a proxy command that exits 0 without a word: connect rejects with ConnectionLostError', async () => {
  await assert.rejects(
    Client.connect({ ...base, host: '127.0.0.1', port, proxyCommand: 'true' }),
    (e: Error) => e instanceof ConnectionLostError,
  );
});

test('a silent proxy command: readyTimeout applies and the command is hung up', async () => {
  const pidFile = join(dir, 'silent.pid');
  await assert.rejects(
    Client.connect({
      ...base,
      host: '127.0.0.1',
      port,
      readyTimeout: 400,
      proxyCommand: `sh -c 'echo $$ > ${pidFile}; exec sleep 30'`,
    }),
    TimeoutError,
  );
  const pid = Number(await readFile(pidFile, 'utf8'));
  assert.ok(pid > 0);
  assert.ok(await gone(pid), 'the proxy command was killed');
});

test('an abort signal stops connecting through a proxy command, and hangs it up', async () => {
  const pidFile = join(dir, 'abort.pid');
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 200);
  const t0 = Date.now();
  await assert.rejects(
    Client.connect({
      ...base,
      host: '127.0.0.1',
      port,
      signal: ac.signal,
      proxyCommand: `sh -c 'echo $$ > ${pidFile}; exec sleep 30'`,
    }),
    (e: Error & { code?: string }) => e.code === 'ERR_SSH_ABORTED',
  );
  assert.ok(Date.now() - t0 < 2000);
  assert.ok(await gone(Number(await readFile(pidFile, 'utf8'))), 'the proxy command was killed');
});

test('ssh_config ProxyCommand is run; User, Port and HostName feed its tokens', async () => {
  const log = join(dir, 'cfg.log');
  const cfg = join(dir, 'config');
  await writeFile(
    cfg,
    [
      'Host alias',
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      '  User bob',
      '  IdentityFile /nonexistent/id',
      '  IdentityAgent none',
      `  ProxyCommand ${node} "${relay}" %h %p ${log} %r %n # comment for the shell`,
      '  ProxyJump nobody@jump.invalid',
      '',
    ].join('\n'),
  );
  const c = await Client.connect({ host: 'alias', config: cfg, hostKeyFingerprint: fingerprint, password: 'x' });
  try {
    assert.equal((await c.exec('cfg')).stdout, 'ran:cfg');
  } finally {
    await c.close();
  }
  const [entry] = await relayLog(log);
  assert.deepEqual([entry?.host, entry?.port, entry?.rest], ['127.0.0.1', String(port), ['bob', 'alias']]);
});

test('ssh_config: ProxyCommand none (first) disables both; ProxyJump none lets ProxyCommand through', async () => {
  const cfg = join(dir, 'config-none');
  const log = join(dir, 'none.log');
  await writeFile(
    cfg,
    [
      'Host direct',
      '  ProxyCommand none',
      '  ProxyJump nobody@jump.invalid',
      'Host viacmd',
      '  ProxyJump none',
      `  ProxyCommand ${node} ${relay} %h %p ${log}`,
      'Host *',
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      '  IdentityFile /nonexistent/id',
      '  IdentityAgent none',
      '',
    ].join('\n'),
  );
  const opts = { config: cfg, username: 'u', hostKeyFingerprint: fingerprint, password: 'x' };
  const c1 = await Client.connect({ ...opts, host: 'direct' });
  assert.equal((await c1.exec('a')).stdout, 'ran:a');
  await c1.close();
  assert.equal(existsSync(log), false);
  const c2 = await Client.connect({ ...opts, host: 'viacmd' });
  assert.equal((await c2.exec('b')).stdout, 'ran:b');
  await c2.close();
  assert.equal((await relayLog(log)).length, 1);
});

test("the caller's proxy options come before the config's", async () => {
  const cfg = join(dir, 'config-caller');
  await writeFile(
    cfg,
    [
      'Host *',
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      '  IdentityAgent none',
      "  ProxyCommand sh -c 'exit 5'",
      '',
    ].join('\n'),
  );
  const opts = { config: cfg, username: 'u', hostKeyFingerprint: fingerprint, password: 'x' };
  // proxyCommand 'none' (like -o ProxyCommand=none) turns the config's off.
  const c1 = await Client.connect({ ...opts, host: 'h', proxyCommand: 'none' });
  assert.equal((await c1.exec('x')).stdout, 'ran:x');
  await c1.close();
  // Without it, the config's command runs (and fails).
  await assert.rejects(
    Client.connect({ ...opts, host: 'h' }),
    (e: Error) => e instanceof ConnectionLostError && /status 5\b/.test(e.message),
  );
  // A caller's proxyCommand replaces the config's.
  const log = join(dir, 'caller.log');
  const c2 = await Client.connect({ ...opts, host: 'h', proxyCommand: `${node} ${relay} %h %p ${log}` });
  assert.equal((await c2.exec('y')).stdout, 'ran:y');
  await c2.close();
  assert.equal((await relayLog(log)).length, 1);
});

test('invalid combinations are refused before anything runs', async () => {
  const marker = join(dir, 'must-not-exist');
  const run = `touch ${marker}`;
  const o = { ...base, host: '127.0.0.1', port };
  await assert.rejects(Client.connect({ ...o, proxyCommand: run, proxyJump: 'a@b' }), InvalidArgumentError);
  const { PassThrough } = await import('node:stream');
  await assert.rejects(Client.connect({ ...o, proxyCommand: run, sock: new PassThrough() }), InvalidArgumentError);
  await assert.rejects(Client.connect({ ...o, proxyCommand: `${run} %x` }), /unknown token %x/);
  await assert.rejects(Client.connect({ ...o, proxyCommand: '-' }), InvalidArgumentError);
  const cfg = join(dir, 'config-fdpass');
  await writeFile(cfg, `Host *\n  HostName 127.0.0.1\n  ProxyUseFdpass yes\n  ProxyCommand ${run}\n`);
  await assert.rejects(
    Client.connect({ host: 'h', config: cfg, username: 'u', hostKeyFingerprint: fingerprint }),
    /ProxyUseFdpass is not supported/,
  );
  assert.equal(existsSync(marker), false);
});
