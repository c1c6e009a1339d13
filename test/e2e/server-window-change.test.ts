/**
 * window-change on a pty session must not stall the server: 500 requests in one burst are applied
 * asynchronously and coalesced (only the last size matters), so the event loop — every other
 * connection's — stays responsive, and the terminal ends up at the last size sent.
 */
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { findScript, localProcessHandler } from '../../src/server/local.js';
import { Server } from '../../src/server/server.js';

const BURST = 500;
const FINAL = { cols: 132, rows: 50 };

test('500 window-change requests in one burst: the event loop stays responsive and the last size applies', async (t) => {
  if (!findScript()) {
    t.skip('util-linux script is not installed: no pty sessions');
    return;
  }
  const hostKey = generatePrivateKey('ed25519');
  const server = new Server({ hostKeys: [hostKey], authenticate: (ctx) => ctx.method === 'password' });
  server.on('session', localProcessHandler({ shell: '/bin/sh' }));
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  const client = await Client.connect({
    host: '127.0.0.1',
    port,
    username: 'u',
    password: 'p',
    hostKeyFingerprint: hostKey.publicKey.fingerprint(),
  });
  try {
    const shell = await client.shell({ pty: { term: 'xterm', cols: 80, rows: 24 } });
    let out = '';
    shell.setEncoding('utf8');
    shell.on('data', (d: string) => {
      out += d;
    });
    /** Runs `stty size` in the shell and resolves with "rows cols" (undefined: no answer within 10 s). */
    const sttySize = async (): Promise<string | undefined> => {
      const mark = `Z${Math.random().toString(36).slice(2, 8)}`;
      shell.write(`echo ${mark}:$(stty size):${mark}\n`);
      const re = new RegExp(`${mark}:(\\d+ \\d+):${mark}`);
      const end = Date.now() + 10_000;
      for (;;) {
        const m = re.exec(out);
        if (m?.[1]) return m[1];
        if (Date.now() > end) return undefined;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    /** Asks `stty size` until it says `want` (or 10 s passed); returns the last answer. */
    const waitSize = async (want: string): Promise<string | undefined> => {
      const end = Date.now() + 10_000;
      let size = await sttySize();
      while (size !== want && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 50));
        size = await sttySize();
      }
      return size;
    };
    assert.equal(await waitSize('24 80'), '24 80', 'the pty starts at the requested size');

    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    // One burst: every request is queued before any is sent, so they leave in one socket write.
    for (let i = 0; i < BURST - 1; i++) shell.windowChange(81 + (i % 40), 25 + (i % 20));
    shell.windowChange(FINAL.cols, FINAL.rows);
    // The size is applied asynchronously: ask until it shows (a bounded wait, not a fixed sleep).
    const size = await waitSize(`${FINAL.rows} ${FINAL.cols}`);
    h.disable();
    const maxMs = h.max / 1e6;
    assert.ok(maxMs < 1000, `the event loop was blocked for ${maxMs.toFixed(0)} ms by ${BURST} window-changes`);
    assert.equal(size, `${FINAL.rows} ${FINAL.cols}`, 'the last window-change wins');
    // Later sizes still apply (the resizer is not stuck after a burst).
    shell.windowChange(90, 30);
    assert.equal(await waitSize('30 90'), '30 90');
    shell.end('exit\n');
  } finally {
    await client.close();
    await server.close();
  }
});
