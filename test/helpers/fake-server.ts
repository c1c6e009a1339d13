/**
 * A misbehaving "SSH server" on 127.0.0.1 for negative tests: each connection runs one scripted
 * behaviour. Packets it writes are unencrypted (the state before the first NEWKEYS).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { MSG, SshWriter } from '../../src/wire/index.js';

/** What the fake server does with each connection. */
export type FakeBehaviour =
  /** Binary garbage (no newline within 255 bytes) instead of a version line. */
  | 'garbage'
  /** A valid banner, then a packet length of 0x7fffffff. */
  | 'oversized-length'
  /** A valid banner, then a well-framed packet whose KEXINIT payload ends after two name-lists. */
  | 'truncated-kexinit'
  /** 2000 text lines before the version line. */
  | 'many-pre-banner-lines'
  /** A version line longer than 255 bytes. */
  | 'long-version'
  /** A banner, a KEXINIT advertising strict KEX, then SSH_MSG_IGNORE before the KEX completes. */
  | 'strict-kex-ignore'
  /** The same without strict KEX: the IGNORE is legal, the KEX then just stalls. */
  | 'kex-ignore'
  /** Accepts the TCP connection and never sends a byte. */
  | 'silent'
  /** A valid banner, then nothing. */
  | 'banner-then-silent';

export interface FakeServer {
  port: number;
  host: '127.0.0.1';
  /** Connections accepted so far. */
  connections: number;
  /** Bytes the client sent, per connection, in order (for assertions on what the client wrote). */
  received: Buffer[];
  stop(): Promise<void>;
}

export const FAKE_BANNER = 'SSH-2.0-FakeServer_1.0';

/**
 * Frames `payload` as an unencrypted SSH binary packet (RFC 4253 §6): uint32 packet_length ||
 * byte padding_length || payload || random padding (≥ 4 bytes, total a multiple of 8).
 */
export function plainPacket(payload: Buffer): Buffer {
  let pad = 8 - ((5 + payload.length) % 8);
  if (pad < 4) pad += 8;
  const w = new SshWriter();
  w.uint32(1 + payload.length + pad);
  w.byte(pad);
  w.raw(payload);
  w.raw(randomBytes(pad));
  return w.toBuffer();
}

/** A KEXINIT payload offering ordinary algorithms; `strict` adds `kex-strict-s-v00@openssh.com`. */
export function kexinitPayload(strict: boolean): Buffer {
  const w = new SshWriter();
  w.byte(MSG.KEXINIT);
  w.raw(randomBytes(16));
  const kex = ['curve25519-sha256', 'ecdh-sha2-nistp256', ...(strict ? ['kex-strict-s-v00@openssh.com'] : [])];
  const lists = [
    kex,
    ['ssh-ed25519', 'ecdsa-sha2-nistp256'],
    ['aes128-ctr', 'aes128-gcm@openssh.com'],
    ['aes128-ctr', 'aes128-gcm@openssh.com'],
    ['hmac-sha2-256'],
    ['hmac-sha2-256'],
    ['none'],
    ['none'],
    [],
    [],
  ];
  for (const l of lists) w.nameList(l);
  w.bool(false);
  w.uint32(0);
  return w.toBuffer();
}

function ignorePayload(): Buffer {
  const w = new SshWriter();
  w.byte(MSG.IGNORE);
  w.string(Buffer.from('strict kex says no'));
  return w.toBuffer();
}

/** Resolves once the client has sent its version line (or the socket ends). */
function clientVersion(sock: Socket, sink: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (Buffer.concat(sink).includes(0x0a)) {
        sock.off('data', check);
        resolve();
      }
    };
    sock.on('data', check);
    sock.once('close', () => resolve());
    check();
  });
}

function run(behaviour: FakeBehaviour, sock: Socket, sink: Buffer[]): void {
  const banner = Buffer.from(`${FAKE_BANNER}\r\n`);
  switch (behaviour) {
    case 'garbage': {
      const junk = randomBytes(1024);
      for (let i = 0; i < junk.length; i++) if (junk[i] === 0x0a) junk[i] = 0x00;
      sock.write(junk);
      return;
    }
    case 'oversized-length': {
      const w = new SshWriter();
      w.uint32(0x7fffffff);
      w.raw(randomBytes(64));
      sock.write(Buffer.concat([banner, w.toBuffer()]));
      return;
    }
    case 'truncated-kexinit': {
      const w = new SshWriter();
      w.byte(MSG.KEXINIT);
      w.raw(randomBytes(16));
      w.nameList(['curve25519-sha256']);
      w.nameList(['ssh-ed25519']);
      sock.write(Buffer.concat([banner, plainPacket(w.toBuffer())]));
      return;
    }
    case 'many-pre-banner-lines': {
      const lines: string[] = [];
      for (let i = 0; i < 2000; i++) lines.push(`hello line ${i}\r\n`);
      sock.write(`${lines.join('')}${FAKE_BANNER}\r\n`);
      return;
    }
    case 'long-version':
      sock.write(`SSH-2.0-${'x'.repeat(300)}\r\n`);
      return;
    case 'strict-kex-ignore':
    case 'kex-ignore':
      sock.write(banner);
      void clientVersion(sock, sink).then(() => {
        if (sock.destroyed) return;
        const strict = behaviour === 'strict-kex-ignore';
        sock.write(Buffer.concat([plainPacket(kexinitPayload(strict)), plainPacket(ignorePayload())]));
      });
      return;
    case 'silent':
      return;
    case 'banner-then-silent':
      sock.write(banner);
      return;
  }
}

/** Starts a fake server with one behaviour for every connection. */
export function startFakeServer(behaviour: FakeBehaviour): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  const state = { connections: 0, received: [] as Buffer[] };
  const server = createServer((sock) => {
    sockets.add(sock);
    state.connections++;
    const sink: Buffer[] = [];
    sock.on('data', (d: Buffer) => {
      sink.push(d);
    });
    sock.on('close', () => {
      sockets.delete(sock);
      state.received.push(Buffer.concat(sink));
    });
    sock.on('error', () => {
      // the client hanging up on us is the point of most behaviours
    });
    run(behaviour, sock, sink);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      let stopped: Promise<void> | undefined;
      resolve({
        port,
        host: '127.0.0.1',
        get connections() {
          return state.connections;
        },
        received: state.received,
        stop: () => {
          stopped ??= new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          });
          return stopped;
        },
      });
    });
  });
}
