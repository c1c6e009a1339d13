/**
 * The server's forwarding parsers on random and mutated input: tcpip-forward, streamlocal-forward and
 * their cancels answer false (never throw, never bind when the policy forbids), direct-* opens with
 * any tail are refused with a code, and PermitOpen/PermitListen lists throw nothing but
 * InvalidArgumentError.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { UNRESTRICTED_PERMISSIONS } from '../../../src/auth/cert-options.js';
import type { ChannelOpenRequest, Connection } from '../../../src/connection/index.js';
import { InvalidArgumentError } from '../../../src/errors.js';
import {
  parsePermitListen,
  parsePermitOpen,
  resolveForwarding,
  type ServerForwardingOptions,
} from '../../../src/forward/policy.js';
import { openDirect, type ServerForwardContext } from '../../../src/forward/server-direct.js';
import { REMOTE_FORWARD_REQUESTS, RemoteForwards } from '../../../src/forward/server-listen.js';
import { matchPattern } from '../../../src/keys/pattern.js';
import { SshWriter } from '../../../src/wire/index.js';

const NAMES = [...REMOTE_FORWARD_REQUESTS];

function context(opts: ServerForwardingOptions): ServerForwardContext {
  return {
    settings: resolveForwarding(opts),
    user: {
      username: 'u',
      permissions: UNRESTRICTED_PERMISSIONS,
      key: undefined,
      certificate: undefined,
      remoteAddress: undefined,
    },
    connection: {
      closeReason: undefined,
      openChannel: () => Promise.reject(new Error('no channels in this test')),
    } as unknown as Connection,
    stats: { open: 0, listeners: 0, refused: 0 },
    pending: new Set(),
  };
}

const VALID: Buffer[] = [
  new SshWriter().string('127.0.0.1').uint32(0).toBuffer(),
  new SshWriter().string('localhost').uint32(8080).toBuffer(),
  new SshWriter().string('/tmp/x.sock').toBuffer(),
  new SshWriter().string('/tmp/x.sock').string('').uint32(0).toBuffer(),
  new SshWriter().string('db').uint32(5432).string('127.0.0.1').uint32(1).toBuffer(),
];

/** A valid payload with bytes flipped, cut or appended — or plain random bytes. */
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  fc
    .tuple(fc.constantFrom(...VALID), fc.nat(), fc.integer({ min: -8, max: 8 }), fc.uint8Array({ maxLength: 4 }))
    .map(([v, at, cut, extra]) => {
      const b = Buffer.from(v);
      if (b.length > 0) b[at % b.length] = (b[at % b.length] as number) ^ 0xff;
      const trimmed = cut < 0 ? b.subarray(0, Math.max(0, b.length + cut)) : b;
      return Buffer.concat([trimmed, Buffer.from(extra)]);
    }),
);

test('forward global requests with any data answer false or a port, never throw, and bind nothing the policy forbids', async () => {
  const ctx = context({ allowTcp: 'local', allowStreamLocal: 'local' });
  const rf = new RemoteForwards(ctx);
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...NAMES), payload, async (name, data) => {
      const r = await rf.request(name, data);
      assert.equal(r, false);
    }),
    { numRuns: 500 },
  );
  assert.equal(ctx.stats.listeners, 0);
  assert.ok(ctx.stats.refused >= 500);
  rf.closeAll();
});

test('direct-* opens with any data are refused with a reason code, and nothing is connected', async () => {
  const ctx = context({ allowTcp: true, allowStreamLocal: true, policy: () => false });
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('direct-tcpip', 'direct-streamlocal@openssh.com'), payload, async (type, data) => {
      const code = await new Promise<number>((resolve, reject) => {
        const req: ChannelOpenRequest = {
          type,
          data,
          accept: () => {
            reject(new Error('accepted'));
            throw new Error('accepted');
          },
          reject: (c) => resolve(c),
        };
        openDirect(req, ctx);
      });
      assert.ok(code === 1 || code === 2, `code ${code}`);
    }),
    { numRuns: 500 },
  );
  assert.equal(ctx.stats.open, 0);
});

test('PermitOpen and PermitListen lists throw nothing but InvalidArgumentError; matchPattern never throws', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 24 }), { maxLength: 6 }), (list) => {
      for (const parse of [parsePermitOpen, parsePermitListen]) {
        try {
          parse(list);
        } catch (e) {
          assert.ok(e instanceof InvalidArgumentError, String(e));
        }
      }
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 20 }), (s, p) => {
      assert.equal(typeof matchPattern(s, p), 'boolean');
      assert.ok(matchPattern(s, '*'));
      assert.ok(matchPattern(s, s.replace(/[*?]/g, '?')));
    }),
    { numRuns: 2000 },
  );
});
