/**
 * Session behaviour against a real OpenSSH sshd: exit codes and signals, env, pty size, half-close,
 * and large stdout + stderr from one command without deadlock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectSshd, drain, installTripwire, sharedSshd } from '../helpers/interop.js';
import { requirePeer } from '../helpers/peers.js';

installTripwire();
const shared = sharedSshd();

async function withClient<T>(fn: (c: Awaited<ReturnType<typeof connectSshd>>) => Promise<T>): Promise<T> {
  const client = await connectSshd(await shared.get());
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

test('exec: stdout, stderr and exit status 0', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  await withClient(async (c) => {
    const r = await c.exec('echo hi; echo oops >&2');
    assert.deepEqual(r, { stdout: 'hi\n', stderr: 'oops\n', code: 0, signal: null });
  });
});

test('exec: exit codes and exit-signal', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  await withClient(async (c) => {
    const three = await c.exec('exit 3');
    assert.equal(three.code, 3);
    assert.equal(three.signal, null);
    const killed = await c.exec('kill -TERM $$');
    assert.equal(killed.signal, 'TERM');
    assert.equal(killed.code, null);
    // several commands on one connection, concurrently
    const rs = await Promise.all([1, 2, 3, 4, 5].map((i) => c.exec(`echo ${i}; exit ${i}`)));
    assert.deepEqual(
      rs.map((r) => [r.stdout, r.code]),
      [1, 2, 3, 4, 5].map((i) => [`${i}\n`, i]),
    );
  });
});

test('exec: env is passed through AcceptEnv SECSH_*', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  await withClient(async (c) => {
    const r = await c.exec('echo $SECSH_TEST', { env: { SECSH_TEST: '1' } });
    assert.equal(r.stdout, '1\n');
  });
});

test('exec: pty size is what stty sees', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  await withClient(async (c) => {
    const r = await c.exec('stty size', { pty: { rows: 40, cols: 100 } });
    assert.equal(String(r.stdout).trim(), '40 100');
    const noPty = await c.exec('test -t 0 && echo tty || echo notty');
    assert.equal(noPty.stdout, 'notty\n');
  });
});

test('exec: stdin then EOF (half-close) reaches wc -c', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  await withClient(async (c) => {
    for (const n of [0, 1, 32_768, 3_000_001]) {
      const r = await c.exec('wc -c', { stdin: Buffer.alloc(n, 0x61) });
      assert.equal(String(r.stdout).trim(), String(n));
    }
  });
});

test('exec: 64 MiB on stdout and 64 MiB on stderr from one command, no deadlock', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  await withClient(async (c) => {
    const size = 64 * 1024 * 1024;
    // interleaved: both streams fill at once, so neither may wait for the other to drain
    const cmd = `head -c ${size} /dev/zero >&2 & head -c ${size} /dev/zero; wait`;
    const r = await c.exec(cmd, { encoding: 'buffer' });
    assert.ok(Buffer.isBuffer(r.stdout) && Buffer.isBuffer(r.stderr));
    assert.equal(r.stdout.length, size);
    assert.equal(r.stderr.length, size);
    assert.equal(r.code, 0);
    const seq = await c.exec(`head -c ${size} /dev/zero; head -c ${size} /dev/zero >&2`, { encoding: 'buffer' });
    assert.equal(seq.stdout.length, size);
    assert.equal(seq.stderr.length, size);
  });
});

test('spawn: streaming cat echoes what it is given, exit resolves', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  await withClient(async (c) => {
    const proc = await c.spawn('cat');
    const out = drain(proc.stdout);
    for (let i = 0; i < 100; i++) proc.stdin.write(`line ${i}\n`);
    proc.stdin.end();
    const expected = Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join('');
    const got = await out;
    assert.equal(got.bytes, Buffer.byteLength(expected));
    assert.deepEqual(await proc.exit, { code: 0, signal: null });
  });
});

test('shell: a pty shell runs a command and exits', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  await withClient(async (c) => {
    const sh = await c.shell({ pty: { cols: 80, rows: 24, term: 'dumb' } });
    let out = '';
    sh.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const closed = new Promise<void>((r) => sh.once('close', () => r()));
    sh.write('echo secsh-$((40+2)); exit\n');
    await closed;
    assert.match(out, /secsh-42/);
  });
});

test('subsystem: sftp answers SSH_FXP_INIT with VERSION 3', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  await withClient(async (c) => {
    const ch = await c.subsystem('sftp');
    const reply = new Promise<Buffer>((resolve) => {
      let buf = Buffer.alloc(0);
      ch.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) resolve(buf);
      });
    });
    // uint32 length=5, byte SSH_FXP_INIT(1), uint32 version=3
    ch.write(Buffer.from([0, 0, 0, 5, 1, 0, 0, 0, 3]));
    const r = await reply;
    assert.equal(r[4], 2, 'SSH_FXP_VERSION');
    assert.equal(r.readUInt32BE(5), 3);
    ch.end();
  });
});
