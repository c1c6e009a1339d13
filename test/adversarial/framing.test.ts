/**
 * Framing and integrity attacks on the secsh server under every cipher mode. A hostile client (which
 * runs the key exchange itself and so can seal, tamper and decrypt) sends its first packet after
 * NEWKEYS with one bit flipped in each region (length, padding length, payload, padding, MAC/tag),
 * with wrong lengths, truncated, or replayed, over a real socket on 127.0.0.1.
 *
 * Every case must end in exactly one typed error on the server and at most one DISCONNECT, within a
 * bounded time, and the server's reaction must be the same wherever the damage is: the same error,
 * the same DISCONNECT reason and text. Under CBC with a classic MAC (the plaintext-recovery class)
 * the server must also read the same number of bytes before it fails: exactly 4 + 256 KiB + MAC
 * from the start of the corrupt packet, not one fewer, whatever the length decrypted to.
 */
import assert from 'node:assert/strict';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cipherInfo, macInfo } from '../../src/crypto/cipher.js';
import { ConnectionLostError, DisconnectReason, MacError } from '../../src/errors.js';
import { generatePrivateKey, type PrivateKey } from '../../src/keys/index.js';
import { Server } from '../../src/server/server.js';
import { MAX_PACKET_LENGTH } from '../../src/transport/packet-codec.js';
import { MSG, SshWriter } from '../../src/wire/index.js';
import { type CipherMode, FRAMING_MODES, HostileClient, layoutOf, modeName } from './fuzz-hostile-client.js';

/** CBC with a classic MAC: the length is decrypted from attacker-chosen blocks. */
function lengthOracleClass(m: CipherMode): boolean {
  return m.cipher.endsWith('-cbc') && !macInfo(m.mac)?.etm;
}

/** SERVICE_REQUEST "ssh-userauth": the first packet a client sends after NEWKEYS. */
const SERVICE_REQUEST = new SshWriter().byte(MSG.SERVICE_REQUEST).string('ssh-userauth').toBuffer();

interface ConnRecord {
  sock: Socket;
  /** Every 'close' of the ServerConnection, with its error. */
  closes: (Error | undefined)[];
}

interface FramingServer {
  port: number;
  records: ConnRecord[];
  clientErrors: Error[];
  close(): Promise<void>;
}

async function startFramingServer(hostKey: PrivateKey, mode: CipherMode): Promise<FramingServer> {
  const server = new Server({
    hostKeys: [hostKey],
    authenticate: () => false,
    authFailureDelay: 0,
    algorithms: {
      kex: ['curve25519-sha256'],
      hostKey: ['ssh-ed25519'],
      cipher: [mode.cipher],
      mac: [mode.mac || 'hmac-sha2-256'],
    },
  });
  const records: ConnRecord[] = [];
  const clientErrors: Error[] = [];
  server.on('client-error', (e: Error) => clientErrors.push(e));
  // Our own listener, so each connection's server-side socket (and its bytesRead) is at hand.
  const net: NetServer = createServer((sock) => {
    sock.on('error', () => {});
    const rec: ConnRecord = { sock, closes: [] };
    records.push(rec);
    server.handle(sock, `127.0.0.1:${sock.remotePort}`).on('close', (e?: Error) => rec.closes.push(e));
  });
  await new Promise<void>((resolve) => net.listen(0, '127.0.0.1', resolve));
  const addr = net.address();
  assert.ok(addr && typeof addr === 'object');
  return {
    port: addr.port,
    records,
    clientErrors,
    async close() {
      await server.close();
      for (const r of records) r.sock.destroy();
      await new Promise<void>((resolve) => net.close(() => resolve()));
    },
  };
}

/** Polls `pred` every millisecond; false after `ms`. */
async function waitFor(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) return false;
    await sleep(1);
  }
  return true;
}

/** Waits until the server has read every byte the client sent. */
async function serverCaughtUp(rec: ConnRecord, c: HostileClient): Promise<void> {
  const ok = await waitFor(() => rec.sock.bytesRead >= c.sent || rec.closes.length > 0 || rec.sock.destroyed, 5000);
  assert.ok(ok, `server read ${rec.sock.bytesRead} of ${c.sent} bytes`);
}

interface Outcome {
  /** The server's close errors (exactly one expected). */
  errors: (Error | undefined)[];
  disconnects: { reason: number; text: string }[];
  /** Bytes from the start of the attacked packet the server read before failing (CBC measurement). */
  readBeforeFailing?: number;
  ms: number;
}

/**
 * Connects, runs `attack` (which writes the attacked packet and returns where it started), then
 * feeds junk up to the discard limit: in two steps (limit − 1, then one byte) for the CBC class, to
 * measure that the server fails exactly at the limit; at once otherwise.
 */
async function runCase(
  srv: FramingServer,
  mode: CipherMode,
  attack: (c: HostileClient, rec: ConnRecord) => Promise<number | 'ended'>,
): Promise<Outcome> {
  const t0 = Date.now();
  const c = await HostileClient.connect(srv.port, mode);
  const rec = srv.records[srv.records.length - 1] as ConnRecord;
  try {
    const start = await attack(c, rec);
    const limit = 4 + MAX_PACKET_LENGTH + layoutOf(mode, 0).macLength;
    let readBeforeFailing: number | undefined;
    if (start !== 'ended') {
      const already = c.sent - start;
      if (lengthOracleClass(mode)) {
        c.writeRaw(Buffer.alloc(limit - 1 - already, 0x5a));
        await serverCaughtUp(rec, c);
        if (rec.closes.length === 0) {
          c.writeRaw(Buffer.alloc(1, 0x5a));
          await serverCaughtUp(rec, c);
          assert.ok(await waitFor(() => rec.closes.length > 0, 2000), 'no error at the limit');
          readBeforeFailing = limit;
        } else {
          readBeforeFailing = rec.sock.bytesRead - start; // failed early: an oracle
        }
      } else if (rec.closes.length === 0) {
        c.writeRaw(Buffer.alloc(Math.max(0, limit - already), 0x5a));
      }
    }
    assert.ok(await waitFor(() => rec.closes.length > 0, 5000), `${modeName(mode)}: the server did not fail in time`);
    // The DISCONNECT (if any) and the server's close reach us within a bounded time.
    assert.ok(await c.waitClosed(3000), `${modeName(mode)}: the server did not close the socket`);
    await sleep(5);
    assert.equal(c.readError, undefined, `decoding the server's replies: ${String(c.readError)}`);
    return {
      errors: rec.closes,
      disconnects: c.disconnects,
      ...(readBeforeFailing !== undefined ? { readBeforeFailing } : {}),
      ms: Date.now() - t0,
    };
  } finally {
    c.destroy();
  }
}

/** Flips `bit` of byte `offset` of the first packet after NEWKEYS and sends it. */
function flipAttack(offset: number, bit: number) {
  return async (c: HostileClient) => {
    const wire = c.seal(SERVICE_REQUEST);
    wire[offset] = (wire[offset] as number) ^ (1 << bit);
    const start = c.sent;
    c.writeRaw(wire);
    return start;
  };
}

/** Sends the first packet with packet_length changed to `len` (for modes whose length is clear or XOR-encrypted). */
function lengthAttack(mode: CipherMode, len: (real: number) => number) {
  return async (c: HostileClient) => {
    const wire = c.seal(SERVICE_REQUEST);
    const real = layoutOf(mode, SERVICE_REQUEST.length).packetLength;
    wire.writeUInt32BE((wire.readUInt32BE(0) ^ real ^ len(real)) >>> 0, 0);
    const start = c.sent;
    c.writeRaw(wire);
    return start;
  };
}

/** Sends the first packet intact, waits for SERVICE_ACCEPT, then sends the same bytes again. */
async function replayAttack(c: HostileClient): Promise<number> {
  const wire = c.seal(SERVICE_REQUEST);
  c.writeRaw(wire);
  assert.ok(await waitFor(() => c.received.some((p) => p[0] === MSG.SERVICE_ACCEPT), 3000), 'no SERVICE_ACCEPT');
  const start = c.sent;
  c.writeRaw(wire);
  return start;
}

/** Cuts the first packet after `keep` bytes and closes our side. */
function truncateAttack(keep: (total: number) => number) {
  return async (c: HostileClient) => {
    const wire = c.seal(SERVICE_REQUEST);
    c.writeRaw(wire.subarray(0, keep(wire.length)));
    c.sock.end();
    return 'ended' as const;
  };
}

/** What the server did, as one comparable line. */
function reaction(o: Outcome): string {
  const e = o.errors[0];
  const d = o.disconnects.map((x) => `${x.reason}:${x.text}`).join(',');
  return `${e?.constructor.name}/${(e as { code?: string } | undefined)?.code} | DISCONNECT ${d}`;
}

let hostKey: PrivateKey;
before(() => {
  hostKey = generatePrivateKey('ed25519');
});

for (const mode of FRAMING_MODES) {
  describe(`framing under ${modeName(mode)}`, () => {
    let srv: FramingServer;
    before(async () => {
      srv = await startFramingServer(hostKey, mode);
    });
    after(async () => {
      await srv.close();
    });

    test('a flipped bit in every region, a wrong length or a replay: one MacError, one DISCONNECT (MAC error), the same reply wherever it was', async () => {
      const layout = layoutOf(mode, SERVICE_REQUEST.length);
      const cases: { name: string; attack: Parameters<typeof runCase>[2] }[] = [];
      for (const r of layout.regions) {
        for (const bit of [0, 7]) cases.push({ name: `flip ${r.name} bit ${bit}`, attack: flipAttack(r.offset, bit) });
      }
      // Length edits need a length we can steer: clear (GCM, ETM) or XOR-encrypted (chacha, CTR).
      if (!mode.cipher.endsWith('-cbc') || macInfo(mode.mac)?.etm) {
        const bs = cipherInfo(mode.cipher)?.blockSize ?? 8;
        cases.push(
          { name: 'length + one block', attack: lengthAttack(mode, (l) => l + bs) },
          { name: 'length − one block', attack: lengthAttack(mode, (l) => l - bs) },
          { name: 'length + 1 (misaligned)', attack: lengthAttack(mode, (l) => l + 1) },
          { name: 'length 0', attack: lengthAttack(mode, () => 0) },
          { name: 'length 2^32-1', attack: lengthAttack(mode, () => 0xffffffff) },
          { name: 'length = the limit', attack: lengthAttack(mode, () => MAX_PACKET_LENGTH) },
        );
      }
      cases.push({ name: 'replay of the previous packet', attack: replayAttack });

      const reactions = new Map<string, string[]>();
      const counts = new Map<number, string[]>();
      const outcomes: { name: string; o: Outcome }[] = [];
      for (const k of cases) {
        const o = await runCase(srv, mode, k.attack);
        outcomes.push({ name: k.name, o });
        const line = reaction(o);
        reactions.set(line, [...(reactions.get(line) ?? []), k.name]);
        if (o.readBeforeFailing !== undefined)
          counts.set(o.readBeforeFailing, [...(counts.get(o.readBeforeFailing) ?? []), k.name]);
      }
      const show = (m: Map<string | number, string[]>) => [...m].map(([l, n]) => `${l} <- ${n.join('; ')}`).join('\n');
      assert.equal(reactions.size, 1, `the reaction depends on where the damage is:\n${show(reactions)}`);
      if (lengthOracleClass(mode)) {
        const limit = 4 + MAX_PACKET_LENGTH + layout.macLength;
        assert.deepEqual([...counts.keys()], [limit], `bytes read before failing differ:\n${show(counts)}`);
      }
      for (const { name, o } of outcomes) {
        assert.equal(o.errors.length, 1, `${name}: ${o.errors.length} close events`);
        assert.ok(o.errors[0] instanceof MacError, `${name}: server failed with ${String(o.errors[0])}`);
        assert.equal(o.disconnects.length, 1, `${name}: ${o.disconnects.length} DISCONNECTs`);
        assert.equal(o.disconnects[0]?.reason, DisconnectReason.MAC_ERROR, name);
      }
      assert.equal(srv.clientErrors.length, cases.length, 'one client-error per case');
      console.log(
        `framing ${modeName(mode)}: ${cases.length} cases, reaction "${[...reactions.keys()][0]}"` +
          (lengthOracleClass(mode) ? `, each read exactly ${[...counts.keys()][0]} bytes before failing` : ''),
      );
    });

    test('a packet cut mid-way and the connection closed: one ConnectionLostError, no DISCONNECT, no hang', async () => {
      srv.clientErrors.length = 0;
      for (const keep of [() => 2, () => 4, (n: number) => n >> 1, (n: number) => n - 1]) {
        const o = await runCase(srv, mode, truncateAttack(keep));
        assert.equal(o.errors.length, 1);
        assert.ok(o.errors[0] instanceof ConnectionLostError, String(o.errors[0]));
        assert.ok(o.disconnects.length <= 1);
        assert.ok(o.ms < 5000);
      }
    });
  });
}
