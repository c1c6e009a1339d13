/** The server's X11 display listener: which loopback addresses a display binds, and when a display is skipped. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import type { Connection } from '../../../src/connection/index.js';
import { listenX11Forward, X11_BASE_PORT } from '../../../src/forward/x11-server.js';

const noConnection = { openChannel: () => Promise.reject(new Error('no channels here')) } as unknown as Connection;

function tryListen(host: string, port: number): Promise<Server | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    s.listen({ host, port, exclusive: true }, () => resolve(s));
  });
}

function closeServer(s: Server): Promise<void> {
  return new Promise((r) => s.close(() => r()));
}

/** A display number whose port is free on both loopback addresses, with the next few free too. */
async function freeDisplays(n: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const d = 2000 + Math.floor(Math.random() * 20000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      for (const h of ['127.0.0.1', '::1']) {
        const r = await tryListen(h, X11_BASE_PORT + d + i);
        if (r instanceof Error) ok = false;
        else await closeServer(r);
      }
    }
    if (ok) return d;
  }
  throw new Error('no free display range');
}

test('a display whose port another process holds on [::1] is skipped; the display chosen is bound on 127.0.0.1 and ::1', async (t) => {
  const probe = await tryListen('::1', 0);
  if (probe instanceof Error) return t.skip(`no IPv6 loopback here (${probe.code})`);
  await closeServer(probe);
  const d = await freeDisplays(3);
  const squat = await tryListen('::1', X11_BASE_PORT + d);
  assert.ok(!(squat instanceof Error));
  const l = await listenX11Forward(noConnection, { displayOffset: d, maxDisplays: 3 });
  try {
    assert.equal(l.display, d + 1);
    assert.equal(l.port, X11_BASE_PORT + d + 1);
    for (const h of ['127.0.0.1', '::1']) {
      const r = await tryListen(h, l.port);
      if (!(r instanceof Error)) await closeServer(r);
      assert.ok(r instanceof Error && r.code === 'EADDRINUSE', `${h}:${l.port} is not bound by the display`);
    }
    // The skipped display's 127.0.0.1 port was let go again.
    const v4 = await tryListen('127.0.0.1', X11_BASE_PORT + d);
    assert.ok(!(v4 instanceof Error), '127.0.0.1 of the skipped display is still held');
    await closeServer(v4);
  } finally {
    l.close();
    await closeServer(squat);
  }
  // close() lets both addresses go.
  await new Promise((r) => setTimeout(r, 20));
  for (const h of ['127.0.0.1', '::1']) {
    const r = await tryListen(h, l.port);
    assert.ok(!(r instanceof Error), `${h}:${l.port} still bound after close`);
    await closeServer(r);
  }
});

test('a display whose port another process holds on 127.0.0.1 is skipped too', async () => {
  const d = await freeDisplays(2);
  const squat = await tryListen('127.0.0.1', X11_BASE_PORT + d);
  assert.ok(!(squat instanceof Error));
  const l = await listenX11Forward(noConnection, { displayOffset: d, maxDisplays: 2 });
  try {
    assert.equal(l.display, d + 1);
  } finally {
    l.close();
    await closeServer(squat);
  }
});
