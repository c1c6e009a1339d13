/**
 * OpenSSH's `ssh` against the secsh server: every algorithm both support, exec with exit codes and
 * signals, env, stdin EOF, a pty shell, and a rekey every 1 MiB over 256 MiB with identical bytes.
 */

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { supportedAlgorithms } from '../../src/crypto/algorithms.js';
import type { PrivateKey } from '../../src/keys/index.js';
import { generatePrivateKey, parsePublicKey } from '../../src/keys/index.js';
import { localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';
import { type RunSshResult, runSshRaw, sshArgs } from '../helpers/openssh.js';
import { hasPeer, requirePeer } from '../helpers/peers.js';
import { keygen, sshQuery } from '../helpers/sshd.js';

let dir = '';
let server: Server | undefined;
let port = 0;
let keyPath = '';
const hostKeys: PrivateKey[] = [];
const authLog: { method: string; signed: boolean | undefined; result: string }[] = [];

before(async () => {
  if (!hasPeer('ssh') || !hasPeer('ssh-keygen')) return;
  dir = await mkdtemp(join(tmpdir(), 'secsh-server-interop-'));
  keyPath = join(dir, 'id_ed25519');
  await keygen(keyPath, ['-t', 'ed25519']);
  const userKey = parsePublicKey(await readFile(`${keyPath}.pub`, 'utf8'));
  hostKeys.push(
    generatePrivateKey('ed25519'),
    generatePrivateKey('ecdsa', { bits: 256 }),
    generatePrivateKey('ecdsa', { bits: 384 }),
    generatePrivateKey('ecdsa', { bits: 521 }),
    generatePrivateKey('rsa', { bits: 2048 }),
  );
  server = new Server({
    hostKeys,
    authenticate: (ctx) => ctx.method === 'publickey' && ctx.key !== undefined && ctx.key.equals(userKey),
    authMethods: ['publickey'],
    algorithms: {
      kex: supportedAlgorithms('kex'),
      hostKey: supportedAlgorithms('hostKey').filter((a) => a !== 'ssh-dss'),
      cipher: supportedAlgorithms('cipher'),
      mac: supportedAlgorithms('mac'),
      compression: supportedAlgorithms('compression'),
    },
  });
  server.on('session', localProcessHandler());
  server.on('auth', (a) => authLog.push({ method: a.method, signed: a.signed, result: a.result }));
  port = (await server.listen({ port: 0, host: '127.0.0.1' })).port;
});

after(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs `ssh` against the server with extra options and a remote command; `input` goes to stdin. */
function ssh(
  opts: string[],
  command: string | undefined,
  input?: Buffer | string | ((w: NodeJS.WritableStream) => void),
): Promise<RunSshResult<Buffer>> {
  return runSshRaw(sshArgs({ port, keyPath, logLevel: 'ERROR' }, opts, command), { input: input ?? '' });
}

function common(a: readonly string[], b: readonly string[]): string[] {
  return a.filter((x) => b.includes(x));
}

test('ssh exec: output, stderr and exit codes', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const r = await ssh([], 'echo out; echo err >&2; exit 3');
  assert.equal(r.stdout.toString(), 'out\n');
  assert.match(r.stderr, /err/);
  assert.equal(r.code, 3);
  assert.equal((await ssh([], 'true')).code, 0);
  assert.equal((await ssh([], 'exit 255')).code, 255);
  // Only the key that signed authenticated: a PK_OK query, then the signed request.
  assert.ok(authLog.some((a) => a.method === 'publickey' && a.signed === true && a.result === 'accepted'));
});

test('ssh exec: exit-signal when the command is killed', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const r = await ssh(['-v'], 'kill -TERM $$');
  assert.equal(r.code, 255);
  assert.match(r.stderr, /rtype exit-signal/);
});

test('ssh: env (SetEnv) reaches the command; refused names do not', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const r = await ssh(
    ['-o', 'SetEnv=SECSH_TEST=hello LD_PRELOAD=/nonexistent.so'],
    'echo "$SECSH_TEST:$' + '{LD_PRELOAD-unset}"',
  );
  assert.equal(r.stdout.toString(), 'hello:unset\n');
});

test('ssh: stdin EOF reaches the command', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const data = randomBytes(300_000);
  const r = await ssh([], 'cat; echo EOF-SEEN', data);
  assert.equal(r.code, 0);
  assert.ok(r.stdout.subarray(0, data.length).equals(data));
  assert.equal(r.stdout.subarray(data.length).toString(), 'EOF-SEEN\n');
});

test('ssh -tt: a shell on a pty', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const r = await ssh(['-tt'], undefined, 'tty\nexit 7\n');
  assert.match(r.stdout.toString(), /\/dev\/pts\/\d+/);
  assert.equal(r.code, 7);
  const e = await ssh(['-tt'], 'test -t 0 && test -t 1 && echo both-tty');
  assert.match(e.stdout.toString(), /both-tty/);
});

test('ssh: every KEX, host key, cipher and MAC both sides support', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const [kex, cipher, mac, key] = await Promise.all([
    sshQuery('kex'),
    sshQuery('cipher'),
    sshQuery('mac'),
    sshQuery('key'),
  ]);
  const cases: [string, string][] = [];
  for (const k of common(supportedAlgorithms('kex'), kex)) cases.push(['KexAlgorithms', k]);
  const hostAlgs = common(
    supportedAlgorithms('hostKey').filter((a) => a !== 'ssh-dss'),
    [...key, 'rsa-sha2-256', 'rsa-sha2-512'],
  );
  for (const h of hostAlgs) cases.push(['HostKeyAlgorithms', h]);
  for (const c of common(supportedAlgorithms('cipher'), cipher)) cases.push(['Ciphers', c]);
  for (const m of common(supportedAlgorithms('mac'), mac)) cases.push(['MACs', m]);
  for (const z of ['yes', 'no']) cases.push(['Compression', z]);
  assert.ok(cases.length >= 30, `only ${cases.length} cases`);
  for (const [opt, value] of cases) {
    // MACs only apply to non-AEAD ciphers: pin one.
    const extra = opt === 'MACs' ? ['-o', 'Ciphers=aes128-ctr'] : [];
    const r = await ssh(['-v', '-o', `${opt}=${value}`, ...extra], 'echo ok');
    assert.equal(
      r.stdout.toString(),
      'ok\n',
      `${opt}=${value}: ${r.stderr
        .split('\n')
        .filter((l) => !l.startsWith('debug'))
        .join('\n')}`,
    );
    assert.equal(r.code, 0, `${opt}=${value}`);
    if (opt === 'KexAlgorithms')
      assert.match(r.stderr, new RegExp(`kex: algorithm: ${value.replace(/[.@]/g, '\\$&')}`));
    if (opt === 'HostKeyAlgorithms') assert.match(r.stderr, new RegExp(`kex: host key algorithm: ${value}`));
    if (opt === 'Ciphers')
      assert.match(r.stderr, new RegExp(`server->client cipher: ${value.replace(/[.@]/g, '\\$&')}`));
    if (opt === 'MACs')
      assert.match(r.stderr, new RegExp(`server->client cipher: aes128-ctr MAC: ${value.replace(/[.@]/g, '\\$&')}`));
  }
});

test('ssh: rekey every 1 MiB over 256 MiB, bytes identical', async (t) => {
  if (!requirePeer(t, 'ssh', 'ssh-keygen')) return;
  const total = 256 * 1024 * 1024;
  const hash = createHash('sha256');
  const r = await ssh(['-v', '-o', 'RekeyLimit=1M'], 'sha256sum', (w) => {
    let sent = 0;
    const block = randomBytes(1024 * 1024);
    const pump = () => {
      while (sent < total) {
        // A different block each MiB so reordering or loss would show.
        block.writeUInt32BE(sent / (1024 * 1024), 0);
        hash.update(block);
        sent += block.length;
        if (!w.write(Buffer.from(block))) {
          w.once('drain', pump);
          return;
        }
      }
      w.end();
    };
    pump();
  });
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assert.equal(r.stdout.toString().split(/\s/)[0], hash.digest('hex'));
  const rekeys = r.stderr.split('\n').filter((l) => l.includes('SSH2_MSG_NEWKEYS received')).length;
  assert.ok(rekeys >= 200, `only ${rekeys} key exchanges`);
});
