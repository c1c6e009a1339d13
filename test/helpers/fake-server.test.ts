/**
 * Self-test of the fake servers: OpenSSH's own client must reject each one for the intended reason.
 * ('long-version' is not here: OpenSSH accepts version lines up to 8 KiB, stricter than needed.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { type FakeBehaviour, plainPacket, startFakeServer } from './fake-server.js';
import { binPath, requirePeer } from './peers.js';

function sshAgainst(port: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const args = ['-F', 'none', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=3', '-o', 'StrictHostKeyChecking=no'];
    args.push('-o', 'UserKnownHostsFile=/dev/null', '-p', String(port), '127.0.0.1', 'true');
    const child = execFile(binPath('ssh'), args, { timeout: 5000 }, (err, _out, stderr) => {
      resolve({ code: err ? (child.exitCode ?? -1) : 0, stderr });
    });
  });
}

test('plainPacket frames with >= 4 bytes of padding and a multiple-of-8 total', () => {
  for (let n = 0; n < 40; n++) {
    const p = plainPacket(Buffer.alloc(n, 7));
    assert.equal(p.length % 8, 0);
    assert.equal(p.readUInt32BE(0), p.length - 4);
    const pad = p[4] ?? 0;
    assert.ok(pad >= 4 && pad < 4 + 8 + 4);
    assert.equal(5 + n + pad, p.length);
    assert.deepEqual(p.subarray(5, 5 + n), Buffer.alloc(n, 7));
  }
});

const expectations: [FakeBehaviour, RegExp][] = [
  ['garbage', /banner line contains invalid characters/],
  ['oversized-length', /Bad packet length 2147483647/],
  ['truncated-kexinit', /kex_input_kexinit: .*incomplete message/],
  ['many-pre-banner-lines', /No SSH version received in first 1024 lines/],
  ['strict-kex-ignore', /strict KEX violation: unexpected packet type 2/],
];

for (const [behaviour, re] of expectations) {
  test(`fake server '${behaviour}' is rejected by OpenSSH's ssh`, async (t) => {
    if (!requirePeer(t, 'ssh')) return;
    const f = await startFakeServer(behaviour);
    try {
      const r = await sshAgainst(f.port);
      assert.equal(r.code, 255, r.stderr);
      assert.match(r.stderr, re);
      if (process.env.SECSH_DEBUG_FAKE) console.log(behaviour, r.stderr);
      assert.equal(f.connections, 1);
    } finally {
      await f.stop();
    }
  });
}
