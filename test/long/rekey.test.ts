/**
 * Re-keying against a real OpenSSH sshd: 256 MiB through `cat` with both sides' rekey limits at
 * 1 MiB (hundreds of key exchanges), bytes identical; and a forced `client.rekey()` mid-transfer.
 */
import assert from 'node:assert/strict';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { connectSshd, drain, installTripwire, randomSource, sharedSshd } from '../helpers/interop.js';
import { requirePeer } from '../helpers/peers.js';

installTripwire();
const shared = sharedSshd({ extraConfig: ['RekeyLimit 1M', 'LogLevel DEBUG1'], hostKeyTypes: ['ed25519'] });

const MiB = 1024 * 1024;

async function catRoundTrip(
  client: Awaited<ReturnType<typeof connectSshd>>,
  total: number,
  midway?: () => Promise<void>,
) {
  const proc = await client.spawn('cat');
  const src = randomSource(total);
  const back = drain(proc.stdout);
  let sendDone = false;
  const sent = pipeline(src.stream, proc.stdin).then(() => {
    sendDone = true;
  });
  let midwayWhileSending = false;
  if (midway) {
    await new Promise<void>((resolve) => {
      let seen = 0;
      const onData = (d: Buffer) => {
        seen += d.length;
        if (seen >= total / 2) {
          proc.stdout.off('data', onData);
          resolve();
        }
      };
      // observe without consuming: drain() owns the flow, this listener only counts
      proc.stdout.on('data', onData);
    });
    midwayWhileSending = !sendDone;
    await midway();
  }
  await sent;
  const got = await back;
  const exit = await proc.exit;
  return { got, sent: src.digest(), exit, midwayWhileSending };
}

test('256 MiB through cat with RekeyLimit 1M on sshd and rekeyLimit 1 MiB on the client', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const total = (process.env.SECSH_QUICK ? 32 : 256) * MiB;
  const kexinits = () => sshd.logs().split('SSH2_MSG_KEXINIT received').length - 1;
  const before = kexinits();
  const client = await connectSshd(sshd, { rekeyLimit: { bytes: MiB } });
  try {
    const r = await catRoundTrip(client, total);
    assert.equal(r.got.bytes, total);
    assert.equal(r.got.sha256, r.sent, 'bytes back are the bytes sent');
    assert.deepEqual(r.exit, { code: 0, signal: null });
    // the connection still works after hundreds of re-keys
    assert.equal((await client.exec('echo after')).stdout, 'after\n');
  } finally {
    await client.close();
  }
  // sshd saw many key exchanges on this connection (at least one per 2 MiB each way)
  const n = kexinits() - before;
  assert.ok(n >= total / (4 * MiB), `only ${n} key exchanges for ${total} bytes`);
});

test('forced client.rekey() in the middle of a transfer', async (t) => {
  if (!requirePeer(t, 'sshd', 'ssh-keygen')) return;
  const sshd = await shared.get();
  const client = await connectSshd(sshd);
  try {
    const total = 16 * MiB;
    let rekeyed = 0;
    const r = await catRoundTrip(client, total, async () => {
      await client.rekey();
      rekeyed++;
      await client.rekey(); // twice in a row is fine too
      rekeyed++;
    });
    assert.equal(rekeyed, 2);
    assert.ok(r.midwayWhileSending, 'the re-key started while data was still being sent');
    assert.equal(r.got.bytes, total);
    assert.equal(r.got.sha256, r.sent);
    // rekey while idle, then use the new keys
    await client.rekey();
    assert.equal((await client.exec('echo idle-rekey')).stdout, 'idle-rekey\n');
  } finally {
    await client.close();
  }
});
