/**
 * Framing and integrity attacks on the secsh client: a secsh server behind a tampering TCP proxy on
 * 127.0.0.1, every cipher mode forced. The proxy damages the server's first packet after NEWKEYS
 * (EXT_INFO) in each region, replays it in place of the next one, or cuts the stream mid-packet; it
 * then sends junk up to the largest packet size, as a live peer would go on sending.
 *
 * Client.connect() must reject with exactly one typed error (MacError; ConnectionLostError for a cut)
 * within a bounded time, the server must see at most one DISCONNECT from it (MAC error), and the
 * reaction must be the same wherever the damage was.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_PUBLICKEY_ALGORITHMS } from '../../src/auth/server.js';
import { Client } from '../../src/client/client.js';
import { ConnectionLostError, DisconnectError, DisconnectReason, MacError, type SshError } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import { Server, type ServerConnection } from '../../src/server/server.js';
import { MAX_PACKET_LENGTH } from '../../src/transport/packet-codec.js';
import { encodeServerSigAlgs } from '../../src/transport/session-keys.js';
import { type CipherMode, FRAMING_MODES, layoutOf, modeName } from './fuzz-hostile-client.js';
import { startTamperProxy, type TamperPlan } from './fuzz-proxy.js';

const EXT_INFO = encodeServerSigAlgs(DEFAULT_PUBLICKEY_ALGORITHMS);

interface Result {
  error: unknown;
  /** What the server saw end the connection (the client's DISCONNECT, if it sent one). */
  serverSaw: (Error | undefined)[];
  ms: number;
}

async function attempt(mode: CipherMode, server: Server, serverPort: number, plan: TamperPlan): Promise<Result> {
  const proxy = await startTamperProxy(serverPort, () => plan);
  const serverSaw: (Error | undefined)[] = [];
  const onConn = (c: ServerConnection) => c.on('close', (e?: Error) => serverSaw.push(e));
  server.on('connection', onConn);
  const t0 = Date.now();
  try {
    let error: unknown;
    try {
      const client = await Client.connect({
        host: '127.0.0.1',
        port: proxy.port,
        username: 'u',
        password: 'p',
        insecureAcceptAnyHostKey: true,
        config: false,
        knownHosts: false,
        readyTimeout: 10_000,
        algorithms: { cipher: [mode.cipher], mac: [mode.mac || 'hmac-sha2-256'] },
      });
      client.close();
      error = new Error('connect() succeeded through a tampering proxy');
    } catch (e) {
      error = e;
    }
    const ms = Date.now() - t0;
    // Let the server read what the client sent before it closed.
    for (let i = 0; i < 200 && serverSaw.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    return { error, serverSaw, ms };
  } finally {
    server.off('connection', onConn);
    await proxy.close();
  }
}

for (const mode of FRAMING_MODES) {
  describe(`client framing under ${modeName(mode)}`, () => {
    let server: Server;
    let port: number;
    before(async () => {
      server = new Server({
        hostKeys: [generatePrivateKey('ed25519')],
        authenticate: () => true,
        algorithms: { cipher: [mode.cipher], mac: [mode.mac || 'hmac-sha2-256'] },
      });
      server.on('client-error', () => {});
      ({ port } = await server.listen({ port: 0, host: '127.0.0.1' }));
    });
    after(async () => {
      await server.close();
    });

    test('a flipped bit in each region of the first keyed packet, or a replay: one MacError, one DISCONNECT, the same reaction', async () => {
      const layout = layoutOf(mode, EXT_INFO.length);
      const junk = Buffer.alloc(4 + MAX_PACKET_LENGTH + layout.macLength, 0x5a);
      const cases: { name: string; plan: TamperPlan }[] = layout.regions.map((r) => ({
        name: `flip ${r.name}`,
        plan: { flips: [{ offset: r.offset, bit: 0 }], insert: { after: layout.total, bytes: junk } },
      }));
      cases.push({
        name: 'replay of EXT_INFO in place of the next packet',
        plan: {
          insert: { after: layout.total, bytes: (seen) => Buffer.concat([seen.subarray(0, layout.total), junk]) },
        },
      });
      const reactions = new Map<string, string[]>();
      for (const k of cases) {
        const r = await attempt(mode, server, port, k.plan);
        assert.ok(r.error instanceof MacError, `${k.name}: connect() failed with ${String(r.error)}`);
        assert.ok(r.ms < 10_000, `${k.name}: took ${r.ms} ms`);
        assert.equal(r.serverSaw.length, 1, `${k.name}: server closes ${r.serverSaw.length}`);
        const d = r.serverSaw[0];
        assert.ok(d instanceof DisconnectError, `${k.name}: the server saw ${String(d)}, not one DISCONNECT`);
        assert.equal(d.peerReason, DisconnectReason.MAC_ERROR);
        const line = `${(r.error as SshError).constructor.name}: ${(r.error as SshError).message} | DISCONNECT ${d.peerReason}:${d.description}`;
        reactions.set(line, [...(reactions.get(line) ?? []), k.name]);
      }
      assert.equal(
        reactions.size,
        1,
        `the client's reaction depends on where the damage is:\n${[...reactions].map(([l, n]) => `${l} <- ${n.join('; ')}`).join('\n')}`,
      );
      console.log(`client framing ${modeName(mode)}: ${cases.length} cases, reaction "${[...reactions.keys()][0]}"`);
    });

    test('the stream cut inside the first keyed packet: one ConnectionLostError, no DISCONNECT, no hang', async () => {
      const layout = layoutOf(mode, EXT_INFO.length);
      for (const cutAt of [2, 5, layout.total - 1]) {
        const r = await attempt(mode, server, port, { cutAt });
        assert.ok(r.error instanceof ConnectionLostError, `cut at ${cutAt}: ${String(r.error)}`);
        assert.ok(r.ms < 10_000);
        assert.ok(r.serverSaw.length <= 1);
        assert.ok(!(r.serverSaw[0] instanceof DisconnectError), 'the client sent a DISCONNECT after a cut');
      }
    });
  });
}
