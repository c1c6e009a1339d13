/**
 * A hostile client against the secsh server's hybrid post-quantum key exchanges (sntrup761x25519-sha512,
 * its @openssh.com name, mlkem768x25519-sha256): it negotiates the method, then sends a KEX_HYBRID_INIT
 * (message 30) whose C_INIT it chose — too short, too long, empty, a low-order X25519 value, a KEM public
 * key no key generation would give. The server must answer each with a DISCONNECT of
 * KEY_EXCHANGE_FAILED (or, where OpenSSH accepts the value, a well-formed reply), never crash or hang,
 * and keep serving honest clients.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { DisconnectReason } from '../../src/errors.js';
import { generatePrivateKey } from '../../src/keys/index.js';
import type { Server } from '../../src/server/server.js';
import { decodeKexInit, encodeKexInit } from '../../src/transport/kexinit.js';
import { PacketDecoder, PacketEncoder } from '../../src/transport/packet-codec.js';
import { VersionReader } from '../../src/transport/version.js';
import { MSG, SshReader, SshWriter } from '../../src/wire/index.js';
import { startServer } from '../e2e/server-helpers.js';

const user = generatePrivateKey('ed25519');
let server: Server;
let port = 0;

before(async () => {
  ({ server, port } = await startServer({
    hostKeys: [generatePrivateKey('ed25519')],
    authenticate: (ctx) => ctx.method === 'publickey' && !!ctx.key?.equals(user.publicKey),
  }));
});

after(async () => {
  await server.close();
});

/** What the server did with one hostile KEX_HYBRID_INIT. */
type Outcome = { disconnect: number; text: string } | { reply: Buffer } | { closed: true };

/** Negotiates `method` by hand and sends `clientInit` as C_INIT; returns the server's answer. */
async function sendInit(method: string, clientInit: Buffer): Promise<Outcome> {
  const sock = connect({ port, host: '127.0.0.1' });
  sock.on('error', () => {});
  const enc = new PacketEncoder();
  const dec = new PacketDecoder();
  const version = new VersionReader(true);
  let versionDone = false;
  const kexinit = encodeKexInit({
    kex: [method],
    hostKey: ['ssh-ed25519'],
    cipherCS: ['aes128-ctr'],
    cipherSC: ['aes128-ctr'],
    macCS: ['hmac-sha2-256'],
    macSC: ['hmac-sha2-256'],
    compressionCS: ['none'],
    compressionSC: ['none'],
    languagesCS: [],
    languagesSC: [],
    firstKexPacketFollows: false,
  });
  const outcome = new Promise<Outcome>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer within 10 s')), 10_000);
    const done = (o: Outcome): void => {
      clearTimeout(timer);
      resolve(o);
      sock.destroy();
    };
    sock.on('close', () => done({ closed: true }));
    sock.on('data', (d: Buffer) => {
      let rest = d;
      if (!versionDone) {
        const r = version.push(d);
        if (!r.done) return;
        versionDone = true;
        rest = r.rest;
      }
      dec.push(rest);
      for (let p = dec.next(); p; p = dec.next()) {
        const payload = Buffer.from(p);
        if (payload[0] === MSG.KEXINIT) {
          assert.ok(decodeKexInit(payload).kex.includes(method), `the server offers ${method}`);
          sock.write(enc.encode(new SshWriter(clientInit.length + 16).byte(30).string(clientInit).toBuffer()));
        } else if (payload[0] === MSG.DISCONNECT) {
          const r = new SshReader(payload, 1);
          done({ disconnect: r.uint32(), text: r.utf8() });
        } else if (payload[0] === 31) {
          const r = new SshReader(payload, 1);
          r.string(16 * 1024); // K_S
          done({ reply: r.string(4096) });
        }
      }
    });
  });
  sock.write(Buffer.from('SSH-2.0-Hostile_1.0\r\n'));
  sock.write(enc.encode(kexinit));
  return outcome;
}

/** A valid X25519 public value (the base point u = 9). */
const X25519_OK = Buffer.concat([Buffer.of(9), Buffer.alloc(31)]);
/** A low-order X25519 value: the shared secret would be all zeros. */
const X25519_ZERO = Buffer.alloc(32);

const METHODS = [
  { name: 'sntrup761x25519-sha512', pk: 1158, reply: 1071 },
  { name: 'sntrup761x25519-sha512@openssh.com', pk: 1158, reply: 1071 },
  { name: 'mlkem768x25519-sha256', pk: 1184, reply: 1120 },
];

function assertKexFailed(o: Outcome, what: string): void {
  assert.ok('disconnect' in o, `${what}: a DISCONNECT, got ${JSON.stringify(o)}`);
  assert.equal(o.disconnect, DisconnectReason.KEY_EXCHANGE_FAILED, `${what}: ${o.text}`);
}

for (const m of METHODS) {
  test(`${m.name}: a C_INIT of the wrong length is KEY_EXCHANGE_FAILED`, async () => {
    for (const n of [0, 32, m.pk, m.pk + 31, m.pk + 33, 4096]) {
      assertKexFailed(await sendInit(m.name, Buffer.alloc(n, 0x5a)), `${n} bytes`);
    }
  });

  test(`${m.name}: a low-order X25519 value in C_INIT is KEY_EXCHANGE_FAILED`, async () => {
    const init = Buffer.concat([Buffer.alloc(m.pk, 0), X25519_ZERO]);
    assertKexFailed(await sendInit(m.name, init), 'all-zero X25519');
  });
}

test('sntrup761: any 1158 bytes are a public key (as in OpenSSH): all 0xff gets a 1071-byte S_REPLY', async () => {
  for (const name of ['sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com']) {
    const o = await sendInit(name, Buffer.concat([Buffer.alloc(1158, 0xff), X25519_OK]));
    assert.ok('reply' in o, `${name}: a reply, got ${JSON.stringify(o)}`);
    assert.equal(o.reply.length, 1071);
  }
});

test('mlkem768: an encapsulation key with coefficients above q is KEY_EXCHANGE_FAILED (FIPS 203 check)', async () => {
  assertKexFailed(
    await sendInit('mlkem768x25519-sha256', Buffer.concat([Buffer.alloc(1184, 0xff), X25519_OK])),
    'all 0xff',
  );
});

test('after every hostile C_INIT the server still serves an honest client with each method', async () => {
  for (const m of METHODS) {
    const c = await Client.connect({
      host: '127.0.0.1',
      port,
      username: 'u',
      privateKey: user,
      insecureAcceptAnyHostKey: true,
      algorithms: { kex: [m.name] },
    });
    try {
      assert.equal(c.algorithms.kex, m.name);
      assert.equal((await c.exec('x')).stdout, 'ran:x');
    } finally {
      c.close();
    }
  }
});
